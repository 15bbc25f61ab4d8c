#include "dsiem/correlate/matcher.h"

#include <charconv>

#include <algorithm>

#include "dsiem/common/text.h"

namespace dsiem::correlate {

namespace {

// The address part of an event address: the address itself, or that of an "address/len" text.
std::optional<IpAddress> address_term(std::string_view ip) {
  if (ip.find('/') == std::string_view::npos) return IpAddress::parse(ip);
  IpAddress addr;
  if (!Cidr::parse(ip, &addr)) return std::nullopt;
  return addr;
}

template <typename T>
void record(StickySet* set, T value) {
  if (!set) return;
  if constexpr (std::is_same_v<T, int64_t>) {
    set->ints.insert(value);
  } else {
    set->strings.emplace(value);
  }
}

bool address_port_check(const Conditions& c, const MatchInput& in, StickySet* sticky,
                        const CreatingEvent* creator) {
  const event::Event& e = *in.event;
  const uint8_t from_event = c.from_event;
  const AddressCondition& from = (from_event & kFromField) ? creator->from() : c.from;
  if (!from.matches(from.uses_home() && in.src_home(), in.src_term)) return false;
  const AddressCondition& to = (from_event & kToField) ? creator->to() : c.to;
  if (!to.matches(to.uses_home() && in.dst_home(), in.dst_term)) return false;
  // A port taken from the event is its decimal text: equal text means equal numbers.
  if ((from_event & kPortFromField) ? e.src_port != creator->src_port()
                                    : !c.port_from.matches(e.src_port)) {
    return false;
  }
  if ((from_event & kPortToField) ? e.dst_port != creator->dst_port()
                                  : !c.port_to.matches(e.dst_port)) {
    return false;
  }
  switch (c.sticky) {
    case StickyField::kSrcIp:
      record(sticky, std::string_view(e.src_ip));
      break;
    case StickyField::kDstIp:
      record(sticky, std::string_view(e.dst_ip));
      break;
    case StickyField::kSrcPort:
      record(sticky, e.src_port);
      break;
    case StickyField::kDstPort:
      record(sticky, e.dst_port);
      break;
    default:
      break;
  }
  return true;
}

template <typename C>
bool contains(const std::vector<C>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

MatchInput prepare_input(const event::Event& e, const config::Assets& assets) {
  MatchInput in;
  in.event = &e;
  in.assets = &assets;
  const auto derive = [&](std::string_view ip, std::optional<IpAddress>& term, int8_t& home) {
    if ((term = IpAddress::parse(ip))) {
      home = -1;  // a plain address: worked out when a condition asks
      return;
    }
    // HOME_NET takes plain addresses only: "address/len" is never in it.
    term = address_term(ip);
  };
  derive(e.src_ip, in.src_term, in.src_home_);
  derive(e.dst_ip, in.dst_term, in.dst_home_);
  return in;
}

AddressCondition AddressCondition::compile(std::string_view value) {
  AddressCondition c;
  if (value == "ANY") return c;
  if (value == "HOME_NET") {
    c.kind_ = Kind::kHomeNet;
    return c;
  }
  if (value == "!HOME_NET") {
    c.kind_ = Kind::kNotHomeNet;
    return c;
  }
  // The usual value, a backlog's address taken from its creating event: one dotted quad is
  // parsed as it stands, without the list split and the "/32" text of the general path below.
  if (!value.empty() && value.find_first_not_of("0123456789.") == std::string_view::npos) {
    if (auto ip = IpAddress::parse(value); ip && ip->v4) {
      c.kind_ = Kind::kSingle;
      c.single_parsed_ = true;
      c.single_network_ = Cidr{*ip, 32};
      return c;
    }
  }
  std::vector<Item> items;
  for (std::string item : split_list(value)) {
    Item it;
    if (!item.empty() && item[0] == '!') {
      it.negated = true;
      item = trim_space(std::string_view(item).substr(1));
    }
    if (item.find('/') == std::string::npos) item += "/32";
    it.network = Cidr::parse(item);
    items.push_back(std::move(it));
  }
  if (items.size() == 1) {
    c.kind_ = Kind::kSingle;
    c.single_negated_ = items.front().negated;
    c.single_parsed_ = items.front().network.has_value();
    if (c.single_parsed_) c.single_network_ = *items.front().network;
  } else {
    c.kind_ = Kind::kList;
    c.items_ = std::make_unique<std::vector<Item>>(std::move(items));
  }
  return c;
}

AddressCondition::AddressCondition(const AddressCondition& other)
    : kind_(other.kind_),
      single_negated_(other.single_negated_),
      single_parsed_(other.single_parsed_),
      single_network_(other.single_network_),
      items_(other.items_ ? std::make_unique<std::vector<Item>>(*other.items_) : nullptr) {}

AddressCondition& AddressCondition::operator=(const AddressCondition& other) {
  if (this != &other) *this = AddressCondition(other);
  return *this;
}

bool AddressCondition::matches(bool home, const std::optional<IpAddress>& term) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kHomeNet:
      return home;
    case Kind::kNotHomeNet:
      return !home;
    case Kind::kSingle:
      if (!term || !single_parsed_) return false;
      return single_network_.contains(*term) != single_negated_;
    case Kind::kList:
      break;
  }
  if (!term) return false;
  bool result = false;
  for (const Item& item : *items_) {
    if (!item.network) return false;
    const bool in = item.network->contains(*term);
    if (in) return !item.negated;
    if (item.negated) result = true;
  }
  return result;
}

std::optional<IpAddress> AddressCondition::single_host() const {
  if (kind_ != Kind::kSingle) return std::nullopt;
  if (single_negated_ || !single_parsed_ || !single_network_.is_host()) return std::nullopt;
  return single_network_.network;
}

StringListCondition StringListCondition::compile(std::string_view value) {
  StringListCondition c;
  for (std::string item : split_list(value)) {
    Item it;
    if (!item.empty() && item[0] == '!') {
      it.negated = true;
      item = trim_space(std::string_view(item).substr(1));
    }
    it.text = std::move(item);
    c.items_.push_back(std::move(it));
  }
  return c;
}

bool StringListCondition::matches(std::string_view term) const {
  bool result = false;
  for (const Item& item : items_) {
    if (item.text == term) return !item.negated;
    if (item.negated) result = true;
  }
  return result;
}

PortCondition PortCondition::compile(std::string_view value) {
  PortCondition c;
  c.any_ = value == "ANY";
  if (c.any_) return c;
  for (std::string item : split_list(value)) {
    Item it;
    if (!item.empty() && item[0] == '!') {
      it.negated = true;
      item = trim_space(std::string_view(item).substr(1));
    }
    int64_t port = 0;
    const char* end = item.data() + item.size();
    if (const auto [ptr, ec] = std::from_chars(item.data(), end, port);
        ec == std::errc() && ptr == end && std::to_string(port) == item) {
      it.port = port;
    }
    c.items_.push_back(it);
  }
  return c;
}

bool PortCondition::matches(int64_t port) const {
  if (any_) return true;
  // StringListCondition::matches on numbers.
  bool result = false;
  for (const Item& item : items_) {
    if (item.port == port) return !item.negated;
    if (item.negated) result = true;
  }
  return result;
}

CustomDataCondition CustomDataCondition::compile(std::string_view value) {
  CustomDataCondition c;
  if (value.empty() || value == "ANY") return c;
  if (value.find(',') != std::string_view::npos) {
    c.kind_ = Kind::kList;
    c.list_ = StringListCondition::compile(value);
    return c;
  }
  c.kind_ = Kind::kSingle;
  std::string v(value);
  if (v[0] == '!') {
    c.negated_ = true;
    v = trim_space(std::string_view(v).substr(1));
  }
  c.lowered_ = to_lower(trim_space(v));
  return c;
}

bool CustomDataCondition::matches(std::string_view event_value) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kList:
      return list_.matches(event_value);
    case Kind::kSingle:
      break;
  }
  const bool equal = to_lower(trim_space(event_value)) == lowered_;
  return negated_ ? !equal : equal;
}

