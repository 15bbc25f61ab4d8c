#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace dsiem {

// Source of wall-clock time. Injected everywhere time matters so that timeouts, expiry and the
// EPS limiter can be tested with a manual clock instead of sleeping. Implementations are
// thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in nanoseconds.
  virtual int64_t now_ns() const = 0;
  // Unix time in whole seconds (floor).
  int64_t now_seconds() const {
    const int64_t ns = now_ns();
    return ns >= 0 ? ns / 1'000'000'000 : -((-ns + 999'999'999) / 1'000'000'000);
  }
};

class SystemClock final : public Clock {
 public:
  int64_t now_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance, for code that has no clock injected.
  static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_seconds = 0) : ns_(start_seconds * 1'000'000'000) {}
  int64_t now_ns() const override { return ns_.load(std::memory_order_relaxed); }
  void set_seconds(int64_t s) { ns_.store(s * 1'000'000'000, std::memory_order_relaxed); }
  void set_ns(int64_t ns) { ns_.store(ns, std::memory_order_relaxed); }
  void advance_seconds(int64_t s) { ns_.fetch_add(s * 1'000'000'000, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> ns_;
};

}  // namespace dsiem
