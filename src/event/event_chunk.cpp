#include "dsiem/event/event_chunk.h"

#include <vector>

namespace dsiem::event {

ChunkPtr make_chunk(std::span<const std::shared_ptr<const Event>> events) {
  auto owners =
      std::make_shared<std::vector<std::shared_ptr<const Event>>>(events.begin(), events.end());
  auto chunk = std::make_shared<EventChunk>();
  chunk->events.reserve(events.size());
  for (const auto& e : *owners) chunk->events.push_back(e.get());
  chunk->owner = std::move(owners);
  return chunk;
}

ChunkPtr make_chunk(std::shared_ptr<const void> owner, const Event& e) {
  auto chunk = std::make_shared<EventChunk>();
  chunk->owner = std::move(owner);
  chunk->events.push_back(&e);
  return chunk;
}

}  // namespace dsiem::event
