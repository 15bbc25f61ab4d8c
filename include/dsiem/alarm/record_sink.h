#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dsiem::alarm {

// Where correlation sends its output lines. Lines arrive in causal order per producer;
// implementations must keep that order and must not drop lines. Implementations are
// thread-safe: every correlation shard and the lookup workers write to the same sink.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // One line of siem_alarm_events.json, without the newline.
  virtual void write_link(std::string line) = 0;
  // `count` lines of siem_alarm_events.json, each ending with a newline: what a correlation
  // shard writes for a batch of events, handed over at once. By default, one write_link each.
  virtual void write_links(std::string_view lines, std::size_t count);
  // One line of siem_alarms.json, without the newline.
  virtual void write_alarm(std::string line) = 0;
};

}  // namespace dsiem::alarm
