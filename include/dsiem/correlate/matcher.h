#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "dsiem/common/ip.h"
#include "dsiem/config/assets.h"
#include "dsiem/config/directive.h"
#include "dsiem/event/event.h"

// Rule matching of directives.md §5, on conditions compiled once (per directive, or per backlog
// after reference resolution) and events prepared once per event.
namespace dsiem::correlate {

// What every rule check derives from an event, computed once per event.
struct MatchInput {
  const event::Event* event = nullptr;
  std::optional<IpAddress> src_term;  // the address part of src_ip (+"/32" when no '/')
  std::optional<IpAddress> dst_term;
  bool src_home = false;  // src_ip parses as an IP inside HOME_NET
  bool dst_home = false;
  std::string src_port_text;  // decimal text of src_port
  std::string dst_port_text;
};

MatchInput prepare_input(const event::Event& e, const config::Assets& assets);

// directives.md §7.1: the rule number of a `:N` reference (a value containing ':' whose
// colon-trimmed rest is a base-10 integer), or nullopt for any other value.
std::optional<int64_t> reference_number(std::string_view value);

// ANY, HOME_NET or !HOME_NET: address words a reference replaces with the event's address.
bool is_special_address(std::string_view value);

// The address, port and custom-data values of one rule within a backlog.
struct RuleValues {
  std::string from, to, port_from, port_to;
  std::array<std::string, 3> custom_data;
};

// The values of every rule of `d` for a backlog created by `first`: the rules' own values with
// `:N` references resolved in index order against the creating event (directives.md §7.2), and,
// with all_rules_always_active, rule 1's special addresses pinned to the event's.
std::vector<RuleValues> resolve_rule_values(const config::Directive& d, const event::Event& first);

// from / to (directives.md §5.2-5.3).
class AddressCondition {
 public:
  static AddressCondition compile(std::string_view value);
  bool matches(bool home, const std::optional<IpAddress>& term) const;
  // The address when the condition is exactly one positive single-host item: then it matches
  // exactly the events whose term equals that address.
  std::optional<IpAddress> single_host() const;

 private:
  enum class Kind { kAny, kHomeNet, kNotHomeNet, kList };
  struct Item {
    bool negated = false;
    std::optional<Cidr> network;  // nullopt: the item does not parse
  };
  Kind kind_ = Kind::kAny;
  std::vector<Item> items_;
};

// An ordered list of exact-string items with negation (directives.md §5.4).
class StringListCondition {
 public:
  static StringListCondition compile(std::string_view value);
  bool matches(std::string_view term) const;

 private:
  struct Item {
    bool negated = false;
    std::string text;
  };
  std::vector<Item> items_;
};

// port_from / port_to.
class PortCondition {
 public:
  static PortCondition compile(std::string_view value);
  bool matches(std::string_view port_text) const { return any_ || list_.matches(port_text); }

 private:
  bool any_ = true;
  StringListCondition list_;
};

// custom_dataN (directives.md §5.5).
class CustomDataCondition {
 public:
  static CustomDataCondition compile(std::string_view value);
  bool matches(std::string_view event_value) const;

 private:
  enum class Kind { kAny, kList, kSingle };
  Kind kind_ = Kind::kAny;
  StringListCondition list_;
  bool negated_ = false;
  std::string lowered_;
};

enum class StickyField {
  kNone,
  kPluginSid,
  kSrcIp,
  kDstIp,
  kSrcPort,
  kDstPort,
  kCustomData1,
  kCustomData2,
  kCustomData3,
  kUnrecognised,  // any other non-empty value: never records anything
};
StickyField parse_sticky(std::string_view value);

// The sticky_different memory of one stage of one backlog.
struct StickySet {
  std::unordered_set<std::string> strings;
  std::unordered_set<int64_t> ints;
  std::size_t size() const { return strings.size() + ints.size(); }
};

// The address, port and custom-data conditions of one rule, plus its sticky field.
struct Conditions {
  AddressCondition from, to;
  PortCondition port_from, port_to;
  std::array<CustomDataCondition, 3> custom_data;
  StickyField sticky = StickyField::kNone;

  static Conditions compile(const config::Rule& rule, std::string_view from, std::string_view to,
                            std::string_view port_from, std::string_view port_to,
                            const std::array<std::string_view, 3>& custom_data);
  static Conditions compile(const config::Rule& rule);
};

// match(event, rule, stickySet) of directives.md §5, with its side effects on `sticky` (which
// may be null: no recording).
bool match(const config::Rule& rule, const Conditions& cond, const MatchInput& in,
           StickySet* sticky);

}  // namespace dsiem::correlate
