#pragma once

#include <cstdint>

namespace dsiem {

// Starts loading every cache line that [begin, end) touches; `for_write` asks for them in a
// state ready to be written. A hint only: no effect on what the program computes.
template <bool for_write = false>
inline void prefetch_lines(const void* begin, const void* end) {
  constexpr uintptr_t kLine = 64;
  const auto last = reinterpret_cast<uintptr_t>(end);
  for (auto line = reinterpret_cast<uintptr_t>(begin) & ~(kLine - 1); line < last; line += kLine) {
    __builtin_prefetch(reinterpret_cast<const void*>(line), for_write ? 1 : 0);
  }
}

}  // namespace dsiem
