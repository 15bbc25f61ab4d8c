#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/config/directive.h"
#include "dsiem/event/event.h"

// `dsiem dtester`: builds events that walk every stage of the loaded directives and sends them
// to a running engine over HTTP (`dsiem` mode) or appends them to a JSON-lines file for
// Filebeat (`fbeat` mode). tools.md §1, with the fixes of tools.md §6 T1-T9 (decisions.md §10).
namespace dsiem::tools {

// What shapes the generated events (tools.md §1.1, §1.3).
struct GenerationOptions {
  std::string home_net = "192.168.0.1";  // the address used wherever a rule says HOME_NET
  std::string src_ip;                    // non-empty: the src_ip of every event
  std::string dst_ip;                    // non-empty: the dst_ip of every event
  int64_t max_per_rule = 1000;           // at most this many events per rule
  std::string title;                     // empty: each event carries its rule's name
};

// The events of one rule, all of which must be handled before the next rule's are sent.
struct StageEvents {
  std::size_t index = 0;  // position of the rule in the directive (0-based)
  int64_t stage = 0;      // the rule's stage label
  std::vector<event::Event> events;
};

struct DirectiveEvents {
  int64_t directive_id = 0;
  std::vector<StageEvents> stages;  // one per rule, in array order
  // Why a stage will probably not complete with these events (an empty port list, an
  // occurrence above --max, an address override outside the rule, ...), one text per finding.
  std::vector<std::string> problems;

  std::size_t event_count() const;
};

// Builds the events of one directive at a time (tools.md §1.3 with T1-T4, T8, T10 improved):
//  * addresses: HOME_NET gets the home-net address; ANY, !HOME_NET and address lists repeat the
//    previous rule's address when it satisfies the rule (T2), otherwise a fitting address is
//    drawn (a public-looking one for !HOME_NET, one inside the list for CIDRs and lists);
//  * `:N` references are resolved as the engine resolves them when the first event creates the
//    backlog (directives.md §7), preferring rule N's generated value when it fits (T3);
//  * ports: ANY draws from [4000, 65534] (source) or [20, 1023] (destination), a list gives one
//    of its items, an empty spec gives 0 (T4);
//  * list picks (plugin_sid, product, subcategory, ports, `ANY` protocol) are uniform (T1);
//  * a rule gets min(max(occurrence, 1), max_per_rule) events, each with its own UUID (T8);
//  * sticky_different fields and custom-data conditions are satisfied where the rule allows it
//    (T10), and a TaxonomyRule event of a directive that also has plugin stages carries a plugin
//    pair of that directive so that it passes the directive's quick filter (directives.md §4).
// The same seed and inputs give the same events.
class EventGenerator {
 public:
  EventGenerator(GenerationOptions options, uint64_t seed);

  // Every stage's events of `directive`, each stamped with `timestamp`.
  DirectiveEvents generate(const config::Directive& directive, std::string_view timestamp);
  // A random UUID version 4, lower-case hex with dashes.
  std::string new_event_id();

  const GenerationOptions& options() const { return options_; }

 private:
  int64_t uniform(int64_t low, int64_t high);
  std::string random_ipv4();
  std::vector<std::string> addresses(std::string_view condition, const std::string& preferred,
                                     std::size_t count, std::string& problem);
  std::vector<int64_t> ports(std::string_view condition, int64_t preferred, bool source,
                             std::size_t count, std::string& problem);
  std::vector<std::string> custom_values(std::string_view condition, const std::string& preferred,
                                         std::size_t count, std::string& problem);

  GenerationOptions options_;
  std::mt19937_64 rng_;
};

// "2024-02-25T12:13:39Z": Unix seconds as RFC 3339 UTC with whole seconds.
std::string rfc3339_utc(int64_t unix_seconds);

// Appends `line` and a newline to `path` (created with mode 0600 when missing), opening and
// closing the file for this one line as the reference does (tools.md §1.4). Returns "" or the
// error text, e.g. "open /x/y.json: no such file or directory".
std::string append_line(const std::string& path, std::string_view line);

// `dsiem` mode (tools.md §1.5 with T5, T6, T9 fixed).
struct SendOptions {
  std::string address = "127.0.0.1";
  int64_t port = 8080;
  int64_t rps = 500;                        // events per second; must be positive
  int64_t concurrency = 50;                 // sends in flight at most; <= 0: no limit (256 at most)
  bool verbose = false;                     // print every accepted event (with its rule's stage)
  std::chrono::milliseconds timeout{5000};  // per request, connect included
  std::chrono::milliseconds progress_interval{1000};  // 0: no progress lines
};

struct SendSummary {
  uint64_t sent = 0;                                 // requests completed (answered or failed)
  uint64_t accepted = 0;                             // 2xx answers
  std::map<int, uint64_t> refused;                   // other answers, by HTTP status
  std::map<std::string, uint64_t> transport_errors;  // no answer, by error text
  std::size_t directives = 0;                        // directives with at least one event
  double elapsed_seconds = 0;

  uint64_t failed() const;
};

// The events of directive `i` (0-based), asked once per directive in increasing order.
using DirectiveSource = std::function<DirectiveEvents(std::size_t index)>;

// POSTs the events of `directive_count` directives to http://address:port/events over
// keep-alive connections, at most `rps` per second and `concurrency` at a time. One directive's
// stages go strictly in order (every event of stage k is answered before stage k+1 is sent);
// different directives proceed concurrently, a bounded number at a time. Each event gets its
// timestamp when it is sent. Prints a progress line on `out` every progress_interval and the
// verbose lines. A non-2xx answer or a transport error is a failure and is not retried (only a
// request that met a kept-alive connection closed by the server goes again, on a new one).
// Throws std::runtime_error when the address cannot be resolved or rps is not positive.
SendSummary send_events(std::size_t directive_count, const DirectiveSource& source,
                        const SendOptions& options, std::ostream& out);

// The summary lines printed at the end of a `dsiem` mode run.
void print_summary(const SendSummary& summary, std::ostream& out);

// `dsiem dtester ...`; `args` is what follows `dtester`. Returns the exit code.
int run_dtester(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// The same with the environment read through `getenv_fn` (DTESTER_* variables), for tests.
int run_dtester(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                const std::function<const char*(const char*)>& getenv_fn);

}  // namespace dsiem::tools
