#include "dsiem/tools/ossimcnv.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dsiem/common/text.h"
#include "dsiem/json/go_writer.h"
#include "dsiem/tools/tool_cli.h"

namespace dsiem::tools {
namespace ossimcnv {
namespace {

// Only a line holding exactly this declaration is recognised (tools.md §2.2 step 2).
constexpr std::string_view kDeclaration = R"(<?xml version="1.0" encoding="UTF-8"?>)";
constexpr std::string_view kRootName = "directives";

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string attr_text(const XmlElement& e, std::string_view name) {
  const std::string* v = e.attribute(name);
  return v ? *v : std::string();
}

std::vector<const XmlElement*> children_named(const XmlElement& e, std::string_view name) {
  std::vector<const XmlElement*> out;
  for (const XmlElement& c : e.children) {
    if (c.name == name) out.push_back(&c);
  }
  return out;
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t start = 0;;) {
    const std::size_t comma = s.find(',', start);
    out.emplace_back(s.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string line_ref(int line) {
  return "(line " + std::to_string(line) + ")";
}

std::string directive_label(const XmlElement& d) {
  const std::string* id = d.attribute("id");
  return "directive " + (id ? *id : std::string("without id")) + " " +
         in_quotes(attr_text(d, "name")) + " " + line_ref(d.line);
}

// Go's encoding/xml decoding of an int field: empty → 0, else ParseInt of the trimmed text.
std::optional<int64_t> xml_integer(const XmlElement& e, std::string_view name,
                                   std::string* error = nullptr) {
  const std::string* v = e.attribute(name);
  if (!v || v->empty()) return 0;
  return parse_decimal(trim_space(*v), "ParseInt", error);
}

// The first attribute of the directive's rule tree that Go's decoder fails on, or "".
std::string first_integer_error(const XmlElement& e, const std::vector<std::string_view>& names) {
  for (std::string_view name : names) {
    std::string error;
    if (!xml_integer(e, name, &error)) {
      return "line " + std::to_string(e.line) + ": " + std::string(name) + "=" +
             in_quotes(attr_text(e, name)) + ": " + error;
    }
  }
  return "";
}

std::string first_integer_error_in_rules(const XmlElement& parent) {
  for (const XmlElement* rule : children_named(parent, "rule")) {
    std::string error =
        first_integer_error(*rule, {"plugin_id", "occurrence", "reliability", "time_out"});
    if (!error.empty()) return error;
    for (const XmlElement* block : children_named(*rule, "rules")) {
      error = first_integer_error_in_rules(*block);
      if (!error.empty()) return error;
    }
  }
  return "";
}

std::size_t count_rules_below(const XmlElement& rule) {
  std::size_t n = 0;
  for (const XmlElement* block : children_named(rule, "rules")) {
    for (const XmlElement* r : children_named(*block, "rule")) n += 1 + count_rules_below(*r);
  }
  return n;
}

std::string rule_count_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " rule" : " rules");
}

// Every `directive` element at or below `e` (not looking inside a directive).
void collect_directives(const XmlElement& e, std::vector<const XmlElement*>& out) {
  if (e.name == "directive") {
    out.push_back(&e);
    return;
  }
  for (const XmlElement& c : e.children) collect_directives(c, out);
}

// A rule of the flattened path, with where it sat in the OSSIM tree.
struct FlatRule {
  const XmlElement* element;
  int level;  // 1 for the directive's own rules
};

// Rule attributes that are read, or that have no meaning left to lose in Dsiem.
const std::set<std::string_view> kRuleAttributesHandled = {
    "name", "plugin_id", "plugin_sid", "product", "category", "subcategory", "sticky_different",
    "occurrence", "from", "to", "port_from", "port_to", "reliability", "time_out", "protocol",
    "type",
    // OSSIM's sticky is what Dsiem always does: an event taken by a running backlog starts no
    // other backlog of the same directive.
    "sticky",
    // Monitor-rule timing; a monitor rule is reported as such.
    "interval", "absolute"};

class DirectiveConverter {
 public:
  DirectiveConverter(const XmlElement& directive, const ReferenceTables& refs)
      : el_(directive), refs_(refs) {}

