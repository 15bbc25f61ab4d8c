#pragma once

#include <boost/container/small_vector.hpp>

#include <memory>
#include <span>

#include "dsiem/event/event.h"

namespace dsiem::event {

// Events handed over together, in order, with what keeps them alive (usually the request's
// pooled batch). Queues hold one reference per chunk rather than one per event: with a batch
// of a thousand events, per-event reference counts updated from the I/O thread and from every
// shard cost more than the hand-over itself.
struct EventChunk {
  std::shared_ptr<const void> owner;
  boost::container::small_vector<const Event*, 1> events;
};
using ChunkPtr = std::shared_ptr<const EventChunk>;

// A chunk of `events`, each kept alive by its own pointer.
ChunkPtr make_chunk(std::span<const std::shared_ptr<const Event>> events);
// A chunk of the one event `e`, kept alive by `owner` (the pooled batch it was decoded into).
ChunkPtr make_chunk(std::shared_ptr<const void> owner, const Event& e);

}  // namespace dsiem::event
