// Correlation-engine micro benchmarks: parsed events into Engine::process, records out to a
// sink that discards them; no HTTP, queue or file I/O in the way. The load is the one of the
// end-to-end benchmark (bench_workload.h).
//
// Event benchmarks process kEventsPerIteration events per iteration. Those that build up
// backlogs run a fixed number of iterations: the engine keeps every event ID of a live backlog
// (and its distinct addresses), so its state, and with it the cost per event, grows with the
// events processed; a fixed count makes runs compare, and sets up the engine once per run.
// items_per_second is the figure, time_per_event its inverse.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench_workload.h"
#include "dsiem/common/clock.h"
#include "dsiem/common/huge_pages.h"
#include "dsiem/common/ip.h"
#include "dsiem/correlate/engine.h"
#include "dsiem/event/batch.h"
#include "dsiem/event/event.h"
#include "dsiem/tools/bench.h"

namespace {

using dsiem::correlate::Engine;
using dsiem::event::Event;
namespace workload = dsiem::workload;

constexpr std::size_t kEventsPerIteration = 4096;
// 2^20 events per run of the stateful benchmarks: half a second of the target rate.
constexpr int64_t kStatefulIterations = 256;
// Pre-drawn events, cycled: enough that the cycle does not shape which backlogs are visited.
constexpr std::size_t kDraws = std::size_t{1} << 18;
constexpr uint64_t kSeed = 42;

// Stage 2 occurrence for benchmarks that want every event to extend a backlog and none to
// complete a stage (a stage change writes an alarm, which is not what they measure).
constexpr int64_t kNeverReached = 1'000'000'000;

// The engine's clock stands still at start-up time: no expiry check falls due, and events
// received "now" are never late.
dsiem::ManualClock start_clock() {
  return dsiem::ManualClock(dsiem::SystemClock::instance().now_seconds());
}

void report_event_rate(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kEventsPerIteration));
  state.counters["time_per_event"] = benchmark::Counter(
      static_cast<double>(kEventsPerIteration),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void process_batch(Engine& engine, workload::LoadEvents& events) {
  for (std::size_t i = 0; i < kEventsPerIteration; ++i) engine.process(events.next());
}

// Events per Engine::process(span) call in the batched benchmarks: what a correlation shard
// takes from its queue at a time under load.
constexpr int64_t kShardBatch = 256;

// Feeds kEventsPerIteration load events to `engine` as a shard does: `size` (a divisor of
// kEventsPerIteration) at a time.
class ShardBatches {
 public:
  explicit ShardBatches(workload::LoadEvents& events, std::size_t size = kShardBatch)
      : events_(events), batch_(size, events.prototype()) {
    for (const Event& e : batch_) views_.push_back(&e);
  }
  void run(Engine& engine) {
    for (std::size_t done = 0; done < kEventsPerIteration; done += batch_.size()) {
      for (Event& e : batch_) events_.next_into(e);
      engine.process(views_);
    }
  }

 private:
  workload::LoadEvents& events_;
  std::vector<Event> batch_;
  std::vector<const Event*> views_;
};

// Events whose plugin_id no directive has, against `range(0)` directives: the per-event cost
// must not grow with the number of directives (target: within 1.2x from 10 to 10,000). Such
// events leave no trace, so a small pool of ready events is cycled and the time is
// Engine::process alone.
void BM_UnmatchedEvent(benchmark::State& state) {
  constexpr std::size_t kPool = 1024;
  const int directive_count = static_cast<int>(state.range(0));
  auto clock = start_clock();
  workload::DiscardSink sink;
  Engine engine(workload::directives(directive_count), workload::assets(), clock, sink, {});
  workload::EventNumbering numbering;
  // Plugin IDs below the directives' range, spread so that lookups do not all hit one bucket.
  workload::LoadEvents load({.first_plugin_id = 1, .plugin_count = 1000}, kPool, kSeed,
                            clock.now_ns(), numbering);
  std::vector<Event> pool;
  for (std::size_t i = 0; i < kPool; ++i) pool.push_back(load.next());
  std::size_t next = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kEventsPerIteration; ++i) {
      engine.process(pool[next]);
      next = (next + 1) & (kPool - 1);
    }
  }
  if (engine.backlog_count() != 0) state.SkipWithError("an unmatched event created a backlog");
  report_event_rate(state);
}
BENCHMARK(BM_UnmatchedEvent)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