  // Fills `d`; returns "" or why the directive cannot be converted. Warnings go to
  // `warnings()` either way.
  std::string run(DsiemDirective& d) {
    d.id = xml_integer(el_, "id").value_or(0);
    d.name = attr_text(el_, "name");
    d.priority = xml_integer(el_, "priority").value_or(0);
    report_attributes(el_, {"id", "name", "priority"}, "");
    report_unknown_children(el_, "rule", "");

    flatten();
    for (std::size_t i = 0; i < flat_.size(); ++i) {
      DsiemRule rule;
      std::string error = convert_rule(i, d.rules, rule);
      if (!error.empty()) return error;
      d.rules.push_back(std::move(rule));
    }
    set_taxonomy(d);
    if (d.priority < 1 || d.priority > 5) {
      warn("priority " + std::to_string(d.priority) +
           " is outside 1..5; the Dsiem loader uses 1 instead");
    }
    if (d.rules.size() < 2) {
      warn("it has " + rule_count_text(d.rules.size()) +
           "; the Dsiem loader needs at least 2 stages and skips it");
    }
    return "";
  }

  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  void warn(std::string text) { warnings_.push_back(std::move(text)); }

  std::string rule_label(std::size_t index) const {
    const XmlElement& r = *flat_[index].element;
    return "stage " + std::to_string(index + 1) + " " + in_quotes(attr_text(r, "name")) + " " +
           line_ref(r.line);
  }

  void report_attributes(const XmlElement& e, const std::set<std::string_view>& handled,
                         const std::string& where) {
    std::vector<std::string> dropped;
    for (const auto& [key, value] : e.attributes) {
      if (handled.contains(key) || value.empty() || value == "ANY") continue;
      dropped.push_back(key + "=" + in_quotes(value));
    }
    if (!dropped.empty()) {
      warn(where + "attributes not converted: " + join(dropped, ", "));
    }
  }

  void report_unknown_children(const XmlElement& e, std::string_view expected,
                               const std::string& where) {
    for (const XmlElement& c : e.children) {
      if (c.name != expected) {
        warn(where + "element <" + c.name + "> " + line_ref(c.line) + " ignored");
      }
    }
  }

  // tools.md §2.5: one path through the rule tree; every other branch is reported.
  void flatten() {
    std::vector<const XmlElement*> siblings = children_named(el_, "rule");
    for (int level = 1;; ++level) {
      const std::size_t group_start = flat_.size();
      const XmlElement* next_block = nullptr;
      for (std::size_t i = 0; i < siblings.size() && !next_block; ++i) {
        const XmlElement* rule = siblings[i];
        flat_.push_back(FlatRule{rule, level});
        const std::vector<const XmlElement*> blocks = children_named(*rule, "rules");
        if (blocks.empty()) continue;
        const std::string followed = "only the path through rule " +
                                     in_quotes(attr_text(*rule, "name")) + " " +
                                     line_ref(rule->line) + " is converted";
        for (std::size_t j = i + 1; j < siblings.size(); ++j) {
          const std::size_t below = count_rules_below(*siblings[j]);
          warn("OR-branch dropped: rule " + in_quotes(attr_text(*siblings[j], "name")) + " " +
               line_ref(siblings[j]->line) +
               (below ? " and the " + rule_count_text(below) + " below it" : std::string()) + "; " +
               followed);
        }
        for (std::size_t k = 1; k < blocks.size(); ++k) {
          std::size_t inside = 0;
          for (const XmlElement* r : children_named(*blocks[k], "rule")) {
            inside += 1 + count_rules_below(*r);
          }
          warn("OR-branch dropped: <rules> block " + line_ref(blocks[k]->line) + " of rule " +
               in_quotes(attr_text(*rule, "name")) + " with " + rule_count_text(inside) +
               "; only the first <rules> block of a rule is converted");
        }
        followed_stage_.push_back(static_cast<int64_t>(flat_.size()));
        next_block = blocks.front();
      }
      if (flat_.size() - group_start > 1) {
        std::vector<std::string> names;
        for (std::size_t i = group_start; i < flat_.size(); ++i) {
          names.push_back(in_quotes(attr_text(*flat_[i].element, "name")));
        }
        warn("stages " + std::to_string(group_start + 1) + "-" + std::to_string(flat_.size()) +
             " (" + join(names, ", ") +
             ") are alternatives (OR) in OSSIM but consecutive stages in Dsiem, which must all "
             "match, one after the other");
      }
      if (!next_block) return;
      report_unknown_children(*next_block, "rule", "");
      siblings = children_named(*next_block, "rule");
    }
  }

