#pragma once

// The synthetic load of the end-to-end benchmark (gen_bench_configs.py with `dsiem bench`),
// rebuilt in-process so the engine can be measured without HTTP in the way:
//   - N directives, plugin_id 100001..100000+N, plugin_sid 1..5, three PluginRule stages:
//       stage 1 occurrence 1      HOME_NET -> ANY  reliability 1   timeout 0
//       stage 2 occurrence 5      :1       -> ANY  reliability 5   timeout 3600
//       stage 3 occurrence 100000 :1       -> ANY  reliability 10  timeout 7200
//   - one asset, 10.0.0.0/8 value 3;
//   - events rendered from the same template: plugin_id uniform over the N directives, sid
//     1..5, src from 10.1.0.0/28 (16 sources), random dst in 10.2.0.0/16, random ports,
//     custom_data1, a unique event_id. Every event therefore starts or extends a backlog.
// Directives go through the config decoder and validator, events through event::decode, so
// the engine sees exactly what a running node would hand it.

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/alarm/record_sink.h"
#include "dsiem/common/log.h"
#include "dsiem/config/assets.h"
#include "dsiem/config/directive.h"
#include "dsiem/event/event.h"
#include "dsiem/tools/bench.h"

namespace dsiem::workload {

inline constexpr int64_t kFirstPluginId = 100001;
// Occurrence of stage 2 in the load's directives.
inline constexpr int64_t kRepeatOccurrence = 5;
// Events that take a new backlog of the load's directives to its last stage: one creates it
// (stage 1 has occurrence 1), kRepeatOccurrence more complete stage 2.
inline constexpr int kEventsToLastStage = 1 + kRepeatOccurrence;
// Sources of the load's events (10.1.0.0/28).
inline constexpr int kLoadSources = 16;

// The engine logs every backlog creation and stage change at INFO on stdout; that would swamp
// the benchmark output and time the terminal instead of the engine. The log has no level
// setting of its own, so its logger is created here and then muted through spdlog's registry
// (log::write then returns before formatting the line).
inline void mute_engine_log() {
  log::setup(false);
  spdlog::set_level(spdlog::level::off);
}

// The load's directives (as gen_bench_configs.py writes them), decoded and validated like a
// directives_*.json file. `repeat_occurrence` replaces stage 2's occurrence: a value no run
// reaches keeps every backlog in stage 2, so that each event only extends a backlog.
inline std::vector<config::Directive> directives(int count,
                                                 int64_t repeat_occurrence = kRepeatOccurrence) {
  const std::string rule_base =
      R"("type":"PluginRule","plugin_sid":[1,2,3,4,5],"port_from":"ANY","port_to":"ANY",)"
      R"("protocol":"TCP","plugin_id":)";
  std::string json = R"({"directives":[)";
  for (int i = 0; i < count; ++i) {
    const std::string base = rule_base + std::to_string(kFirstPluginId + i);
    if (i > 0) json += ',';
    json += R"({"id":)" + std::to_string(i + 1) + R"(,"name":"Bench directive )" +
            std::to_string(i + 1) +
            R"( from SRC_IP","priority":3,"kingdom":"Reconnaissance & Probing",)"
            R"("category":"Misc Activity","rules":[)";
    json += "{" + base +
            R"(,"name":"first","stage":1,"occurrence":1,"from":"HOME_NET","to":"ANY",)"
            R"("reliability":1,"timeout":0},)";
    json += "{" + base + R"(,"name":"repeat","stage":2,"occurrence":)" +
            std::to_string(repeat_occurrence) +
            R"(,"from":":1","to":"ANY","reliability":5,"timeout":3600},)";
    json += "{" + base +
            R"(,"name":"flood","stage":3,"occurrence":100000,"from":":1","to":"ANY",)"
            R"("reliability":10,"timeout":7200}]})";
  }
  json += "]}";
  config::DirectiveSet set;
  config::accept_directives(config::decode_directives(json, "directives_bench.json"), set);
  if (set.directives.size() != static_cast<std::size_t>(count)) {
    throw std::logic_error("bench directives failed validation");
  }
  return std::move(set.directives);
}

inline std::shared_ptr<const config::Assets> assets() {
  auto out = std::make_shared<config::Assets>();
  out->add_from_json(R"({"assets":[{"name":"10-Net","cidr":"10.0.0.0/8","value":3}]})");
  return out;
}

