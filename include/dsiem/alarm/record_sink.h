#pragma once

#include <string>

namespace dsiem::alarm {

// Where correlation sends its output lines. Lines arrive in causal order per producer;
// implementations must keep that order and must not drop lines. Implementations are
// thread-safe: every correlation shard and the lookup workers write to the same sink.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // One line of siem_alarm_events.json, without the newline.
  virtual void write_link(std::string line) = 0;
  // One line of siem_alarms.json, without the newline.
  virtual void write_alarm(std::string line) = 0;
};

}  // namespace dsiem::alarm
