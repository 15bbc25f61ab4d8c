// The sharded pipeline's hand-over: chunks of events, all or none, bounded queues.
#include "dsiem/correlate/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <map>
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

// `events` as one chunk that owns them.
event::ChunkPtr chunk_of_events(std::vector<event::Event> events,
                                std::shared_ptr<void>* owner_out = nullptr) {
  auto storage = std::make_shared<std::vector<event::Event>>(std::move(events));
  auto chunk = std::make_shared<event::EventChunk>();
  for (const auto& e : *storage) chunk->events.push_back(&e);
  chunk->owner = storage;
  if (owner_out) *owner_out = storage;
  return chunk;
}

// `ids` as one chunk, every event from its own source (each creates a backlog and a link).
event::ChunkPtr chunk_of(std::vector<std::string> ids, std::shared_ptr<void>* owner_out = nullptr) {
  std::vector<event::Event> events;
  int source = 0;
  for (auto& id : ids) {
    events.push_back(test::make_event(
        id, "10.0." + std::to_string(id.size()) + "." + std::to_string(++source), "8.8.8.8", T));
  }
  return chunk_of_events(std::move(events), owner_out);
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

// Testing directive 1 with its rules on plugin `plugin_id` instead, as directive `id`.
config::Directive directive_on_plugin(int64_t id, int64_t plugin_id) {
  config::Directive d = test::testing_directive(1);
  d.id = id;
  for (config::Rule& r : d.rules) r.plugin_id = plugin_id;
  return d;
}

// With two shards, an event both shards' directives can use reaches both, and a chunk mixing
// the shards' events reaches each directive's backlogs in push order; events no directive can
// use are counted as processed, and drain() still waits for the events before them.
TEST(PipelineTest, MixedChunksReachEveryShardsDirectivesInPushOrder) {
  ManualClock clock(T + 10);
  test::CapturingSink sink;
  Pipeline::Options options;
  options.shards = 2;
  // Directives 1 and 3 both use plugin 1001 and land on shards 0 and 1; directive 2 on shard 1.
  Pipeline pipeline(
      {directive_on_plugin(1, 1001), directive_on_plugin(2, 2002), directive_on_plugin(3, 1001)},
      test::testing_assets(), clock, sink, options);
  std::vector<event::Event> mixed;
  for (int i = 0; i < 6; ++i) {
    // 1001, 2002, 1001, ... all from one source: one backlog per directive.
    mixed.push_back(test::make_event("m" + std::to_string(i), "192.168.1.1", "8.8.8.8", T + i,
                                     i % 2 == 0 ? 1001 : 2002));
  }
  ASSERT_TRUE(pipeline.push(chunk_of_events(std::move(mixed))));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(pipeline.push(chunk_of_events(
        {test::make_event("x" + std::to_string(i), "192.168.1.1", "8.8.8.8", T, 9999)})));
  }
  pipeline.drain();
  EXPECT_EQ(pipeline.processed(), 56u);
  // Per alarm (backlog), its events in push order.
  std::map<std::string, std::vector<std::string>> by_alarm;
  for (const auto& l : sink.links()) {
    by_alarm[test::alarm_id_of(l)].push_back(test::string_field(l, "event_id"));
  }
  std::vector<std::vector<std::string>> lists;
  for (auto& [alarm, ids] : by_alarm) lists.push_back(ids);
  std::sort(lists.begin(), lists.end());
  EXPECT_EQ(lists, (std::vector<std::vector<std::string>>{
                       {"m0", "m2", "m4"}, {"m0", "m2", "m4"}, {"m1", "m3", "m5"}}));
  pipeline.stop();
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