// The event template gen_bench_configs.py writes for `directive_count` directives.
inline std::string event_template(int directive_count) {
  return R"({"timestamp":"{{now}}","event_id":"bench-{{uuid}}-{{seq}}",)"
         R"("title":"ET SCAN Potential SSH Scan","sensor":"suricata-bench-1",)"
         R"("plugin_id":"{{int:)" +
         std::to_string(kFirstPluginId) + ":" +
         std::to_string(kFirstPluginId + directive_count - 1) +
         R"(}}","plugin_sid":"{{int:1:5}}","product":"Intrusion Detection System",)"
         R"("category":"Attempted Information Leak","src_ip":"{{ip:10.1.0.0/28}}",)"
         R"("src_port":"{{int:1024:65535}}","dst_ip":"{{ip:10.2.0.0/16}}",)"
         R"("dst_port":"{{int:1:1024}}","protocol":"TCP","custom_label1":"signature_id",)"
         R"("custom_data1":"{{pick:2001219|2003068|2010935|2010937}}"})";
}

// `size` rendered event bodies, as `dsiem bench` sends them (event IDs still to be numbered).
inline std::vector<tools::bench::PooledEvent> event_bodies(int directive_count, std::size_t size,
                                                           uint64_t seed) {
  const auto tmpl = tools::bench::EventTemplate::parse(event_template(directive_count));
  return tools::bench::build_pool(tmpl, size, seed);
}

// One load event as the ingest side decodes it (its event ID still to be numbered), received
// at `rcvd_time_ns`: the engine flags events received more than max_delay before its clock.
inline event::Event decoded_event(int directive_count, uint64_t seed, int64_t rcvd_time_ns) {
  const auto bodies = event_bodies(directive_count, 1, seed);
  event::Event out;
  std::string error;
  if (!event::decode(bodies.front().text, out, &error)) throw std::logic_error(error);
  out.rcvd_time = rcvd_time_ns;
  return out;
}

// Address of source number `n` (0, 1, ...), counting up from 10.1.0.0 like the load's
// 10.1.0.0/28 pool; beyond 16 it stays inside HOME_NET.
inline std::string source_ip(int n) {
  return "10.1." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
}

// Numbers event IDs without allocating: the template's event_id ends with the {{seq}} digits,
// which are overwritten in place, so every processed event carries an ID never seen before
// (a repeated ID would be refused by the duplicate guard instead of creating a backlog).
class EventNumbering {
 public:
  void stamp(event::Event& e) {
    tools::bench::write_seq(e.event_id.data() + e.event_id.size() - tools::bench::kSeqWidth, ++seq_,
                            false);
  }

 private:
  uint64_t seq_ = 0;
};

// The load's events, drawn up front and assembled one at a time into a single reused Event
// just before processing, as a freshly decoded event reaches the engine: hot in cache, with
// the fields the template would have rendered. Whatever the template draws at random (plugin,
// sid, source, destination, ports, custom data) is drawn per event, so events reach the live
// backlogs uniformly at random. (A pool of whole Event objects, close to 1 KB each, would
// either revisit only as many backlogs as it holds or, made large, add a cache miss per event
// that a decoded event does not have.)
class LoadEvents {
 public:
  struct Shape {
    // plugin_id uniform over first_plugin_id .. first_plugin_id + plugin_count - 1
    int64_t first_plugin_id = kFirstPluginId;
    int plugin_count = 1;
    // src_ip uniform over source_ip(0) .. source_ip(source_count - 1)
    int source_count = kLoadSources;
  };

  // `draw_count` (a power of two) events, cycled; IDs from `numbering`, which must outlive
  // this object.
  LoadEvents(Shape shape, std::size_t draw_count, uint64_t seed, int64_t rcvd_time_ns,
             EventNumbering& numbering)
      : event_(decoded_event(shape.plugin_count, seed, rcvd_time_ns)),
        first_plugin_id_(shape.first_plugin_id),
        numbering_(numbering) {
    if (draw_count == 0 || (draw_count & (draw_count - 1)) != 0) {
      throw std::logic_error("draw_count must be a power of two");
    }
    for (int s = 0; s < shape.source_count; ++s) sources_.push_back(source_ip(s));
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int32_t> plugin(0, shape.plugin_count - 1);
    std::uniform_int_distribution<uint32_t> source(0, shape.source_count - 1);
    std::uniform_int_distribution<int> sid(1, 5), src_port(1024, 65535), dst_port(1, 1024),
        octet(0, 255), pick(0, kSignatures.size() - 1);
    draws_.resize(draw_count);
    for (Draw& d : draws_) {
      d.plugin = plugin(rng);
      d.source = source(rng);
      d.src_port = static_cast<uint16_t>(src_port(rng));
      d.dst_port = static_cast<uint16_t>(dst_port(rng));
      d.sid = static_cast<uint8_t>(sid(rng));
      d.signature = static_cast<uint8_t>(pick(rng));
      const std::string dst =
          "10.2." + std::to_string(octet(rng)) + "." + std::to_string(octet(rng));
      d.dst_ip_size = static_cast<uint8_t>(dst.size());
      dst.copy(d.dst_ip, dst.size());
    }
  }

