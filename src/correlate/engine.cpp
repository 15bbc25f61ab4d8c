#include "dsiem/correlate/engine.h"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <charconv>

#include "dsiem/common/hash.h"
#include "dsiem/common/huge_pages.h"
#include "dsiem/common/log.h"
#include "dsiem/common/prefetch.h"

namespace dsiem::correlate {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
// The reference checks every backlog for expiry every 10 s from its creation.
constexpr int64_t kExpiryCheckInterval = 10 * kNsPerSecond;
// A deleted backlog's event IDs keep blocking backlog creation for as long as the reference
// keeps the backlog in its map (3 s + 3 s).
constexpr int64_t kDeletionGrace = 6 * kNsPerSecond;
// An event may be up to this many seconds (exclusive) older than the one that completed the
// previous stage (gaps D5).
constexpr int64_t kOutOfOrderTolerance = 5;
// How many events ahead of the one being processed a batch prepares (and prefetches the slots
// of), and, half as far ahead, prefetches the backlogs of: enough to cover a memory access
// with the work of the events in between.
constexpr std::size_t kPrefetchDistance = 8;
// How many events ahead a batch loads the events themselves, and then the text of their IDs
// and their directive-index slots (what prepare() reads beyond the event itself).
constexpr std::size_t kEventPrefetchDistance = kPrefetchDistance + 8;
constexpr std::size_t kEventIdPrefetchDistance = kPrefetchDistance + 4;
// Within a batch the clock is read once per this many events: the engine keeps whole seconds,
// and a read costs as much as a good part of an event.
constexpr std::size_t kClockReadEvery = 32;
// Capacity of a backlog's event keys once they no longer fit inline.
constexpr std::size_t kFirstSpilledKeys = 16;
// Link lines are handed to the sink at the end of each event or batch, or once this many bytes
// are waiting.
constexpr std::size_t kLinkFlushBytes = 64 * 1024;
// Stages a backlog keeps inside itself; directives with more put theirs on the heap.
constexpr std::size_t kInlineStages = 3;

// Go's int64 arithmetic wraps; config values (timeouts, asset values) can be any int64.
int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// Adds an event address to a backlog's src_ips / dst_ips: distinct, in first-seen order, and
// 0.0.0.0 only while it is the only entry (correlation.md §6.1 step 4). Returns false when
// `ip` replaced that 0.0.0.0, the one case where the list does not only grow.
bool add_address(UniqueStrings& list, std::string_view ip, uint64_t hash) {
  constexpr std::string_view kZero = "0.0.0.0";
  if (ip == kZero) {
    if (list.empty()) list.insert(ip, hash);
    return true;
  }
  const bool replaces_zero = list.size() == 1 && list.items().front() == kZero;
  if (replaces_zero) list.clear();
  list.insert(ip, hash);
  return !replaces_zero;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  std::size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

enum class StageStatus : uint8_t { kNone, kFinished, kTimeout };

std::string_view status_text(StageStatus s) {
  switch (s) {
    case StageStatus::kFinished:
      return "finished";
    case StageStatus::kTimeout:
      return "timeout";
    case StageStatus::kNone:
      break;
  }
  return "";
}

// The directive's name with SRC_IP / DST_IP replaced by the creating event's addresses (their
// asset names where they have one).
std::string alarm_title(const config::Directive& dir, const CreatingEvent& creator,
                        const config::Assets& assets) {
  const std::string_view src_name = assets.name(creator.src_ip());
  const std::string_view dst_name = assets.name(creator.dst_ip());
  std::string title =
      replace_all(dir.name, "SRC_IP", src_name.empty() ? creator.src_ip() : src_name);
  return replace_all(std::move(title), "DST_IP", dst_name.empty() ? creator.dst_ip() : dst_name);
}

}  // namespace

struct Engine::Backlog final {
  // Backlogs live in huge-page slabs: a scan opens thousands a second, and on 4 KB pages of a
  // growing heap every few of them would cost a page fault.
  static void* operator new(std::size_t size);
  static void operator delete(void* p);
  static auto& slab();

