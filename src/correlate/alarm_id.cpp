#include "dsiem/correlate/alarm_id.h"

#include <random>

namespace dsiem::correlate {

namespace {

constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-";

// Writes v in base 64, most significant digit first, at least min_chars digits; returns the
// end of what it wrote (at most 11 characters).
char* put_base64(char* out, uint64_t v, int min_chars) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = kAlphabet[v & 63];
    v >>= 6;
  } while (v != 0 || n < min_chars);
  while (n > 0) *out++ = digits[--n];
  return out;
}

}  // namespace

AlarmIdGenerator::AlarmIdGenerator(const Clock& clock, int shard)
    : clock_(clock), shard_(shard), salt_(std::random_device{}() & 0xfff) {}

std::string AlarmIdGenerator::next() {
  const int64_t ms = clock_.now_ns() / 1'000'000;
  if (ms != last_ms_) {
    last_ms_ = ms;
    seq_ = 0;
  } else {
    ++seq_;
  }
  // Assembled in a buffer and copied once: a new backlog takes an ID, and appending a
  // character at a time cost more than the rest of it.
  char text[48];
  char* end = text;
  // 42 bits of milliseconds since 2020-01-01 (good for ~139 years), 7 characters.
  const uint64_t since = static_cast<uint64_t>(ms > 1577836800000 ? ms - 1577836800000 : 0);
  end = put_base64(end, since & ((uint64_t{1} << 42) - 1), 7);
  end = put_base64(end, salt_, 2);
  end = put_base64(end, static_cast<uint64_t>(shard_) & 63, 1);
  end = put_base64(end, seq_, 1);
  return std::string(text, end);
}

}  // namespace dsiem::correlate
