#include "dsiem/common/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

namespace {

using dsiem::HugePageSlab;
using dsiem::kHugePage;

TEST(HugePagesTest, MappedMemoryIsAlignedZeroedAndCounted) {
  const std::size_t before = dsiem::huge_page_bytes_mapped();
  const std::size_t bytes = kHugePage + 5;
  auto* p = static_cast<unsigned char*>(dsiem::map_huge_pages(bytes));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % kHugePage, 0u);
  EXPECT_EQ(dsiem::huge_page_bytes_mapped() - before, 2 * kHugePage);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[2 * kHugePage - 1], 0);
  std::memset(p, 0xab, 2 * kHugePage);
  EXPECT_EQ(p[kHugePage + 4], 0xab);
  dsiem::unmap_huge_pages(p, bytes);
  EXPECT_EQ(dsiem::huge_page_bytes_mapped(), before);
}

// A size of its own, so that no other test shares this slab.
struct alignas(16) Object {
  std::uint64_t words[75];
};
using ObjectSlab = HugePageSlab<sizeof(Object), alignof(Object)>;

TEST(HugePageSlabTest, SlotsAreDistinctAlignedAcrossBlocksAndFreedOnesComeBackFirst) {
  ObjectSlab& slab = ObjectSlab::instance();
  // More than one block's worth.
  const std::size_t count = kHugePage / sizeof(Object) + 100;
  std::vector<Object*> objects;
  std::set<Object*> distinct;
  for (std::size_t i = 0; i < count; ++i) {
    auto* o = static_cast<Object*>(slab.allocate());
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(o) % alignof(Object), 0u);
    o->words[0] = i;
    o->words[74] = i;
    objects.push_back(o);
    distinct.insert(o);
  }
  EXPECT_EQ(distinct.size(), count);
  for (std::size_t i = 0; i < count; ++i) {
    ASSERT_EQ(objects[i]->words[0], i);
    ASSERT_EQ(objects[i]->words[74], i);
  }
  EXPECT_EQ(slab.usage().used_bytes, count * sizeof(Object));
  EXPECT_EQ(slab.usage().block_bytes, 2 * kHugePage);

  slab.deallocate(objects[7]);
  slab.deallocate(objects[3]);
  EXPECT_EQ(slab.usage().used_bytes, (count - 2) * sizeof(Object));
  EXPECT_EQ(slab.allocate(), objects[3]);
  EXPECT_EQ(slab.allocate(), objects[7]);
  // Reuse takes no new block.
  EXPECT_EQ(slab.usage().block_bytes, 2 * kHugePage);
  for (Object* o : objects) slab.deallocate(o);
  EXPECT_EQ(slab.usage().used_bytes, 0u);
}

}  // namespace