  // A stage's resolved values and conditions are its directive's (RulePlan, and the creating
  // event's values in `creator`): only the progress is the backlog's own.
  struct Stage {
    int64_t count = 0;
    int64_t start_time = 0;
    int64_t end_time = 0;
    int64_t rcvd_time = 0;
    // Only for rules with sticky_different: most rules have none, and an empty set pair is
    // about a hundred bytes per stage of every live backlog.
    std::unique_ptr<StickySet> sticky;
    StageStatus status = StageStatus::kNone;
    std::size_t sticky_size() const { return sticky ? sticky->size() : 0; }
  };

  // What an appended event touches comes first, up to `stages` (Engine::prefetch loads those
  // lines ahead of the event).
  DirectiveState* owner = nullptr;
  uint32_t current = 0;  // stage index
  bool deleting = false;
  bool alarm_created = false;
  int64_t status_time = 0;
  // Ports of the last appended event, for the vulnerability terms (assets_and_intel.md §6.1).
  int64_t last_src_port = 0;
  int64_t last_dst_port = 0;
  std::string id;
  // EventIdGuard keys of every appended event; most backlogs hold few.
  boost::container::small_vector<uint64_t, 2> event_keys;
  UniqueStrings src_ips;
  UniqueStrings dst_ips;
  std::vector<std::pair<std::string, std::string>> custom_data;
  // Inline up to kInlineStages: one allocation and one cache miss fewer per backlog.
  boost::container::small_vector<Stage, kInlineStages> stages;
  CreatingEvent creator;
  uint64_t seq = 0;
  int64_t risk = 0;
  int64_t created_time = 0;
  std::vector<std::string> networks;  // sorted
  // How many of src_ips / dst_ips (from the front) have their networks in `networks`: an
  // update adds only those of the addresses that came since.
  uint32_t networked_src_ips = 0;
  uint32_t networked_dst_ips = 0;
  // Intel hits and vulnerabilities, shared with the lookups in flight; null until the first
  // lookup is started.
  std::shared_ptr<enrich::AlarmFindings> findings;
  // Where the backlog is filed (see HostKey): under `host` (linked through prev / next) or
  // at `slot` of its directive's `unkeyed` list.
  HostKey host;
  enum class Filing : uint8_t { kNone, kHost, kUnkeyed } filing = Filing::kNone;
  uint32_t slot = 0;
  Backlog* prev = nullptr;
  Backlog* next = nullptr;
};

auto& Engine::Backlog::slab() {
  return HugePageSlab<sizeof(Backlog), alignof(Backlog)>::instance();
}

// Backlog is final, so every allocation of one has its size.
void* Engine::Backlog::operator new(std::size_t) {
  return slab().allocate();
}

void Engine::Backlog::operator delete(void* p) {
  if (p) slab().deallocate(p);
}

Engine::BacklogStorage Engine::backlog_storage() {
  const auto usage = Backlog::slab().usage();
  return {usage.used_bytes, usage.block_bytes};
}

struct Engine::DirectiveState {
  config::Directive directive;
  // How the rules' values resolve in every backlog, and the conditions compiled from that.
  std::vector<RulePlan> plan;
  std::vector<Conditions> stage_conditions;
  // Rule 1 as written, for events that may create a backlog.
  Conditions first_rule;
  // The creating event's fields any rule takes (RulePlan::from_event of all rules).
  uint8_t event_fields = 0;
  uint32_t position = 0;  // in the engine's directives_
  std::size_t live_backlogs = 0;
  std::array<std::size_t, 2> filed_by_host{};  // per Side
  std::vector<Backlog*> unkeyed;
};

uint64_t Engine::HostKey::hash() const {
  const uint64_t mix = (static_cast<uint64_t>(directive) << 1 | static_cast<uint64_t>(side)) + 1;
  return IpAddressHash{}(host) ^ (mix * 0x9E3779B97F4A7C15ULL);
}

Engine::Engine(std::vector<config::Directive> directives,
               std::shared_ptr<const config::Assets> assets, const Clock& clock,
               alarm::RecordSink& sink, EngineOptions options, OverloadSignal overload)
    : assets_(std::move(assets)),
      clock_(clock),
      sink_(sink),
      options_(std::move(options)),
      overload_(std::move(overload)),
      ids_(clock, options_.shard) {
  std::vector<const config::Directive*> views;
  for (config::Directive& d : directives) {
    auto state = std::make_unique<DirectiveState>();
    state->position = static_cast<uint32_t>(directives_.size());
    state->directive = std::move(d);
    const auto& rules = state->directive.rules;
    state->plan = resolution_plan(state->directive);
    for (std::size_t i = 0; i < rules.size(); ++i) {
      state->stage_conditions.push_back(Conditions::compile(rules[i], state->plan[i]));
      state->event_fields |= state->plan[i].from_event;
    }
    if (!rules.empty()) state->first_rule = Conditions::compile(rules.front());
    views.push_back(&state->directive);
    directives_.push_back(std::move(state));
  }
  index_.build(views);
}

Engine::~Engine() = default;

bool Engine::prepare(const event::Event& e, Prepared& p) const {
  p.positions = index_.lookup(e, p.merged);
  if (p.positions.empty()) return false;
  p.event_hash = EventIdGuard::hash(e.event_id);
  p.src_ip_hash = UniqueStrings::hash(e.src_ip);
  p.dst_ip_hash = UniqueStrings::hash(e.dst_ip);
  p.in = prepare_input(e, *assets_);
  return true;
}

void Engine::prefetch(Prepared& p, PrefetchLevel level) const {
  switch (level) {
    case PrefetchLevel::kDirectives:
      for (const uint32_t pos : p.positions) {
        // The two parts of the state the next levels and process_directive() read.
        const DirectiveState* d = directives_[pos].get();
        prefetch_lines(&d->directive.rules, &d->directive.rules + 1);
        prefetch_lines(&d->live_backlogs, &d->unkeyed + 1);
        guard_.prefetch(EventIdGuard::key(p.event_hash, pos));
      }
      return;
    case PrefetchLevel::kHostSlots:
      // The directives are loaded: only the sides they file backlogs under are looked up.
      p.probe_count = 0;
      for (const uint32_t pos : p.positions) {
        const DirectiveState& d = *directives_[pos];
        // What match() and the occurrence check read of the rules a backlog may be at.
        const auto& rules = d.directive.rules;
        // Through `subcategory` for every kind: reading `kind` first would wait for the line.
        for (std::size_t r = 0; r < std::min(rules.size(), kInlineStages); ++r) {
          prefetch_lines(&rules[r].kind, &rules[r].subcategory + 1);
        }
        for (const Side side : {Side::kSrc, Side::kDst}) {
          const auto& term = side == Side::kSrc ? p.in.src_term : p.in.dst_term;
          if (!term || d.filed_by_host[static_cast<std::size_t>(side)] == 0) continue;
          if (p.probe_count == p.probes.size()) return;
          Prepared::Probe& probe = p.probes[p.probe_count++];
          probe.key = {*term, side, pos};
          probe.hash = probe.key.hash();
          probe.head = nullptr;
          filed_.prefetch(probe.hash);
        }
      }
      return;
    case PrefetchLevel::kBacklogs:
      for (std::size_t k = 0; k < p.probe_count; ++k) {
        Prepared::Probe& probe = p.probes[k];
        const HostSlot* slot = filed_.find(probe.key, probe.hash);
        if (!slot) continue;
        probe.head = slot->head;
        // The fields an appended event touches lie in the backlog's first cache lines.
        prefetch_lines(probe.head, &probe.head->stages + 1);
      }
      return;
    case PrefetchLevel::kBacklogData:
      // The backlogs are loaded. Events processed since may have deleted or re-filed one,
      // which only makes its prefetch useless: backlogs are freed by tick(), between batches.
      for (std::size_t k = 0; k < p.probe_count; ++k) {
        const Backlog* b = p.probes[k].head;
        if (!b) continue;
        // The conditions of its stage, and the plugin SIDs of its rule (loaded two levels up).
        const Conditions& conditions = b->owner->stage_conditions[b->current];
        prefetch_lines(&conditions, &conditions + 1);
        const auto& sids = b->owner->directive.rules[b->current].plugin_sid;
        prefetch_lines(sids.data(), sids.data() + sids.size());
        if (!b->event_keys.empty()) __builtin_prefetch(&b->event_keys.back() + 1, 1);
        b->src_ips.prefetch(p.src_ip_hash);
        b->dst_ips.prefetch(p.dst_ip_hash);
        prefetch_lines(b->custom_data.data(), b->custom_data.data() + b->custom_data.size());
      }
      return;
  }
}

void Engine::process(const event::Event& e) {
  if (ahead_.empty()) ahead_.resize(2 * kPrefetchDistance);
  if (prepare(e, ahead_[0])) {
    now_s_ = clock_.now_seconds();
    process_prepared(ahead_[0]);
  }
  flush_links();
}

void Engine::process(std::span<const event::Event* const> events) {
  constexpr std::size_t kRing = 2 * kPrefetchDistance;
  if (ahead_.empty()) ahead_.resize(kRing);
  const std::size_t n = events.size();
  // ready[i % kRing]: whether event i's Prepared holds something to process.
  std::array<bool, kRing> ready{};
  const auto prepare_ahead = [&](std::size_t i) {
    Prepared& p = ahead_[i % kRing];
    ready[i % kRing] = prepare(*events[i], p);
    if (ready[i % kRing]) prefetch(p, PrefetchLevel::kDirectives);
  };
  // Each level needs what the one before loaded, a couple of events earlier.
  const auto prefetch_at = [&](std::size_t j, PrefetchLevel level) {
    if (j < n && ready[j % kRing]) prefetch(ahead_[j % kRing], level);
  };
  // The events were decoded on another thread: prepare() would wait for each line it reads.
  const auto prefetch_event = [&](std::size_t j) {
    if (j < n) prefetch_lines(events[j], events[j] + 1);
  };
  // Once the event is loaded: the text of its ID and its directive-index slot.
  const auto prefetch_event_id = [&](std::size_t j) {
    if (j >= n) return;
    const std::string& id = events[j]->event_id;
    prefetch_lines(id.data(), id.data() + id.size());
    index_.prefetch(*events[j]);
  };
  for (std::size_t i = 0; i < std::min(n, kEventPrefetchDistance); ++i) prefetch_event(i);
  for (std::size_t i = 0; i < std::min(n, kEventIdPrefetchDistance); ++i) prefetch_event_id(i);
  for (std::size_t i = 0; i < std::min(n, kPrefetchDistance); ++i) prepare_ahead(i);
  for (std::size_t i = 0; i < n; ++i) {
    prefetch_event(i + kEventPrefetchDistance);
    prefetch_event_id(i + kEventIdPrefetchDistance);
    if (i + kPrefetchDistance < n) prepare_ahead(i + kPrefetchDistance);
    prefetch_at(i + 6, PrefetchLevel::kHostSlots);
    prefetch_at(i + 4, PrefetchLevel::kBacklogs);
    prefetch_at(i + 2, PrefetchLevel::kBacklogData);
    if (i % kClockReadEvery == 0) now_s_ = clock_.now_seconds();
    if (ready[i % kRing]) process_prepared(ahead_[i % kRing]);
  }
  flush_links();
}

void Engine::flush_links() {
  if (link_count_ == 0) return;
  sink_.write_links(links_, link_count_);
  links_.clear();
  link_count_ = 0;
}

void Engine::process_prepared(const Prepared& p) {
  current_ = &p;
  for (const uint32_t pos : p.positions) process_directive(*directives_[pos], p);
}

void Engine::process_directive(DirectiveState& d, const Prepared& p) {
  const MatchInput& in = p.in;
  const event::Event& e = *in.event;
  bool found = false;
  if (d.live_backlogs != 0) {
    // offer() may delete or re-file a backlog: iterate over a snapshot of the candidates.
    std::vector<Backlog*>& candidates = candidates_;
    candidates.assign(d.unkeyed.begin(), d.unkeyed.end());
    if (in.src_term && d.filed_by_host[0] != 0) {
      collect_filed({*in.src_term, Side::kSrc, d.position}, candidates);
    }
    if (in.dst_term && d.filed_by_host[1] != 0) {
      collect_filed({*in.dst_term, Side::kDst, d.position}, candidates);
    }
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      Backlog* b = candidates[i];
      if (!b->deleting && offer(*b, in)) found = true;
    }
  }
  if (found) return;
  if (!match(d.directive.rules[0], d.first_rule, in, nullptr)) return;
  const uint64_t key = EventIdGuard::key(p.event_hash, d.position);
  if (uint32_t holder = 0; guard_.held(key, &holder)) {
    log::info("skipping backlog creation for event " + e.event_id +
                  ", it's already used in backlog " + holder_id(d, key, holder),
              {.directive = d.directive.id, .conn_id = e.conn_id});
    return;
  }
  create_backlog(d, in);
}

