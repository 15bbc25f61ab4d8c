#include "dsiem/cli/cli.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "dsiem/cli/go_values.h"
#include "dsiem/common/text.h"

#ifndef DSIEM_VERSION
#define DSIEM_VERSION ""
#endif
#ifndef DSIEM_BUILD_TIME
#define DSIEM_BUILD_TIME ""
#endif

namespace dsiem::cli {
namespace {

// CLI11 only splits argv into per-flag raw strings; the values are converted here, with the Go
// parsers, so that they accept and reject exactly what pflag/viper do. Help and error texts follow
// cobra v0.0.5, the version the reference is built with.

using Field = std::variant<bool Settings::*, int64_t Settings::*, std::string Settings::*,
                           std::vector<std::string> Settings::*>;

struct FlagSpec {
  std::string_view name;
  std::string_view shorthand;  // empty when the flag has none
  Field field;
  std::string_view usage;
};

bool is_bool(const FlagSpec& f) {
  return std::holds_alternative<bool Settings::*>(f.field);
}

const std::vector<FlagSpec>& global_flags() {
  static const std::vector<FlagSpec> flags = {
      {"dev", "", &Settings::dev, "Enable development environment specific setting"},
      {"debug", "", &Settings::debug, "Enable debug messages for tracing and troubleshooting"},
  };
  return flags;
}

const std::vector<FlagSpec>& serve_flags() {
  static const std::vector<FlagSpec> flags = {
      {"address", "a", &Settings::address, "IP address for the HTTP server to listen on"},
      {"port", "p", &Settings::port, "TCP port for the HTTP server to listen on"},
      {"maxDelay", "d", &Settings::max_delay,
       "Max. processing delay in seconds before throttling incoming events (under-pressure "
       "condition), 0 means disabled"},
      {"maxQueue", "q", &Settings::max_queue,
       "Length of queue for directive evaluation process, 0 means unlimited/unbounded"},
      {"maxEPS", "e", &Settings::max_eps, "Max. number of incoming events/second"},
      {"minEPS", "i", &Settings::min_eps,
       "Min. events/second rate allowed when throttling incoming events"},
      {"minAlarmLifetime", "l", &Settings::min_alarm_lifetime,
       "Min. alarm lifetime in minutes. Backlog won't expire sooner than this regardless rule "
       "timeouts. This is to support processing of delayed events"},
      {"holdDuration", "n", &Settings::hold_duration,
       "Duration in seconds before resetting overload condition state"},
      {"apm", "", &Settings::apm, "Enable elastic APM instrumentation"},
      {"writeableConfig", "", &Settings::writeable_config,
       "Whether to allow configuration file update through HTTP"},
      {"pprof", "", &Settings::pprof, "Enable go pprof on the web interface"},
      {"websocket", "", &Settings::websocket,
       "Enable websocket endpoint that streams events/second measurement data"},
      {"trace", "", &Settings::trace, "Generate 10 seconds trace file for debugging."},
      {"intelPrivateIP", "", &Settings::intel_private_ip,
       "Whether to check private IP addresses against threat intel"},
      {"mode", "m", &Settings::mode,
       "Deployment mode, can be set to standalone, cluster-frontend, or cluster-backend"},
      {"cacheDuration", "c", &Settings::cache_duration,
       "Cache expiration time in minutes for intel and vuln query results"},
      {"msq", "", &Settings::msq, "Nats address to use for frontend - backend communication"},
      {"frontend", "", &Settings::frontend,
       "Frontend URL to pull configuration from, e.g. http://frontend:8080 (used only by "
       "backends)."},
      {"node", "", &Settings::node, "Unique node name to use when deployed in cluster mode."},
      {"tags", "t", &Settings::tags,
       "Alarm tags to use, the first one will be assigned to new alarms"},
      {"medRiskMin", "", &Settings::med_risk_min,
       "Minimum alarm risk value to be classified as Medium risk. Lower value than this will be "
       "classified as Low risk"},
      {"medRiskMax", "", &Settings::med_risk_max,
       "Maximum alarm risk value to be classified as Medium risk. Higher value than this will be "
       "classified as High risk"},
      {"status", "s", &Settings::status,
       "Alarm status to use, the first one will be assigned to new alarms"},
  };
  return flags;
}

const std::vector<FlagSpec>& validate_flags() {
  static const std::vector<FlagSpec> flags = {
      {"filePattern", "f", &Settings::file_pattern, "Directive file pattern glob to validate"},
  };
  return flags;
}

const std::vector<FlagSpec>& no_flags() {
  static const std::vector<FlagSpec> flags;
  return flags;
}

struct CommandSpec {
  std::string_view name;
  std::string_view use;  // cobra's Use: name plus argument synopsis
  std::string_view short_desc;
  std::string_view long_desc;
  const std::vector<FlagSpec>& flags;
};

constexpr std::string_view kRootLong =
    "\n"
    "DSiem is an event correlation engine for ELK stack.\n"
    "\n"
    "DSiem provides OSSIM-style correlation for normalized logs/events, and relies on\n"
    "Filebeat, Logstash, and Elasticsearch to do the rest.";

constexpr std::string_view kServeLong =
    "\n"
    "Start dsiem server in a standalone or clustered deployment mode (either as frontend or "
    "backend).\n"
    "\n"
    "Frontends listen for normalized events from logstash and distribute them to backends "
    "through NATS message queue.\n"
    "Frontends also serve incoming request for configuration management from web UI.\n"
    "\n"
    "Backends receive events on the message queue channel, perform correlation based on "
    "configured directive rules,\n"
    "and then send results/alarms to elasticsearch through local filebeat.\n"
    "\n"
    "Standalone mode perform both frontend and backend functions in a single dsiem instance "
    "directly, without the need for\n"
    "external message queue.";

// Sorted by name, as cobra lists them.
const std::vector<CommandSpec>& commands() {
  static const std::vector<CommandSpec> cmds = {
      {"help", "help [command]", "Help about any command",
       "Help provides help for any command in the application.\n"
       "Simply type dsiem help [path to command] for full details.",
       no_flags()},
      {"serve", "serve", "Start the server", kServeLong, serve_flags()},
      {"validate", "validate", "Validate directive files",
       "Test loading and parsing directives from configs directory", validate_flags()},
      {"version", "version", "Print the version and build information",
       "Print the version and build information", no_flags()},
  };
  return cmds;
}

std::string env_name(std::string_view flag) {
  std::string out = "DSIEM_";
  for (const char c : flag) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower_name(std::string_view flag) {
  std::string out;
  for (const char c : flag) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim_trailing_space(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// ---- help text (cobra's templates and pflag's FlagUsages layout) ----

struct UsageEntry {
  std::string name, shorthand, varname, usage;
};

UsageEntry usage_entry(const FlagSpec& f) {
  static const Settings defaults;
  UsageEntry e{std::string(f.name), std::string(f.shorthand), "", std::string(f.usage)};
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(defaults.*member)>;
        const T& def = defaults.*member;
        if constexpr (std::is_same_v<T, bool>) {
          if (def) e.usage += " (default true)";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          e.varname = "int";
          if (def != 0) e.usage += " (default " + std::to_string(def) + ")";
        } else if constexpr (std::is_same_v<T, std::string>) {
          e.varname = "string";
          if (!def.empty()) e.usage += " (default " + go_quote(def) + ")";
        } else {
          e.varname = "strings";
          if (!def.empty()) {
            std::string joined;
            for (const auto& item : def) joined += (joined.empty() ? "" : ",") + item;
            e.usage += " (default [" + joined + "])";
          }
        }
      },
      f.field);
  return e;
}

std::string flag_usages(std::vector<UsageEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const UsageEntry& a, const UsageEntry& b) { return a.name < b.name; });
  std::vector<std::string> heads;
  size_t maxlen = 0;
  for (const auto& e : entries) {
    std::string head =
        e.shorthand.empty() ? "      --" + e.name : "  -" + e.shorthand + ", --" + e.name;
    if (!e.varname.empty()) head += " " + e.varname;
    maxlen = std::max(maxlen, head.size() + 1);
    heads.push_back(std::move(head));
  }
  std::string out;
  for (size_t i = 0; i < entries.size(); ++i) {
    out +=
        heads[i] + " " + std::string(maxlen - heads[i].size(), ' ') + " " + entries[i].usage + "\n";
  }
  return trim_trailing_space(out);
}

std::string usage_string(const CommandSpec* cmd) {
  std::string out = "Usage:";
  std::vector<UsageEntry> local;
  if (cmd == nullptr) {
    out += "\n  dsiem [command]\n\nAvailable Commands:";
    for (const auto& c : commands()) {
      std::string name(c.name);
      name.resize(std::max<size_t>(name.size(), 11), ' ');
      out += "\n  " + name + " " + std::string(c.short_desc);
    }
    for (const auto& f : global_flags()) local.push_back(usage_entry(f));
    local.push_back({"help", "h", "", "help for dsiem"});
    out += "\n\nFlags:\n" + flag_usages(local);
    out += "\n\nUse \"dsiem [command] --help\" for more information about a command.\n";
    return out;
  }
  out += "\n  dsiem " + std::string(cmd->use) + " [flags]";
  for (const auto& f : cmd->flags) local.push_back(usage_entry(f));
  local.push_back({"help", "h", "", "help for " + std::string(cmd->name)});
  out += "\n\nFlags:\n" + flag_usages(local);
  std::vector<UsageEntry> global;
  for (const auto& f : global_flags()) global.push_back(usage_entry(f));
  out += "\n\nGlobal Flags:\n" + flag_usages(global) + "\n";
  return out;
}

std::string help_string(const CommandSpec* cmd) {
  const std::string_view text = cmd == nullptr ? kRootLong : cmd->long_desc;
  return trim_trailing_space(std::string(text)) + "\n\n" + usage_string(cmd);
}

// ---- parsing ----

struct ParseFailure {
  std::string what;
  const CommandSpec* cmd;  // whose usage to print; nullptr for the root
  bool usage;              // cobra prints the full usage for flag errors, a hint otherwise
};

// A flag as registered on one CLI11 (sub)command.
struct Bound {
  const FlagSpec* spec;
  CLI::Option* opt;
};

void register_flags(CLI::App& app, const std::vector<FlagSpec>& flags, std::vector<Bound>& out) {
  for (const auto& f : flags) {
    std::string names = "--" + std::string(f.name);
    if (!f.shorthand.empty()) names = "-" + std::string(f.shorthand) + "," + names;
    CLI::Option* opt = is_bool(f) ? app.add_flag(names) : app.add_option(names);
    // pflag accepts repeats (last wins, lists append); keep every raw value.
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    out.push_back({&f, opt});
  }
}

std::string flag_display(const FlagSpec& f) {
  std::string out = "--" + std::string(f.name);
  if (!f.shorthand.empty()) out = "-" + std::string(f.shorthand) + ", " + out;
  return out;
}

// Applies the command-line values of one flag (all its occurrences, in order) to `s`. Returns
// the pflag error text on a bad value.
std::optional<std::string> apply_cli(Settings& s, const FlagSpec& f,
                                     const std::vector<std::string>& values) {
  const auto bad = [&](const std::string& v, const std::string& why) {
    return "invalid argument " + go_quote(v) + " for " + go_quote(flag_display(f)) +
           " flag: " + why;
  };
  bool replaced_list = false;
  for (const auto& v : values) {
    std::string why;
    if (auto* b = std::get_if<bool Settings::*>(&f.field)) {
      const auto parsed = parse_go_bool(v, &why);
      if (!parsed) return bad(v, why);
      s.** b = *parsed;
    } else if (auto* i = std::get_if<int64_t Settings::*>(&f.field)) {
      const auto parsed = parse_go_int(v, &why);
      if (!parsed) return bad(v, why);
      s.** i = *parsed;
    } else if (auto* str = std::get_if<std::string Settings::*>(&f.field)) {
      s.** str = v;
    } else {
      auto& list = s.*std::get<std::vector<std::string> Settings::*>(f.field);
      auto parsed = parse_csv_record(v, &why);
      if (!parsed) return bad(v, why);
      // The first occurrence replaces the default, later ones append.
      if (!replaced_list) list.clear();
      replaced_list = true;
      list.insert(list.end(), parsed->begin(), parsed->end());
    }
  }
  const std::string key = lower_name(f.name);
  s.from_env.erase(key);
  s.env_text.erase(key);
  return std::nullopt;
}

// viper's reading of DSIEM_<NAME>: ignored when empty; otherwise cast's lenient conversions.
void apply_env(Settings& s, const FlagSpec& f,
               const std::function<const char*(const char*)>& getenv_fn) {
  const char* raw = getenv_fn(env_name(f.name).c_str());
  if (raw == nullptr || *raw == '\0') return;
  const std::string v(raw);
  if (auto* b = std::get_if<bool Settings::*>(&f.field)) {
    s.** b = parse_go_bool(v).value_or(false);
  } else if (auto* i = std::get_if<int64_t Settings::*>(&f.field)) {
    s.** i = parse_go_int(v).value_or(0);
  } else if (auto* str = std::get_if<std::string Settings::*>(&f.field)) {
    s.** str = v;
  } else {
    s.*std::get<std::vector<std::string> Settings::*>(f.field) = split_fields(v);
  }
  const std::string key = lower_name(f.name);
  s.from_env.insert(key);
  s.env_text[key] = v;
}

// Levenshtein distance, for cobra's "Did you mean this?" suggestions.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                  std::tolower(static_cast<unsigned char>(b[j - 1]))
                              ? 0
                              : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string unknown_command(const std::string& arg) {
  std::string msg = "unknown command " + go_quote(arg) + " for \"dsiem\"";
  std::vector<std::string> suggestions;
  for (const auto& c : commands()) {
    if (c.name == "help") continue;
    if (edit_distance(arg, c.name) <= 2 || c.name.substr(0, arg.size()) == arg) {
      suggestions.emplace_back(c.name);
    }
  }
  if (!suggestions.empty()) {
    msg += "\n\nDid you mean this?\n";
    for (const auto& s : suggestions) msg += "\t" + s + "\n";
  }
  return msg;
}

std::string unknown_flag(const std::string& arg) {
  if (arg.rfind("--", 0) == 0) return "unknown flag: " + arg.substr(0, arg.find('='));
  return "unknown shorthand flag: '" + arg.substr(1, 1) + "' in " + arg;
}

bool takes_value(std::string_view long_name) {
  for (const auto* table : {&global_flags(), &serve_flags(), &validate_flags()}) {
    for (const auto& f : *table) {
      if (f.name == long_name) return !is_bool(f);
    }
  }
  return false;
}

struct Normalized {
  std::vector<std::string> args;      // for CLI11
  std::vector<std::string> trailing;  // everything after a bare "--": positional for cobra
};

// pflag takes `-p=80` as 80 and `--tags=` as an empty value, where CLI11 would read "=80" or take
// the next argument. And CLI11 hands "--" and what follows to the parent command once the
// subcommand has positionals. So rewrite those forms, and cut the line at "--", before CLI11.
Normalized normalize_args(int argc, const char* const* argv) {
  static const std::string kValueShorthands = "adqeilnmctspf";
  Normalized out;
  bool value_next = false;  // the previous token is a flag that takes the next one as its value
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (value_next) {
      value_next = false;
      out.args.push_back(a);
      continue;
    }
    if (a == "--") {
      out.trailing.assign(argv + i + 1, argv + argc);
      break;
    }
    if (a.size() > 3 && a[0] == '-' && a[1] != '-' && a[2] == '=' &&
        kValueShorthands.find(a[1]) != std::string::npos) {
      out.args.push_back(a.substr(0, 2));
      out.args.push_back(a.substr(3));
    } else if (a.size() > 3 && a.rfind("--", 0) == 0 && a.find('=') == a.size() - 1) {
      out.args.push_back(a.substr(0, a.size() - 1));
      out.args.emplace_back();
    } else {
      out.args.push_back(a);
      if (a.rfind("--", 0) == 0) {
        value_next = a.find('=') == std::string::npos && takes_value(std::string_view(a).substr(2));
      } else if (a.size() == 2 && a[0] == '-') {
        value_next = kValueShorthands.find(a[1]) != std::string::npos;
      }
    }
  }
  return out;
}

