#include "dsiem/tools/dpluger.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "dsiem/json/go_writer.h"
#include "dsiem/tools/tool_cli.h"

namespace dsiem::tools {

namespace {

// Go's wording of an OS error: `open x.json: permission denied`.
std::string os_error(std::string_view op, const std::string& path, int errnum) {
  std::string reason = std::strerror(errnum);
  if (!reason.empty() && reason[0] >= 'A' && reason[0] <= 'Z') reason[0] += 'a' - 'A';
  return std::string(op) + " " + path + ": " + reason;
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw DplugerError(os_error("read", path, EISDIR));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DplugerError(os_error("open", path, errno));
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw DplugerError(os_error("read", path, errno));
  return buf.str();
}

// valyala/tsvreader's unescaping: \t \n \r \b \f \0 decoded, any other `\x` becomes `x`, and a
// final lone backslash is kept.
std::string unescape_tsv(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char c = s[++i];
    switch (c) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case '0':
        out.push_back('\0');
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// A decimal integer with an optional sign, the whole text.
std::optional<int64_t> parse_int_column(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const std::string_view number = s[0] == '+' ? s.substr(1) : s;
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> cols;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    cols.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return cols;
    start = tab + 1;
  }
}

// The engine's load-time fixes (priority, stage-1 occurrence, reliability) that turned `before`
// into `after`, described; "" when validation changed nothing.
std::string describe_fixups(const config::Directive& before, const config::Directive& after) {
  if (before.priority != after.priority) {
    return "wrong priority set (" + std::to_string(before.priority) + "), must be 1 to 5";
  }
  for (size_t i = 0; i < before.rules.size() && i < after.rules.size(); ++i) {
    const config::Rule& b = before.rules[i];
    const config::Rule& a = after.rules[i];
    if (b.occurrence != a.occurrence) {
      return "rule " + std::to_string(b.stage) + " has wrong occurrence set (" +
             std::to_string(b.occurrence) + "), stage 1 must have occurrence 1";
    }
    if (b.reliability != a.reliability) {
      return "rule " + std::to_string(b.stage) + " has wrong reliability set (" +
             std::to_string(b.reliability) + "), must be 0 to 10";
    }
  }
  return "";
}

config::Rule make_rule(const PluginSidRow& row, int64_t stage, int64_t occurrence,
                       std::string from_to, int64_t reliability, int64_t timeout) {
  config::Rule r;
  r.name = row.title;
  r.stage = stage;
  r.type = "PluginRule";
  r.kind = config::RuleType::kPlugin;
  r.plugin_id = row.plugin_id;
  r.plugin_sid = {row.sid};
  r.plugin_sid_set = true;
  r.occurrence = occurrence;
  r.from = from_to;
  r.to = from_to;
  r.port_from = "ANY";
  r.port_to = "ANY";
  r.protocol = "ANY";
  r.reliability = reliability;
  r.timeout = timeout;
  return r;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  size_t start = 0;
  for (size_t at; (at = text.find(from, start)) != std::string_view::npos;
       start = at + from.size()) {
    out.append(text.substr(start, at - start)).append(to);
  }
  out.append(text.substr(start));
  return out;
}

// Compact JSON writers for the engine's directive structs, in Go's field order and omitempty
// rules.
void key(std::string& out, std::string_view k) {
  out.push_back(',');
  json::append_key(out, k);
}
void string_field(std::string& out, std::string_view k, std::string_view v) {
  key(out, k);
  json::append_string(out, v);
}
void int_field(std::string& out, std::string_view k, int64_t v) {
  key(out, k);
  json::append_int(out, v);
}
void optional_string(std::string& out, std::string_view k, std::string_view v) {
  if (!v.empty()) string_field(out, k, v);
}
void optional_strings(std::string& out, std::string_view k, const std::vector<std::string>& v) {
  if (v.empty()) return;
  key(out, k);
  out.push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(',');
    json::append_string(out, v[i]);
  }
  out.push_back(']');
}

void append_rule(std::string& out, const config::Rule& r) {
  out.push_back('{');
  json::append_key(out, "name");
  json::append_string(out, r.name);
  int_field(out, "stage", r.stage);
  int_field(out, "plugin_id", r.plugin_id);
  key(out, "plugin_sid");
  if (!r.plugin_sid_set) {
    out += "null";
  } else {
    out.push_back('[');
    for (size_t i = 0; i < r.plugin_sid.size(); ++i) {
      if (i) out.push_back(',');
      json::append_int(out, r.plugin_sid[i]);
    }
    out.push_back(']');
  }
  optional_strings(out, "product", r.product);
  optional_string(out, "category", r.category);
  optional_strings(out, "subcategory", r.subcategory);
  int_field(out, "occurrence", r.occurrence);
  string_field(out, "from", r.from);
  string_field(out, "to", r.to);
  string_field(out, "type", r.type);
  string_field(out, "port_from", r.port_from);
  string_field(out, "port_to", r.port_to);
  optional_string(out, "protocol", r.protocol);
  int_field(out, "reliability", r.reliability);
  int_field(out, "timeout", r.timeout);
  optional_string(out, "sticky_different", r.sticky_different);
  optional_string(out, "custom_data1", r.custom_data1);
  optional_string(out, "custom_label1", r.custom_label1);
  optional_string(out, "custom_data2", r.custom_data2);
  optional_string(out, "custom_label2", r.custom_label2);
  optional_string(out, "custom_data3", r.custom_data3);
  optional_string(out, "custom_label3", r.custom_label3);
  out.push_back('}');
}

void append_directive(std::string& out, const config::Directive& d) {
  out.push_back('{');
  json::append_key(out, "id");
  json::append_int(out, d.id);
  string_field(out, "name", d.name);
  int_field(out, "priority", d.priority);
  key(out, "disabled");
  out += d.disabled ? "true" : "false";
  key(out, "all_rules_always_active");
  out += d.all_rules_always_active ? "true" : "false";
  string_field(out, "kingdom", d.kingdom);
  string_field(out, "category", d.category);
  key(out, "rules");
  out.push_back('[');
  for (size_t i = 0; i < d.rules.size(); ++i) {
    if (i) out.push_back(',');
    append_rule(out, d.rules[i]);
  }
  out += "]}";
}

// Creates (mode 0600) or truncates `path` and writes `data`.
void write_file(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw DplugerError(os_error("open", path, errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw DplugerError(os_error("write", path, e));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw DplugerError(os_error("close", path, errno));
}

int directive_command(const ToolValues& v, std::ostream& out) {
  DirectiveTemplate tmpl;
  tmpl.title_template = v.text("titleTemplate");
  tmpl.kingdom = v.text("kingdom");
  tmpl.priority = v.integer("priority");
  tmpl.reliability = v.integer("reliability");
  tmpl.dir_number = v.integer("dirNumber");
  const std::string tsv_file = v.text("tsvFile");
  const std::string out_file = v.text("outFile");

  if (tmpl.title_template.find("EVENT_TITLE") == std::string::npos) {
    return exit_fatal(out, "titleTemplate must contain EVENT_TITLE", "wrong titleTemplate");
  }
  if (tmpl.priority < 1 || tmpl.priority > 5) {
    return exit_fatal(out, "Priority must be between 1 and 5", "wrong priority");
  }
  if (tmpl.reliability < 0 || tmpl.reliability > 10) {
    return exit_fatal(out, "Reliability must be between 0 - 10", "wrong reliability");
  }
  if (tmpl.dir_number < 1) {
    return exit_fatal(out, "dirNumber must be greater than 0", "wrong dirNumber");
  }
  std::error_code ec;
  if (tsv_file.empty() || !std::filesystem::exists(tsv_file, ec)) {
    return exit_fatal(out, tsv_file + " doesn't exist", "wrong TSVFile parameter");
  }

  try {
    const std::string tsv = read_file(tsv_file);
    std::vector<config::Directive> directives = load_existing_directives(out_file);
    const auto rows = parse_plugin_sid_tsv(tsv, tsv_file);
    add_tsv_directives(rows, tmpl, directives, out);
    write_file(out_file, directives_json(directives));
  } catch (const DplugerError& e) {
    return exit_fatal(out, "Cannot create directive file", e.what());
  }
  out << "Directives file written in " << out_file << "\n"
      << "Now you should edit the generated file and deploy it to dsiem frontend configs "
         "directory\n";
  return 0;
}

}  // namespace

std::vector<PluginSidRow> parse_plugin_sid_tsv(std::string_view text, std::string_view source) {
  std::vector<PluginSidRow> rows;
  size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (++line_no == 1) continue;  // the header
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    PluginSidRow row;
    row.line = line_no;
    if (line.empty()) {
      rows.push_back(row);
      continue;
    }
    const auto cols = split_tabs(line);
    const auto int_column = [&](size_t index, std::string_view name) -> int64_t {
      if (index >= cols.size()) return 0;
      if (auto n = parse_int_column(cols[index])) return *n;
      throw DplugerError(std::string(source) + " line " + std::to_string(line_no) + " (row #" +
                         std::to_string(line_no - 1) + "): " + std::string(name) + " " +
                         json::quote(cols[index]) + " is not an integer");
    };
    const auto string_column = [&](size_t index) {
      return index < cols.size() ? unescape_tsv(cols[index]) : std::string();
    };
    row.plugin_id = int_column(1, "id");
    row.sid = int_column(2, "sid");
    row.title = string_column(3);
    row.category = string_column(4);
    row.kingdom = string_column(5);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<config::Directive> load_existing_directives(const std::filesystem::path& out_file) {
  std::filesystem::path dir = out_file.parent_path();
  if (dir.empty()) dir = ".";
  std::vector<config::Directive> accepted;
  for (const auto& path : config::glob_files(dir, out_file.filename().string())) {
    const std::string file = path.string();
    std::vector<config::Directive> decoded;
    try {
      decoded = config::decode_directives(read_file(file), file);
    } catch (const config::ConfigError& e) {
      // The reference reports the decoder's text alone.
      std::string_view what = e.what();
      const std::string prefix = file + ": ";
      if (what.substr(0, prefix.size()) == prefix) what.remove_prefix(prefix.size());
      throw DplugerError(std::string(what));
    }
    for (config::Directive& d : decoded) {
      config::Directive checked = d;
      std::string problem = config::validate_directive(checked, accepted);
      if (problem.empty()) problem = describe_fixups(d, checked);
      if (!problem.empty()) {
        throw DplugerError("existing directive ID " + std::to_string(d.id) + " '" + d.name +
                           "' in " + file + " is not valid: " + problem);
      }
      accepted.push_back(std::move(d));
    }
  }
  return accepted;
}

std::size_t add_tsv_directives(const std::vector<PluginSidRow>& rows, const DirectiveTemplate& tmpl,
                               std::vector<config::Directive>& directives, std::ostream& out) {
  const int64_t reliability = std::clamp<int64_t>(tmpl.reliability, 1, 10);
  int64_t next_id = tmpl.dir_number;
  std::size_t added = 0;
  for (const PluginSidRow& row : rows) {
    if (row.title.empty() || row.sid == 0) {
      out << "Skipping an empty title or SID in TSV file\n";
      continue;
    }
    const std::string name = replace_all(tmpl.title_template, "EVENT_TITLE", row.title);
    const auto existing = std::find_if(directives.begin(), directives.end(),
                                       [&](const config::Directive& d) { return d.name == name; });
    if (existing != directives.end()) {
      out << "merging plugin-sid list of an existing directive: " << name << "\n";
      for (config::Rule& r : existing->rules) {
        std::set<int64_t> sids(r.plugin_sid.begin(), r.plugin_sid.end());
        sids.insert(row.sid);
        r.plugin_sid.assign(sids.begin(), sids.end());
        r.plugin_sid_set = true;
      }
      continue;
    }
    config::Directive d;
    d.id = next_id;
    while (std::any_of(directives.begin(), directives.end(),
                       [&](const config::Directive& other) { return other.id == d.id; })) {
      ++d.id;
    }
    d.name = name;
    d.priority = tmpl.priority;
    d.kingdom = row.kingdom.empty() ? tmpl.kingdom : row.kingdom;
    d.category = row.category;
    d.rules.push_back(make_rule(row, 1, 1, "ANY", reliability, 0));
    d.rules.push_back(make_rule(row, 2, 10, ":1", std::min<int64_t>(reliability + 4, 10), 3600));
    d.rules.push_back(make_rule(row, 3, 10000, ":1", 10, 21600));
    next_id = d.id + 1;
    directives.push_back(std::move(d));
    ++added;
  }
  out << "Found " << added << " new directives\n";
  return added;
}

std::string directives_json(const std::vector<config::Directive>& directives) {
  std::string compact = "{\"directives\":";
  if (directives.empty()) {
    compact += "null";
  } else {
    compact.push_back('[');
    for (size_t i = 0; i < directives.size(); ++i) {
      if (i) compact.push_back(',');
      append_directive(compact, directives[i]);
    }
    compact.push_back(']');
  }
  compact.push_back('}');
  return json::indent(compact);
}

int run_dpluger(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ToolCommand directive{
      "directive",
      "Create a Dsiem directive file from dpluger TSV",
      {
          {"tsvFile", 'f', FlagType::kString, "", "dpluger TSV file to use"},
          {"outFile", 'o', FlagType::kString, "directives_dsiem.json", "directive file to create"},
          {"priority", 'p', FlagType::kString, "3", "default priority to use (1 - 5)"},
          {"reliability", 'r', FlagType::kString, "1", "reliability to use (0 - 10) for stage 1"},
          {"kingdom", 'k', FlagType::kString, "Environmental Awareness", "default kingdom to use"},
          {"titleTemplate", 'm', FlagType::kString, "EVENT_TITLE (SRC_IP to DST_IP)",
           "directive title template. EVENT_TITLE will be replaced with entries from TSV file, "
           "and SRC_IP and DST_IP will be replaced at runtime with the actual addresses."},
          {"dirNumber", 'i', FlagType::kInt, "100000", "Starting directive number"},
      },
      [](const ToolValues& values, std::ostream& o, std::ostream&) {
        return directive_command(values, o);
      }};
  const ToolSpec spec{
      "dpluger",
      "DPLUGER",
      "Dsiem directive generator for plugin-SID TSV files",
      {{"config", 'c', FlagType::kString, "dpluger_config.json", "config file to use"}},
      nullptr,
      {directive}};
  return run_tool(spec, args, out, err);
}

}  // namespace dsiem::tools