StickyField parse_sticky(std::string_view v) {
  if (v.empty()) return StickyField::kNone;
  if (v == "PLUGIN_SID") return StickyField::kPluginSid;
  if (v == "SRC_IP") return StickyField::kSrcIp;
  if (v == "DST_IP") return StickyField::kDstIp;
  if (v == "SRC_PORT") return StickyField::kSrcPort;
  if (v == "DST_PORT") return StickyField::kDstPort;
  if (v == "CUSTOM_DATA1") return StickyField::kCustomData1;
  if (v == "CUSTOM_DATA2") return StickyField::kCustomData2;
  if (v == "CUSTOM_DATA3") return StickyField::kCustomData3;
  return StickyField::kUnrecognised;
}

Conditions Conditions::compile(const config::Rule& rule, std::string_view from, std::string_view to,
                               std::string_view port_from, std::string_view port_to,
                               const std::array<std::string_view, 3>& custom_data) {
  Conditions c;
  c.from = AddressCondition::compile(from);
  c.to = AddressCondition::compile(to);
  c.port_from = PortCondition::compile(port_from);
  c.port_to = PortCondition::compile(port_to);
  for (int k = 0; k < 3; ++k) c.custom_data[k] = CustomDataCondition::compile(custom_data[k]);
  c.sticky = parse_sticky(rule.sticky_different);
  return c;
}