// The end-to-end load at `range(0)` directives, in steady state: set-up takes each of the
// 16 x N backlogs to its last stage (as the first seconds of a load run do), so every timed
// event is appended to a live backlog and writes one link line. `range(1)` events per call:
// 1 is Engine::process(event); more is Engine::process(span), as a correlation shard calls it
// with what it takes from its queue (it prepares events ahead and prefetches what they will
// touch). Target: >= 2,000,000 events/s on one core at 1,000 directives.
void BM_BenchWorkload(benchmark::State& state) {
  const int directive_count = static_cast<int>(state.range(0));
  const auto per_call = static_cast<std::size_t>(state.range(1));
  auto clock = start_clock();
  workload::DiscardSink sink;
  Engine engine(workload::directives(directive_count), workload::assets(), clock, sink, {});
  workload::EventNumbering numbering;
  workload::feed_every_backlog(workload::decoded_event(directive_count, kSeed, clock.now_ns()),
                               directive_count, workload::kLoadSources,
                               workload::kEventsToLastStage, numbering,
                               [&](const Event& e) { engine.process(e); });
  workload::LoadEvents events({.plugin_count = directive_count}, kDraws, kSeed, clock.now_ns(),
                              numbering);
  ShardBatches batches(events, per_call);
  const uint64_t bytes_before = sink.bytes();
  for (auto _ : state) {
    if (per_call == 1) {
      process_batch(engine, events);
    } else {
      batches.run(engine);
    }
  }
  report_event_rate(state);
  state.counters["backlogs"] = static_cast<double>(engine.backlog_count());
  state.counters["sink_bytes_per_event"] =
      static_cast<double>(sink.bytes() - bytes_before) /
      static_cast<double>(state.iterations() * kEventsPerIteration);
}
BENCHMARK(BM_BenchWorkload)
    ->ArgsProduct({{1, 100, 1000}, {1, kShardBatch}})
    ->Iterations(kStatefulIterations);

// Directives of BM_LiveBacklogs / BM_BacklogMemory; backlogs = directives x sources.
constexpr int kLiveDirectives = 10;

// Events appended to `range(0)` live backlogs chosen uniformly at random (load events with
// their source drawn from the backlogs' sources), in shard batches. The backlogs are created by
// one event each and stay in stage 2. Target: per-event cost within 2x from 10 to 100,000 live
// backlogs.
void BM_LiveBacklogs(benchmark::State& state) {
  const int backlog_count = static_cast<int>(state.range(0));
  const int source_count = backlog_count / kLiveDirectives;
  auto clock = start_clock();
  workload::DiscardSink sink;
  Engine engine(workload::directives(kLiveDirectives, kNeverReached), workload::assets(), clock,
                sink, {});
  workload::EventNumbering numbering;
  workload::feed_every_backlog(workload::decoded_event(kLiveDirectives, kSeed, clock.now_ns()),
                               kLiveDirectives, source_count, 1, numbering,
                               [&](const Event& e) { engine.process(e); });
  if (engine.backlog_count() != static_cast<std::size_t>(backlog_count)) {
    state.SkipWithError("set-up did not create one backlog per directive and source");
    return;
  }
  workload::LoadEvents events({.plugin_count = kLiveDirectives, .source_count = source_count},
                              kDraws, kSeed, clock.now_ns(), numbering);
  ShardBatches batches(events);
  for (auto _ : state) batches.run(engine);
  if (engine.backlog_count() != static_cast<std::size_t>(backlog_count)) {
    state.SkipWithError("timed events changed the number of backlogs");
  }
  report_event_rate(state);
}
BENCHMARK(BM_LiveBacklogs)->Arg(10)->Arg(1000)->Arg(100000)->Iterations(kStatefulIterations);

