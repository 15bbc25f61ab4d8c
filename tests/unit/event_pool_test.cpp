#include "dsiem/event/event_pool.h"

#include <gtest/gtest.h>

#include <string>

namespace dsiem::event {
namespace {

const std::string kLong(200, 'x');

TEST(EventPoolTest, ABatchComesBackWithItsBuffers) {
  EventPool pool;
  auto batch = pool.acquire(3);
  ASSERT_GE(batch->events.size(), 3u);
  batch->events[2].title = kLong;
  const char* buffer = batch->events[2].title.data();
  batch.reset();
  EXPECT_EQ(pool.pooled(), 1u);

  auto again = pool.acquire(3);
  EXPECT_EQ(pool.pooled(), 0u);
  ASSERT_GE(again->events.size(), 3u);
  // Decoding resets the event but keeps the buffer.
  ASSERT_TRUE(decode(R"({"title":"short"})", again->events[2]));
  EXPECT_EQ(again->events[2].title, "short");
  EXPECT_EQ(again->events[2].title.data(), buffer);
}

TEST(EventPoolTest, EventsKeepTheirBatchAlive) {
  EventPool pool;
  std::shared_ptr<const Event> event;
  {
    auto batch = pool.acquire(2);
    batch->events[1].event_id = "kept";
    event = std::shared_ptr<const Event>(batch, &batch->events[1]);
  }
  EXPECT_EQ(pool.pooled(), 0u);
  EXPECT_EQ(event->event_id, "kept");
  event.reset();
  EXPECT_EQ(pool.pooled(), 1u);
}

TEST(EventPoolTest, SingleEventsAndBatchesUseTheirOwnShelves) {
  EventPool pool;
  pool.acquire(1000).reset();
  auto single = pool.acquire(1);
  EXPECT_LT(single->events.size(), 1000u) << "a single event must not take a big batch";
  EXPECT_EQ(pool.pooled(), 1u);
  auto big = pool.acquire(500);
  EXPECT_GE(big->events.size(), 1000u) << "the shelved batch is reused";
}

TEST(EventPoolTest, ThePoolIsBounded) {
  EventPool pool;
  std::vector<std::shared_ptr<EventPool::Batch>> held;
  for (int i = 0; i < 100; ++i) held.push_back(pool.acquire(10'000));
  held.clear();
  EXPECT_LE(pool.pooled(), 7u) << "at most 64k events stay shelved";
  EXPECT_GE(pool.pooled(), 1u);
}

TEST(EventPoolTest, BatchesMayOutliveThePool) {
  std::shared_ptr<EventPool::Batch> batch;
  {
    EventPool pool;
    batch = pool.acquire(4);
  }
  batch->events[0].event_id = "still usable";
  batch.reset();  // returns to shelves that only the batch kept alive
}

}  // namespace
}  // namespace dsiem::event
