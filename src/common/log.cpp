#include "dsiem/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include "dsiem/json/go_writer.h"

namespace dsiem::log {

namespace {

std::atomic<bool> g_debug{false};
std::shared_ptr<spdlog::logger> g_logger;
std::once_flag g_default_once;

spdlog::logger& logger() {
  std::call_once(g_default_once, [] {
    if (!g_logger) {
      g_logger = spdlog::stdout_logger_mt("dsiem-json");
      g_logger->set_pattern("%v");
      g_logger->set_level(spdlog::level::info);
      g_logger->flush_on(spdlog::level::info);
    }
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

// ISO8601 local time with milliseconds and zone, e.g. 2024-01-01T07:00:00.123+0700.
std::string timestamp_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  char zone[8];
  std::strftime(zone, sizeof(zone), "%z", &tm);
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%03d%s", date, static_cast<int>(ms), zone);
  return out;
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
      g_logger = spdlog::stdout_logger_mt("dsiem-json");
      g_logger->set_pattern("%v");
      g_logger->set_level(spdlog::level::info);
      g_logger->flush_on(spdlog::level::info);
    }
  });
}

bool debug_enabled() {
  return g_debug.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view msg, const Fields& fields) {
  std::string line;
  line.reserve(96 + msg.size());
  if (debug_enabled()) {
    line.append(msg);
    if (fields.directive) line.append("\tdirective=").append(std::to_string(*fields.directive));
    if (!fields.backlog.empty()) line.append("\tbacklog=").append(fields.backlog);
    if (fields.conn_id) line.append("\tconnId=").append(std::to_string(*fields.conn_id));
  } else {
    line.append("{\"level\":\"").append(level_name(level)).append("\",\"ts\":\"");
    line.append(timestamp_now()).append("\",\"msg\":");
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
  logger().log(to_spdlog(level), "{}", line);
}

void flush() {
  if (g_logger) g_logger->flush();
}

}  // namespace dsiem::log
