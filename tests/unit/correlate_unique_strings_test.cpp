// UniqueStrings: insertion order, membership through the scanned and the indexed paths.
#include "dsiem/correlate/unique_strings.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dsiem::correlate {
namespace {

TEST(UniqueStringsTest, KeepsFirstSeenOrderWithoutDuplicates) {
  UniqueStrings s;
  EXPECT_TRUE(s.insert("b"));
  EXPECT_TRUE(s.insert("a"));
  EXPECT_FALSE(s.insert("b"));
  EXPECT_EQ(s.items(), (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(s.contains("a"));
  EXPECT_FALSE(s.contains("c"));
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.contains("a"));
}

// Well past the point where the index is built and regrown several times.
TEST(UniqueStringsTest, IndexedListAgreesWithTheItems) {
  UniqueStrings s;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5000; ++i) {
      const std::string ip = "10.2." + std::to_string(i / 256) + "." + std::to_string(i % 256);
      ASSERT_EQ(s.insert(ip), round == 0) << ip;
    }
  }
  ASSERT_EQ(s.size(), 5000u);
  EXPECT_EQ(s.items()[4999], "10.2.19.135");
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(s.contains("10.2." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
  }
  EXPECT_FALSE(s.contains("10.3.0.0"));
  s.clear();
  EXPECT_TRUE(s.insert("10.2.0.0"));
  EXPECT_EQ(s.size(), 1u);
}

// Copies are independent, indexed or not; inserting with a precomputed hash is inserting.
TEST(UniqueStringsTest, CopiesAreIndependentAndHashesArePrecomputable) {
  for (const int size : {3, 40}) {
    UniqueStrings original;
    for (int i = 0; i < size; ++i) original.insert("a" + std::to_string(i));
    UniqueStrings copy = original;
    EXPECT_TRUE(copy.insert("new", UniqueStrings::hash("new")));
    EXPECT_FALSE(copy.insert("a1", UniqueStrings::hash("a1")));
    EXPECT_FALSE(original.contains("new"));
    EXPECT_TRUE(copy.contains("a" + std::to_string(size - 1)));
    original = copy;
    EXPECT_TRUE(original.contains("new"));
    EXPECT_EQ(original.size(), static_cast<std::size_t>(size + 1));
    copy.clear();
    EXPECT_TRUE(original.contains("a0"));
  }
}

}  // namespace
}  // namespace dsiem::correlate
