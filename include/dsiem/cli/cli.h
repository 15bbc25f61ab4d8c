#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "dsiem/tools/tool_cli.h"

// Command line of the `dsiem` binary: the cobra/viper-compatible flags, DSIEM_* environment
// variables, help and version output, and the start-up checks on the resulting settings
// (overview.md §2-§6).
namespace dsiem::cli {

// Every setting `serve` and `validate` read. Defaults are the flag defaults of overview.md §4.
struct Settings {
  bool dev = false, debug = false;
  std::string address = "0.0.0.0";
  int64_t port = 8080;
  int64_t max_delay = 180, max_queue = 25000, max_eps = 1000, min_eps = 100, min_alarm_lifetime = 0,
          hold_duration = 10, cache_duration = 10;
  bool apm = false, writeable_config = false, pprof = false, websocket = false, trace = false,
       intel_private_ip = false;
  std::string mode = "standalone", msq = "nats://dsiem-nats:4222", frontend, node;
  std::vector<std::string> tags{"Identified Threat", "False Positive", "Valid Threat",
                                "Security Incident"};
  std::vector<std::string> status{"Open", "In-Progress", "Closed"};
  int64_t med_risk_min = 3, med_risk_max = 6;
  std::string file_pattern = "directives_*.json";  // validate's -f/--filePattern
  // Lower-cased flag names whose value came from a DSIEM_* variable.
  std::set<std::string> from_env;
  // The raw text of those variables, keyed like from_env: viper writes env-sourced values into
  // dsiem_config.json verbatim (DSIEM_PORT=0x1F is written as "0x1F", not "31").
  std::map<std::string, std::string> env_text;
};

// What each subcommand runs; each returns the process exit code.
struct Commands {
  std::function<int(const Settings&)> serve;
  std::function<int(const Settings&)> validate;
  // The companion tools (`dsiem dtester ...`), each parsing its own arguments (tools.md §5).
  std::map<std::string, tools::ToolMain> tools;
};

// Parses argv (plus the DSIEM_* environment read through `getenv_fn`), runs the chosen command
// and returns the exit code. `dsiem` alone prints help (exit 0); -h/--help work at every level,
// as does `dsiem help [cmd]`; `dsiem version` prints "<DSIEM_VERSION> <DSIEM_BUILD_TIME>\n".
// A parse error writes "Error: <what>" and a usage hint to `err`, the reference's
// "Error returned from command: <what>" line to `out`, and returns 1.
int run(int argc, const char* const* argv, const Commands& commands, std::ostream& out,
        std::ostream& err, const std::function<const char*(const char*)>& getenv_fn = ::getenv);

// The start-up checks of overview.md §4 in order (mode, cluster requirements, EPS, address,
// port; then for standalone/cluster-backend medRisk, empty tags, empty status): the message of
// the first failing check, or "" when all pass.
std::string check_serve_settings(const Settings& s);

// The text of configs/dsiem_config.json (overview.md §6 item 6): 2-space indented JSON object,
// sorted lower-case keys, env-sourced values as strings, tags/status as arrays, no trailing
// newline.
std::string dsiem_config_json(const Settings& s);

// The base directory (overview.md §2): the directory of the running executable, or with `dev`
// the working directory cut right after its first "dsiem" (the executable's directory when the
// working directory has no "dsiem").
std::filesystem::path base_dir(bool dev);

}  // namespace dsiem::cli
