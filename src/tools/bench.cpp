// `dsiem bench`: the command line and the summary.
#include "dsiem/tools/bench.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "dsiem/json/go_writer.h"
#include "dsiem/tools/tool_cli.h"

namespace dsiem::tools {
namespace bench {
namespace {

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

double per_second(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

std::string milliseconds(uint64_t ns) {
  return fixed(static_cast<double>(ns) / 1e6, 3);
}

struct Percentile {
  const char* text_name;
  const char* json_name;
  double value;
};
constexpr Percentile kPercentiles[] = {
    {"p50", "p50", 50}, {"p90", "p90", 90}, {"p99", "p99", 99}, {"p99.9", "p99_9", 99.9}};

std::string body_description(const LoadOptions& options) {
  switch (options.format) {
    case BodyFormat::kSingle:
      return "one event object per request";
    case BodyFormat::kArray:
      return "JSON array of " + std::to_string(options.batch) + " events per request";
    case BodyFormat::kNdjson:
      return "NDJSON, " + std::to_string(options.batch) + " events per request";
  }
  return "";
}

void print_text(std::ostream& out, const LoadOptions& options, const LoadResult& r,
                std::string_view url) {
  const auto row = [&out](std::string_view label, const std::string& value) {
    std::string padded(label);
    padded.resize(19, ' ');
    out << padded << value << "\n";
  };
  row("url:", std::string(url));
  row("connections:", std::to_string(options.connections) + " (" + std::to_string(options.threads) +
                          " I/O thread" + (options.threads == 1 ? "" : "s") + ")");
  row("body:", body_description(options));
  row("pool:", std::to_string(options.pool_size) + " events, seed " + std::to_string(options.seed));
  row("elapsed:", fixed(r.elapsed_s, 2) + " s");
  row("events sent:", std::to_string(r.events_sent) + " (" +
                          fixed(per_second(r.events_sent, r.elapsed_s), 1) + "/s)");
  row("events accepted:", std::to_string(r.events_accepted) + " (" +
                              fixed(per_second(r.events_accepted, r.elapsed_s), 1) + "/s)");
  std::string statuses;
  for (const auto& [status, count] : r.status_counts) {
    statuses +=
        (statuses.empty() ? "" : ", ") + std::to_string(status) + ": " + std::to_string(count);
  }
  row("requests:", std::to_string(r.requests) + " (" +
                       fixed(per_second(r.requests, r.elapsed_s), 1) + "/s" +
                       (statuses.empty() ? "" : "; " + statuses) + ")");
  row("connection errors:",
      std::to_string(r.connection_errors) + " (timeouts: " + std::to_string(r.timeouts) + ")");
  std::string latency;
  for (const Percentile& p : kPercentiles) {
    latency += std::string(p.text_name) + " " + milliseconds(r.latency.percentile(p.value)) + "  ";
  }
  row("latency ms:", latency + "max " + milliseconds(r.latency.max()));
  if (r.correlation_counted) {
    const std::string ratio = r.events_accepted > 0
                                  ? fixed(100.0 * static_cast<double>(r.correlated) /
                                              static_cast<double>(r.events_accepted),
                                          1) +
                                        "% of accepted, "
                                  : "";
    row("correlated events:", std::to_string(r.correlated) + " (" + ratio +
                                  fixed(per_second(r.correlated, r.correlated_s), 1) + "/s over " +
                                  fixed(r.correlated_s, 2) + " s" +
                                  (r.drain_complete ? "" : "; still growing when the wait ended") +
                                  ")");
  }
}

void print_json(std::ostream& out, const LoadOptions& options, const LoadResult& r,
                std::string_view url) {
  std::string s = "{";
  const auto key = [&s](std::string_view name) {
    if (s.size() > 1) s += ',';
    json::append_key(s, name);
  };
  const auto number = [&](std::string_view name, uint64_t value) {
    key(name);
    json::append_uint(s, value);
  };
  const auto real = [&](std::string_view name, double value, int decimals) {
    key(name);
    s += fixed(value, decimals);
  };
  key("url");
  json::append_string(s, url);
  number("connections", static_cast<uint64_t>(options.connections));
  number("threads", static_cast<uint64_t>(options.threads));
  number("batch", options.format == BodyFormat::kSingle ? 0 : options.batch);
  key("ndjson");
  s += options.format == BodyFormat::kNdjson ? "true" : "false";
  number("pool", options.pool_size);
  number("seed", options.seed);
  real("elapsed_s", r.elapsed_s, 3);
  number("events_sent", r.events_sent);
  number("events_accepted", r.events_accepted);
  real("events_per_s", per_second(r.events_sent, r.elapsed_s), 1);
  real("accepted_per_s", per_second(r.events_accepted, r.elapsed_s), 1);
  number("requests", r.requests);
  real("requests_per_s", per_second(r.requests, r.elapsed_s), 1);
  key("status_counts");
  s += '{';
  bool first = true;
  for (const auto& [status, count] : r.status_counts) {
    if (!first) s += ',';
    first = false;
    json::append_key(s, std::to_string(status));
    json::append_uint(s, count);
  }
  s += '}';
  number("connection_errors", r.connection_errors);
  number("timeouts", r.timeouts);
  key("latency_ms");
  s += '{';
  for (const Percentile& p : kPercentiles) {
    json::append_key(s, p.json_name);
    s += milliseconds(r.latency.percentile(p.value)) + ",";
  }
  json::append_key(s, "max");
  s += milliseconds(r.latency.max()) + "}";
  if (r.correlation_counted) {
    number("correlated_events", r.correlated);
    key("correlated_pct_of_accepted");
    s += r.events_accepted > 0 ? fixed(100.0 * static_cast<double>(r.correlated) /
                                           static_cast<double>(r.events_accepted),
                                       1)
                               : "null";
    real("correlated_per_s", per_second(r.correlated, r.correlated_s), 1);
    real("correlated_s", r.correlated_s, 3);
    key("drain_complete");
    s += r.drain_complete ? "true" : "false";
  }
  s += "}\n";
  out << s;
}

}  // namespace

void print_summary(std::ostream& out, const LoadOptions& options, const LoadResult& result,
                   std::string_view url, bool as_json) {
  if (as_json) {
    print_json(out, options, result, url);
  } else {
    print_text(out, options, result, url);
  }
}

}  // namespace bench

namespace {

constexpr int64_t kMaxDurationSeconds = 600;
constexpr int64_t kMaxConnections = 10'000;
constexpr int64_t kMaxThreads = 64;
constexpr int64_t kMaxPool = 10'000'000;
constexpr int64_t kMaxBatch = 100'000;
constexpr int64_t kMaxSeed = (int64_t{1} << 53) - 1;  // printed exactly in the JSON summary

uint64_t random_seed() {
  std::random_device device;
  const uint64_t seed = ((uint64_t{device()} << 32) | device()) & kMaxSeed;
  return seed == 0 ? 1 : seed;
}

std::vector<ToolFlag> bench_flags() {
  using enum FlagType;
  return {
      {"url", 0, kString, "http://127.0.0.1:8080/events",
       "the engine's POST /events URL (loopback only)"},
      {"template", 0, kString, "", "event template: a JSON object with {{...}} placeholders"},
      {"pool", 0, kInt, "20000", "distinct events rendered from the template"},
      {"seed", 0, kInt, "0",
       "random seed of the pool (0: a new one each run, shown in the summary)"},
      {"connections", 'c', kInt, "16", "keep-alive connections"},
      {"threads", 't', kInt, "1", "I/O threads"},
      {"duration", 'd', kInt, "10", "seconds of load (at most 600)"},
      {"events", 'n', kInt, "0", "stop after this many events (0: no limit)"},
      {"rate", 0, kInt, "0", "events per second over all connections (0: as fast as possible)"},
      {"batch", 0, kInt, "0", "events per request as a JSON array (0: one event object)"},
      {"ndjson", 0, kBool, "false", "with --batch: send NDJSON bodies"},
      {"alarm-events", 0, kString, "",
       "the engine's logs/siem_alarm_events.json, to count correlated events"},
      {"json", 0, kBool, "false", "print the summary as one JSON object"},
  };
}

// Checks an integer flag against [low, high]; sets `error` when outside.
bool in_range(const ToolValues& values, const std::string& name, int64_t low, int64_t high,
              std::string& error) {
  const int64_t v = values.integer(name);
  if (v >= low && v <= high) return true;
  error = "--" + name + " must be between " + std::to_string(low) + " and " + std::to_string(high) +
          ", got " + std::to_string(v);
  return false;
}

int bench_action(const ToolValues& values, std::ostream& out, std::ostream& err) {
  if (!values.args().empty()) return exit_fatal(out, "unexpected argument", values.args()[0]);
  std::string error;
  if (!in_range(values, "pool", 1, kMaxPool, error) ||
      !in_range(values, "seed", 0, kMaxSeed, error) ||
      !in_range(values, "connections", 1, kMaxConnections, error) ||
      !in_range(values, "threads", 1, kMaxThreads, error) ||
      !in_range(values, "duration", 1, kMaxDurationSeconds, error) ||
      !in_range(values, "events", 0, static_cast<int64_t>(bench::kMaxSeq), error) ||
      !in_range(values, "rate", 0, 1'000'000'000, error) ||
      !in_range(values, "batch", 0, kMaxBatch, error)) {
    return exit_fatal(out, "invalid flag", error);
  }
  if (values.boolean("ndjson") && values.integer("batch") == 0) {
    return exit_fatal(out, "invalid flag", "--ndjson needs --batch 1 or more");
  }
  const std::string& url = values.text("url");
  bench::LoadOptions options;
  try {
    options.target = bench::parse_loopback_url(url);
  } catch (const std::invalid_argument& e) {
    return exit_fatal(out, "invalid --url", e.what());
  }
  const std::string& template_path = values.text("template");
  if (template_path.empty()) return exit_fatal(out, "--template is required");
  std::ifstream template_file(template_path, std::ios::binary);
  if (!template_file) return exit_fatal(out, "cannot read the template", template_path);
  std::stringstream template_text;
  template_text << template_file.rdbuf();

  // The engine skips an event whose event_id a backlog already holds, so repeated runs
  // against one engine need different {{uuid}} values: a fresh seed unless one is given.
  options.seed = static_cast<uint64_t>(values.integer("seed"));
  if (options.seed == 0) options.seed = random_seed();
  options.pool_size = static_cast<std::size_t>(values.integer("pool"));
  std::vector<bench::PooledEvent> pool;
  try {
    const auto tmpl = bench::EventTemplate::parse(template_text.str());
    pool = bench::build_pool(tmpl, options.pool_size, options.seed);
  } catch (const std::exception& e) {
    return exit_fatal(out, "invalid template " + template_path, e.what());
  }

  options.connections = static_cast<int>(values.integer("connections"));
  options.threads = std::min(static_cast<int>(values.integer("threads")), options.connections);
  options.duration = std::chrono::seconds(values.integer("duration"));
  options.max_events = static_cast<uint64_t>(values.integer("events"));
  options.rate = static_cast<double>(values.integer("rate"));
  const int64_t batch = values.integer("batch");
  options.format = batch == 0                 ? bench::BodyFormat::kSingle
                   : values.boolean("ndjson") ? bench::BodyFormat::kNdjson
                                              : bench::BodyFormat::kArray;
  options.batch = batch == 0 ? 1 : static_cast<std::size_t>(batch);
  options.alarm_events = values.text("alarm-events");

  bench::LoadResult result;
  try {
    result = bench::run_load(options, pool, &err);
  } catch (const std::exception& e) {
    return exit_fatal(out, "load failed", e.what());
  }
  bench::print_summary(out, options, result, url, values.boolean("json"));
  return result.events_accepted > 0 ? 0 : 1;
}

}  // namespace

int run_bench(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ToolSpec spec;
  spec.name = "bench";
  spec.env_prefix = "DSIEM_BENCH";
  spec.description =
      "HTTP load generator for a running engine's POST /events (loopback only): events/s, "
      "latency percentiles and correlated events";
  spec.persistent = bench_flags();
  spec.root_action = bench_action;
  return run_tool(spec, args, out, err);
}

}  // namespace dsiem::tools
