#include "dsiem/common/flat_table.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

struct Slot {
  uint64_t key = 0;  // 0: empty
  int value = 0;
};

struct Traits {
  using Key = uint64_t;
  static bool empty(const Slot& s) { return s.key == 0; }
  static bool holds(const Slot& s, uint64_t key) { return s.key == key; }
  static uint64_t hash(const Slot& s) { return s.key; }
  static void claim(Slot& s, uint64_t key) { s.key = key; }
};

using Table = dsiem::FlatTable<Slot, Traits>;

void insert(Table& t, uint64_t key) {
  t.insert(key, key).value = static_cast<int>(key);
}

bool holds(const Table& t, uint64_t key) {
  const Slot* s = t.find(key, key);
  return s != nullptr && s->value == static_cast<int>(key);
}

TEST(FlatTable, ReservingSlotsKeepsWhatTheTableHolds) {
  Table t;
  for (uint64_t k = 1; k <= 100; ++k) insert(t, k);
  t.reserve_slots(5000);
  EXPECT_EQ(t.size(), 100u);
  for (uint64_t k = 1; k <= 100; ++k) EXPECT_TRUE(holds(t, k)) << k;
  EXPECT_FALSE(holds(t, 101));
}

TEST(FlatTable, ReservedTableGrowsAndErasesAsUsual) {
  Table t;
  t.reserve_slots(100);
  for (uint64_t k = 1; k <= 1000; ++k) insert(t, k * 7919);
  for (uint64_t k = 1; k <= 1000; k += 2) t.erase(*t.find(k * 7919, k * 7919));
  // A smaller reservation than the table has is no change.
  t.reserve_slots(16);
  EXPECT_EQ(t.size(), 500u);
  for (uint64_t k = 1; k <= 1000; ++k) EXPECT_EQ(holds(t, k * 7919), k % 2 == 0) << k;
}

TEST(FlatTable, ReservingAnEmptyTableMakesItUsable) {
  Table t;
  t.reserve_slots(0);
  EXPECT_FALSE(holds(t, 5));
  insert(t, 5);
  EXPECT_TRUE(holds(t, 5));
}

}  // namespace