bool Engine::offer(Backlog& b, const MatchInput& in) {
  const event::Event& e = *in.event;
  const DirectiveState& d = *b.owner;
  const config::Directive& dir = d.directive;
  const std::size_t idx = b.current;
  Backlog::Stage& stage = b.stages[idx];
  const config::Rule& rule = dir.rules[idx];
  const std::size_t sticky_before = stage.sticky_size();
  if (!match(rule, d.stage_conditions[idx], in, stage.sticky.get(), &b.creator)) {
    if (dir.all_rules_always_active && idx > 0) {
      for (std::size_t i = 0; i < idx; ++i) {
        Backlog::Stage& earlier = b.stages[i];
        if (match(dir.rules[i], d.stage_conditions[i], in, earlier.sticky.get(), &b.creator)) {
          append(b, i, e);
          upsert_alarm(b, false);
          return true;
        }
      }
    }
    return false;
  }
  const log::Fields fields{.directive = dir.id, .backlog = b.id, .conn_id = e.conn_id};
  if (!rule.sticky_different.empty() && stage.sticky_size() == sticky_before) {
    log::debug("backlog can't find new unique value in stickydiff field " + rule.sticky_different,
               fields);
    return true;
  }
  const auto ts = event::parse_rfc3339_seconds(e.timestamp);
  if (!ts) {
    log::warn("cannot parse event timestamp, discarding it", fields);
    return true;
  }
  if (idx > 0 && !(b.stages[idx - 1].end_time < *ts + kOutOfOrderTolerance)) {
    log::warn("event timestamp out of order, discarding it", fields);
    return true;
  }
  if (options_.max_delay_seconds != 0 &&
      now_s_ - e.rcvd_time / kNsPerSecond > options_.max_delay_seconds) {
    log::warn("backlog is under pressure", fields);
    if (overload_) overload_();
  }
  process_matched(b, idx, e, *ts);
  return true;
}

