#pragma once

#include <array>
#include <cstdint>
#include <memory>
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
  const config::Assets* assets = nullptr;
  std::optional<IpAddress> src_term;  // the address part of src_ip (+"/32" when no '/')
  std::optional<IpAddress> dst_term;

  // src_ip / dst_ip parses as an IP inside HOME_NET. Worked out on first use: most events only
  // meet conditions pinned to an address.
  bool src_home() const { return home(src_home_, src_term); }
  bool dst_home() const { return home(dst_home_, dst_term); }

 private:
  friend MatchInput prepare_input(const event::Event& e, const config::Assets& assets);
  // -1: not worked out yet; 0 / 1: the answer. 0 from the start for "address/len" and
  // unparsable addresses, which are never in HOME_NET.
  bool home(int8_t& cached, const std::optional<IpAddress>& term) const {
    if (cached < 0) cached = assets->in_home_net(*term) ? 1 : 0;
    return cached == 1;
  }
  mutable int8_t src_home_ = 0;
  mutable int8_t dst_home_ = 0;
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

// RuleValues fields as bits. Within a backlog a resolved value is either literal text or the
// creating event's own counterpart: from <- src_ip, to <- dst_ip, port_from <- src_port,
// port_to <- dst_port, custom_dataN <- custom_dataN.
enum ValueField : uint8_t {
  kFromField = 1 << 0,
  kToField = 1 << 1,
  kPortFromField = 1 << 2,
  kPortToField = 1 << 3,
  kCustomData1Field = 1 << 4,  // custom_dataN: kCustomData1Field << (N - 1)
  kAllValueFields = 0x7F,
};

// How one rule's values resolve in every backlog of its directive: `literal` (the rule's own
// text or a referenced rule's), except the fields in `from_event`, which take the creating
// event's value. The same for all backlogs, so computed once per directive.
struct RulePlan {
  RuleValues literal;
  uint8_t from_event = 0;
};

// The plan of every rule of `d`: `:N` references resolved in index order (directives.md §7.2;
// a reference to a rule whose value is itself the event's is the event's too), and, with
// all_rules_always_active, rule 1's special addresses pinned to the event's.
std::vector<RulePlan> resolution_plan(const config::Directive& d);

// from / to (directives.md §5.2-5.3).
class AddressCondition {
 public:
  static AddressCondition compile(std::string_view value);
  bool matches(bool home, const std::optional<IpAddress>& term) const;
  // Whether matches() looks at `home` at all.
  bool uses_home() const { return kind_ == Kind::kHomeNet || kind_ == Kind::kNotHomeNet; }
  // The address when the condition is exactly one positive single-host item: then it matches
  // exactly the events whose term equals that address.
  std::optional<IpAddress> single_host() const;

 private:
  // kSingle keeps its one item inline: a backlog's address taken from its creating event is
  // one item, checked for every event offered to the backlog (a condition lives in every
  // backlog: it is kept small).
  enum class Kind : uint8_t { kAny, kHomeNet, kNotHomeNet, kSingle, kList };
  struct Item {
    bool negated = false;
    std::optional<Cidr> network;  // nullopt: the item does not parse
  };

 public:
  AddressCondition() = default;
  AddressCondition(const AddressCondition& other);
  AddressCondition& operator=(const AddressCondition& other);
  AddressCondition(AddressCondition&&) noexcept = default;
  AddressCondition& operator=(AddressCondition&&) noexcept = default;

 private:
  Kind kind_ = Kind::kAny;
  // kSingle: its item.
  bool single_negated_ = false;
  bool single_parsed_ = false;
  Cidr single_network_;
  std::unique_ptr<std::vector<Item>> items_;  // kList
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

// port_from / port_to: a StringListCondition on the decimal text of the event's port, compiled
// to numbers. An item that is not a number's own decimal text ("080", "+80", "http") equals no
// port's text, so it never matches (but a negated one still lets other ports through).
class PortCondition {
 public:
  static PortCondition compile(std::string_view value);
  bool matches(int64_t port) const;

 private:
  struct Item {
    bool negated = false;
    std::optional<int64_t> port;  // nullopt: equals no port
  };
  bool any_ = true;
  std::vector<Item> items_;
};

// custom_dataN (directives.md §5.5).
class CustomDataCondition {
 public:
  static CustomDataCondition compile(std::string_view value);
  bool matches(std::string_view event_value) const;

 private:
  enum class Kind : uint8_t { kAny, kList, kSingle };
  Kind kind_ = Kind::kAny;
  bool negated_ = false;
  std::string lowered_;
  StringListCondition list_;
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

// The values a backlog's rules take from the event that created it (see ValueField), the
// conditions among them compiled once per backlog.
class CreatingEvent {
 public:
  CreatingEvent() = default;
  // Keeps the event's addresses (the alarm title names them) and ports, and compiles the
  // conditions of the fields in `fields`.
  CreatingEvent(const event::Event& e, uint8_t fields);

  const std::string& src_ip() const { return src_ip_; }
  const std::string& dst_ip() const { return dst_ip_; }
  int64_t src_port() const { return src_port_; }
  int64_t dst_port() const { return dst_port_; }
  // The event's custom_dataN (k = N - 1); empty unless in `fields`.
  const std::string& custom_data(int k) const;
  const AddressCondition& from() const { return from_; }
  const AddressCondition& to() const { return to_; }
  const CustomDataCondition& custom_data_condition(int k) const;

 private:
  struct CustomData {
    std::array<std::string, 3> text;
    std::array<CustomDataCondition, 3> conditions;
  };
  // Conditions first: they are checked for every event offered to the backlog.
  AddressCondition from_, to_;
  int64_t src_port_ = 0, dst_port_ = 0;
  // Only when a rule takes custom data from the event: most directives' rules do not.
  std::unique_ptr<CustomData> custom_data_;
  std::string src_ip_, dst_ip_;
};

// The values of every rule in a backlog created by `creator`, resolved through `plan`.
std::vector<RuleValues> resolve_rule_values(const std::vector<RulePlan>& plan,
                                            const CreatingEvent& creator);
// The same for a backlog of `d` created by `first`.
std::vector<RuleValues> resolve_rule_values(const config::Directive& d, const event::Event& first);

// The address, port and custom-data conditions of one rule, plus its sticky field.
struct Conditions {
  AddressCondition from, to;
  PortCondition port_from, port_to;
  std::array<CustomDataCondition, 3> custom_data;
  StickyField sticky = StickyField::kNone;
  // Fields matched against the creating event's values (CreatingEvent) instead of the above.
  uint8_t from_event = 0;

  static Conditions compile(const config::Rule& rule, std::string_view from, std::string_view to,
                            std::string_view port_from, std::string_view port_to,
                            const std::array<std::string_view, 3>& custom_data);
  // As written: no reference resolved.
  static Conditions compile(const config::Rule& rule);
  // Within the backlogs of the rule's directive.
  static Conditions compile(const config::Rule& rule, const RulePlan& plan);
};

// match(event, rule, stickySet) of directives.md §5, with its side effects on `sticky` (which
// may be null: no recording). `creator` is required when cond.from_event is not 0.
bool match(const config::Rule& rule, const Conditions& cond, const MatchInput& in,
           StickySet* sticky, const CreatingEvent* creator = nullptr);

}  // namespace dsiem::correlate
