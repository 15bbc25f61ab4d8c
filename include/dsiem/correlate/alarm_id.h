#pragma once

#include <cstdint>
#include <string>

#include "dsiem/common/clock.h"

namespace dsiem::correlate {

// Backlog / alarm IDs: at least 10 characters of 0-9a-zA-Z_- built from the millisecond
// time, a per-process random salt, the engine's shard number and a per-millisecond sequence,
// so they are unique within a process and, in practice, across restarts.
class AlarmIdGenerator {
 public:
  AlarmIdGenerator(const Clock& clock, int shard);
  std::string next();

 private:
  const Clock& clock_;
  int shard_;
  uint32_t salt_;
  int64_t last_ms_ = -1;
  uint64_t seq_ = 0;
};

}  // namespace dsiem::correlate
