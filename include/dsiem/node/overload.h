#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "dsiem/common/clock.h"

namespace dsiem::node {

// The overload hysteresis of events.md §8.3 on the correlating side: `true` is sent once per
// overload episode, `false` once no report came for holdDuration seconds. Thread-safe: report()
// is called by correlation threads, poll() by a housekeeping thread.
class OverloadHysteresis {
 public:
  using Send = std::function<void(bool)>;
  OverloadHysteresis(int64_t hold_seconds, const Clock& clock, Send send);

  // Sends the initial `false` and arms the timer.
  void start();
  // A backlog saw a late event.
  void report();
  // Fires the timer when due.
  void poll();
  bool state() const;

 private:
  const int64_t hold_ns_;
  const Clock& clock_;
  Send send_;
  mutable std::mutex mu_;
  bool prev_ = false;
  int64_t deadline_ns_ = 0;
};

// The flag the ingest side keeps: the last overload status received (events.md §8.1).
class OverloadFlag {
 public:
  // Stores `value`, logging a change as the reference does.
  void receive(bool value);
  bool get() const { return flag_.load(); }

 private:
  std::atomic<bool> flag_{false};
};

}  // namespace dsiem::node
