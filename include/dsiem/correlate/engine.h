#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dsiem/alarm/alarm.h"
#include "dsiem/alarm/record_sink.h"
#include "dsiem/common/clock.h"
#include "dsiem/common/flat_table.h"
#include "dsiem/common/ip.h"
#include "dsiem/config/assets.h"
#include "dsiem/config/directive.h"
#include "dsiem/correlate/alarm_id.h"
#include "dsiem/correlate/directive_index.h"
#include "dsiem/correlate/event_id_guard.h"
#include "dsiem/correlate/matcher.h"
#include "dsiem/correlate/unique_strings.h"
#include "dsiem/enrich/enricher.h"
#include "dsiem/event/event.h"

namespace dsiem::correlate {

struct EngineOptions {
  int64_t min_alarm_lifetime_minutes = 0;
  int64_t max_delay_seconds = 180;  // 0: no overload detection
  alarm::AlarmSettings alarm;
  int shard = 0;  // distinguishes alarm IDs made by parallel engines
  // Intel/vuln lookups started at stage completions (alarms.md §3); null or disabled: none.
  // Shared by every shard's engine; must outlive them.
  enrich::Enricher* enricher = nullptr;
};

// Called (non-blocking) when a backlog sees an event later than maxDelay (events.md §8.2).
using OverloadSignal = std::function<void()>;

// The correlation state of a set of directives: their backlogs, alarms and expiry timers.
// Single-threaded: one thread owns an Engine and calls process() and tick(); events of one
// backlog are therefore handled strictly one after another (correlation.md §10).
class Engine {
 public:
  Engine(std::vector<config::Directive> directives, std::shared_ptr<const config::Assets> assets,
         const Clock& clock, alarm::RecordSink& sink, EngineOptions options,
         OverloadSignal overload = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Offers one (already whitelist-filtered) event to every directive it can concern.
  void process(const event::Event& e);
  // The same for each event in order. While one event is processed, the index entries,
  // duplicate-guard slots and backlogs the next few will need are already being loaded:
  // with thousands of live backlogs, those cache misses are most of an event's cost.
  void process(std::span<const event::Event* const> events);
  // Runs the expiry checks due at the clock's current time.
  void tick();
  // Wall-clock time (ns) of the next due expiry check, or -1 when there is none.
  int64_t next_tick_ns() const;

  std::size_t backlog_count() const { return live_backlogs_; }
  // Memory of the backlog objects of every engine in the process (they share one huge-page
  // slab): what live and buried backlogs use, and what the slab has mapped.
  struct BacklogStorage {
    std::size_t used_bytes = 0;
    std::size_t reserved_bytes = 0;
  };
  static BacklogStorage backlog_storage();
  // Directives with at least one live backlog.
  std::size_t active_directive_count() const { return active_directives_; }
  std::size_t directive_count() const { return directives_.size(); }

 private:
  struct Backlog;
  struct DirectiveState;

  // Live backlogs whose current stage's from (or else to) is one host are filed under
  // (directive, side, host), in creation order; every other one in its directive's
  // `unkeyed` list. An event is offered only to the backlogs filed under its own addresses
  // and the unkeyed ones.
  enum class Side : uint8_t { kSrc, kDst };
  struct HostKey {
    IpAddress host;
    Side side = Side::kSrc;
    uint32_t directive = 0;
    bool operator==(const HostKey&) const = default;
    uint64_t hash() const;
  };
  struct HostSlot {
    HostKey key;
    Backlog* head = nullptr;  // head->prev is the last one
  };
  struct HostTraits {
    using Key = HostKey;
    static bool empty(const HostSlot& s) { return s.head == nullptr; }
    static bool holds(const HostSlot& s, const HostKey& k) { return s.key == k; }
    static uint64_t hash(const HostSlot& s) { return s.key.hash(); }
    static void claim(HostSlot& s, const HostKey& k) { s.key = k; }
  };
  // What processing an event needs from the event alone, computed ahead of time in a batch.
  struct Prepared {
    std::span<const uint32_t> positions;  // of the directives the index finds for it
    std::vector<uint32_t> merged;         // DirectiveIndex::lookup's scratch space
    uint64_t event_hash = 0;              // EventIdGuard::hash
    uint64_t src_ip_hash = 0;             // UniqueStrings::hash of the addresses
    uint64_t dst_ip_hash = 0;
    MatchInput in;
    // Host-table look-ups made while prefetching (the first few only).
    struct Probe {
      HostKey key;
      uint64_t hash = 0;
      const Backlog* head = nullptr;
    };
    std::array<Probe, 4> probes;
    std::size_t probe_count = 0;
  };
  // Fills `p` for `e`; false when no directive can use the event.
  bool prepare(const event::Event& e, Prepared& p) const;
  // Starts loading what processing `p` will touch, one level of indirection at a time: each
  // level is cheap only once the one before has been loaded.
  enum class PrefetchLevel {
    kDirectives,   // its directives and their duplicate-guard slots
    kHostSlots,    // those directives' rules, and the host-table slots its addresses lead to
    kBacklogs,     // the backlogs filed in those slots
    kBacklogData,  // what those backlogs point to: their stage's conditions and plugin SIDs,
                   // event keys, address lists, custom data
  };
  void prefetch(Prepared& p, PrefetchLevel level) const;
  void process_prepared(const Prepared& p);
  // Hands the link lines written so far to the sink.
  void flush_links();
  void process_directive(DirectiveState& d, const Prepared& p);
  bool offer(Backlog& b, const MatchInput& in);
  void create_backlog(DirectiveState& d, const MatchInput& in);
  void append(Backlog& b, std::size_t stage, const event::Event& e);
  void process_matched(Backlog& b, std::size_t stage, const event::Event& e, int64_t ts);
  void update_risk(Backlog& b, std::size_t stage);
  void upsert_alarm(Backlog& b, bool lookups);
  void remove_backlog(Backlog& b);
  void release_guard(const Backlog& b);
  // The ID of the backlog named in the duplicate-guard log line (slow path, duplicates only).
  std::string holder_id(const DirectiveState& d, uint64_t key, uint32_t last_holder) const;
  // Adds / removes a live backlog to / from the lookup list for its current stage.
  void file_backlog(DirectiveState& d, Backlog& b);
  void unfile_backlog(Backlog& b);
  // Appends the backlogs filed under `key` to `out`.
  void collect_filed(const HostKey& key, std::vector<Backlog*>& out) const;
  void sweep_graveyard(int64_t now_ns);

  std::shared_ptr<const config::Assets> assets_;
  const Clock& clock_;
  alarm::RecordSink& sink_;
  EngineOptions options_;
  OverloadSignal overload_;
  std::vector<std::unique_ptr<DirectiveState>> directives_;
  DirectiveIndex index_;
  FlatTable<HostSlot, HostTraits> filed_;
  EventIdGuard guard_;
  // The event being processed.
  const Prepared* current_ = nullptr;
  // Prepared events of a batch, a power-of-two ring ahead of the one being processed.
  std::vector<Prepared> ahead_;
  AlarmIdGenerator ids_;
  std::size_t live_backlogs_ = 0;
  std::size_t active_directives_ = 0;
  uint64_t next_seq_ = 1;

  // Expiry checks: (due time ns, backlog sequence number). A backlog is checked every 10 s
  // from its creation, as the reference's per-backlog ticker does.
  using Due = std::pair<int64_t, uint64_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> timers_;
  // Live backlogs by sequence number (from 1): their owner.
  struct LiveSlot {
    uint64_t seq = 0;  // 0: empty
    std::unique_ptr<Backlog> backlog;
  };
  struct LiveTraits {
    using Key = uint64_t;
    static bool empty(const LiveSlot& s) { return s.seq == 0; }
    static bool holds(const LiveSlot& s, uint64_t seq) { return s.seq == seq; }
    static uint64_t hash(const LiveSlot& s) { return s.seq; }
    static void claim(LiveSlot& s, uint64_t seq) { s.seq = seq; }
  };
  FlatTable<LiveSlot, LiveTraits> live_;

  // Deleted backlogs whose event IDs still count for the duplicate guard (until the time).
  struct Buried {
    int64_t release_ns;
    std::unique_ptr<Backlog> backlog;
  };
  std::vector<Buried> graveyard_;
  // Scratch space reused by every event.
  std::vector<Backlog*> candidates_;
  // Link lines not yet handed to the sink (each with its newline), and how many.
  std::string links_;
  std::size_t link_count_ = 0;
  // Clock reading (whole seconds) for the event being processed.
  int64_t now_s_ = 0;
};

}  // namespace dsiem::correlate
