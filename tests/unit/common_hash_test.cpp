// same_bytes and the table allocator: the engine's per-event tables rely on both.
#include "dsiem/common/hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dsiem/common/flat_table.h"

namespace dsiem {
namespace {

// Every length through the branch boundaries (4, 8, 16, 32) and past them, with a difference at
// every position, including the bytes only one of the overlapping loads reads.
TEST(SameBytesTest, AgreesWithStringEqualityAtEveryLengthAndPosition) {
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'x');
    for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i % 26);
    const std::string same = a;
    EXPECT_TRUE(same_bytes(a, same)) << n;
    for (std::size_t i = 0; i < n; ++i) {
      std::string other = a;
      other[i] = '#';
      EXPECT_FALSE(same_bytes(a, other)) << n << " differing at " << i;
    }
    EXPECT_FALSE(same_bytes(a, a + "x")) << n;
    if (n > 0) {
      EXPECT_FALSE(same_bytes(a, a.substr(0, n - 1))) << n;
    }
  }
}

// Views into a longer buffer: only the bytes inside each view count.
TEST(SameBytesTest, LooksOnlyInsideTheViews) {
  const std::string buffer = "10.2.3.4|10.2.3.5|10.2.3.4";
  const std::string_view first(buffer.data(), 8);
  EXPECT_TRUE(same_bytes(first, std::string_view(buffer.data() + 18, 8)));
  EXPECT_FALSE(same_bytes(first, std::string_view(buffer.data() + 9, 8)));
}

// Arrays past 2 MB come from the huge-page path, aligned to 2 MB, and work like any other.
TEST(LargeArrayAllocatorTest, LargeArraysAreAlignedAndUsable) {
  LargeArrayAllocator<uint64_t> allocator;
  const std::size_t large = (std::size_t{4} << 20) / sizeof(uint64_t) + 3;
  uint64_t* big = allocator.allocate(large);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(big) % dsiem::kHugePage, 0u);
  for (std::size_t i = 0; i < large; ++i) big[i] = i;
  EXPECT_EQ(big[large - 1], large - 1);
  allocator.deallocate(big, large);
  uint64_t* small = allocator.allocate(16);
  small[15] = 7;
  EXPECT_EQ(small[15], 7u);
  allocator.deallocate(small, 16);
  std::vector<uint64_t, LargeArrayAllocator<uint64_t>> grown;
  for (uint64_t i = 0; i < large; ++i) grown.push_back(i);
  EXPECT_EQ(grown[large / 2], large / 2);
}

}  // namespace
}  // namespace dsiem
