#include "dsiem/json/go_writer.h"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dsiem::json {
namespace {

// Bytes below 0x80 that Go's encoder copies unchanged (its htmlSafeSet): everything printable
// except `"`, `\`, `<`, `>` and `&`. DEL (0x7f) is safe.
constexpr std::array<bool, 128> make_safe_table() {
  std::array<bool, 128> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = true;
  t['"'] = t['\\'] = t['<'] = t['>'] = t['&'] = false;
  return t;
}
constexpr std::array<bool, 128> kSafe = make_safe_table();

constexpr char kHex[] = "0123456789abcdef";

bool is_cont(unsigned char b) {
  return (b & 0xC0) == 0x80;
}

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when Go's
// utf8.DecodeRuneInString would return (RuneError, 1): bad lead byte, truncated sequence,
// overlong form, surrogate or value above U+10FFFF.
size_t utf8_len(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  const size_t left = s.size() - i;
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    return left >= 2 && is_cont(at(1)) ? 2 : 0;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3) return 0;
    const unsigned char b1 = at(1);
    // E0 needs A0..BF (no overlong), ED needs 80..9F (no surrogates).
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    return b1 >= lo && b1 <= hi && is_cont(at(2)) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4) return 0;
    const unsigned char b1 = at(1);
    // F0 needs 90..BF (no overlong), F4 needs 80..8F (max U+10FFFF).
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return b1 >= lo && b1 <= hi && is_cont(at(2)) && is_cont(at(3)) ? 4 : 0;
  }
  return 0;
}

// skip_safe (below) one byte at a time: for the last few bytes, or where there is no SSE2.
size_t skip_safe_bytewise(std::string_view s, size_t i) {
  for (; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0x80 || !kSafe[b]) break;
  }
  return i;
}

// Index of the first byte at or after `i` that is not in kSafe (a byte to escape, or any byte
// of 0x80 and above), or s.size(). Most strings (IDs, addresses, names) have none: they are
// checked 16 bytes at a time.
#if defined(__SSE2__)
// Bit k set when byte k of `v` is not in kSafe.
unsigned unsafe_bytes(__m128i v) {
  // Signed: bytes 0x80-0xFF are negative, so "below 0x20" also catches every non-ASCII byte.
  __m128i bad = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
  bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  // '"' (0x22) and '&' (0x26) are the only bytes that OR 0x04 turns into 0x26; '<' (0x3c) and
  // '>' (0x3e) the only ones that OR 0x02 turns into 0x3e.
  bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x04)), _mm_set1_epi8('&')));
  bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x02)), _mm_set1_epi8('>')));
  return static_cast<unsigned>(_mm_movemask_epi8(bad));
}

unsigned unsafe_bytes(const char* p) {
  return unsafe_bytes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The first unsafe byte of the `n` (4-15) bytes at `p`, or n: its first and last sizeof(Word)
// bytes (which overlap) side by side in one vector.
template <typename Word>
size_t first_unsafe_in_halves(const char* p, size_t n) {
  static_assert(sizeof(Word) == 4 || sizeof(Word) == 8);
  Word head;
  Word tail;
  std::memcpy(&head, p, sizeof head);
  std::memcpy(&tail, p + n - sizeof tail, sizeof tail);
  __m128i v;
  if constexpr (sizeof(Word) == 8) {
    v = _mm_unpacklo_epi64(_mm_cvtsi64_si128(static_cast<long long>(head)),
                           _mm_cvtsi64_si128(static_cast<long long>(tail)));
  } else {
    v = _mm_unpacklo_epi32(_mm_cvtsi32_si128(static_cast<int>(head)),
                           _mm_cvtsi32_si128(static_cast<int>(tail)));
  }
  // Only the first 2 * sizeof(Word) bytes of the vector are the string's.
  const unsigned bad = unsafe_bytes(v) & ((1u << (2 * sizeof(Word))) - 1);
  if (bad == 0) return n;
  const auto k = static_cast<size_t>(__builtin_ctz(bad));
  return k < sizeof(Word) ? k : n - 2 * sizeof(Word) + k;
}

size_t skip_safe(std::string_view s, size_t i) {
  const size_t n = s.size();
  for (; i + 16 <= n; i += 16) {
    if (const unsigned bad = unsafe_bytes(s.data() + i); bad != 0) {
      return i + static_cast<size_t>(__builtin_ctz(bad));
    }
  }
  if (i == n) return n;
  // The last bytes: the final 16 of the string (ignoring those already checked), or, for a
  // shorter rest, its two halves with overlapping loads.
  if (n >= 16) {
    const size_t base = n - 16;
    const unsigned bad = unsafe_bytes(s.data() + base) & (~0u << (i - base));
    return bad != 0 ? base + static_cast<size_t>(__builtin_ctz(bad)) : n;
  }
  const size_t left = n - i;
  if (left >= 8) return i + first_unsafe_in_halves<uint64_t>(s.data() + i, left);
  if (left >= 4) return i + first_unsafe_in_halves<uint32_t>(s.data() + i, left);
  return skip_safe_bytewise(s, i);
}
#else
size_t skip_safe(std::string_view s, size_t i) {
  return skip_safe_bytewise(s, i);
}
#endif

}  // namespace

void append_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  size_t start = 0;  // first byte not yet copied
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    i = skip_safe(s, i);
    if (i == n) break;
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.append(s.data() + start, i - start);
      out.push_back('\\');
      switch (b) {
        case '"':
        case '\\':
          out.push_back(static_cast<char>(b));
          break;
        case '\n':
          out.push_back('n');
          break;
        case '\r':
          out.push_back('r');
          break;
        case '\t':
          out.push_back('t');
          break;
        default:
          out.append("u00");
          out.push_back(kHex[b >> 4]);
          out.push_back(kHex[b & 0xF]);
      }
      start = ++i;
      continue;
    }
    const size_t len = utf8_len(s, i);
    if (len == 0) {
      out.append(s.data() + start, i - start);
      out.append("\\ufffd");
      start = ++i;
      continue;
    }
    // U+2028 / U+2029 are E2 80 A8 / E2 80 A9.
    if (len == 3 && b == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
      out.append(s.data() + start, i - start);
      out.append(static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
      i += 3;
      start = i;
      continue;
    }
    i += len;
  }
  out.append(s.data() + start, n - start);
  out.push_back('"');
}

bool is_plain(std::string_view s) {
  return skip_safe(s, 0) == s.size();
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_key(std::string& out, std::string_view key) {
  append_string(out, key);
  out.push_back(':');
}

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_string(out, s);
  return out;
}

std::string indent(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 2);
  int depth = 0;
  const auto newline = [&] { out.append("\n").append(static_cast<size_t>(depth) * 2, ' '); };
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < compact.size(); ++i) {
    const char c = compact[i];
    if (in_string) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[':
        out.push_back(c);
        if (i + 1 < compact.size() && (compact[i + 1] == '}' || compact[i + 1] == ']')) {
          out.push_back(compact[++i]);
        } else {
          ++depth;
          newline();
        }
        break;
      case ',':
        out.push_back(c);
        newline();
        break;
      case ':':
        out += ": ";
        break;
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace dsiem::json