  // Warns when an OSSIM reference to level `n` does not land on the rule that Dsiem's stage
  // `n` is.
  void check_reference_level(std::size_t index, int64_t n, const std::string& what) {
    const FlatRule& f = flat_[index];
    const std::string where = rule_label(index) + ": " + what;
    if (n < 1 || n >= f.level) {
      warn(where + " refers to OSSIM level " + std::to_string(n) +
           ", which is not above this rule (level " + std::to_string(f.level) + ")");
      return;
    }
    const int64_t meant = followed_stage_[static_cast<std::size_t>(n - 1)];
    if (meant != n) {
      warn(where + " means the rule at OSSIM level " + std::to_string(n) + ", " +
           rule_label(static_cast<std::size_t>(meant - 1)) + ", but Dsiem reads :" +
           std::to_string(n) + " as " + rule_label(static_cast<std::size_t>(n - 1)));
    }
  }

  // tools.md §2.6 step 5, with what it cannot express reported.
  std::string address_or_port(std::size_t index, std::string_view field,
                              std::string_view own_keyword) {
    const std::string value = attr_text(*flat_[index].element, field);
    const std::size_t colon = value.find(':');
    if (colon == std::string::npos) return value;
    const std::string written = ":" + value.substr(0, colon);
    const std::string what = std::string(field) + " " + in_quotes(value);
    const bool negated = !value.empty() && value[0] == '!';
    const std::string number = value.substr(negated ? 1 : 0, colon - (negated ? 1 : 0));
    const std::string keyword = value.substr(colon + 1);
    const bool is_number = !number.empty() && number.size() <= 18 &&
                           number.find_first_not_of("0123456789") == std::string::npos;
    const bool is_keyword =
        !keyword.empty() &&
        keyword.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos;
    if (!is_number || !is_keyword) {
      warn(rule_label(index) + ": " + what + " is not a rule reference; written as " +
           in_quotes(written));
      return written;
    }
    if (negated) {
      warn(rule_label(index) + ": " + what +
           " is a negated reference, which Dsiem cannot express; written as " + in_quotes(written));
      return written;
    }
    if (keyword != own_keyword) {
      warn(rule_label(index) + ": " + what + " cannot be expressed: Dsiem's " + written + " in " +
           std::string(field) + " stands for the " + std::string(own_keyword) + " of stage " +
           number + ", not its " + keyword);
    }
    check_reference_level(index, std::stoll(number), what);
    return written;
  }