void Engine::create_backlog(DirectiveState& d, const MatchInput& in) {
  const event::Event& e = *in.event;
  const config::Directive& dir = d.directive;
  const auto ts = event::parse_rfc3339_seconds(e.timestamp);
  if (!ts) {
    log::warn("Fail to create new backlog", {.directive = dir.id, .conn_id = e.conn_id});
    return;
  }
  auto owned = std::make_unique<Backlog>();
  Backlog& b = *owned;
  b.seq = next_seq_++;
  b.id = ids_.next();
  b.owner = &d;
  b.creator = CreatingEvent(e, d.event_fields);
  b.stages.resize(dir.rules.size());
  for (std::size_t i = 0; i < dir.rules.size(); ++i) {
    if (!dir.rules[i].sticky_different.empty()) b.stages[i].sticky = std::make_unique<StickySet>();
  }
  b.stages[0].start_time = *ts;
  b.stages[0].rcvd_time = e.rcvd_time;

  log::info("Creating new backlog", {.directive = dir.id, .backlog = b.id, .conn_id = e.conn_id});
  if (d.live_backlogs++ == 0) ++active_directives_;
  live_.insert(b.seq, b.seq).backlog = std::move(owned);
  file_backlog(d, b);
  ++live_backlogs_;
  timers_.push({clock_.now_ns() + kExpiryCheckInterval, b.seq});
  process_matched(b, 0, e, *ts);
}

