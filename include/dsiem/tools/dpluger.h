#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/config/directive.h"

// `dsiem dpluger directive` (tools.md §4.2): turns a plugin-SID TSV into basic three-stage
// directives, merged into the directive file it writes. The Elasticsearch-based commands of
// the reference tool (create, run) and split-directive / merge-directive are not provided.
namespace dsiem::tools {

// A failure of one step after the flag checks; what() goes after
// `Exiting: Cannot create directive file: `.
class DplugerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The values `dpluger directive` builds each new directive from.
struct DirectiveTemplate {
  std::string title_template = "EVENT_TITLE (SRC_IP to DST_IP)";
  std::string kingdom = "Environmental Awareness";  // for rows without a kingdom column
  int64_t priority = 3;
  int64_t reliability = 1;  // of stage 1, clamped to 1..10
  int64_t dir_number = 100000;
};

// One data line of a plugin-SID TSV (columns plugin, id, sid, title, category, kingdom, ...).
struct PluginSidRow {
  int line = 0;  // 1-based line number in the file (the header is line 1)
  int64_t plugin_id = 0;
  int64_t sid = 0;
  std::string title;
  std::string category;
  std::string kingdom;  // empty when the column is missing or empty
};

// Parses the TSV: the first line is a header and is skipped; the last line counts without a
// trailing newline; a trailing CR is removed from every line; string columns have their
// backslash escapes decoded. A present id or sid column that is not a decimal integer throws
// DplugerError naming `source`, the line and the row number. Blank lines give a row without title.
std::vector<PluginSidRow> parse_plugin_sid_tsv(std::string_view text, std::string_view source);

// The directives already in `out_file` (every file matching its base name as a glob in its
// directory), disabled ones included, validated with the engine's loader rules. A directive the
// engine would reject or change at load time throws DplugerError naming it and the problem, as
// does a file that cannot be read or decoded. No file means no directives.
std::vector<config::Directive> load_existing_directives(const std::filesystem::path& out_file);

// Adds a directive for each row to `directives`, or merges the row's SID into the existing
// directive of the same name; writes the progress lines on `out`. Returns the number created.
std::size_t add_tsv_directives(const std::vector<PluginSidRow>& rows, const DirectiveTemplate& tmpl,
                               std::vector<config::Directive>& directives, std::ostream& out);

// `{"directives": [...]}` as Go's json.MarshalIndent(v, "", "  ") writes the engine's directive
// structs (no trailing newline; an empty list is null).
std::string directives_json(const std::vector<config::Directive>& directives);

// `dsiem dpluger ...`: `args` is what follows `dpluger`. Returns the process exit code.
int run_dpluger(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace dsiem::tools