  std::string convert_rule(std::size_t index, const std::vector<DsiemRule>& done, DsiemRule& r) {
    const XmlElement& e = *flat_[index].element;
    const std::string label = rule_label(index);
    r.stage = static_cast<int64_t>(index + 1);
    r.name = attr_text(e, "name");
    const std::string plugin_sid = attr_text(e, "plugin_sid");
    r.type = plugin_sid.empty() ? "TaxonomyRule" : "PluginRule";
    r.plugin_id = xml_integer(e, "plugin_id").value_or(0);
    const std::string product = attr_text(e, "product");
    const std::string category = attr_text(e, "category");
    const std::string subcategory = attr_text(e, "subcategory");
    if (!plugin_sid.empty()) {
      if (std::string error = plugin_sids(index, plugin_sid, done, r); !error.empty()) {
        return label + ": " + error;
      }
      r.product_str = product;
      r.category = category;
      r.subcategory_str = subcategory;
      if (!product.empty() || !category.empty() || !subcategory.empty()) {
        warn(label + ": product/category/subcategory of a PluginRule are written untranslated");
      }
    } else {
      taxonomy(index, product, category, subcategory, r);
    }
    r.sticky_different = attr_text(e, "sticky_different");
    r.occurrence = xml_integer(e, "occurrence").value_or(0);
    r.from = address_or_port(index, "from", "SRC_IP");
    r.to = address_or_port(index, "to", "DST_IP");
    r.port_from = address_or_port(index, "port_from", "SRC_PORT");
    r.port_to = address_or_port(index, "port_to", "DST_PORT");
    r.reliability = xml_integer(e, "reliability").value_or(0);
    const std::string reliability = trim_space(attr_text(e, "reliability"));
    if (!reliability.empty() && (reliability[0] == '+' || reliability[0] == '-')) {
      warn(label + ": reliability " + in_quotes(reliability) +
           " is relative to the previous stage in OSSIM; written as the absolute value " +
           std::to_string(r.reliability));
    }
    r.timeout = xml_integer(e, "time_out").value_or(0);
    r.protocol = attr_text(e, "protocol");
    if (r.protocol.empty()) r.protocol = "ANY";
    if (attr_text(e, "type") == "monitor") {
      warn(label +
           ": a monitor rule (it polls a monitor plugin) cannot be expressed; "
           "converted as a rule that waits for events");
    }
    report_attributes(e, kRuleAttributesHandled, label + ": ");
    report_unknown_children(e, "rules", label + ": ");
    return "";
  }

  std::string plugin_sids(std::size_t index, const std::string& value,
                          const std::vector<DsiemRule>& done, DsiemRule& r) {
    const std::string what = "plugin_sid " + in_quotes(value);
    const std::size_t colon = value.find(':');
    if (colon != std::string::npos) {
      std::string error;
      const auto n = parse_decimal(value.substr(0, colon), "Atoi", &error);
      if (!n) return what + ": " + error;
      if (*n < 1 || *n > static_cast<int64_t>(flat_.size())) {
        return what + " refers to rule " + std::to_string(*n) +
               ", but the converted directive has " + rule_count_text(flat_.size());
      }
      if (value.substr(colon + 1) != "PLUGIN_SID") {
        warn(rule_label(index) + ": " + what + " copies the plugin_sid of rule " +
             std::to_string(*n) + ", not its " + value.substr(colon + 1));
      }
      if (*n > static_cast<int64_t>(index)) {
        warn(rule_label(index) + ": " + what +
             " refers to this or a later stage, so no plugin_sid is written");
        return "";
      }
      check_reference_level(index, *n, what);
      r.plugin_sid = done[static_cast<std::size_t>(*n - 1)].plugin_sid;
      if (r.plugin_sid.empty()) {
        warn(rule_label(index) + ": " + what + " copies an empty plugin_sid list");
      }
      return "";
    }
    std::vector<std::string> zeroed;
    for (const std::string& item : split_commas(value)) {
      const auto sid = parse_decimal(item, "Atoi");
      if (!sid) zeroed.push_back(in_quotes(item));
      r.plugin_sid.push_back(sid.value_or(0));
    }
    if (!zeroed.empty()) {
      warn(rule_label(index) + ": " + what + ": " + join(zeroed, ", ") +
           (zeroed.size() == 1 ? " is not a number" : " are not numbers") +
           " (Dsiem has no ANY, range or negation here); written as 0");
    }
    return "";
  }

