#include "dsiem/event/event_pool.h"

#include <mutex>

namespace dsiem::event {

namespace {

// Single-event requests and batch requests keep separate shelves, so that one event does not
// hold a thousand-event batch while it waits in a queue.
constexpr std::size_t kSmallBatch = 16;
// What the pool keeps at most: enough for the batches in flight under load, bounded in memory.
constexpr std::size_t kMaxShelvedEvents = 64 * 1024;
constexpr std::size_t kMaxShelvedSmall = 4096;

}  // namespace

struct EventPool::Shelves {
  std::mutex mu;
  std::vector<std::unique_ptr<Batch>> small;
  std::vector<std::unique_ptr<Batch>> large;
  std::size_t large_events = 0;

  void put_back(Batch* raw) {
    std::unique_ptr<Batch> batch(raw);
    const std::size_t size = batch->events.size();
    std::lock_guard lock(mu);
    if (size <= kSmallBatch) {
      if (small.size() < kMaxShelvedSmall) small.push_back(std::move(batch));
    } else if (large_events + size <= kMaxShelvedEvents) {
      large_events += size;
      large.push_back(std::move(batch));
    }
    // Otherwise `batch` is freed here (outside the pool's bound).
  }

  std::unique_ptr<Batch> take(std::size_t n) {
    std::lock_guard lock(mu);
    auto& shelf = n <= kSmallBatch ? small : large;
    if (shelf.empty()) return nullptr;
    std::unique_ptr<Batch> batch = std::move(shelf.back());
    shelf.pop_back();
    if (&shelf == &large) large_events -= batch->events.size();
    return batch;
  }
};

EventPool::EventPool() : shelves_(std::make_shared<Shelves>()) {}

EventPool::~EventPool() = default;

std::shared_ptr<EventPool::Batch> EventPool::acquire(std::size_t n) {
  std::unique_ptr<Batch> batch = shelves_->take(n);
  if (!batch) batch = std::make_unique<Batch>();
  if (batch->events.size() < n) batch->events.resize(n);
  // The deleter keeps the shelves alive, so a batch may outlive the pool that made it.
  return std::shared_ptr<Batch>(batch.release(),
                                [shelves = shelves_](Batch* b) { shelves->put_back(b); });
}

std::size_t EventPool::pooled() const {
  std::lock_guard lock(shelves_->mu);
  return shelves_->small.size() + shelves_->large.size();
}

}  // namespace dsiem::event
