#include "dsiem/correlate/matcher.h"

#include <charconv>

#include <algorithm>

#include "dsiem/common/text.h"

namespace dsiem::correlate {

namespace {

std::optional<IpAddress> address_term(std::string_view ip) {
  if (ip.find('/') != std::string_view::npos) {
    IpAddress addr;
    if (!Cidr::parse(ip, &addr)) return std::nullopt;
    return addr;
  }
  std::string with_prefix(ip);
  with_prefix += "/32";
  IpAddress addr;
  if (!Cidr::parse(with_prefix, &addr)) return std::nullopt;
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

bool address_port_check(const Conditions& c, const MatchInput& in, StickySet* sticky) {
  if (!c.from.matches(in.src_home, in.src_term)) return false;
  if (!c.to.matches(in.dst_home, in.dst_term)) return false;
  if (!c.port_from.matches(in.src_port_text)) return false;
  if (!c.port_to.matches(in.dst_port_text)) return false;
  const event::Event& e = *in.event;
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
  in.src_term = address_term(e.src_ip);
  in.dst_term = address_term(e.dst_ip);
  in.src_home = assets.in_home_net(e.src_ip);
  in.dst_home = assets.in_home_net(e.dst_ip);
  in.src_port_text = std::to_string(e.src_port);
  in.dst_port_text = std::to_string(e.dst_port);
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
  c.kind_ = Kind::kList;
  for (std::string item : split_list(value)) {
    Item it;
    if (!item.empty() && item[0] == '!') {
      it.negated = true;
      item = trim_space(std::string_view(item).substr(1));
    }
    if (item.find('/') == std::string::npos) item += "/32";
    it.network = Cidr::parse(item);
    c.items_.push_back(std::move(it));
  }
  return c;
}

bool AddressCondition::matches(bool home, const std::optional<IpAddress>& term) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kHomeNet:
      return home;
    case Kind::kNotHomeNet:
      return !home;
    case Kind::kList:
      break;
  }
  if (!term) return false;
  bool result = false;
  for (const Item& item : items_) {
    if (!item.network) return false;
    const bool in = item.network->contains(*term);
    if (in) return !item.negated;
    if (item.negated) result = true;
  }
  return result;
}

std::optional<IpAddress> AddressCondition::single_host() const {
  if (kind_ != Kind::kList || items_.size() != 1) return std::nullopt;
  const Item& item = items_.front();
  if (item.negated || !item.network || !item.network->is_host()) return std::nullopt;
  return item.network->network;
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
  if (!c.any_) c.list_ = StringListCondition::compile(value);
  return c;
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

bool match(const config::Rule& rule, const Conditions& c, const MatchInput& in, StickySet* sticky) {
  const event::Event& e = *in.event;
  if (rule.kind == config::RuleType::kPlugin) {
    if (e.plugin_id != rule.plugin_id) return false;
    if (std::find(rule.plugin_sid.begin(), rule.plugin_sid.end(), e.plugin_sid) ==
        rule.plugin_sid.end()) {
      return false;
    }
    // Recorded before the address checks: a later failure still "poisons" the set (gaps A5).
    if (c.sticky == StickyField::kPluginSid) record(sticky, e.plugin_sid);
    if (!address_port_check(c, in, sticky)) return false;
    bool ok = true;
    for (int k = 0; k < 3; ++k) ok &= c.custom_data[k].matches(e.custom_data(k + 1));
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
    return address_port_check(c, in, sticky);
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

std::vector<RuleValues> resolve_rule_values(const config::Directive& d, const event::Event& first) {
  std::vector<RuleValues> rules;
  rules.reserve(d.rules.size());
  for (const config::Rule& r : d.rules) {
    rules.push_back(
        {r.from, r.to, r.port_from, r.port_to, {r.custom_data1, r.custom_data2, r.custom_data3}});
  }
  if (rules.empty()) return rules;
  if (d.all_rules_always_active) {
    if (is_special_address(rules[0].from)) rules[0].from = first.src_ip;
    if (is_special_address(rules[0].to)) rules[0].to = first.dst_ip;
  }
  // In index order, so ":1" in rule 3 sees rule 1's already-resolved value; every substituted
  // value comes from the creating event.
  const auto n = static_cast<int64_t>(rules.size());
  for (std::size_t i = 1; i < rules.size(); ++i) {
    RuleValues& s = rules[i];
    auto target = [&](const std::string& v) -> const RuleValues* {
      const auto ref = reference_number(v);
      if (!ref || *ref < 1 || *ref > n) return nullptr;  // out of range: literal text
      return &rules[static_cast<std::size_t>(*ref - 1)];
    };
    if (const auto* r = target(s.from))
      s.from = is_special_address(r->from) ? first.src_ip : r->from;
    if (const auto* r = target(s.to)) s.to = is_special_address(r->to) ? first.dst_ip : r->to;
    if (const auto* r = target(s.port_from)) {
      s.port_from = r->port_from != "ANY" ? r->port_from : std::to_string(first.src_port);
    }
    if (const auto* r = target(s.port_to)) {
      s.port_to = r->port_to != "ANY" ? r->port_to : std::to_string(first.dst_port);
    }
    for (int k = 0; k < 3; ++k) {
      if (const auto* r = target(s.custom_data[k])) {
        s.custom_data[k] =
            r->custom_data[k] != "ANY" ? r->custom_data[k] : first.custom_data(k + 1);
      }
    }
  }
  return rules;
}

}  // namespace dsiem::correlate