  void taxonomy(std::size_t index, const std::string& product, const std::string& category,
                const std::string& subcategory, DsiemRule& r) {
    const std::string label = rule_label(index);
    if (!product.empty()) {
      std::vector<std::string> unknown;
      for (const std::string& item : split_commas(product)) {
        const int64_t id = parse_decimal(item, "Atoi").value_or(0);
        const NamedRow* found = nullptr;
        for (const NamedRow& row : refs_.product_types) {
          if (row.id == id) {
            found = &row;
            break;
          }
        }
        if (found) {
          r.product.push_back(found->name);
        } else {
          unknown.push_back(in_quotes(item));
        }
      }
      if (!unknown.empty()) {
        warn(label + ": product " + join(unknown, ", ") +
             " not found in ossim_product_type.tsv; dropped");
      }
    }
    if (r.product.empty()) {
      warn(label + ": the TaxonomyRule has no product, so the Dsiem loader skips the directive");
    }
    const auto category_id = parse_decimal(category, "Atoi");
    r.category = category;
    if (category_id) {
      bool found = false;
      for (const NamedRow& row : refs_.product_categories) {
        if (row.id == *category_id) {
          r.category = row.name;
          found = true;
        }
      }
      if (!found) {
        warn(label + ": category " + in_quotes(category) +
             " not found in ossim_product_category.tsv; written as it is");
      }
    }
    if (subcategory.empty()) return;
    if (!category_id) {
      r.subcategory_str = subcategory;
      warn(label + ": subcategory " + in_quotes(subcategory) +
           " is not translated because category " + in_quotes(category) +
           " is not a number; written as subcategory_str, which Dsiem ignores");
      return;
    }
    std::vector<std::string> unknown;
    for (const std::string& item : split_commas(subcategory)) {
      const int64_t id = parse_decimal(item, "Atoi").value_or(0);
      const SubcategoryRow* found = nullptr;
      for (const SubcategoryRow& row : refs_.product_subcategories) {
        if (row.id == id && row.cat_id == *category_id) {
          found = &row;
          break;
        }
      }
      if (found) {
        r.subcategory.push_back(found->name);
      } else {
        unknown.push_back(in_quotes(item));
      }
    }
    if (!unknown.empty()) {
      warn(label + ": subcategory " + join(unknown, ", ") + " of category " + in_quotes(category) +
           " not found in ossim_product_subcategory.tsv; dropped");
    }
  }

  // tools.md §2.7: kingdom and category from the alarm taxonomy.
  void set_taxonomy(DsiemDirective& d) {
    bool listed = false;
    for (const TaxonomyRow& t : refs_.taxonomy) {
      if (t.sid != d.id) continue;
      listed = true;
      for (const NamedRow& k : refs_.kingdoms) {
        if (k.id == t.kingdom) d.kingdom = k.name;
      }
      for (const NamedRow& c : refs_.alarm_categories) {
        if (c.id == t.category) d.category = c.name;
      }
    }
    if (!listed) {
      warn(
          "its id is not in ossim_alarm_taxonomy.tsv, so kingdom and category are empty and "
          "the Dsiem loader skips it");
      return;
    }
    if (d.kingdom.empty()) {
      warn(
          "its kingdom is not named in ossim_alarm_kingdom.tsv, so kingdom is empty and the "
          "Dsiem loader skips it");
    }
    if (d.category.empty()) {
      warn(
          "its category is not named in ossim_alarm_category.tsv, so category is empty and "
          "the Dsiem loader skips it");
    }
  }