Conditions Conditions::compile(const config::Rule& rule) {
  return compile(rule, rule.from, rule.to, rule.port_from, rule.port_to,
                 {rule.custom_data1, rule.custom_data2, rule.custom_data3});
}

Conditions Conditions::compile(const config::Rule& rule, const RulePlan& plan) {
  const RuleValues& v = plan.literal;
  Conditions c = compile(rule, v.from, v.to, v.port_from, v.port_to,
                         {v.custom_data[0], v.custom_data[1], v.custom_data[2]});
  c.from_event = plan.from_event;
  return c;
}

bool match(const config::Rule& rule, const Conditions& c, const MatchInput& in, StickySet* sticky,
           const CreatingEvent* creator) {
  const event::Event& e = *in.event;
  if (rule.kind == config::RuleType::kPlugin) {
    if (e.plugin_id != rule.plugin_id) return false;
    if (std::find(rule.plugin_sid.begin(), rule.plugin_sid.end(), e.plugin_sid) ==
        rule.plugin_sid.end()) {
      return false;
    }
    // Recorded before the address checks: a later failure still "poisons" the set (gaps A5).
    if (c.sticky == StickyField::kPluginSid) record(sticky, e.plugin_sid);
    if (!address_port_check(c, in, sticky, creator)) return false;
    bool ok = true;
    for (int k = 0; k < 3; ++k) {
      const CustomDataCondition& cond = (c.from_event & (kCustomData1Field << k))
                                            ? creator->custom_data_condition(k)
                                            : c.custom_data[k];
      ok &= cond.matches(e.custom_data(k + 1));
    }
    switch (c.sticky) {
      case StickyField::kCustomData1:
        record(sticky, std::string_view(e.custom_data1));
        break;
      case StickyField::kCustomData2:
        record(sticky, std::string_view(e.custom_data2));
        break;
      case StickyField::kCustomData3:
        record(sticky, std::string_view(e.custom_data3));
        break;
      default:
        break;
    }
    return ok;
  }
  if (rule.kind == config::RuleType::kTaxonomy) {
    if (e.category != rule.category) return false;
    if (!contains(rule.product, e.product)) return false;
    if (!rule.subcategory.empty() && !contains(rule.subcategory, "ANY") &&
        !contains(rule.subcategory, e.subcategory)) {
      return false;
    }
    return address_port_check(c, in, sticky, creator);
  }
  return false;
}

std::optional<int64_t> reference_number(std::string_view v) {
  if (v.find(':') == std::string_view::npos) return std::nullopt;
  while (!v.empty() && v.front() == ':') v.remove_prefix(1);
  while (!v.empty() && v.back() == ':') v.remove_suffix(1);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  if (v.empty()) return std::nullopt;
  int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  return n;
}

bool is_special_address(std::string_view v) {
  return v == "ANY" || v == "HOME_NET" || v == "!HOME_NET";
}

