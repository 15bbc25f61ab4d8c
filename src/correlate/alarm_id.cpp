#include "dsiem/correlate/alarm_id.h"

#include <random>

namespace dsiem::correlate {

namespace {

constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-";

void append_base64(std::string& out, uint64_t v, int min_chars) {
  char buf[16];
  int n = 0;
  do {
    buf[n++] = kAlphabet[v & 63];
    v >>= 6;
  } while (v != 0 || n < min_chars);
  while (n > 0) out.push_back(buf[--n]);
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
  std::string id;
  id.reserve(12);
  // 42 bits of milliseconds since 2020-01-01 (good for ~139 years), 7 characters.
  const uint64_t since = static_cast<uint64_t>(ms > 1577836800000 ? ms - 1577836800000 : 0);
  append_base64(id, since & ((uint64_t{1} << 42) - 1), 7);
  append_base64(id, salt_, 2);
  append_base64(id, static_cast<uint64_t>(shard_) & 63, 1);
  append_base64(id, seq_, 1);
  return id;
}

}  // namespace dsiem::correlate