  const XmlElement& el_;
  const ReferenceTables& refs_;
  std::vector<FlatRule> flat_;
  // The stage of the rule whose <rules> the path follows, per level (index 0 = level 1): the
  // rule an OSSIM `N:` reference in a deeper rule means.
  std::vector<int64_t> followed_stage_;
  std::vector<std::string> warnings_;
};

struct PatchedInput {
  std::string text;
  std::size_t root_at = std::string::npos;  // where the implicit root opens
  std::string discarded;                    // other text of the declaration's line
  int line = 0;                             // the declaration's line
};

// tools.md §2.2 step 2, in memory: the first line holding the declaration becomes just the
// declaration, and the rest of the file is wrapped in one root element.
PatchedInput patch_declaration(std::string_view in) {
  int line = 1;
  for (std::size_t start = 0;; ++line) {
    const std::size_t nl = in.find('\n', start);
    const std::size_t end = nl == std::string_view::npos ? in.size() : nl;
    const std::string_view text = in.substr(start, end - start);
    if (const std::size_t at = text.find(kDeclaration); at != std::string_view::npos) {
      PatchedInput p;
      p.line = line;
      p.text = std::string(in.substr(0, start)) + std::string(kDeclaration);
      p.root_at = p.text.size();
      p.text += in.substr(end);
      std::string_view before = text.substr(0, at);
      if (before.starts_with("\xEF\xBB\xBF")) before.remove_prefix(3);  // a UTF-8 BOM
      p.discarded = trim_space(std::string(before) + " " +
                               std::string(text.substr(at + kDeclaration.size())));
      return p;
    }
    if (nl == std::string_view::npos) {
      PatchedInput unchanged;
      unchanged.text = std::string(in);
      return unchanged;
    }
    start = nl + 1;
  }
}

// Writes the members of one compact JSON object; render() lays the whole document out with
// json::indent, which is what Go's MarshalIndent does.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }

  void raw(std::string_view key, std::string_view value) {
    if (!first_) out_ += ',';
    first_ = false;
    json::append_key(out_, key);
    out_ += value;
  }
  void string(std::string_view key, std::string_view value) {
    std::string v;
    json::append_string(v, value);
    raw(key, v);
  }
  void integer(std::string_view key, int64_t value) {
    std::string v;
    json::append_int(v, value);
    raw(key, v);
  }
  template <typename T>
  void list(std::string_view key, const std::vector<T>& items) {
    std::string v = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) v += ',';
      if constexpr (std::is_same_v<T, std::string>) {
        json::append_string(v, items[i]);
      } else {
        json::append_int(v, items[i]);
      }
    }
    v += ']';
    raw(key, v);
  }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

void render_rule(std::string& out, const DsiemRule& r) {
  ObjectWriter o(out);
  o.integer("stage", r.stage);
  o.string("name", r.name);
  o.string("type", r.type);
  if (r.plugin_id != 0) o.integer("plugin_id", r.plugin_id);
  if (!r.plugin_sid.empty()) o.list("plugin_sid", r.plugin_sid);
  if (!r.product_str.empty()) o.string("product_str", r.product_str);
  if (!r.product.empty()) o.list("product", r.product);
  if (!r.category.empty()) o.string("category", r.category);
  if (!r.subcategory_str.empty()) o.string("subcategory_str", r.subcategory_str);
  if (!r.subcategory.empty()) o.list("subcategory", r.subcategory);
  if (!r.sticky_different.empty()) o.string("sticky_different", r.sticky_different);
  o.integer("occurrence", r.occurrence);
  o.string("from", r.from);
  o.string("to", r.to);
  o.string("port_from", r.port_from);
  o.string("port_to", r.port_to);
  o.integer("reliability", r.reliability);
  o.integer("timeout", r.timeout);
  o.string("protocol", r.protocol);
  o.close();
}

void render_directive(std::string& out, const DsiemDirective& d) {
  ObjectWriter o(out);
  o.integer("id", d.id);
  o.string("name", d.name);
  o.integer("priority", d.priority);
  o.raw("disabled", "false");
  o.string("kingdom", d.kingdom);
  o.string("category", d.category);
  std::string rules = "[";
  for (std::size_t i = 0; i < d.rules.size(); ++i) {
    if (i) rules += ',';
    render_rule(rules, d.rules[i]);
  }
  rules += ']';
  o.raw("rules", rules);
  o.close();
}

// Creates or truncates `path` (mode 0600 when created) and writes `content`.
bool write_output(const std::string& path, std::string_view content, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "open " + path + ": " + errno_text(errno);
    return false;
  }
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "write " + path + ": " + errno_text(errno);
      ::close(fd);
      return false;
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) != 0) {
    error = "close " + path + ": " + errno_text(errno);
    return false;
  }
  return true;
}

}  // namespace

