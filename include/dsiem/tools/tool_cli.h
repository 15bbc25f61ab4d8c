#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

// The command line shared by the companion tools (`dsiem dtester`, `dsiem ossimcnv`,
// `dsiem nesd`, `dsiem dpluger`), following tools.md §0: cobra-style subcommands and flags,
// `help [cmd]`, `version`, each flag also settable through `<PREFIX>_<KEY>` (explicit flag >
// non-empty variable > default), and fatal errors as one `Exiting: ...` line on stdout.
namespace dsiem::tools {

enum class FlagType { kString, kInt, kBool };

struct ToolFlag {
  std::string name;  // long name; also the viper key, so the variable is PREFIX_<NAME UPPER>
  char short_name = 0;
  FlagType type = FlagType::kString;
  std::string default_value;  // as text ("1000", "false", "./user.xml")
  std::string usage;
};

// The resolved value of every flag of the chosen command, plus its positional arguments.
class ToolValues {
 public:
  const std::string& text(const std::string& name) const;
  // spf13/cast semantics: base detection (0x1F, leading 0 octal), unparsable text → 0.
  int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  // True when the flag was given on the command line or by a non-empty variable.
  bool is_set(const std::string& name) const;
  const std::vector<std::string>& args() const { return args_; }

  void set(const std::string& name, std::string value, bool explicitly);
  void add_arg(std::string arg) { args_.push_back(std::move(arg)); }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> explicit_;
  std::vector<std::string> args_;
};

using ToolAction = std::function<int(const ToolValues&, std::ostream& out, std::ostream& err)>;

struct ToolCommand {
  std::string name;
  std::string short_desc;
  std::vector<ToolFlag> flags;  // this command's own flags (besides the persistent ones)
  ToolAction run;               // null: the command prints its help
};

struct ToolSpec {
  std::string name;        // "dtester"; help shows "dsiem dtester"
  std::string env_prefix;  // "DTESTER"
  std::string description;
  std::vector<ToolFlag> persistent;   // accepted by the root and by every subcommand
  ToolAction root_action;             // null: the bare tool prints its help and exits 0
  std::vector<ToolCommand> commands;  // `help` and `version` are added by run_tool
};

// Parses `args` (what follows the tool name) and runs the chosen action. Parse errors follow
// cobra: `Error: <reason>` plus usage (unknown flag) or `Run 'dsiem <tool> --help' for usage.`
// (unknown command) on `err`, then `Exiting: Error returned from command: <reason>` on `out`,
// exit code 1.
int run_tool(const ToolSpec& spec, const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err,
             const std::function<const char*(const char*)>& getenv_fn = ::getenv);

// A tool's fatal error (tools.md §0): writes `Exiting: <message>: <error>` (or
// `Exiting: <message>` when `error` is empty) and a newline on `out`; returns 1, the exit code.
int exit_fatal(std::ostream& out, std::string_view message, std::string_view error = {});

// Every tool, keyed by its name, as the top-level `dsiem` command line dispatches them.
using ToolMain =
    std::function<int(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)>;

}  // namespace dsiem::tools
