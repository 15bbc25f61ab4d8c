#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dsiem::config {

// A config that stops start-up: the message names the file and what is wrong.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class RuleType { kPlugin, kTaxonomy, kOther };

// One stage of a directive, as written in the file (after the load-time fixes of
// directives.md §3: stage-1 occurrence, reliability clamp).
struct Rule {
  std::string name;
  int64_t stage = 0;
  std::string type;
  // What matching an event against the rule reads comes next, together (the engine loads it
  // ahead of the events): from `kind` to `sticky_different` for plugin rules, to
  // `subcategory` for taxonomy rules.
  RuleType kind = RuleType::kOther;
  int64_t plugin_id = 0;
  std::vector<int64_t> plugin_sid;
  bool plugin_sid_set = false;  // false: absent or null, written as null in alarms
  int64_t occurrence = 0;
  std::string sticky_different;
  std::vector<std::string> product;
  std::string category;
  std::vector<std::string> subcategory;
  std::string from;
  std::string to;
  std::string port_from;
  std::string port_to;
  std::string protocol;
  int64_t reliability = 0;
  int64_t timeout = 0;
  std::string custom_data1;
  std::string custom_label1;
  std::string custom_data2;
  std::string custom_label2;
  std::string custom_data3;
  std::string custom_label3;
};

struct Directive {
  int64_t id = 0;
  std::string name;
  int64_t priority = 0;
  bool disabled = false;
  bool all_rules_always_active = false;
  std::string kingdom;
  std::string category;
  std::vector<Rule> rules;
};

struct DirectiveSet {
  std::vector<Directive> directives;  // valid ones, in load order
  std::size_t total = 0;              // every directive object in the files
};

// Loads every file of `configs_dir` whose name matches `pattern` (a glob such as
// "directives_*.json"), in byte order of the full path, and validates each directive
// (directives.md §1-§3, decisions.md §1). Invalid and disabled directives are skipped with a WARN
// naming the directive. Throws ConfigError when a file cannot be read or decoded; an empty result
// is not an error here (the caller decides).
DirectiveSet load_directives(const std::filesystem::path& configs_dir, std::string_view pattern);

// Decodes the directives of one JSON document without validating them. `source` names the
// file in the ConfigError thrown when it does not decode.
std::vector<Directive> decode_directives(std::string_view json_text, std::string_view source);

// Validates `decoded` in order against the directives already in `into` and appends the valid
// ones; disabled and invalid directives are skipped with a WARN. Counts all in `into.total`.
void accept_directives(std::vector<Directive> decoded, DirectiveSet& into);

// Validates one directive against those accepted so far; applies the load-time fixes and
// returns "" or the error text of directives.md §2-§3.
std::string validate_directive(Directive& d, const std::vector<Directive>& accepted);

// Files of `dir` whose names match the glob `pattern`, sorted by full path.
std::vector<std::filesystem::path> glob_files(const std::filesystem::path& dir,
                                              std::string_view pattern);

}  // namespace dsiem::config
