#include "dsiem/common/huge_pages.h"

#include <gtest/gtest.h>
#include <sanitizer/lsan_interface.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
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

// An object of its own size that owns heap memory, as a backlog does.
struct HeapOwner {
  std::unique_ptr<std::string> text;
  std::uint64_t padding[5];
};
using HeapOwnerSlab = HugePageSlab<sizeof(HeapOwner), alignof(HeapOwner)>;

// Out of line, so that no copy of the heap pointer stays in the caller's frame or registers,
// where LeakSanitizer would find it whatever the slab does.
[[gnu::noinline]] HeapOwner* make_heap_owner() {
  return new (HeapOwnerSlab::instance().allocate())
      HeapOwner{std::make_unique<std::string>(200, 'x'), {}};
}

TEST(HugePageSlabTest, HeapMemoryOwnedByASlabObjectIsNoLeak) {
  if constexpr (!dsiem::detail::kAddressSanitizer) {
    GTEST_SKIP() << "LeakSanitizer is not in this build";
  } else {
    HeapOwner* owner = make_heap_owner();
    EXPECT_EQ(__lsan_do_recoverable_leak_check(), 0)
        << "the string owned by an object in the slab was taken for a leak";
    EXPECT_EQ(owner->text->size(), 200u);
    owner->~HeapOwner();
    HeapOwnerSlab::instance().deallocate(owner);
  }
}

}  // namespace