// A scan: events from 65,536 sources over `range(0)` directives, nearly every one opening a
// backlog (and taking it to stage 2 at once, which updates its alarm), in shard batches. One
// run processes each pre-drawn event once, so a (source, directive) pair repeats only by
// chance; `backlogs_per_event` says how many events did open one.
void BM_NewBacklogs(benchmark::State& state) {
  constexpr int kScanSources = 1 << 16;
  const int directive_count = static_cast<int>(state.range(0));
  auto clock = start_clock();
  workload::DiscardSink sink;
  Engine engine(workload::directives(directive_count), workload::assets(), clock, sink, {});
  workload::EventNumbering numbering;
  workload::LoadEvents events({.plugin_count = directive_count, .source_count = kScanSources},
                              kDraws, kSeed, clock.now_ns(), numbering);
  ShardBatches batches(events);
  for (auto _ : state) batches.run(engine);
  report_event_rate(state);
  state.counters["backlogs_per_event"] =
      static_cast<double>(engine.backlog_count()) /
      static_cast<double>(state.iterations() * kEventsPerIteration);
}
// kDraws events in all: each drawn event once.
BENCHMARK(BM_NewBacklogs)->Arg(100)->Iterations(kDraws / kEventsPerIteration);

// Bytes in use: on the heap, small blocks plus the large ones malloc maps on their own; the
// huge-page arrays of the engine's tables; the backlogs' slab by the slots in use rather than
// by the blocks it mapped (it keeps freed slots, so earlier benchmarks may have left it room).
std::size_t heap_in_use() {
  const struct mallinfo2 info = mallinfo2();
  const Engine::BacklogStorage backlogs = Engine::backlog_storage();
  return info.uordblks + info.hblkhd + dsiem::huge_page_bytes_mapped() - backlogs.reserved_bytes +
         backlogs.used_bytes;
}

// Heap growth per live backlog (target: <= 1 KB plus its event IDs) and per event appended
// to one. 10,000 backlogs (10 directives x 1,000 sources), each created by one load event,
// then kAppendedPerBacklog more events for each with the creating event's addresses, ports and
// custom data, so only the event ID is new. The figures include the engine's indexes (backlog
// lookup lists, expiry timers, duplicate guard) and malloc's chunk headers; containers grow by
// doubling, so the per-event figure is an amortized one.
void BM_BacklogMemory(benchmark::State& state) {
  constexpr int kSources = 1000;
  constexpr int kAppendedPerBacklog = 16;
  constexpr std::size_t kBacklogs = kLiveDirectives * kSources;
  auto clock = start_clock();
  workload::DiscardSink sink;
  Engine engine(workload::directives(kLiveDirectives, kNeverReached), workload::assets(), clock,
                sink, {});
  const Event prototype = workload::decoded_event(kLiveDirectives, kSeed, clock.now_ns());
  workload::EventNumbering numbering;
  const auto process = [&](const Event& e) { engine.process(e); };
  std::size_t backlog_bytes = 0;
  std::size_t event_bytes = 0;
  for (auto _ : state) {
    const std::size_t at_start = heap_in_use();
    workload::feed_every_backlog(prototype, kLiveDirectives, kSources, 1, numbering, process);
    const std::size_t with_backlogs = heap_in_use();
    workload::feed_every_backlog(prototype, kLiveDirectives, kSources, kAppendedPerBacklog,
                                 numbering, process);
    backlog_bytes = with_backlogs - at_start;
    event_bytes = heap_in_use() - with_backlogs;
  }
  if (engine.backlog_count() != kBacklogs) {
    state.SkipWithError("set-up did not create one backlog per directive and source");
    return;
  }
  state.counters["bytes_per_backlog"] =
      static_cast<double>(backlog_bytes) / static_cast<double>(kBacklogs);
  state.counters["bytes_per_event_id"] =
      static_cast<double>(event_bytes) / static_cast<double>(kBacklogs * kAppendedPerBacklog);
}
// One iteration: the engine's state is what is measured, and it only grows.
BENCHMARK(BM_BacklogMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

// Parsing an event address (twice per event: its source and destination), over dotted quads of
// every octet length in random order, as a scan's addresses come.
void BM_ParseAddress(benchmark::State& state) {
  constexpr std::size_t kAddresses = 4096;
  std::mt19937_64 random(kSeed);
  const auto octet = [&] { return std::to_string(random() % 256); };
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < kAddresses; ++i) {
    texts.push_back(octet() + "." + octet() + "." + octet() + "." + octet());
  }
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dsiem::IpAddress::parse(texts[next]));
    next = (next + 1) % kAddresses;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAddress);

