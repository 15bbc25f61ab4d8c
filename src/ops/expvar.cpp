#include "dsiem/ops/expvar.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <regex>
#include <utility>

#include "dsiem/common/text.h"
#include "dsiem/http/util.h"
#include "dsiem/json/go_writer.h"

namespace dsiem::ops {

namespace {

constexpr std::size_t kMaxPatternSize = 1000;

struct CmdlineRegistry {
  std::mutex mu;
  std::vector<std::string> argv;
};

CmdlineRegistry& registry() {
  static CmdlineRegistry r;
  return r;
}

struct RouteState {
  std::shared_ptr<const Counters> counters;
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> regexp_errors{0};
};

std::string memstats_json() {
  long page = ::sysconf(_SC_PAGESIZE);
  unsigned long long size = 0, resident = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> size >> resident;
  auto bytes = [&](unsigned long long pages) {
    return std::to_string(pages * static_cast<unsigned long long>(page > 0 ? page : 4096));
  };
  return "{\"rss_bytes\":" + bytes(resident) + ",\"vm_bytes\":" + bytes(size) + "}";
}

std::string cmdline_json() {
  std::string out = "[";
  auto argv = cmdline();
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i) out += ",";
    out += json::quote(argv[i]);
  }
  return out + "]";
}

void serve(RouteState& st, const http::Request& req, const http::Responder& respond) {
  st.calls.fetch_add(1);
  // Like fasthttp's expvarhandler: the first r value, and "." (any non-empty name) when empty.
  std::string pattern = http::query_value(req.query, "r");
  if (pattern.empty()) pattern = ".";
  std::regex re;
  std::string error;
  if (pattern.size() > kMaxPatternSize) {
    error = "expression too long";
  } else {
    try {
      re = std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      error = e.what();
    }
  }
  if (!error.empty()) {
    st.regexp_errors.fetch_add(1);
    http::Response res;
    res.status = 400;
    res.body = "Error when obtaining expvar regexp: cannot parse r=" + dsiem::go_quote(pattern) +
               ": " + error;
    return respond(std::move(res));
  }

  const Counters& c = *st.counters;
  std::vector<std::pair<std::string, std::string>> vars = {
      {"alarm_counter", std::to_string(c.alarm_counter.load())},
      {"backlog_counter", std::to_string(c.backlog_counter.load())},
      {"cmdline", cmdline_json()},
      {"eps_counter", std::to_string(c.eps_counter.load())},
      {"expvarHandlerCalls", std::to_string(st.calls.load())},
      {"expvarRegexpErrors", std::to_string(st.regexp_errors.load())},
      {"goroutine_counter", std::to_string(c.goroutine_counter.load())},
      {"memstats", memstats_json()},
  };
  std::sort(vars.begin(), vars.end());
  std::string body = "{\n";
  bool first = true;
  for (const auto& [name, value] : vars) {
    if (!std::regex_search(name, re)) continue;
    if (!first) body += ",\n";
    first = false;
    body += "\t" + json::quote(name) + ": " + value;
  }
  body += "\n}\n";
  http::Response res;
  res.body = std::move(body);
  res.content_type = "application/json; charset=utf-8";
  respond(std::move(res));
}

}  // namespace

void set_cmdline(std::vector<std::string> argv) {
  std::lock_guard lock(registry().mu);
  registry().argv = std::move(argv);
}

std::vector<std::string> cmdline() {
  std::lock_guard lock(registry().mu);
  return registry().argv;
}

void add_debug_vars_route(http::Router& router, std::shared_ptr<const Counters> counters) {
  auto state = std::make_shared<RouteState>();
  state->counters = std::move(counters);
  router.add("GET", "/debug/vars/", [state](http::Request&& req, http::Responder respond) {
    serve(*state, req, respond);
  });
}

}  // namespace dsiem::ops
