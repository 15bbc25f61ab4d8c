#include "dsiem/correlate/pipeline.h"

#include <algorithm>

namespace dsiem::correlate {

namespace {

// Upper bound between expiry checks when no event arrives.
constexpr auto kIdleWake = std::chrono::milliseconds(500);
// After a small batch the shard lets events gather for this long before it looks again, so
// that under load it wakes once per batch instead of once per event (each wake-up costs a
// futex call and a context switch on both sides). Bounded added latency; nothing at all when
// idle, because an empty queue is then waited on.
constexpr auto kLinger = std::chrono::microseconds(500);
constexpr std::size_t kLingerBelow = 256;

}  // namespace

Pipeline::Pipeline(std::vector<config::Directive> directives,
                   std::shared_ptr<const config::Assets> assets, const Clock& clock,
                   alarm::RecordSink& sink, Options options, OverloadSignal overload)
    : capacity_(options.capacity), directive_count_(directives.size()), clock_(clock) {
  const std::size_t n = std::max<std::size_t>(1, options.shards);
  std::vector<std::vector<config::Directive>> parts(n);
  for (std::size_t i = 0; i < directives.size(); ++i) {
    parts[i % n].push_back(std::move(directives[i]));
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto shard = std::make_unique<Shard>();
    EngineOptions eo = options.engine;
    eo.shard = static_cast<int>(i);
    shard->engine =
        std::make_unique<Engine>(std::move(parts[i]), assets, clock, sink, eo, overload);
    shards_.push_back(std::move(shard));
  }
  for (auto& s : shards_) {
    Shard* raw = s.get();
    s->thread = std::thread([this, raw] { run(*raw); });
  }
}

Pipeline::~Pipeline() {
  stop();
}

bool Pipeline::push(EventPtr e) {
  return push(std::span<const EventPtr>(&e, 1));
}

bool Pipeline::push(std::span<const EventPtr> events) {
  return events.empty() || push(event::make_chunk(events));
}

bool Pipeline::push(event::ChunkPtr chunk) {
  const std::size_t n = chunk->events.size();
  if (n == 0) return true;
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  if (capacity_ > 0) {
    for (const auto& s : shards_) {
      if (!s->queue.empty() && s->queued + n > capacity_) return false;
    }
  }
  for (auto& s : shards_) {
    s->queue.push_back(chunk);
    s->queued += n;
    s->cv.notify_one();
  }
  pushed_ += n;
  return true;
}

void Pipeline::drain() {
  std::unique_lock lock(mu_);
  const uint64_t target = pushed_;
  progress_cv_.wait(lock, [&] {
    return std::all_of(shards_.begin(), shards_.end(),
                       [&](const auto& s) { return s->done >= target; });
  });
}

void Pipeline::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (shards_.empty() || !shards_.front()->thread.joinable()) return;
    }
    stopping_ = true;
    for (auto& s : shards_) s->cv.notify_one();
  }
  for (auto& s : shards_) {
    if (s->thread.joinable()) s->thread.join();
  }
}

void Pipeline::run(Shard& shard) {
  std::deque<event::ChunkPtr> batch;
  std::vector<const event::Event*> events;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      const int64_t next = shard.engine->next_tick_ns();
      auto wake = std::chrono::steady_clock::now() + kIdleWake;
      if (next >= 0) {
        const int64_t wait_ns = std::max<int64_t>(0, next - clock_.now_ns());
        wake = std::min(wake, std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait_ns));
      }
      shard.cv.wait_until(lock, wake, [&] { return stopping_ || !shard.queue.empty(); });
      if (stopping_ && shard.queue.empty()) break;
      batch.swap(shard.queue);
      shard.queued = 0;
    }
    events.clear();
    for (const event::ChunkPtr& chunk : batch) {
      events.insert(events.end(), chunk->events.begin(), chunk->events.end());
    }
    shard.engine->process(events);
    shard.engine->tick();
    shard.backlogs.store(shard.engine->backlog_count(), std::memory_order_relaxed);
    shard.active_directives.store(shard.engine->active_directive_count(),
                                  std::memory_order_relaxed);
    const std::size_t processed = events.size();
    if (processed > 0) {
      std::lock_guard lock(mu_);
      shard.done += processed;
      progress_cv_.notify_all();
    }
    batch.clear();
    if (processed > 0 && processed < kLingerBelow) std::this_thread::sleep_for(kLinger);
  }
}

uint64_t Pipeline::processed() const {
  std::lock_guard lock(mu_);
  uint64_t n = UINT64_MAX;
  for (const auto& s : shards_) n = std::min(n, s->done);
  return n;
}

std::size_t Pipeline::queue_length() const {
  std::lock_guard lock(mu_);
  std::size_t longest = 0;
  for (const auto& s : shards_) longest = std::max(longest, s->queued);
  return longest;
}

std::size_t Pipeline::backlog_count() const {
  std::size_t n = 0;
  for (const auto& s : shards_) n += s->backlogs.load(std::memory_order_relaxed);
  return n;
}

std::size_t Pipeline::active_directive_count() const {
  std::size_t n = 0;
  for (const auto& s : shards_) n += s->active_directives.load(std::memory_order_relaxed);
  return n;
}

}  // namespace dsiem::correlate