int report_failure(const ParseFailure& f, std::ostream& out, std::ostream& err) {
  err << "Error: " << f.what << "\n";
  if (f.usage) {
    err << usage_string(f.cmd) << "\n";
  } else {
    err << "Run 'dsiem" << (f.cmd ? " " + std::string(f.cmd->name) : "") << " --help' for usage.\n";
  }
  // The reference's main() then reports the same error on stdout.
  out << "Error returned from command: " << f.what << "\n";
  return 1;
}

}  // namespace

int run(int argc, const char* const* argv, const Commands& cmds, std::ostream& out,
        std::ostream& err, const std::function<const char*(const char*)>& getenv_fn) {
  if (argc > 1) {
    const auto tool = cmds.tools.find(argv[1]);
    if (tool != cmds.tools.end()) return tool->second({argv + 2, argv + argc}, out, err);
  }
  CLI::App app{"", "dsiem"};
  app.set_help_flag();
  CLI::Option* root_help = app.add_flag("-h,--help");
  root_help->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::vector<Bound> root_bound;
  register_flags(app, global_flags(), root_bound);

  struct Sub {
    const CommandSpec* spec;
    CLI::App* app;
    CLI::Option* help;
    std::vector<Bound> globals, locals;
    std::vector<std::string> args;
  };
  std::vector<std::unique_ptr<Sub>> subs;
  for (const auto& c : commands()) {
    auto sub = std::make_unique<Sub>();
    sub->spec = &c;
    sub->app = app.add_subcommand(std::string(c.name));
    sub->app->set_help_flag();
    sub->help = sub->app->add_flag("-h,--help");
    sub->help->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    register_flags(*sub->app, global_flags(), sub->globals);
    register_flags(*sub->app, c.flags, sub->locals);
    // cobra hands any positional arguments to a leaf command.
    sub->app->add_option("args", sub->args);
    subs.push_back(std::move(sub));
  }
  app.require_subcommand(0, 1);

  Normalized normalized = normalize_args(argc, argv);
  std::vector<std::string>& args = normalized.args;
  const std::string last_arg = args.empty() ? "" : args.back();
  std::reverse(args.begin(), args.end());  // CLI11 consumes from the back

  const auto chosen_sub = [&]() -> Sub* {
    for (auto& s : subs) {
      if (s->app->parsed()) return s.get();
    }
    return nullptr;
  };

  try {
    app.parse(args);
  } catch (const CLI::ExtrasError&) {
    Sub* sub = chosen_sub();
    std::vector<std::string> extras = app.remaining();
    if (extras.empty() && sub) extras = sub->app->remaining();
    const std::string first = extras.empty() ? "" : extras.front();
    const bool flag = first.size() > 1 && first[0] == '-';
    if (!flag) return report_failure({unknown_command(first), nullptr, false}, out, err);
    return report_failure({unknown_flag(first), sub ? sub->spec : nullptr, true}, out, err);
  } catch (const CLI::ArgumentMismatch&) {
    // Only a value-taking flag at the very end of the line can miss its value.
    Sub* sub = chosen_sub();
    std::string what = "flag needs an argument: ";
    if (last_arg.rfind("--", 0) == 0) {
      what += last_arg;
    } else {
      what += "'" + last_arg.substr(1, 1) + "' in " + last_arg;
    }
    return report_failure({what, sub ? sub->spec : nullptr, true}, out, err);
  } catch (const CLI::ParseError& e) {
    Sub* sub = chosen_sub();
    return report_failure({e.what(), sub ? sub->spec : nullptr, true}, out, err);
  }

  Sub* sub = chosen_sub();
  const CommandSpec* spec = sub ? sub->spec : nullptr;
  if (sub) {
    sub->args.insert(sub->args.end(), normalized.trailing.begin(), normalized.trailing.end());
  } else if (!normalized.trailing.empty()) {
    return report_failure({unknown_command(normalized.trailing.front()), nullptr, false}, out, err);
  }

  // Environment first, then explicit flags on top (explicit > non-empty env > default).
  Settings settings;
  const bool wants_settings = sub && (sub->spec->name == "serve" || sub->spec->name == "validate");
  if (wants_settings) {
    for (const auto* table : {&global_flags(), &serve_flags(), &validate_flags()}) {
      for (const auto& f : *table) apply_env(settings, f, getenv_fn);
    }
  }
  // Persistent flags may be given before and after the subcommand; argv order decides.
  for (size_t i = 0; i < root_bound.size(); ++i) {
    std::vector<std::string> values = root_bound[i].opt->results();
    if (sub) {
      const auto& more = sub->globals[i].opt->results();
      values.insert(values.end(), more.begin(), more.end());
    }
    if (values.empty()) continue;
    if (auto e = apply_cli(settings, *root_bound[i].spec, values)) {
      return report_failure({*e, spec, true}, out, err);
    }
  }
  if (sub) {
    for (const auto& b : sub->locals) {
      if (b.opt->results().empty()) continue;
      if (auto e = apply_cli(settings, *b.spec, b.opt->results())) {
        return report_failure({*e, spec, true}, out, err);
      }
    }
  }

  // -h is a real boolean flag in cobra (`--help=false` is allowed).
  bool help = false;
  for (const auto& v : (sub ? sub->help : root_help)->results()) {
    const auto parsed = parse_go_bool(v);
    if (!parsed) {
      return report_failure({"invalid argument " + go_quote(v) +
                                 " for \"-h, --help\" flag: strconv.ParseBool: parsing " +
                                 go_quote(v) + ": invalid syntax",
                             spec, true},
                            out, err);
    }
    help = *parsed;
  }
  if (sub == nullptr || help) {
    out << help_string(spec);
    return 0;
  }

  const std::string_view name = spec->name;
  if (name == "help") {
    if (sub->args.empty()) {
      out << help_string(nullptr);
      return 0;
    }
    for (const auto& c : commands()) {
      if (c.name == sub->args.front()) {
        out << help_string(&c);
        return 0;
      }
    }
    err << "Unknown help topic [";
    for (size_t i = 0; i < sub->args.size(); ++i) err << (i ? " `" : "`") << sub->args[i] << "`";
    err << "]\n" << usage_string(nullptr);
    return 0;
  }
  if (name == "version") {
    out << DSIEM_VERSION << " " << DSIEM_BUILD_TIME << "\n";
    return 0;
  }
  const auto& fn = name == "serve" ? cmds.serve : cmds.validate;
  if (!fn) {
    err << "Error: command " << name << " is not available\n";
    return 1;
  }
  return fn(settings);
}

}  // namespace dsiem::cli
