#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "dsiem/event/event.h"

namespace dsiem::event {

// Recycled storage for decoded events. An Event holds half a dozen strings too long for the
// small-string buffer; allocating them for every event (on an I/O thread) and freeing them
// after correlation (on a shard thread) costs more than decoding. A pooled batch comes back
// with its events' buffers intact, so the next request decodes into them without allocating.
// Thread-safe; batches may outlive the pool.
class EventPool {
 public:
  struct Batch {
    std::vector<Event> events;  // at least as many as asked for
  };

  EventPool();
  ~EventPool();
  EventPool(const EventPool&) = delete;
  EventPool& operator=(const EventPool&) = delete;

  // A batch with at least `n` events, its contents left over from earlier use (decode() resets
  // an event). It returns to the pool when the last shared_ptr to it (or, through shared_ptr's
  // aliasing constructor, to one of its events) goes.
  std::shared_ptr<Batch> acquire(std::size_t n);

  // Batches waiting to be reused (for tests).
  std::size_t pooled() const;

 private:
  struct Shelves;
  std::shared_ptr<Shelves> shelves_;
};

}  // namespace dsiem::event
