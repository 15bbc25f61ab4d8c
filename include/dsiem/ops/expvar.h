#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dsiem/http/router.h"
#include "dsiem/ops/counters.h"

// GET /debug/vars/ in Go expvar format (cluster.md §4.6):
//   "{\n" + "\t\"<name>\": <json>" joined by ",\n" + "\n}\n", names sorted,
//   Content-Type "application/json; charset=utf-8".
// Variables: alarm_counter, backlog_counter, eps_counter, goroutine_counter (from Counters),
// cmdline (JSON array of the strings given to set_cmdline), memstats (replaced by
// {"rss_bytes":N,"vm_bytes":N} from /proc/self/statm), expvarHandlerCalls and
// expvarRegexpErrors (per registered route).
// Query parameter r: an ECMAScript regular expression searched in each name (empty: all). An
// invalid one → 400 "Error when obtaining expvar regexp: cannot parse r=\"…\": <err>". Patterns
// longer than 1000 bytes are refused the same way ("expression too long"), because
// std::regex compiles recursively.
namespace dsiem::ops {

// Records the process arguments shown as `cmdline`. Thread-safe; call once at start-up.
void set_cmdline(std::vector<std::string> argv);

// The arguments last given to set_cmdline (empty before).
std::vector<std::string> cmdline();

// Registers GET /debug/vars/ on `router`, reading `counters` at each request.
void add_debug_vars_route(http::Router& router, std::shared_ptr<const Counters> counters);

}  // namespace dsiem::ops
