#include "dsiem/tools/tool_cli.h"

#include <algorithm>
#include <optional>

#include "dsiem/cli/go_values.h"

#ifndef DSIEM_VERSION
#define DSIEM_VERSION ""
#endif
#ifndef DSIEM_BUILD_TIME
#define DSIEM_BUILD_TIME ""
#endif

namespace dsiem::tools {

const std::string& ToolValues::text(const std::string& name) const {
  static const std::string kEmpty;
  const auto it = values_.find(name);
  return it == values_.end() ? kEmpty : it->second;
}

int64_t ToolValues::integer(const std::string& name) const {
  return cli::parse_go_int(text(name)).value_or(0);
}

bool ToolValues::boolean(const std::string& name) const {
  return cli::parse_go_bool(text(name)).value_or(false);
}

bool ToolValues::is_set(const std::string& name) const {
  const auto it = explicit_.find(name);
  return it != explicit_.end() && it->second;
}

void ToolValues::set(const std::string& name, std::string value, bool explicitly) {
  values_[name] = std::move(value);
  explicit_[name] = explicitly;
}

int exit_fatal(std::ostream& out, std::string_view message, std::string_view error) {
  out << "Exiting: " << message;
  if (!error.empty()) out << ": " << error;
  out << "\n";
  return 1;
}

namespace {

struct ParseError {
  std::string reason;
  bool show_usage;  // unknown flag / bad value: usage; unknown command: the --help hint
};

std::string flag_label(const ToolFlag& f) {
  std::string s = f.short_name ? std::string("-") + f.short_name + ", " : "    ";
  s += "--" + f.name;
  if (f.type == FlagType::kString) s += " string";
  if (f.type == FlagType::kInt) s += " int";
  return s;
}

std::string flag_table(const std::vector<const ToolFlag*>& flags) {
  size_t width = 0;
  for (const auto* f : flags) width = std::max(width, flag_label(*f).size());
  std::string out;
  for (const auto* f : flags) {
    std::string label = flag_label(*f);
    label.resize(width, ' ');
    out += "  " + label + "   " + f->usage;
    if (f->type == FlagType::kString && !f->default_value.empty()) {
      out += " (default \"" + f->default_value + "\")";
    } else if (f->type == FlagType::kInt && f->default_value != "0") {
      out += " (default " + f->default_value + ")";
    }
    out += "\n";
  }
  return out;
}

std::string help_text(const ToolSpec& spec, const ToolCommand* cmd) {
  std::string out;
  const std::string path = "dsiem " + spec.name + (cmd ? " " + cmd->name : "");
  out += (cmd ? cmd->short_desc : spec.description) + "\n\nUsage:\n";
  const bool has_action = cmd ? static_cast<bool>(cmd->run) : static_cast<bool>(spec.root_action);
  if (has_action) out += "  " + path + " [flags]\n";
  if (!cmd) {
    out += "  " + path + " [command]\n\nAvailable Commands:\n";
    for (const auto& c : spec.commands) {
      std::string name = c.name;
      name.resize(std::max<size_t>(name.size(), 11), ' ');
      out += "  " + name + " " + c.short_desc + "\n";
    }
    out += "  help        Help about any command\n";
    out += "  version     Print the version and build information\n";
  }
  std::vector<const ToolFlag*> flags;
  if (cmd) {
    for (const auto& f : cmd->flags) flags.push_back(&f);
  }
  for (const auto& f : spec.persistent) flags.push_back(&f);
  out += "\nFlags:\n" + flag_table(flags);
  out += "  -h, --help   help for " + (cmd ? cmd->name : spec.name) + "\n";
  if (!cmd)
    out += "\nUse \"" + path + " [command] --help\" for more information about a command.\n";
  return out;
}

std::string to_upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::optional<std::string> check_value(const ToolFlag& f, const std::string& value) {
  std::string why;
  const std::string name =
      (f.short_name ? std::string("-") + f.short_name + ", " : std::string()) + "--" + f.name;
  if (f.type == FlagType::kInt && !cli::parse_go_int(value, &why)) {
    return "invalid argument \"" + value + "\" for \"" + name + "\" flag: " + why;
  }
  if (f.type == FlagType::kBool && !cli::parse_go_bool(value, &why)) {
    return "invalid argument \"" + value + "\" for \"" + name + "\" flag: " + why;
  }
  return std::nullopt;
}

// Parses the flags and positional arguments of one command into `values`.
std::optional<ParseError> parse_flags(const std::vector<std::string>& args, size_t start,
                                      const std::vector<const ToolFlag*>& flags, ToolValues& values,
                                      bool& help) {
  const auto find_long = [&](std::string_view name) -> const ToolFlag* {
    for (const auto* f : flags) {
      if (f->name == name) return f;
    }
    return nullptr;
  };
  const auto find_short = [&](char c) -> const ToolFlag* {
    for (const auto* f : flags) {
      if (f->short_name == c) return f;
    }
    return nullptr;
  };
  for (size_t i = start; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      for (++i; i < args.size(); ++i) values.add_arg(args[i]);
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      values.add_arg(a);
      continue;
    }
    const bool is_long = a[1] == '-';
    std::string name;
    std::optional<std::string> inline_value;
    if (is_long) {
      const size_t eq = a.find('=');
      name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) inline_value = a.substr(eq + 1);
    } else {
      name = a.substr(1, 1);
      if (a.size() > 2) inline_value = a.substr(a[2] == '=' ? 3 : 2);
    }
    if (name == "help" || name == "h") {
      help = !inline_value || cli::parse_go_bool(*inline_value).value_or(true);
      continue;
    }
    const ToolFlag* f = is_long ? find_long(name) : find_short(name[0]);
    if (!f) {
      return ParseError{
          is_long ? "unknown flag: --" + name : "unknown shorthand flag: '" + name + "' in " + a,
          true};
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (f->type == FlagType::kBool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return ParseError{is_long ? "flag needs an argument: --" + name
                                : "flag needs an argument: '" + name + "' in " + a,
                        true};
    }
    if (auto why = check_value(*f, value)) return ParseError{*why, true};
    values.set(f->name, value, true);
  }
  return std::nullopt;
}

}  // namespace

