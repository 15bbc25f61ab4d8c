#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace dsiem {

// A 64-bit hash of short byte strings (event IDs, addresses) for the engine's per-event tables:
// 16 bytes per round, each round one 64x64->128-bit multiply folded to 64 bits. Well spread in
// every bit, so tables may take slots from the low bits and tags from the high ones. Not keyed:
// fine for tables, not a defence against chosen collisions.
namespace hash_detail {

inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}
inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline constexpr uint64_t kPrime0 = 0xa0761d6478bd642fULL;
inline constexpr uint64_t kPrime1 = 0xe7037ed1a0b428dbULL;
inline constexpr uint64_t kPrime2 = 0x8ebc6af09c88c6e3ULL;

}  // namespace hash_detail

// Equality of the short strings those tables hold, inline: a library memcmp call costs more
// than the compare of an address or an event ID. Loads overlap rather than read past the end.
inline bool same_bytes(std::string_view a, std::string_view b) {
  using namespace hash_detail;
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    if (n > 32) return std::memcmp(p, q, n) == 0;
    const uint64_t tail = (load64(p + n - 8) ^ load64(q + n - 8));
    if (n <= 16) return ((load64(p) ^ load64(q)) | tail) == 0;
    return ((load64(p) ^ load64(q)) | (load64(p + 8) ^ load64(q + 8)) |
            (load64(p + n - 16) ^ load64(q + n - 16)) | tail) == 0;
  }
  if (n >= 4) return ((load32(p) ^ load32(q)) | (load32(p + n - 4) ^ load32(q + n - 4))) == 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

inline uint64_t hash_bytes(std::string_view s) {
  using namespace hash_detail;
  const char* p = s.data();
  const std::size_t n = s.size();
  uint64_t state = kPrime0 ^ n;
  uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = load64(p);
      b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p);
      b = load32(p + n - 4);
    } else if (n > 0) {
      const auto byte = [&](std::size_t i) {
        return static_cast<uint64_t>(static_cast<uint8_t>(p[i]));
      };
      a = byte(0) << 16 | byte(n / 2) << 8 | byte(n - 1);
    }
  } else {
    std::size_t left = n;
    for (; left > 16; left -= 16, p += 16) {
      state = fold_multiply(load64(p) ^ kPrime1, load64(p + 8) ^ state);
    }
    // The last 16 bytes, overlapping the previous round when the length is not a multiple.
    a = load64(p + left - 16);
    b = load64(p + left - 8);
  }
  return fold_multiply(fold_multiply(a ^ kPrime1, b ^ state) ^ kPrime2, n ^ kPrime1);
}

}  // namespace dsiem
