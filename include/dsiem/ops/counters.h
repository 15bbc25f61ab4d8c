#pragma once

#include <atomic>
#include <cstdint>

// The four Dsiem counters published on /debug/vars/ (cluster.md §4.6). Whoever samples a value
// stores it here (relaxed atomics are enough: each is a standalone gauge).
namespace dsiem::ops {

struct Counters {
  std::atomic<int64_t> eps_counter{0};        // /events requests in the last 1 s window
  std::atomic<int64_t> backlog_counter{0};    // live backlogs, refreshed every 10 s
  std::atomic<int64_t> alarm_counter{0};      // declared by the reference, never updated
  std::atomic<int64_t> goroutine_counter{0};  // the engine's thread count, sampled at start
};

}  // namespace dsiem::ops