void Engine::append(Backlog& b, std::size_t stage, const event::Event& e) {
  const uint64_t key = EventIdGuard::key(current_->event_hash, b.owner->position);
  // Past the inline keys, a backlog that keeps taking events grows in big steps: each step is
  // an allocation, a copy and a free on a large heap.
  if (b.event_keys.size() == b.event_keys.capacity()) {
    b.event_keys.reserve(std::max<std::size_t>(kFirstSpilledKeys, 2 * b.event_keys.capacity()));
  }
  b.event_keys.push_back(key);
  guard_.add(key, b.seq);
  ++b.stages[stage].count;
  if (!add_address(b.src_ips, e.src_ip, current_->src_ip_hash)) b.networked_src_ips = 0;
  if (!add_address(b.dst_ips, e.dst_ip, current_->dst_ip_hash)) b.networked_dst_ips = 0;
  for (int k = 1; k <= 3; ++k) {
    const std::string& label = e.custom_label(k);
    const std::string& content = e.custom_data(k);
    if (label.empty() || content.empty()) continue;
    // Content first: the labels of a backlog's pairs are mostly the same.
    const auto same = [&](const auto& pair) {
      return same_bytes(pair.second, content) && same_bytes(pair.first, label);
    };
    if (std::none_of(b.custom_data.begin(), b.custom_data.end(), same)) {
      b.custom_data.emplace_back(label, content);
    }
  }
  b.last_src_port = e.src_port;
  b.last_dst_port = e.dst_port;
  b.status_time = now_s_;
  alarm::append_link_json(links_, b.id, static_cast<int64_t>(stage) + 1, e.event_id);
  links_.push_back('\n');
  ++link_count_;
  if (links_.size() >= kLinkFlushBytes) flush_links();
}

