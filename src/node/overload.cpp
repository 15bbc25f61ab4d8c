#include "dsiem/node/overload.h"

#include "dsiem/common/log.h"

namespace dsiem::node {

OverloadHysteresis::OverloadHysteresis(int64_t hold_seconds, const Clock& clock, Send send)
    : hold_ns_(std::max<int64_t>(1, hold_seconds) * 1'000'000'000),
      clock_(clock),
      send_(std::move(send)) {}

void OverloadHysteresis::start() {
  std::lock_guard lock(mu_);
  deadline_ns_ = clock_.now_ns() + hold_ns_;
  prev_ = false;
  send_(false);
}

void OverloadHysteresis::report() {
  std::lock_guard lock(mu_);
  deadline_ns_ = clock_.now_ns() + hold_ns_;
  if (!prev_) {
    send_(true);
    prev_ = true;
  }
}

void OverloadHysteresis::poll() {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.now_ns();
  if (now < deadline_ns_) return;
  deadline_ns_ = now + hold_ns_;
  if (prev_) {
    send_(false);
    prev_ = false;
  }
}

bool OverloadHysteresis::state() const {
  std::lock_guard lock(mu_);
  return prev_;
}

void OverloadFlag::receive(bool value) {
  const bool old = flag_.exchange(value);
  if (old != value) {
    log::info(std::string("Received overload status change from ") + (old ? "true" : "false") +
              " to " + (value ? "true" : "false") + " from backend");
  }
}

}  // namespace dsiem::node
