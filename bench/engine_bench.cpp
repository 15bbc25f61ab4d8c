// Correlation-engine micro benchmarks: the cost of one event through Engine::process with no
// HTTP, queue or file I/O in the way.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "dsiem/alarm/record_sink.h"
#include "dsiem/common/clock.h"
#include "dsiem/config/assets.h"
#include "dsiem/config/directive.h"
#include "dsiem/correlate/engine.h"
#include "dsiem/event/event.h"

namespace {

using dsiem::config::Directive;
using dsiem::config::Rule;

class NullSink final : public dsiem::alarm::RecordSink {
 public:
  void write_link(std::string line) override { bytes_ += line.size(); }
  void write_alarm(std::string line) override { bytes_ += line.size(); }

 private:
  std::size_t bytes_ = 0;
};

Rule plugin_rule(int64_t stage, int64_t plugin_id, int64_t occurrence, std::string from) {
  Rule r;
  r.name = "rule";
  r.stage = stage;
  r.type = "PluginRule";
  r.kind = dsiem::config::RuleType::kPlugin;
  r.plugin_id = plugin_id;
  r.plugin_sid = {1, 2, 3};
  r.plugin_sid_set = true;
  r.occurrence = occurrence;
  r.from = std::move(from);
  r.to = "ANY";
  r.port_from = "ANY";
  r.port_to = "ANY";
  r.reliability = 5;
  r.timeout = 3600;
  return r;
}

// `count` directives on plugins 1000..; each 3 stages, stage 2 pinned to the first source.
std::vector<Directive> make_directives(int count) {
  std::vector<Directive> out;
  for (int i = 0; i < count; ++i) {
    Directive d;
    d.id = i + 1;
    d.name = "Directive from SRC_IP";
    d.priority = 3;
    d.kingdom = "Reconnaissance & Probing";
    d.category = "Misc Activity";
    d.rules = {plugin_rule(1, 1000 + i, 1, "HOME_NET"), plugin_rule(2, 1000 + i, 5, ":1"),
               plugin_rule(3, 1000 + i, 1000000, ":1")};
    out.push_back(std::move(d));
  }
  return out;
}

std::shared_ptr<const dsiem::config::Assets> make_assets() {
  auto assets = std::make_shared<dsiem::config::Assets>();
  assets->add_from_json(R"({"assets":[{"name":"10-Net","cidr":"10.0.0.0/8","value":3}]})");
  return assets;
}

dsiem::event::Event make_event(int64_t plugin_id, int src) {
  dsiem::event::Event e;
  e.event_id = "ev-" + std::to_string(src);
  e.timestamp = "2026-01-01T00:00:00Z";
  e.sensor = "bench";
  e.plugin_id = plugin_id;
  e.plugin_sid = 2;
  e.src_ip = "10.0." + std::to_string((src >> 8) & 255) + "." + std::to_string(src & 255);
  e.dst_ip = "8.8.8.8";
  e.protocol = "ICMP";
  return e;
}

// Events that no directive wants: the cost must not grow with the number of directives.
void BM_UnmatchedEvent(benchmark::State& state) {
  dsiem::ManualClock clock(1767225600);
  NullSink sink;
  dsiem::correlate::Engine engine(make_directives(static_cast<int>(state.range(0))), make_assets(),
                                  clock, sink, {});
  const auto e = make_event(1, 1);
  for (auto _ : state) engine.process(e);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UnmatchedEvent)->Arg(1)->Arg(100)->Arg(10000);

// Events that advance live backlogs of one directive (`range(0)` live backlogs, distinct sources).
void BM_MatchedEvent(benchmark::State& state) {
  dsiem::ManualClock clock(1767225600);
  NullSink sink;
  dsiem::correlate::EngineOptions options;
  options.max_delay_seconds = 0;  // bench events carry no receive time
  dsiem::correlate::Engine engine(make_directives(100), make_assets(), clock, sink, options);
  const int sources = static_cast<int>(state.range(0));
  std::vector<dsiem::event::Event> events;
  for (int i = 0; i < sources; ++i) events.push_back(make_event(1000, i));
  uint64_t n = 0;
  for (auto _ : state) {
    dsiem::event::Event& e = events[n % events.size()];
    e.event_id = "ev-" + std::to_string(n++);
    engine.process(e);
  }
  state.SetItemsProcessed(state.iterations());
}
// Fixed iterations: every appended event ID is kept for the duplicate guard.
BENCHMARK(BM_MatchedEvent)->Arg(1)->Arg(100)->Arg(1000)->Iterations(300000);

// Decoding one event body under Go-JSON rules.
void BM_DecodeEvent(benchmark::State& state) {
  const std::string body =
      R"({"event_id":"5c1f0b7e-8a51-4a3e-9b1e-2b3c4d5e6f70","timestamp":"2024-01-01T00:00:00.000Z",)"
      R"("title":"ICMP Ping","sensor":"ids-1","plugin_id":1001,"plugin_sid":2100384,)"
      R"("product":"Intrusion Detection System","category":"Misc activity",)"
      R"("src_ip":"192.168.0.10","src_port":0,"dst_ip":"8.8.8.8","dst_port":0,"protocol":"ICMP"})";
  dsiem::event::Event e;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dsiem::event::decode(body, e));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DecodeEvent);

}  // namespace