void Engine::process_matched(Backlog& b, std::size_t idx, const event::Event& e, int64_t ts) {
  append(b, idx, e);
  const config::Directive& dir = b.owner->directive;
  Backlog::Stage& s = b.stages[idx];
  if (s.count < dir.rules[idx].occurrence) return;
  s.status = StageStatus::kFinished;
  s.end_time = ts;
  update_risk(b, idx);
  const log::Fields fields{.directive = dir.id, .backlog = b.id, .conn_id = e.conn_id};
  if (idx + 1 == b.stages.size()) {
    upsert_alarm(b, true);
    log::info("reached max stage and occurrence, deleting.", fields);
    remove_backlog(b);
    return;
  }
  b.current = idx + 1;
  unfile_backlog(b);
  file_backlog(*b.owner, b);
  b.stages[b.current].start_time = ts;
  b.status_time = now_s_;
  upsert_alarm(b, true);
  log::info("stage increased", fields);
}

void Engine::update_risk(Backlog& b, std::size_t stage) {
  int64_t value = 0;
  for (const auto* list : {&b.src_ips, &b.dst_ips}) {
    for (const std::string& ip : list->items()) value = std::max(value, assets_->value(ip));
  }
  const config::Directive& dir = b.owner->directive;
  b.risk = wrap_mul(wrap_mul(dir.priority, dir.rules[stage].reliability), value) / 25;
}

