// The sharded pipeline's hand-over: chunks of events, all or none, bounded queues.
#include "dsiem/correlate/pipeline.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "dsiem/common/clock.h"
#include "unit/test_support.h"

namespace dsiem::correlate {
namespace {

constexpr int64_t T = 1704067200;

// Records link lines; write_link waits while the gate is closed, holding its shard inside the
// engine so that the queue behind it fills up.
class GatedSink final : public alarm::RecordSink {
 public:
  void write_link(std::string line) override {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    links_.push_back(std::move(line));
  }
  void write_alarm(std::string) override {}
  void wait_entered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> event_ids() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> ids;
    for (const auto& l : links_) ids.push_back(test::string_field(l, "event_id"));
    return ids;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
  std::vector<std::string> links_;
};

// `ids` as one chunk, every event from its own source (each creates a backlog and a link).
event::ChunkPtr chunk_of(std::vector<std::string> ids, std::shared_ptr<void>* owner_out = nullptr) {
  auto storage = std::make_shared<std::vector<event::Event>>();
  int source = 0;
  for (auto& id : ids) {
    storage->push_back(test::make_event(
        id, "10.0." + std::to_string(id.size()) + "." + std::to_string(++source), "8.8.8.8", T));
  }
  auto chunk = std::make_shared<event::EventChunk>();
  for (const auto& e : *storage) chunk->events.push_back(&e);
  chunk->owner = storage;
  if (owner_out) *owner_out = storage;
  return chunk;
}

TEST(PipelineTest, ChunksAreTakenWholeOrNotAtAllAndReleasedWhenProcessed) {
  ManualClock clock(T + 10);
  GatedSink sink;
  Pipeline::Options options;
  options.capacity = 3;
  Pipeline pipeline({test::testing_directive(1)}, test::testing_assets(), clock, sink, options);

  std::shared_ptr<void> owner;
  ASSERT_TRUE(pipeline.push(chunk_of({"a1"}, &owner)));
  std::weak_ptr<void> watched = owner;
  owner.reset();
  sink.wait_entered();  // the shard holds a1; its queue is empty again
  // An empty queue takes any chunk, even one beyond the capacity.
  EXPECT_TRUE(pipeline.push(chunk_of({"b1", "b2", "b3", "b4"})));
  EXPECT_EQ(pipeline.queue_length(), 4u);
  EXPECT_FALSE(pipeline.push(chunk_of({"c1"}))) << "4 queued + 1 > 3: refused whole";
  sink.open();
  pipeline.drain();
  EXPECT_EQ(pipeline.queue_length(), 0u);
  EXPECT_TRUE(pipeline.push(chunk_of({"d1", "d2"})));
  pipeline.drain();
  EXPECT_EQ(sink.event_ids(), (std::vector<std::string>{"a1", "b1", "b2", "b3", "b4", "d1", "d2"}));
  EXPECT_EQ(pipeline.processed(), 7u);
  pipeline.stop();
  EXPECT_TRUE(watched.expired()) << "a processed chunk's events are no longer held";
}

TEST(PipelineTest, EmptyChunksAndEventPointersAreAccepted) {
  ManualClock clock(T + 10);
  test::CapturingSink sink;
  Pipeline pipeline({test::testing_directive(1)}, test::testing_assets(), clock, sink, {});
  EXPECT_TRUE(pipeline.push(std::make_shared<event::EventChunk>()));
  const auto e =
      std::make_shared<const event::Event>(test::make_event("p1", "10.0.0.1", "8.8.8.8", T));
  EXPECT_TRUE(pipeline.push(e));
  const std::vector<EventPtr> two = {
      std::make_shared<const event::Event>(test::make_event("p2", "10.0.0.2", "8.8.8.8", T)),
      std::make_shared<const event::Event>(test::make_event("p3", "10.0.0.3", "8.8.8.8", T))};
  EXPECT_TRUE(pipeline.push(two));
  pipeline.drain();
  EXPECT_EQ(pipeline.processed(), 3u);
  EXPECT_EQ(sink.links().size(), 3u);
}

}  // namespace
}  // namespace dsiem::correlate
