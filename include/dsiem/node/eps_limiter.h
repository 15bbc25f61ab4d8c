#pragma once

#include <cstdint>
#include <mutex>

#include "dsiem/common/clock.h"

namespace dsiem::node {

// The /events token bucket of events.md §8.1: burst maxEPS, starting full, initial rate
// maxEPS - (maxEPS - minEPS) / 2, moved every 10 s by adjust(). Thread-safe.
class EpsLimiter {
 public:
  // A request waits for its token at most this long; beyond it the answer is 429.
  static constexpr int64_t kMaxWaitNs = 3'000'000'000;

  EpsLimiter(int64_t max_eps, int64_t min_eps, const Clock& clock);

  // Limiting is on only when both maxEPS and minEPS are positive.
  bool enabled() const { return enabled_; }
  // Takes one token: the wait in ns before the request may proceed (0: at once), or -1 when the
  // token is more than kMaxWaitNs away (nothing is reserved then).
  int64_t reserve();
  // Takes `n` tokens for a batch body. The wait is that of the first min(n, maxEPS) tokens, so
  // a batch larger than the burst is admitted once the bucket has refilled and the rest is
  // paid back by later requests (the average rate still holds).
  int64_t reserve(int64_t n);
  // The 10-second adjustment: raise by (max-min)/100 without overload, lower by (max-min)/10
  // with it, within [minEPS, maxEPS]. Logs a change. Returns the new limit.
  int64_t adjust(bool overload);
  int64_t limit() const;

 private:
  void advance(int64_t now_ns);

  const int64_t max_eps_;
  const int64_t min_eps_;
  const bool enabled_;
  const Clock& clock_;
  mutable std::mutex mu_;
  double rate_;    // tokens per second
  double tokens_;  // may go negative: reserved future tokens
  int64_t last_ns_;
};

}  // namespace dsiem::node