Conversion convert(std::string_view user_xml, const ReferenceTables& refs,
                   std::string_view source) {
  Conversion c;
  const std::string src(source);
  const PatchedInput in = patch_declaration(user_xml);
  const std::string not_wrapped = in.root_at == std::string::npos
                                      ? "; no line holds exactly " + std::string(kDeclaration) +
                                            ", so the file was not given its root element"
                                      : "";
  if (!in.discarded.empty()) {
    // Directives there are lost (tools.md §2.2 step 2); anything else is only noted.
    auto& list = in.discarded.find("<directive") != std::string::npos ? c.errors : c.warnings;
    list.push_back(src + " line " + std::to_string(in.line) +
                   ": text next to the XML declaration was discarded: " + in.discarded);
  }
  const XmlDocument doc = parse_xml(in.text, in.root_at, kRootName);
  if (!doc.error.empty() && !doc.error_after_root) {
    c.errors.push_back(src + ": XML syntax error on line " + std::to_string(doc.error_line) +
                       " (nothing after it was read): " + doc.error);
  }
  if (doc.elements.empty()) {
    if (doc.error.empty()) c.warnings.push_back(src + ": no XML element found" + not_wrapped);
    return c;
  }

  const XmlElement& root = doc.elements.front();
  std::string stopped_at;  // set once Go's decoder would have stopped
  for (const XmlElement& child : root.children) {
    if (child.name != "directive") {
      std::vector<const XmlElement*> nested;
      collect_directives(child, nested);
      for (const XmlElement* d : nested) {
        c.errors.push_back(directive_label(*d) + ": not converted: it is inside <" + child.name +
                           "> " + line_ref(child.line) +
                           ", but directives must be top-level elements of the file");
      }
      if (nested.empty() && child.complete && root.name != "directive") {
        c.warnings.push_back(src + ": element <" + child.name + "> " + line_ref(child.line) +
                             " is not a directive; ignored");
      }
      continue;
    }
    const std::string label = directive_label(child);
    if (!stopped_at.empty()) {
      c.errors.push_back(label + ": not converted: reading stopped at " + stopped_at);
      continue;
    }
    if (!child.complete) {
      c.errors.push_back(label + ": not converted: it is cut by the XML syntax error on line " +
                         std::to_string(doc.error_line));
      continue;
    }
    std::string bad = first_integer_error(child, {"id", "priority"});
    if (bad.empty()) bad = first_integer_error_in_rules(child);
    if (!bad.empty()) {
      c.errors.push_back(label + ": not converted: " + bad);
      stopped_at = "the invalid number in " + label;
      continue;
    }
    DsiemDirective d;
    DirectiveConverter converter(child, refs);
    const std::string error = converter.run(d);
    for (const std::string& w : converter.warnings()) c.warnings.push_back(label + ": " + w);
    if (!error.empty()) {
      c.errors.push_back(label + ": not converted: " + error);
    } else {
      c.directives.push_back(std::move(d));
    }
  }

  // Directives that a Go decoder never reaches: the root itself, or elements after the root.
  std::vector<const XmlElement*> lost;
  if (root.name == "directive") lost.push_back(&root);
  for (std::size_t i = 1; i < doc.elements.size(); ++i) {
    collect_directives(doc.elements[i], lost);
  }
  for (const XmlElement* d : lost) {
    c.errors.push_back(directive_label(*d) + ": not converted: " +
                       (d == &root ? "it is the root element of the file"
                                   : "it comes after the end of the root element") +
                       not_wrapped);
  }
  return c;
}

std::string render(std::span<const DsiemDirective> directives, bool null_when_empty) {
  std::string compact = "{\"directives\":";
  if (directives.empty()) {
    compact += null_when_empty ? "null" : "[]";
  } else {
    compact += '[';
    for (std::size_t i = 0; i < directives.size(); ++i) {
      if (i) compact += ',';
      render_directive(compact, directives[i]);
    }
    compact += ']';
  }
  compact += '}';
  return json::indent(compact) + "\n";
}