  // The next event, with an ID never used before; valid until the next call.
  const event::Event& next() {
    next_into(event_);
    return event_;
  }

  // The same into `out`, which must be a copy of prototype() (or of an earlier event).
  void next_into(event::Event& out) {
    const Draw& d = draws_[next_];
    next_ = (next_ + 1) & (draws_.size() - 1);
    out.plugin_id = first_plugin_id_ + d.plugin;
    out.plugin_sid = d.sid;
    out.src_ip = sources_[d.source];
    out.src_port = d.src_port;
    out.dst_ip.assign(d.dst_ip, d.dst_ip_size);
    out.dst_port = d.dst_port;
    out.custom_data1 = kSignatures[d.signature];
    numbering_.stamp(out);
  }

  // The event every drawn one is assembled from.
  const event::Event& prototype() const { return event_; }

 private:
  // The template's {{pick:...}} choices for custom_data1.
  static constexpr std::array<std::string_view, 4> kSignatures = {"2001219", "2003068", "2010935",
                                                                  "2010937"};
  struct Draw {
    int32_t plugin;  // offset from first_plugin_id_
    uint32_t source;
    uint16_t src_port;
    uint16_t dst_port;
    uint8_t sid;
    uint8_t signature;
    uint8_t dst_ip_size;
    char dst_ip[12];  // "10.2.255.255" at most
  };

  event::Event event_;
  int64_t first_plugin_id_;
  EventNumbering& numbering_;
  std::vector<std::string> sources_;
  std::vector<Draw> draws_;
  std::size_t next_ = 0;
};

// Calls `process(event)` with `events_each` events for every (directive, source) pair, pair by
// pair round after round: each pair's first event creates its backlog, the rest extend it.
// The events are copies of `prototype` with the pair's plugin_id and src_ip and a fresh ID.
template <typename Process>
void feed_every_backlog(const event::Event& prototype, int directive_count, int source_count,
                        int events_each, EventNumbering& numbering, Process&& process) {
  std::vector<std::string> sources;
  for (int s = 0; s < source_count; ++s) sources.push_back(source_ip(s));
  event::Event e = prototype;
  for (int round = 0; round < events_each; ++round) {
    for (int d = 0; d < directive_count; ++d) {
      e.plugin_id = kFirstPluginId + d;
      for (const std::string& source : sources) {
        e.src_ip = source;
        numbering.stamp(e);
        process(e);
      }
    }
  }
}

// Discards output lines and counts their bytes. Thread-safe: each writing thread counts on its
// own cache line, so correlation shards do not contend here (a shared counter would make the
// sink, not the engine, decide how well shards scale).
class DiscardSink final : public alarm::RecordSink {
 public:
  DiscardSink() : serial_(next_serial().fetch_add(1) + 1) {}

  void write_link(std::string line) override { count(line.size()); }
  // Counts the lines' bytes without their newlines, as write_link does.
  void write_links(std::string_view lines, std::size_t n) override { count(lines.size() - n); }
  void write_alarm(std::string line) override { count(line.size()); }

  uint64_t bytes() const {
    std::lock_guard lock(mu_);
    uint64_t total = 0;
    for (const Counter& c : counters_) total += c.bytes.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) Counter {
    std::atomic<uint64_t> bytes{0};
  };

  static std::atomic<uint64_t>& next_serial() {
    static std::atomic<uint64_t> serial{0};
    return serial;
  }

  void count(std::size_t n) {
    // The serial, not the address, identifies the sink: a later sink may reuse the address.
    thread_local uint64_t cached_serial = 0;
    thread_local Counter* cached = nullptr;
    if (cached_serial != serial_) {
      std::lock_guard lock(mu_);
      cached = &counters_.emplace_back();
      cached_serial = serial_;
    }
    // Only this thread writes its counter: a relaxed load and store, no locked instruction.
    cached->bytes.store(cached->bytes.load(std::memory_order_relaxed) + n,
                        std::memory_order_relaxed);
  }

  const uint64_t serial_;
  mutable std::mutex mu_;
  std::deque<Counter> counters_;  // a deque never moves its elements
};

}  // namespace dsiem::workload
