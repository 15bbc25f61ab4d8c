#pragma once

#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace dsiem {

inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

namespace detail {
// The test of <sanitizer/asan_interface.h> (which defines __has_feature where the compiler
// does not): GCC defines the macro, clang has the feature.
#if __has_feature(address_sanitizer) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

inline std::atomic<std::size_t> huge_page_bytes{0};
// `n` rounded up to a multiple of kHugePage (a size, or an address).
inline std::size_t whole_huge_pages(std::size_t n) {
  return (n + kHugePage - 1) / kHugePage * kHugePage;
}
}  // namespace detail

// `bytes` rounded up to whole 2 MB pages, mapped 2 MB-aligned, with the advice to back them
// with huge pages: memory the engine fills as it goes then costs a page fault per 2 MB instead
// of per 4 KB, and fewer TLB misses when read at random. Zeroed. Released with
// unmap_huge_pages(p, bytes).
inline void* map_huge_pages(std::size_t bytes) {
  const std::size_t rounded = detail::whole_huge_pages(bytes);
  // Mapped with a huge page to spare, then trimmed to the aligned part.
  const std::size_t mapped = rounded + kHugePage;
  void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = detail::whole_huge_pages(start);
  if (aligned > start) munmap(raw, aligned - start);
  const std::uintptr_t tail = start + mapped - (aligned + rounded);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + rounded), tail);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, rounded, MADV_HUGEPAGE);  // advice only: 4 KB pages still work
  // LeakSanitizer scans only malloc's heap, stacks and globals: heap memory that objects here
  // own would otherwise be reported as leaked.
  if constexpr (detail::kAddressSanitizer) __lsan_register_root_region(p, rounded);
  detail::huge_page_bytes += rounded;
  return p;
}

inline void unmap_huge_pages(void* p, std::size_t bytes) {
  const std::size_t rounded = detail::whole_huge_pages(bytes);
  if constexpr (detail::kAddressSanitizer) __lsan_unregister_root_region(p, rounded);
  munmap(p, rounded);
  detail::huge_page_bytes -= rounded;
}

// Bytes mapped by map_huge_pages and not yet released (they are not on malloc's heap).
inline std::size_t huge_page_bytes_mapped() {
  return detail::huge_page_bytes.load(std::memory_order_relaxed);
}

// Storage for objects of one size, in slots carved from huge-page blocks; a freed slot is
// reused first. Thread-safe. Blocks stay with the process: what a peak of objects took is kept
// for the next one, as malloc would keep it too.
template <std::size_t kSize, std::size_t kAlign>
class HugePageSlab {
 public:
  // The process's slab for objects of this size (never destroyed, so objects may be freed
  // during static destruction).
  static HugePageSlab& instance() {
    static auto* slab = new HugePageSlab;
    return *slab;
  }

  // Bytes of the slots in use, and of the blocks mapped.
  struct Usage {
    std::size_t used_bytes = 0;
    std::size_t block_bytes = 0;
  };
  Usage usage() {
    std::lock_guard lock(mu_);
    return {in_use_ * sizeof(Slot), blocks_.size() * kHugePage};
  }

  void* allocate() {
    std::lock_guard lock(mu_);
    if (free_) {
      Slot* s = free_;
      ASAN_UNPOISON_MEMORY_REGION(s, sizeof(Slot));
      free_ = s->next;
      ++in_use_;
      return s;
    }
    if (next_ == blocks_.size() * kSlotsPerBlock) {
      blocks_.push_back(static_cast<Slot*>(map_huge_pages(kHugePage)));
      ASAN_POISON_MEMORY_REGION(blocks_.back(), kHugePage);
    }
    Slot* s = blocks_.back() + next_ % kSlotsPerBlock;
    ++next_;
    ++in_use_;
    ASAN_UNPOISON_MEMORY_REGION(s, sizeof(Slot));
    return s;
  }

  void deallocate(void* p) {
    auto* s = static_cast<Slot*>(p);
    std::lock_guard lock(mu_);
    --in_use_;
    // Under AddressSanitizer, a freed object stays unreadable until its slot is reused, and
    // leaves no pointer behind that would hide a leak of what it owned from LeakSanitizer.
    if constexpr (detail::kAddressSanitizer) std::memset(s, 0, sizeof(Slot));
    s->next = free_;
    free_ = s;
    ASAN_POISON_MEMORY_REGION(s, sizeof(Slot));
  }

 private:
  union Slot {
    Slot* next;
    alignas(kAlign) std::byte storage[kSize];
  };
  static constexpr std::size_t kSlotsPerBlock = kHugePage / sizeof(Slot);
  static_assert(kSlotsPerBlock > 0, "objects of a slab fit a huge page");

  HugePageSlab() = default;

  std::mutex mu_;
  Slot* free_ = nullptr;
  std::vector<Slot*> blocks_;
  std::size_t next_ = 0;  // slots handed out from the blocks so far
  std::size_t in_use_ = 0;
};

}  // namespace dsiem