int run_tool(const ToolSpec& spec, const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err, const std::function<const char*(const char*)>& getenv_fn) {
  // The subcommand is the first argument that is not a flag (cobra allows persistent flags
  // before it, but the tools' users put them after; a leading flag means the root command).
  const ToolCommand* cmd = nullptr;
  bool is_help = false, is_version = false;
  size_t start = 0;
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    start = 1;
    if (args[0] == "help") {
      is_help = true;
    } else if (args[0] == "version") {
      is_version = true;
    } else {
      for (const auto& c : spec.commands) {
        if (c.name == args[0]) cmd = &c;
      }
      if (!cmd && !spec.root_action) {
        const std::string reason =
            "unknown command \"" + args[0] + "\" for \"dsiem " + spec.name + "\"";
        err << "Error: " << reason << "\nRun 'dsiem " << spec.name << " --help' for usage.\n";
        out << "Exiting: Error returned from command: " << reason << "\n";
        return 1;
      }
      if (!cmd) start = 0;  // a positional argument of the root action
    }
  }

  if (is_help) {
    const ToolCommand* topic = nullptr;
    if (args.size() > 1) {
      for (const auto& c : spec.commands) {
        if (c.name == args[1]) topic = &c;
      }
    }
    out << help_text(spec, topic);
    return 0;
  }

  std::vector<const ToolFlag*> flags;
  if (cmd) {
    for (const auto& f : cmd->flags) flags.push_back(&f);
  }
  for (const auto& f : spec.persistent) flags.push_back(&f);

  ToolValues values;
  for (const auto* f : flags) {
    const std::string var = spec.env_prefix + "_" + to_upper(f->name);
    const char* env = getenv_fn(var.c_str());
    if (env && *env) {
      values.set(f->name, env, true);
    } else {
      values.set(f->name, f->default_value, false);
    }
  }
  bool help = false;
  if (auto e = parse_flags(args, start, flags, values, help)) {
    err << "Error: " << e->reason << "\n";
    if (e->show_usage) {
      err << help_text(spec, cmd);
    } else {
      err << "Run 'dsiem " << spec.name << " --help' for usage.\n";
    }
    out << "Exiting: Error returned from command: " << e->reason << "\n";
    return 1;
  }
  if (is_version) {
    out << DSIEM_VERSION << " " << DSIEM_BUILD_TIME << "\n";
    return 0;
  }
  const ToolAction& action = cmd ? cmd->run : spec.root_action;
  if (help || !action) {
    out << help_text(spec, cmd);
    return 0;
  }
  return action(values, out, err);
}

}  // namespace dsiem::tools
