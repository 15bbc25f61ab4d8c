// Correlation sharded across threads: correlate::Pipeline over the end-to-end load at 1,000
// directives, with decoded events pushed in batches as the ingest side does. Wall-clock time:
// the figure is how many events all shards together get through per second, so the ratio
// of 2 shards to 1 shows what the second core adds (target: >= 1.7x).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bench_workload.h"
#include "dsiem/common/clock.h"
#include "dsiem/correlate/pipeline.h"
#include "dsiem/event/event.h"

namespace {

using dsiem::correlate::EventPtr;
using dsiem::correlate::Pipeline;
using dsiem::event::Event;
namespace workload = dsiem::workload;

constexpr int kDirectives = 1000;
// Events per push(span) call: one POST /events batch.
constexpr std::size_t kPushBatch = 1024;
constexpr std::size_t kEventsPerIteration = 32 * kPushBatch;
// Every run processes the same number of events (2^20): the engines keep every event ID of a
// live backlog, so the state, and with it the cost per event, grows with the events processed.
constexpr int64_t kIterations = 32;
constexpr std::size_t kDraws = std::size_t{1} << 18;
constexpr uint64_t kSeed = 42;

// Pushes `events` in kPushBatch batches. The pipeline is unbounded here, so push never refuses.
void push_all(Pipeline& pipeline, std::span<const EventPtr> events) {
  for (std::size_t at = 0; at < events.size(); at += kPushBatch) {
    pipeline.push(events.subspan(at, std::min(kPushBatch, events.size() - at)));
  }
}

void BM_PipelineShards(benchmark::State& state) {
  // The clock stands still: no expiry check falls due and no event is late.
  dsiem::ManualClock clock(dsiem::SystemClock::instance().now_seconds());
  workload::DiscardSink sink;
  Pipeline::Options options;
  options.shards = static_cast<std::size_t>(state.range(0));
  Pipeline pipeline(workload::directives(kDirectives), workload::assets(), clock, sink, options);
  workload::EventNumbering numbering;

  // Steady state first: every backlog of the load (16 sources x 1,000 directives) at its last
  // stage, so that every timed event is appended to a live backlog.
  std::vector<EventPtr> warm_up;
  workload::feed_every_backlog(workload::decoded_event(kDirectives, kSeed, clock.now_ns()),
                               kDirectives, workload::kLoadSources, workload::kEventsToLastStage,
                               numbering, [&](const Event& e) {
                                 warm_up.push_back(std::make_shared<const Event>(e));
                                 if (warm_up.size() == kPushBatch) {
                                   push_all(pipeline, warm_up);
                                   warm_up.clear();
                                 }
                               });
  push_all(pipeline, warm_up);
  pipeline.drain();

  workload::LoadEvents load({.plugin_count = kDirectives}, kDraws, kSeed, clock.now_ns(),
                            numbering);
  // The events of an iteration side by side, handed over in chunks of kPushBatch as the ingest
  // side hands over a request's batch.
  auto storage = std::make_shared<std::vector<Event>>(kEventsPerIteration, load.prototype());
  std::vector<dsiem::event::ChunkPtr> chunks;
  for (std::size_t at = 0; at < kEventsPerIteration; at += kPushBatch) {
    auto chunk = std::make_shared<dsiem::event::EventChunk>();
    chunk->owner = storage;
    for (std::size_t i = at; i < at + kPushBatch; ++i) chunk->events.push_back(&(*storage)[i]);
    chunks.push_back(std::move(chunk));
  }
  for (auto _ : state) {
    // Fresh events for each iteration, written by this thread as the ingest side writes the
    // events it decodes. After drain() no shard reads them any more.
    state.PauseTiming();
    for (Event& e : *storage) load.next_into(e);
    state.ResumeTiming();
    for (const auto& chunk : chunks) pipeline.push(chunk);
    pipeline.drain();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kEventsPerIteration));
  state.counters["backlogs"] = static_cast<double>(pipeline.backlog_count());
  pipeline.stop();
}
BENCHMARK(BM_PipelineShards)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(kIterations)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  workload::mute_engine_log();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
