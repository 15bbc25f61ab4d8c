#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

// The engine's log: JSON lines on stdout ({"level","ts","msg"} plus optional "directive",
// "backlog", "connId"), or with --debug a coloured human-readable format on stderr that also
// shows DEBUG lines. Thread-safe.
namespace dsiem::log {

struct Fields {
  std::optional<int64_t> directive = std::nullopt;
  std::string_view backlog = {};
  std::optional<uint64_t> conn_id = std::nullopt;
};

enum class Level { kDebug, kInfo, kWarn, kError };

void setup(bool debug);
bool debug_enabled();

void write(Level level, std::string_view msg, const Fields& fields = {});
inline void debug(std::string_view msg, const Fields& f = {}) {
  if (debug_enabled()) write(Level::kDebug, msg, f);
}
inline void info(std::string_view msg, const Fields& f = {}) {
  write(Level::kInfo, msg, f);
}
inline void warn(std::string_view msg, const Fields& f = {}) {
  write(Level::kWarn, msg, f);
}
inline void error(std::string_view msg, const Fields& f = {}) {
  write(Level::kError, msg, f);
}

// Flushes buffered lines (at exit).
void flush();

}  // namespace dsiem::log
