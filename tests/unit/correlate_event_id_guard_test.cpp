// The duplicate guard (and with it FlatTable): counts per event ID, last holder, deletion that
// keeps every other entry reachable.
#include "dsiem/correlate/event_id_guard.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace dsiem::correlate {
namespace {

TEST(EventIdGuardTest, CountsHoldersAndRemembersTheLastOne) {
  EventIdGuard g;
  const uint64_t a = EventIdGuard::key("event-a", 0);
  uint32_t holder = 0;
  EXPECT_FALSE(g.held(a));
  g.add(a, 7);
  g.add(a, 9);
  ASSERT_TRUE(g.held(a, &holder));
  EXPECT_EQ(holder, 9u);
  g.release(a);
  EXPECT_TRUE(g.held(a)) << "one backlog still holds it";
  g.release(a);
  EXPECT_FALSE(g.held(a));
  EXPECT_EQ(g.size(), 0u);
  g.release(a);  // releasing an unknown key is harmless
  EXPECT_EQ(g.size(), 0u);
}

TEST(EventIdGuardTest, KeysTellDirectivesApartAndNeverYieldTheEmptyMarker) {
  EXPECT_NE(EventIdGuard::key("", 0), 0u);
  EXPECT_NE(EventIdGuard::key("x", 0), EventIdGuard::key("y", 0));
  EXPECT_NE(EventIdGuard::key("x", 0), EventIdGuard::key("x", 1));
  EventIdGuard g;
  g.add(EventIdGuard::key("x", 3), 1);
  EXPECT_TRUE(g.held(EventIdGuard::key("x", 3)));
  EXPECT_FALSE(g.held(EventIdGuard::key("x", 4))) << "another directive never sees it";
}

// Random adds and releases against a reference map: growth and backward-shift deletion must
// never lose or invent an entry. Keys are drawn from a small range so that probe runs collide.
TEST(EventIdGuardTest, MatchesAReferenceMapUnderRandomChurn) {
  EventIdGuard g;
  std::map<uint64_t, std::pair<uint32_t, uint32_t>> ref;  // key -> (count, last holder)
  std::mt19937_64 rng(42);
  for (int step = 0; step < 200000; ++step) {
    const uint64_t key = 1 + rng() % 5000;
    if (rng() % 3 != 0) {
      const uint32_t holder = static_cast<uint32_t>(rng() % 1000);
      g.add(key, holder);
      auto& r = ref[key];
      ++r.first;
      r.second = holder;
    } else {
      g.release(key);
      if (auto it = ref.find(key); it != ref.end() && --it->second.first == 0) ref.erase(it);
    }
    if (step % 10007 == 0) {
      ASSERT_EQ(g.size(), ref.size()) << step;
      for (uint64_t k = 1; k <= 5000; ++k) {
        uint32_t holder = 0;
        const auto it = ref.find(k);
        ASSERT_EQ(g.held(k, &holder), it != ref.end()) << "key " << k << " step " << step;
        if (it != ref.end()) {
          ASSERT_EQ(holder, it->second.second);
        }
      }
    }
  }
}

}  // namespace
}  // namespace dsiem::correlate