void Engine::upsert_alarm(Backlog& b, bool lookups) {
  if (!b.alarm_created) {
    b.alarm_created = true;
    b.created_time = b.status_time;
  }
  // `networks` is a union that only grows (alarms.md §3.1 step 4).
  const auto add_networks = [&](const UniqueStrings& list, uint32_t& networked) {
    const std::vector<std::string>& ips = list.items();
    for (std::size_t i = networked; i < ips.size(); ++i) {
      assets_->for_each_network(ips[i], [&b](std::string_view net) {
        auto pos = std::lower_bound(b.networks.begin(), b.networks.end(), net);
        if (pos == b.networks.end() || *pos != net) b.networks.emplace(pos, net);
      });
    }
    networked = static_cast<uint32_t>(ips.size());
  };
  add_networks(b.src_ips, b.networked_src_ips);
  add_networks(b.dst_ips, b.networked_dst_ips);
  enrich::Enricher* enricher = options_.enricher;
  const bool start_lookups = lookups && enricher && enricher->enabled();
  if (start_lookups && !b.findings) b.findings = std::make_shared<enrich::AlarmFindings>();
  if (b.risk < 1 && !start_lookups) return;

  const DirectiveState& d = *b.owner;
  const config::Directive& dir = d.directive;
  const std::vector<RuleValues> values = resolve_rule_values(d.plan, b.creator);
  // The record without intel/vuln results: they are spliced in at layout.findings_at, the
  // current ones here and, later, the snapshot's (alarms.md §3.2) by the lookup.
  std::string record;
  alarm::AlarmJsonLayout layout;
  if (b.risk >= 1) {
    const std::string title = alarm_title(dir, b.creator, *assets_);
    alarm::AlarmView v;
    v.alarm_id = b.id;
    v.title = title;
    v.status = options_.alarm.status;
    v.kingdom = dir.kingdom;
    v.category = dir.category;
    v.created_time = b.created_time;
    v.update_time = b.status_time;
    v.risk = b.risk;
    v.risk_class = options_.alarm.risk_class(b.risk);
    v.tag = options_.alarm.tag;
    v.src_ips = &b.src_ips.items();
    v.dst_ips = &b.dst_ips.items();
    v.custom_data = &b.custom_data;
    v.networks = &b.networks;
    v.rules.reserve(b.stages.size());
    for (std::size_t i = 0; i < b.stages.size(); ++i) {
      const Backlog::Stage& s = b.stages[i];
      const RuleValues& r = values[i];
      v.rules.push_back({&dir.rules[i], r.from, r.to, r.port_from, r.port_to, r.custom_data[0],
                         r.custom_data[1], r.custom_data[2], s.start_time, s.end_time, s.rcvd_time,
                         status_text(s.status)});
    }
    record.reserve(1024);
    alarm::append_alarm_json(record, v, &layout);
    // A link line is written before the alarm line it explains.
    flush_links();
    if (b.findings) {
      std::string line;
      line.reserve(record.size() + 256);
      line.append(record, 0, layout.findings_at);
      b.findings->append_json(line);
      line.append(record, layout.findings_at);
      sink_.write_alarm(std::move(line));
    } else {
      sink_.write_alarm(record);
    }
  }
  if (!start_lookups) return;

  enrich::LookupJob job;
  job.alarm_id = b.id;
  job.findings = b.findings;
  if (b.risk >= 1) {
    job.record = std::move(record);
    job.findings_at = layout.findings_at;
    job.networks_at = layout.networks_at;
  }
  if (enricher->intel_enabled()) {
    UniqueStrings ips = b.src_ips;
    for (const std::string& ip : b.dst_ips.items()) ips.insert(ip);
    job.ips = ips.items();
  }
  if (enricher->vuln_enabled()) {
    std::vector<enrich::RuleAddresses> rules;
    rules.reserve(values.size());
    for (const RuleValues& r : values) rules.push_back({r.from, r.to, r.port_from, r.port_to});
    job.vuln_terms = enrich::vuln_terms(rules, b.last_src_port, b.last_dst_port);
  }
  enricher->submit(std::move(job));
}

void Engine::remove_backlog(Backlog& b) {
  if (b.deleting) {
    log::debug("backlog is already in the process of being deleted",
               {.directive = b.owner->directive.id, .backlog = b.id});
    return;
  }
  b.deleting = true;
  log::info("backlog manager removing backlog in < 10s",
            {.directive = b.owner->directive.id, .backlog = b.id});
  LiveSlot* slot = live_.find(b.seq, b.seq);
  if (!slot) return;
  std::unique_ptr<Backlog> owned = std::move(slot->backlog);
  live_.erase(*slot);
  unfile_backlog(b);
  if (--b.owner->live_backlogs == 0) --active_directives_;
  --live_backlogs_;
  graveyard_.push_back({clock_.now_ns() + kDeletionGrace, std::move(owned)});
}

void Engine::file_backlog(DirectiveState& d, Backlog& b) {
  const Conditions& cond = d.stage_conditions[b.current];
  // Only a stage whose non-matching events leave no trace can be skipped for them:
  // all_rules_always_active also tries earlier stages, and PLUGIN_SID is recorded before the
  // address check (gaps A5).
  if (!d.directive.all_rules_always_active && cond.sticky != StickyField::kPluginSid) {
    const auto& from = (cond.from_event & kFromField) ? b.creator.from() : cond.from;
    const auto& to = (cond.from_event & kToField) ? b.creator.to() : cond.to;
    Side side = Side::kSrc;
    auto ip = from.single_host();
    if (!ip) {
      side = Side::kDst;
      ip = to.single_host();
    }
    if (ip) {
      b.host = {*ip, side, d.position};
      HostSlot& slot = filed_.insert(b.host, b.host.hash());
      b.next = nullptr;
      if (slot.head) {
        Backlog* last = slot.head->prev;
        last->next = &b;
        b.prev = last;
        slot.head->prev = &b;
      } else {
        slot.head = &b;
        b.prev = &b;
      }
      b.filing = Backlog::Filing::kHost;
      ++d.filed_by_host[static_cast<std::size_t>(side)];
      return;
    }
  }
  b.filing = Backlog::Filing::kUnkeyed;
  b.slot = d.unkeyed.size();
  d.unkeyed.push_back(&b);
}