std::vector<RulePlan> resolution_plan(const config::Directive& d) {
  std::vector<RulePlan> plan;
  plan.reserve(d.rules.size());
  for (const config::Rule& r : d.rules) {
    plan.push_back(
        {{r.from, r.to, r.port_from, r.port_to, {r.custom_data1, r.custom_data2, r.custom_data3}},
         0});
  }
  if (plan.empty()) return plan;
  if (d.all_rules_always_active) {
    if (is_special_address(plan[0].literal.from)) plan[0].from_event |= kFromField;
    if (is_special_address(plan[0].literal.to)) plan[0].from_event |= kToField;
  }
  // In index order, so ":1" in rule 3 sees rule 1's already-resolved value. A reference takes
  // the event's value when the referenced value is a wildcard, or is the event's already.
  const auto n = static_cast<int64_t>(plan.size());
  for (std::size_t i = 1; i < plan.size(); ++i) {
    RulePlan& s = plan[i];
    // `value` picks one field of a RuleValues; `wildcard` says which of its values stand for
    // the event's.
    const auto resolve = [&](auto value, uint8_t bit, auto wildcard) {
      const auto ref = reference_number(value(s.literal));
      if (!ref || *ref < 1 || *ref > n) return;  // out of range: literal text
      RulePlan& r = plan[static_cast<std::size_t>(*ref - 1)];
      if ((r.from_event & bit) || wildcard(value(r.literal))) {
        s.from_event |= bit;
      } else {
        value(s.literal) = value(r.literal);
      }
    };
    const auto any = [](const std::string& v) { return v == "ANY"; };
    resolve([](RuleValues& v) -> std::string& { return v.from; }, kFromField, is_special_address);
    resolve([](RuleValues& v) -> std::string& { return v.to; }, kToField, is_special_address);
    resolve([](RuleValues& v) -> std::string& { return v.port_from; }, kPortFromField, any);
    resolve([](RuleValues& v) -> std::string& { return v.port_to; }, kPortToField, any);
    for (int k = 0; k < 3; ++k) {
      resolve([k](RuleValues& v) -> std::string& { return v.custom_data[k]; },
              static_cast<uint8_t>(kCustomData1Field << k), any);
    }
  }
  return plan;
}

CreatingEvent::CreatingEvent(const event::Event& e, uint8_t fields)
    : src_port_(e.src_port), dst_port_(e.dst_port), src_ip_(e.src_ip), dst_ip_(e.dst_ip) {
  if (fields & kFromField) from_ = AddressCondition::compile(e.src_ip);
  if (fields & kToField) to_ = AddressCondition::compile(e.dst_ip);
  if ((fields >> 4) == 0) return;
  custom_data_ = std::make_unique<CustomData>();
  for (int k = 0; k < 3; ++k) {
    if (!(fields & (kCustomData1Field << k))) continue;
    custom_data_->text[k] = e.custom_data(k + 1);
    custom_data_->conditions[k] = CustomDataCondition::compile(custom_data_->text[k]);
  }
}

const std::string& CreatingEvent::custom_data(int k) const {
  static const std::string kNone;
  return custom_data_ ? custom_data_->text[k] : kNone;
}

const CustomDataCondition& CreatingEvent::custom_data_condition(int k) const {
  static const CustomDataCondition kAny;
  return custom_data_ ? custom_data_->conditions[k] : kAny;
}

std::vector<RuleValues> resolve_rule_values(const std::vector<RulePlan>& plan,
                                            const CreatingEvent& creator) {
  std::vector<RuleValues> out;
  out.reserve(plan.size());
  for (const RulePlan& p : plan) {
    RuleValues v = p.literal;
    if (p.from_event & kFromField) v.from = creator.src_ip();
    if (p.from_event & kToField) v.to = creator.dst_ip();
    if (p.from_event & kPortFromField) v.port_from = std::to_string(creator.src_port());
    if (p.from_event & kPortToField) v.port_to = std::to_string(creator.dst_port());
    for (int k = 0; k < 3; ++k) {
      if (p.from_event & (kCustomData1Field << k)) v.custom_data[k] = creator.custom_data(k);
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<RuleValues> resolve_rule_values(const config::Directive& d, const event::Event& first) {
  return resolve_rule_values(resolution_plan(d), CreatingEvent(first, kAllValueFields));
}

}  // namespace dsiem::correlate
