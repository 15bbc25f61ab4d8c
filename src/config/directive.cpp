#include "dsiem/config/directive.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "dsiem/common/ip.h"
#include "dsiem/common/log.h"
#include "dsiem/common/text.h"
#include "dsiem/json/go_reader.h"

namespace dsiem::config {

namespace {

constexpr std::array<std::string_view, 23> kRuleKeys = {"name",
                                                        "stage",
                                                        "plugin_id",
                                                        "plugin_sid",
                                                        "product",
                                                        "category",
                                                        "subcategory",
                                                        "occurrence",
                                                        "from",
                                                        "to",
                                                        "type",
                                                        "port_from",
                                                        "port_to",
                                                        "protocol",
                                                        "reliability",
                                                        "timeout",
                                                        "sticky_different",
                                                        "custom_data1",
                                                        "custom_label1",
                                                        "custom_data2",
                                                        "custom_label2",
                                                        "custom_data3",
                                                        "custom_label3"};

constexpr std::array<std::string_view, 8> kDirectiveKeys = {
    "id",      "name",     "priority", "disabled", "all_rules_always_active",
    "kingdom", "category", "rules"};

constexpr std::array<std::string_view, 1> kFileKeys = {"directives"};

Rule decode_rule(simdjson::dom::element el) {
  Rule r;
  json::for_each_field(el, kRuleKeys, "dsiem.DirectiveRule", [&r](int idx, auto v) {
    switch (idx) {
      case 0:
        json::read_string(v, r.name, "DirectiveRule.name");
        break;
      case 1:
        json::read_int(v, r.stage, "DirectiveRule.stage");
        break;
      case 2:
        json::read_int(v, r.plugin_id, "DirectiveRule.plugin_id");
        break;
      case 3:
        json::read_int_array(v, r.plugin_sid, "DirectiveRule.plugin_sid");
        r.plugin_sid_set = !v.is_null();
        break;
      case 4:
        json::read_string_array(v, r.product, "DirectiveRule.product");
        break;
      case 5:
        json::read_string(v, r.category, "DirectiveRule.category");
        break;
      case 6:
        json::read_string_array(v, r.subcategory, "DirectiveRule.subcategory");
        break;
      case 7:
        json::read_int(v, r.occurrence, "DirectiveRule.occurrence");
        break;
      case 8:
        json::read_string(v, r.from, "DirectiveRule.from");
        break;
      case 9:
        json::read_string(v, r.to, "DirectiveRule.to");
        break;
      case 10:
        json::read_string(v, r.type, "DirectiveRule.type");
        break;
      case 11:
        json::read_string(v, r.port_from, "DirectiveRule.port_from");
        break;
      case 12:
        json::read_string(v, r.port_to, "DirectiveRule.port_to");
        break;
      case 13:
        json::read_string(v, r.protocol, "DirectiveRule.protocol");
        break;
      case 14:
        json::read_int(v, r.reliability, "DirectiveRule.reliability");
        break;
      case 15:
        json::read_int(v, r.timeout, "DirectiveRule.timeout");
        break;
      case 16:
        json::read_string(v, r.sticky_different, "DirectiveRule.sticky_different");
        break;
      case 17:
        json::read_string(v, r.custom_data1, "DirectiveRule.custom_data1");
        break;
      case 18:
        json::read_string(v, r.custom_label1, "DirectiveRule.custom_label1");
        break;
      case 19:
        json::read_string(v, r.custom_data2, "DirectiveRule.custom_data2");
        break;
      case 20:
        json::read_string(v, r.custom_label2, "DirectiveRule.custom_label2");
        break;
      case 21:
        json::read_string(v, r.custom_data3, "DirectiveRule.custom_data3");
        break;
      case 22:
        json::read_string(v, r.custom_label3, "DirectiveRule.custom_label3");
        break;
    }
  });
  r.kind = r.type == "PluginRule"     ? RuleType::kPlugin
           : r.type == "TaxonomyRule" ? RuleType::kTaxonomy
                                      : RuleType::kOther;
  return r;
}

Directive decode_directive(simdjson::dom::element el) {
  Directive d;
  json::for_each_field(el, kDirectiveKeys, "dsiem.Directive", [&d](int idx, auto v) {
    switch (idx) {
      case 0:
        json::read_int(v, d.id, "Directive.id");
        break;
      case 1:
        json::read_string(v, d.name, "Directive.name");
        break;
      case 2:
        json::read_int(v, d.priority, "Directive.priority");
        break;
      case 3:
        json::read_bool(v, d.disabled, "Directive.disabled");
        break;
      case 4:
        json::read_bool(v, d.all_rules_always_active, "Directive.all_rules_always_active");
        break;
      case 5:
        json::read_string(v, d.kingdom, "Directive.kingdom");
        break;
      case 6:
        json::read_string(v, d.category, "Directive.category");
        break;
      case 7:
        json::read_array(v, d.rules, "Directive.rules", "[]rule.DirectiveRule",
                         [](simdjson::dom::element item, Rule& r) { r = decode_rule(item); });
        break;
    }
  });
  return d;
}

std::string str(int64_t v) {
  return std::to_string(v);
}

// directives.md §3.1 / §3.2: a ":N" reference is allowed on a rule other than stage 1 when
// 1 <= N < rule count.
std::string validate_reference(const std::string& value, const Rule& r, std::size_t rule_count) {
  if (r.stage == 1) return "first rule cannot contain reference";
  const bool shape_ok = (value.size() == 2 && value[1] >= '1' && value[1] <= '9') ||
                        (value.size() == 3 && value[1] >= '1' && value[1] <= '9' &&
                         value[2] >= '0' && value[2] <= '9');
  if (!shape_ok || std::stoll(value.substr(1)) >= static_cast<int64_t>(rule_count)) {
    return "invalid reference number, must be larger than 0 and less than the rule count";
  }
  return "";
}

std::string validate_address(const std::string& value, const Rule& r, std::size_t rule_count) {
  if (value.empty()) return "rule From/To cannot be empty";
  if (value == "ANY" || value == "HOME_NET" || value == "!HOME_NET") return "";
  if (value[0] == ':') return validate_reference(value, r, rule_count);
  for (std::string item : split_list(value)) {
    if (item.find('/') == std::string::npos) item += "/32";
    if (!item.empty() && item[0] == '!') item = trim_space(item.substr(1));
    if (!Cidr::parse(item)) return item + " is not a valid IPv4 address";
  }
  return "";
}

// Go's strconv.Atoi errors, which the reference reports verbatim.
std::string validate_port(const std::string& value, const Rule& r, std::size_t rule_count) {
  if (value == "ANY") return "";
  if (!value.empty() && value[0] == ':') return validate_reference(value, r, rule_count);
  for (std::string item : split_list(value)) {
    if (!item.empty() && item[0] == '!') item = trim_space(item.substr(1));
    std::string_view digits = item;
    if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
    const bool syntax_ok = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (!syntax_ok) return "strconv.Atoi: parsing \"" + item + "\": invalid syntax";
    int64_t n = 0;
    const auto [ptr, ec] =
        std::from_chars(item.data() + (item[0] == '+' ? 1 : 0), item.data() + item.size(), n);
    if (ec != std::errc()) return "strconv.Atoi: parsing \"" + item + "\": value out of range";
    (void)ptr;
    if (n < 2 || n > 65534) return str(n) + " is not a valid TCP/IP port number";
  }
  return "";
}

std::string validate_rule(Directive& d, std::size_t index, std::set<int64_t>& stages) {
  Rule& r = d.rules[index];
  if (r.stage == 0) return "can not use 0 as rule stage";
  if (!stages.insert(r.stage).second) return "duplicate rule stage found (" + str(r.stage) + ")";
  if (r.stage == 1 && r.occurrence != 1) {
    log::warn("Directive '" + str(d.id) + "' rule " + str(r.stage) + " has wrong occurence set (" +
                  str(r.occurrence) + "), configuring it to 1",
              {.directive = d.id});
    r.occurrence = 1;
  }
  if (r.kind == RuleType::kOther)
    return "invalid rule type, valid types: [PluginRule TaxonomyRule]";
  if (r.kind == RuleType::kPlugin) {
    if (r.plugin_id < 1) return "PluginRule requires PluginID to be 1 or higher";
    if (r.plugin_sid.empty()) return "PluginRule requires PluginSID to be defined";
    for (int64_t sid : r.plugin_sid) {
      if (sid < 1) return "PluginRule requires PluginSID to be 1 or higher";
    }
  } else {
    if (r.product.empty()) return "TaxonomyRule requires Product to be defined";
    if (r.category.empty()) return "TaxonomyRule requires Category to be defined";
  }
  if (r.reliability < 0 || r.reliability > 10) {
    const int64_t fixed = r.reliability < 0 ? 0 : 10;
    log::warn("Directive " + str(d.id) + " rule " + str(r.stage) + " has wrong reliability set (" +
                  str(r.reliability) + "), configuring it to " + str(fixed),
              {.directive = d.id});
    r.reliability = fixed;
  }
  const std::size_t n = d.rules.size();
  if (auto e = validate_address(r.from, r, n); !e.empty()) return e;
  if (auto e = validate_address(r.to, r, n); !e.empty()) return e;
  if (auto e = validate_port(r.port_from, r, n); !e.empty()) return e;
  if (auto e = validate_port(r.port_to, r, n); !e.empty()) return e;
  return "";
}

// Load-time warnings for configurations that are valid but cannot do what they seem to say
// (gaps A6, C18).
void warn_questionable(const Directive& d) {
  bool has_plugin = false, has_taxonomy = false;
  for (const Rule& r : d.rules) {
    has_plugin |= r.kind == RuleType::kPlugin;
    has_taxonomy |= r.kind == RuleType::kTaxonomy;
    const std::string& s = r.sticky_different;
    if (s.empty()) continue;
    const bool ip_port = s == "SRC_IP" || s == "DST_IP" || s == "SRC_PORT" || s == "DST_PORT";
    const bool plugin_only =
        s == "PLUGIN_SID" || s == "CUSTOM_DATA1" || s == "CUSTOM_DATA2" || s == "CUSTOM_DATA3";
    if (!ip_port && !(plugin_only && r.kind == RuleType::kPlugin)) {
      log::warn("Directive " + str(d.id) + " rule " + str(r.stage) + " sticky_different '" + s +
                    "' never records a value for a " + r.type +
                    ", so this stage can only end by timeout",
                {.directive = d.id});
    }
  }
  if (has_plugin && has_taxonomy) {
    log::warn("Directive " + str(d.id) +
                  " mixes PluginRule and TaxonomyRule stages: only events matching a plugin_id/"
                  "plugin_sid pair reach it, so taxonomy-only events are ignored",
              {.directive = d.id});
  }
}

}  // namespace

std::string validate_directive(Directive& d, const std::vector<Directive>& accepted) {
  for (const Directive& other : accepted) {
    if (other.id == d.id) {
      return "id '" + str(d.id) + "' is already used as an ID by other directive";
    }
  }
  if (d.name.empty()) return "Directive name cannot be empty";
  if (d.kingdom.empty()) return "Directive kingdom cannot be empty";
  if (d.category.empty()) return "Directive category cannot be empty";
  if (d.priority < 1 || d.priority > 5) {
    log::warn("directive " + str(d.id) + " has wrong priority set (" + str(d.priority) +
                  "), configuring it to 1",
              {.directive = d.id});
    d.priority = 1;
  }
  if (d.rules.size() < 2) {
    return "directive " + str(d.id) +
           " has no rule therefore has no effect, or only 1 rule and therefore will never expire";
  }
  std::set<int64_t> stages;
  for (std::size_t i = 0; i < d.rules.size(); ++i) {
    if (auto e = validate_rule(d, i, stages); !e.empty()) {
      return "directive " + str(d.id) + " contains invalid rule, " + e;
    }
  }
  // decisions.md §1: stages are array positions, so the labels must say the same.
  for (std::size_t i = 0; i < d.rules.size(); ++i) {
    if (d.rules[i].stage != static_cast<int64_t>(i + 1)) {
      return "directive " + str(d.id) + " has rules out of stage order: position " +
             str(static_cast<int64_t>(i + 1)) + " has stage " + str(d.rules[i].stage) +
             ", stages must be 1.." + str(static_cast<int64_t>(d.rules.size())) + " in array order";
    }
  }
  warn_questionable(d);
  return "";
}

std::vector<Directive> decode_directives(std::string_view json_text, std::string_view source) {
  simdjson::dom::parser parser;
  std::vector<Directive> decoded;
  try {
    auto root = json::parse(parser, json_text);
    json::for_each_field(root, kFileKeys, "dsiem.Directives", [&](int, auto v) {
      json::read_array(
          v, decoded, "Directives.directives", "[]Directive",
          [](simdjson::dom::element item, Directive& d) { d = decode_directive(item); });
    });
  } catch (const json::DecodeError& e) {
    throw ConfigError(std::string(source) + ": " + e.what());
  }
  return decoded;
}

void accept_directives(std::vector<Directive> decoded, DirectiveSet& into) {
  into.total += decoded.size();
  for (Directive& d : decoded) {
    if (d.disabled) {
      log::warn("Skipping disabled directive ID " + str(d.id), {.directive = d.id});
      continue;
    }
    if (auto err = validate_directive(d, into.directives); !err.empty()) {
      log::warn("Skipping directive ID " + str(d.id) + " '" + d.name + "' due to error: " + err,
                {.directive = d.id});
      continue;
    }
    into.directives.push_back(std::move(d));
  }
}

std::vector<std::filesystem::path> glob_files(const std::filesystem::path& dir,
                                              std::string_view pattern) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  const std::string pat(pattern);
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (fnmatch(pat.c_str(), name.c_str(), FNM_PERIOD) == 0) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

DirectiveSet load_directives(const std::filesystem::path& configs_dir, std::string_view pattern) {
  DirectiveSet all;
  for (const auto& path : glob_files(configs_dir, pattern)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("cannot read " + path.string() + ": " + std::strerror(errno));
    std::stringstream buf;
    buf << in.rdbuf();
    accept_directives(decode_directives(buf.str(), path.string()), all);
  }
  return all;
}

}  // namespace dsiem::config