void Engine::unfile_backlog(Backlog& b) {
  DirectiveState& d = *b.owner;
  if (b.filing == Backlog::Filing::kUnkeyed) {
    Backlog* last = d.unkeyed.back();
    d.unkeyed[b.slot] = last;
    last->slot = b.slot;
    d.unkeyed.pop_back();
  } else if (b.filing == Backlog::Filing::kHost) {
    HostSlot* slot = filed_.find(b.host, b.host.hash());
    if (slot->head == &b) {
      if (b.next) {
        b.next->prev = b.prev;
        slot->head = b.next;
      } else {
        filed_.erase(*slot);
      }
    } else {
      b.prev->next = b.next;
      (b.next ? b.next : slot->head)->prev = b.prev;
    }
    --d.filed_by_host[static_cast<std::size_t>(b.host.side)];
    b.prev = b.next = nullptr;
  }
  b.filing = Backlog::Filing::kNone;
}

void Engine::collect_filed(const HostKey& key, std::vector<Backlog*>& out) const {
  const HostSlot* slot = filed_.find(key, key.hash());
  if (!slot) return;
  for (Backlog* b = slot->head; b; b = b->next) out.push_back(b);
}

std::string Engine::holder_id(const DirectiveState& d, uint64_t key, uint32_t last_holder) const {
  const auto holds = [key](const Backlog& b) {
    return std::find(b.event_keys.begin(), b.event_keys.end(), key) != b.event_keys.end();
  };
  // The last backlog that took the event, else any that still holds it (the last one may
  // already have been released).
  if (const LiveSlot* slot = live_.find(last_holder, last_holder); slot && holds(*slot->backlog)) {
    return slot->backlog->id;
  }
  const Backlog* found = nullptr;
  for (const Buried& g : graveyard_) {
    if (g.backlog->owner != &d || !holds(*g.backlog)) continue;
    if (static_cast<uint32_t>(g.backlog->seq) == last_holder) return g.backlog->id;
    found = g.backlog.get();
  }
  if (found) return found->id;
  std::string id;
  live_.for_each([&](const LiveSlot& slot) {
    const Backlog& b = *slot.backlog;
    if (id.empty() && b.owner == &d && holds(b)) id = b.id;
  });
  return id;
}

void Engine::release_guard(const Backlog& b) {
  for (const uint64_t key : b.event_keys) guard_.release(key);
}

void Engine::sweep_graveyard(int64_t now_ns) {
  if (graveyard_.empty()) return;
  auto keep = graveyard_.begin();
  for (auto it = graveyard_.begin(); it != graveyard_.end(); ++it) {
    if (it->release_ns <= now_ns) {
      release_guard(*it->backlog);
    } else {
      if (keep != it) *keep = std::move(*it);
      ++keep;
    }
  }
  graveyard_.erase(keep, graveyard_.end());
}

void Engine::tick() {
  const int64_t now_ns = clock_.now_ns();
  const int64_t now_s = clock_.now_seconds();
  sweep_graveyard(now_ns);
  const int64_t horizon = wrap_add(now_s, wrap_mul(options_.min_alarm_lifetime_minutes, -60));
  while (!timers_.empty() && timers_.top().first <= now_ns) {
    const auto [due, seq] = timers_.top();
    timers_.pop();
    LiveSlot* slot = live_.find(seq, seq);
    if (!slot) continue;
    Backlog& b = *slot->backlog;
    Backlog::Stage& s = b.stages[b.current];
    const config::Rule& rule = b.owner->directive.rules[b.current];
    if (wrap_add(s.start_time, rule.timeout) < horizon) {
      s.status = StageStatus::kTimeout;
      upsert_alarm(b, false);
      log::info("backlog expired, deleting it",
                {.directive = b.owner->directive.id, .backlog = b.id});
      remove_backlog(b);
      continue;
    }
    timers_.push({due + kExpiryCheckInterval, seq});
  }
}

int64_t Engine::next_tick_ns() const {
  int64_t next = timers_.empty() ? -1 : timers_.top().first;
  for (const Buried& g : graveyard_) {
    if (next < 0 || g.release_ns < next) next = g.release_ns;
  }
  return next;
}

}  // namespace dsiem::correlate
