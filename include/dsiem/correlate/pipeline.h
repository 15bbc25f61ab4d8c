#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "dsiem/correlate/engine.h"
#include "dsiem/event/event_chunk.h"

namespace dsiem::correlate {

using EventPtr = std::shared_ptr<const event::Event>;

// Runs correlation on `shards` threads. Directives are split between shards (directive i goes
// to shard i % shards); every shard sees every event in the same order, and each shard owns its
// engine outright, so no lock guards backlog state. Queues are bounded: push() refuses an event
// while any shard has `capacity` events waiting (0 = unbounded), which is where back-pressure
// reaches the ingest side. Thread-safe.
class Pipeline {
 public:
  struct Options {
    std::size_t shards = 1;
    std::size_t capacity = 0;
    EngineOptions engine;
  };

  Pipeline(std::vector<config::Directive> directives, std::shared_ptr<const config::Assets> assets,
           const Clock& clock, alarm::RecordSink& sink, Options options,
           OverloadSignal overload = {});
  ~Pipeline();

  // Queues the chunk's events for every shard, in order, or none of them: false when a shard's
  // queue cannot take them all (a shard with an empty queue takes any chunk, so none waits for
  // ever) or the pipeline is stopping.
  bool push(event::ChunkPtr chunk);
  // The same for one event, or for events each kept alive by its own pointer.
  bool push(EventPtr e);
  bool push(std::span<const EventPtr> events);
  // Blocks until every event queued so far has been processed.
  void drain();
  // Processes what is queued, then stops the shard threads. Idempotent.
  void stop();

  std::size_t queue_length() const;
  std::size_t backlog_count() const;
  std::size_t active_directive_count() const;
  std::size_t directive_count() const { return directive_count_; }
  // Events every shard has finished with.
  uint64_t processed() const;

 private:
  struct Shard {
    std::unique_ptr<Engine> engine;
    std::deque<event::ChunkPtr> queue;
    std::size_t queued = 0;  // events in `queue` (guarded by mu_)
    uint64_t done = 0;       // events processed (guarded by mu_)
    std::condition_variable cv;
    std::thread thread;
    std::atomic<std::size_t> backlogs{0};
    std::atomic<std::size_t> active_directives{0};
  };
  void run(Shard& shard);

  mutable std::mutex mu_;
  std::condition_variable progress_cv_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::size_t capacity_;
  std::size_t directive_count_ = 0;
  uint64_t pushed_ = 0;
  bool stopping_ = false;
  const Clock& clock_;
};

}  // namespace dsiem::correlate