// Decoding one event body under Go-JSON rules.
void BM_DecodeEvent(benchmark::State& state) {
  const std::string body =
      R"({"event_id":"5c1f0b7e-8a51-4a3e-9b1e-2b3c4d5e6f70","timestamp":"2024-01-01T00:00:00.000Z",)"
      R"("title":"ICMP Ping","sensor":"ids-1","plugin_id":1001,"plugin_sid":2100384,)"
      R"("product":"Intrusion Detection System","category":"Misc activity",)"
      R"("src_ip":"192.168.0.10","src_port":0,"dst_ip":"8.8.8.8","dst_port":0,"protocol":"ICMP"})";
  Event e;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dsiem::event::decode(body, e));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DecodeEvent);

// A POST /events batch body: a JSON array of 1,000 load events (as `dsiem bench --batch 1000`
// sends them). Target: >= 1 GB/s of event JSON per core.
std::string batch_body() {
  constexpr std::size_t kBatch = 1000;
  const auto bodies = workload::event_bodies(1000, kBatch, kSeed);
  std::string body;
  dsiem::tools::bench::append_body(body, bodies, dsiem::tools::bench::BodyFormat::kArray, 1,
                                   kBatch);
  return body;
}

void report_batch(benchmark::State& state, const std::string& body, std::size_t events) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["bytes_per_event"] = static_cast<double>(body.size()) / events;
}

// The ingest path of a well-formed batch: the body parsed as one document, each element
// decoded into a reused event (as into a pooled batch).
void BM_DecodeBatch(benchmark::State& state) {
  const std::string body = batch_body();
  dsiem::event::ParsedArray parsed;
  std::vector<Event> events(1000);
  bool all_decoded = true;
  for (auto _ : state) {
    if (!parsed.parse(body) || parsed.size() != events.size()) {
      state.SkipWithError("the batch body did not parse as an array of its events");
      break;
    }
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      all_decoded &= parsed.decode(i, events[i], nullptr);
    }
  }
  if (!all_decoded) state.SkipWithError("a batch event did not decode");
  report_batch(state, body, events.size());
}
BENCHMARK(BM_DecodeBatch);

// The path of a batch that is not valid JSON as a whole: framed, then each element parsed and
// decoded on its own.
void BM_DecodeBatchPerElement(benchmark::State& state) {
  const std::string body = batch_body();
  std::vector<Event> events(1000);
  bool all_decoded = true;
  for (auto _ : state) {
    const auto items = dsiem::event::split_event_array(body);
    if (!items || items->size() != events.size()) {
      state.SkipWithError("the batch body did not split into its events");
      break;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
      all_decoded &= dsiem::event::decode((*items)[i].text, events[i]);
    }
  }
  if (!all_decoded) state.SkipWithError("a batch event did not decode");
  report_batch(state, body, events.size());
}
BENCHMARK(BM_DecodeBatchPerElement);

}  // namespace

int main(int argc, char** argv) {
  workload::mute_engine_log();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
