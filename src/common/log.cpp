#include "dsiem/common/log.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include "dsiem/json/go_writer.h"

namespace dsiem::log {

namespace {

std::atomic<bool> g_debug{false};
std::shared_ptr<spdlog::logger> g_logger;
std::once_flag g_default_once;

// JSON lines are flushed as write() says: WARN and ERROR at once, INFO at once unless another
// flush happened within kBurstFlushInterval, the rest of a burst by the periodic flush. A busy
// engine (a scan opening thousands of backlogs a second, two lines each) would otherwise make
// one write system call per line, under the sink's lock that every shard shares.
constexpr std::chrono::milliseconds kBurstFlushInterval{100};
constexpr std::chrono::seconds kPeriodicFlush{1};
constexpr std::size_t kStdoutBuffer = 64 * 1024;
std::atomic<int64_t> g_last_flush_ms{0};

void make_json_logger() {
  // Into a pipe or file (a service's stdout), a burst goes out in 64 KiB writes, not the
  // default 4 KiB ones (glibc ignores the size unless it is given the buffer too); a terminal
  // keeps its line buffering.
  static char stdout_buffer[kStdoutBuffer];
  if (isatty(STDOUT_FILENO) == 0) {
    std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof(stdout_buffer));
  }
  // spdlog's stdout sinks flush after every line; this one leaves that to the policy above.
  g_logger = std::make_shared<spdlog::logger>(
      "dsiem-json", std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cout, false));
  spdlog::register_logger(g_logger);
  g_logger->set_pattern("%v");
  g_logger->set_level(spdlog::level::info);
  g_logger->flush_on(spdlog::level::warn);
  spdlog::flush_every(kPeriodicFlush);
}

spdlog::logger& logger() {
  std::call_once(g_default_once, [] {
    if (!g_logger) make_json_logger();
  });
  return *g_logger;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "INFO";
}

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Appends the ISO8601 local time `now` with milliseconds and zone, e.g.
// 2024-01-01T07:00:00.123+0700. The text up to the second and the zone are kept per thread for
// the second they belong to: most lines then skip localtime_r, which takes glibc's time-zone
// lock, and the two strftime calls.
void append_timestamp(std::string& out, std::chrono::system_clock::time_point now) {
  struct SecondText {
    std::time_t second = -1;
    char date[32] = {};
    char zone[8] = {};
  };
  thread_local SecondText cached;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t second = std::chrono::system_clock::to_time_t(now);
  if (second != cached.second) {
    std::tm tm{};
    localtime_r(&second, &tm);
    std::strftime(cached.date, sizeof(cached.date), "%Y-%m-%dT%H:%M:%S", &tm);
    std::strftime(cached.zone, sizeof(cached.zone), "%z", &tm);
    cached.second = second;
  }
  const auto millis = static_cast<int>(ms.count() % 1000);
  const char fraction[4] = {'.', static_cast<char>('0' + millis / 100),
                            static_cast<char>('0' + millis / 10 % 10),
                            static_cast<char>('0' + millis % 10)};
  out.append(cached.date).append(fraction, sizeof(fraction)).append(cached.zone);
}

}  // namespace

void setup(bool debug) {
  g_debug.store(debug);
  std::call_once(g_default_once, [debug] {
    if (debug) {
      g_logger = spdlog::stderr_color_mt("dsiem-console");
      g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ %v");
      g_logger->set_level(spdlog::level::debug);
      g_logger->flush_on(spdlog::level::debug);
    } else {
      make_json_logger();
    }
  });
}

bool debug_enabled() {
  return g_debug.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view msg, const Fields& fields) {
  const spdlog::level::level_enum spd_level = to_spdlog(level);
  if (!logger().should_log(spd_level)) return;
  const auto now = std::chrono::system_clock::now();
  std::string line;
  line.reserve(96 + msg.size());
  if (debug_enabled()) {
    line.append(msg);
    if (fields.directive) line.append("\tdirective=").append(std::to_string(*fields.directive));
    if (!fields.backlog.empty()) line.append("\tbacklog=").append(fields.backlog);
    if (fields.conn_id) line.append("\tconnId=").append(std::to_string(*fields.conn_id));
  } else {
    line.append("{\"level\":\"").append(level_name(level)).append("\",\"ts\":\"");
    append_timestamp(line, now);
    line.append("\",\"msg\":");
    json::append_string(line, msg);
    if (fields.directive) {
      line.append(",\"directive\":");
      json::append_int(line, *fields.directive);
    }
    if (!fields.backlog.empty()) {
      line.append(",\"backlog\":");
      json::append_string(line, fields.backlog);
    }
    if (fields.conn_id) {
      line.append(",\"connId\":");
      json::append_uint(line, *fields.conn_id);
    }
    line.push_back('}');
  }
  spdlog::logger& out = logger();
  out.log(spd_level, "{}", line);
  if (debug_enabled() || level >= Level::kWarn) return;  // flushed by flush_on
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  int64_t last = g_last_flush_ms.load(std::memory_order_relaxed);
  if (now_ms - last >= kBurstFlushInterval.count() &&
      g_last_flush_ms.compare_exchange_strong(last, now_ms, std::memory_order_relaxed)) {
    out.flush();
  }
}

void flush() {
  if (g_logger) g_logger->flush();
}

}  // namespace dsiem::log
