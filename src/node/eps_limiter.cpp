#include "dsiem/node/eps_limiter.h"

#include <algorithm>
#include <cmath>

#include "dsiem/common/log.h"

namespace dsiem::node {

EpsLimiter::EpsLimiter(int64_t max_eps, int64_t min_eps, const Clock& clock)
    : max_eps_(max_eps),
      min_eps_(min_eps),
      enabled_(max_eps > 0 && min_eps > 0),
      clock_(clock),
      rate_(static_cast<double>(max_eps - (max_eps - min_eps) / 2)),
      tokens_(static_cast<double>(max_eps)),
      last_ns_(clock.now_ns()) {}

void EpsLimiter::advance(int64_t now_ns) {
  if (now_ns <= last_ns_) return;
  const double elapsed = static_cast<double>(now_ns - last_ns_) / 1e9;
  tokens_ = std::min(static_cast<double>(max_eps_), tokens_ + elapsed * rate_);
  last_ns_ = now_ns;
}

int64_t EpsLimiter::reserve() {
  return reserve(1);
}

int64_t EpsLimiter::reserve(int64_t n) {
  if (!enabled_) return 0;
  std::lock_guard lock(mu_);
  advance(clock_.now_ns());
  const double left = tokens_ - static_cast<double>(std::min(n, max_eps_));
  int64_t wait_ns = 0;
  if (left < 0) wait_ns = static_cast<int64_t>(std::ceil(-left / rate_ * 1e9));
  if (wait_ns > kMaxWaitNs) return -1;
  tokens_ -= static_cast<double>(n);
  return wait_ns;
}

int64_t EpsLimiter::adjust(bool overload) {
  std::lock_guard lock(mu_);
  const auto current = static_cast<int64_t>(rate_);
  const int64_t next = overload ? std::max(min_eps_, current - (max_eps_ - min_eps_) / 10)
                                : std::min(max_eps_, current + (max_eps_ - min_eps_) / 100);
  if (next != current) {
    advance(clock_.now_ns());
    rate_ = static_cast<double>(next);
    log::info("Overload status is " + std::string(overload ? "true" : "false") +
              ", EPS limit changed from " + std::to_string(current) + " to " +
              std::to_string(next));
  }
  return next;
}

int64_t EpsLimiter::limit() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(rate_);
}

}  // namespace dsiem::node