std::string split_file_name(const std::string& out, int64_t n, int64_t i) {
  if (n == 1) return out;
  std::string base;
  constexpr std::string_view kJson = ".json";
  for (std::size_t pos = 0; pos < out.size();) {
    if (std::string_view(out).substr(pos, kJson.size()) == kJson) {
      pos += kJson.size();
    } else {
      base.push_back(out[pos++]);
    }
  }
  return base + "_" + std::to_string(i) + ".json";
}

}  // namespace ossimcnv

namespace {

int convert_files(const ToolValues& values, std::ostream& out, std::ostream& err) {
  const int64_t split = values.integer("split");
  if (split < 1) {
    return exit_fatal(out, "Invalid --split value",
                      std::to_string(split) + ": the number of output files must be 1 or more");
  }
  const std::string in = values.text("in");
  std::error_code ec;
  if (!std::filesystem::exists(in, ec)) {
    return exit_fatal(out, "Cannot create temporary XML file", in + " doesn't exist.");
  }
  std::string error;
  const auto xml = ossimcnv::read_file_bytes(in, &error);
  if (!xml) return exit_fatal(out, "Cannot create temporary XML file", error);

  const std::string refdir = values.text("refdir");
  ossimcnv::ReferenceTables refs;
  try {
    refs = ossimcnv::load_reference_tables(refdir);
  } catch (const ossimcnv::ReferenceError& e) {
    return exit_fatal(out, "Cannot parse ossim reference TSV from " + refdir, e.what());
  }

  const ossimcnv::Conversion result = ossimcnv::convert(*xml, refs, in);
  for (const std::string& w : result.warnings) err << "Warning: " << w << "\n";
  for (const std::string& e : result.errors) err << "Error: " << e << "\n";

  const auto& all = result.directives;
  const std::size_t per_file = all.size() / static_cast<std::size_t>(split);
  const std::string out_path = values.text("out");
  for (int64_t i = 1; i <= split; ++i) {
    const std::size_t begin = static_cast<std::size_t>(i - 1) * per_file;
    const std::size_t end = i == split ? all.size() : begin + per_file;
    const std::string content = ossimcnv::render(
        std::span<const ossimcnv::DsiemDirective>(all).subspan(begin, end - begin), all.empty());
    if (!ossimcnv::write_output(ossimcnv::split_file_name(out_path, split, i), content, error)) {
      return exit_fatal(out, "Cannot create Dsiem json directive", error);
    }
  }
  if (!result.errors.empty()) {
    std::string summary = result.errors.front();
    if (result.errors.size() > 1) {
      summary += " (and " + std::to_string(result.errors.size() - 1) + " more errors on stderr)";
    }
    return exit_fatal(out, "Cannot convert every directive", summary);
  }
  out << "Done.\n";
  return 0;
}

ToolSpec ossimcnv_spec() {
  ToolSpec spec;
  spec.name = "ossimcnv";
  spec.env_prefix = "OSSIMCNV";
  spec.description =
      "Convert OSSIM directive XML (user.xml) into Dsiem directive JSON.\n"
      "Branches and values that Dsiem cannot express are reported on stderr, per directive.";
  spec.persistent = {
      {"in", 'i', FlagType::kString, "./user.xml", "OSSIM directive XML file to convert"},
      {"out", 'o', FlagType::kString, "./directives_ossim.json",
       "Dsiem directive JSON file to write (the base name with --split)"},
      {"refdir", 'r', FlagType::kString, "./ossimref",
       "directory of the OSSIM reference TSV files (ossim_*.tsv)"},
      {"split", 'n', FlagType::kInt, "1", "number of output files to split the directives into"},
  };
  spec.root_action = convert_files;
  return spec;
}

}  // namespace

int run_ossimcnv(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_tool(ossimcnv_spec(), args, out, err);
}

int run_ossimcnv_with_env(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err,
                          const std::function<const char*(const char*)>& getenv_fn) {
  return run_tool(ossimcnv_spec(), args, out, err, getenv_fn);
}

}  // namespace dsiem::tools
