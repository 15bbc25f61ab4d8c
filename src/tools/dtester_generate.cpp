// Event generation of `dsiem dtester` (tools.md §1.3 with the fixes of §6).

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <optional>

#include "dsiem/common/ip.h"
#include "dsiem/common/text.h"
#include "dsiem/config/assets.h"
#include "dsiem/correlate/matcher.h"
#include "dsiem/tools/dtester.h"

namespace dsiem::tools {

namespace {

using correlate::StickyField;

// Random candidates drawn per wanted value before giving up on a condition.
constexpr std::size_t kDrawAttempts = 64;
// tools.md §1.3: the ANY port ranges.
constexpr int64_t kHighPortMin = 4000, kHighPortMax = 65534;
constexpr int64_t kLowPortMin = 20, kLowPortMax = 1023;

// A strict decimal integer with an optional sign.
std::optional<int64_t> strict_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return n;
}

// The items of a rule list that are not negated.
std::vector<std::string> positive_items(std::string_view value) {
  std::vector<std::string> out;
  for (std::string& item : split_list(value)) {
    if (item.front() != '!') out.push_back(std::move(item));
  }
  return out;
}

// Whether `ip` is kept out of HOME_NET as far as dtester can tell: not the home-net address and
// not in the ranges whose first octet the reference's random generator avoids (10, 127, 172,
// 192), where home networks usually are.
bool looks_external(const std::string& ip, const std::string& home_net) {
  if (ip.empty() || ip == home_net) return false;
  const auto addr = IpAddress::parse(ip);
  if (!addr || !addr->v4) return false;
  const uint8_t a = addr->bytes[0];
  return a != 10 && a != 127 && a != 172 && a != 192;
}

template <typename T>
void add_unique(std::vector<T>& values, const T& v) {
  if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
}

// The 0-based index of the earlier rule `value` refers to, when it is such a reference.
std::optional<std::size_t> earlier_rule(std::string_view value, std::size_t current) {
  const auto ref = correlate::reference_number(value);
  if (!ref || *ref < 1 || static_cast<uint64_t>(*ref - 1) >= current) return std::nullopt;
  return static_cast<std::size_t>(*ref - 1);
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

}  // namespace

std::size_t DirectiveEvents::event_count() const {
  std::size_t n = 0;
  for (const StageEvents& s : stages) n += s.events.size();
  return n;
}

std::string rfc3339_utc(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

EventGenerator::EventGenerator(GenerationOptions options, uint64_t seed)
    : options_(std::move(options)), rng_(seed) {}

int64_t EventGenerator::uniform(int64_t low, int64_t high) {
  return std::uniform_int_distribution<int64_t>(low, high)(rng_);
}

std::string EventGenerator::new_event_id() {
  std::array<uint8_t, 16> b{};
  const uint64_t hi = rng_(), lo = rng_();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

// tools.md §1.3 ip() step 4: a.b.c.d with a, b, c, d in [1, 253] and a not 10, 127, 172, 192.
std::string EventGenerator::random_ipv4() {
  int64_t a = 0;
  do {
    a = uniform(1, 253);
  } while (a == 10 || a == 127 || a == 172 || a == 192);
  return std::to_string(a) + "." + std::to_string(uniform(1, 253)) + "." +
         std::to_string(uniform(1, 253)) + "." + std::to_string(uniform(1, 253));
}

std::vector<std::string> EventGenerator::addresses(std::string_view condition,
                                                   const std::string& preferred, std::size_t count,
                                                   std::string& problem) {
  std::vector<std::string> out;
  const std::size_t attempts = kDrawAttempts * count;
  if (condition == "HOME_NET") {
    out.push_back(options_.home_net);
  } else if (condition == "ANY" || condition == "!HOME_NET") {
    const bool external = condition == "!HOME_NET";
    if (!preferred.empty() && (!external || looks_external(preferred, options_.home_net))) {
      out.push_back(preferred);
    }
    for (std::size_t i = 0; i < attempts && out.size() < count; ++i) {
      const std::string candidate = random_ipv4();
      if (!external || looks_external(candidate, options_.home_net)) add_unique(out, candidate);
    }
  } else if (correlate::reference_number(condition)) {
    problem = "the reference " + in_quotes(condition) + " resolves to another reference";
  } else {
    const auto cond = correlate::AddressCondition::compile(condition);
    const auto fits = [&](const std::string& ip) {
      const auto addr = IpAddress::parse(ip);
      return addr && cond.matches(false, addr);
    };
    if (!preferred.empty() && fits(preferred)) out.push_back(preferred);
    std::vector<Cidr> networks;
    for (const std::string& item : positive_items(condition)) {
      const std::string text = item.find('/') == std::string::npos ? item + "/32" : item;
      if (auto net = Cidr::parse(text)) networks.push_back(*net);
    }
    for (std::size_t i = 0; i < attempts && out.size() < count; ++i) {
      if (networks.empty()) {
        const std::string candidate = random_ipv4();
        if (fits(candidate)) add_unique(out, candidate);
        continue;
      }
      const Cidr& net =
          networks[static_cast<std::size_t>(uniform(0, static_cast<int64_t>(networks.size()) - 1))];
      IpAddress host = net.network;
      const int bits = host.bit_length();
      for (int b = net.prefix; b < bits; ++b) {
        if (rng_() & 1) host.bytes[b / 8] |= static_cast<uint8_t>(0x80 >> (b % 8));
      }
      const std::string candidate = to_string(host);
      if (fits(candidate)) add_unique(out, candidate);
    }
    if (out.empty()) problem = "no address satisfies " + in_quotes(condition);
  }
  if (out.empty()) out.push_back(preferred.empty() ? random_ipv4() : preferred);
  if (problem.empty() && out.size() < count) {
    problem = "sticky_different needs " + std::to_string(count) + " different addresses, but " +
              in_quotes(condition) + " gives " + std::to_string(out.size());
  }
  return out;
}

std::vector<int64_t> EventGenerator::ports(std::string_view condition, int64_t preferred,
                                           bool source, std::size_t count, std::string& problem) {
  const int64_t low = source ? kHighPortMin : kLowPortMin;
  const int64_t high = source ? kHighPortMax : kLowPortMax;
  const std::size_t attempts = kDrawAttempts * count;
  std::vector<int64_t> out;
  if (condition == "ANY") {
    for (std::size_t i = 0; i < attempts && out.size() < count; ++i) {
      add_unique(out, uniform(low, high));
    }
  } else if (split_list(condition).empty()) {
    problem = "the port list is empty and never matches";  // T4: port 0, no crash
    out.push_back(0);
  } else if (correlate::reference_number(condition)) {
    problem = "the reference " + in_quotes(condition) + " resolves to another reference";
    out.push_back(0);
  } else {
    const auto cond = correlate::PortCondition::compile(condition);
    const auto fits = [&](int64_t port) { return cond.matches(port); };
    if (preferred >= 0 && fits(preferred)) out.push_back(preferred);
    std::vector<int64_t> items;
    for (const std::string& item : positive_items(condition)) {
      if (const auto port = strict_int(item)) add_unique(items, *port);
    }
    std::shuffle(items.begin(), items.end(), rng_);
    for (const int64_t port : items) {
      if (out.size() >= count) break;
      if (fits(port)) add_unique(out, port);
    }
    // Only negated items (or none that fits): any port of the range the list lets through.
    for (std::size_t i = 0; i < attempts && out.size() < count; ++i) {
      const int64_t port = uniform(low, high);
      if (fits(port)) add_unique(out, port);
    }
    if (out.empty()) {
      problem = "no port satisfies " + in_quotes(condition);
      out.push_back(0);
    }
  }
  if (problem.empty() && out.size() < count) {
    problem = "sticky_different needs " + std::to_string(count) + " different ports, but " +
              in_quotes(condition) + " gives " + std::to_string(out.size());
  }
  return out;
}

std::vector<std::string> EventGenerator::custom_values(std::string_view condition,
                                                       const std::string& preferred,
                                                       std::size_t count, std::string& problem) {
  const auto cond = correlate::CustomDataCondition::compile(condition);
  const auto fits = [&](const std::string& v) { return cond.matches(v); };
  std::vector<std::string> out;
  if (fits(preferred) && (count <= 1 || !preferred.empty())) out.push_back(preferred);
  if (condition.find(',') != std::string_view::npos) {
    std::vector<std::string> items = positive_items(condition);
    std::shuffle(items.begin(), items.end(), rng_);
    for (const std::string& item : items) {
      if (out.size() >= count) break;
      if (fits(item)) add_unique(out, item);
    }
  } else if (!condition.empty() && condition != "ANY" && condition.front() != '!') {
    const std::string value = trim_space(condition);
    if (fits(value)) add_unique(out, value);
  }
  // Free text for "", ANY, negations, and lists of negated items.
  for (std::size_t i = 1; i <= kDrawAttempts * count && out.size() < count; ++i) {
    const std::string candidate = "dtester-" + std::to_string(i);
    if (fits(candidate)) add_unique(out, candidate);
  }
  if (out.empty()) {
    problem = "no custom data satisfies " + in_quotes(condition);
    out.push_back("");
  } else if (out.size() < count) {
    problem = "sticky_different needs " + std::to_string(count) + " different values, but " +
              in_quotes(condition) + " gives " + std::to_string(out.size());
  }
  return out;
}

DirectiveEvents EventGenerator::generate(const config::Directive& d, std::string_view timestamp) {
  DirectiveEvents result;
  result.directive_id = d.id;
  const std::size_t n = d.rules.size();

  // A plugin pair of this directive: taxonomy-stage events carry it to pass the quick filter,
  // which only looks at plugin pairs when the directive has any (directives.md §4).
  const config::Rule* plugin_pair = nullptr;
  for (const config::Rule& r : d.rules) {
    if (r.plugin_id != 0 && !r.plugin_sid.empty()) {
      plugin_pair = &r;
      break;
    }
  }

  // HOME_NET as dtester knows it, for checking the generated events with the engine's matcher.
  config::Assets home;
  if (const auto net = Cidr::parse(options_.home_net + "/32")) {
    home.add(config::Asset{"home", *net, 1, false});
  }

  // The rules' own values until the first event exists; then what the engine resolves from it.
  std::vector<correlate::RuleValues> resolved(n);
  for (std::size_t i = 0; i < n; ++i) {
    const config::Rule& r = d.rules[i];
    resolved[i] = {
        r.from, r.to, r.port_from, r.port_to, {r.custom_data1, r.custom_data2, r.custom_data3}};
  }

  std::vector<event::Event> templates(n);  // copy 0 of every rule: the values references see
  for (std::size_t i = 0; i < n; ++i) {
    const config::Rule& r = d.rules[i];
    if (i == 1) resolved = correlate::resolve_rule_values(d, templates[0]);
    const correlate::RuleValues& cond = resolved[i];
    const std::size_t problems_before = result.problems.size();
    StageEvents stage;
    stage.index = i;
    stage.stage = r.stage;
    const auto note = [&](std::string_view field, const std::string& problem) {
      if (!problem.empty()) {
        result.problems.push_back("stage " + std::to_string(r.stage) +
                                  (field.empty() ? "" : " " + std::string(field)) + ": " + problem);
      }
    };

    const int64_t wanted = std::max<int64_t>(r.occurrence, 1);
    const auto copies = static_cast<std::size_t>(
        options_.max_per_rule <= 0 ? 0 : std::min(wanted, options_.max_per_rule));
    if (static_cast<int64_t>(copies) < wanted) {
      note("occurrence",
           std::to_string(wanted) + " events needed, --max allows " + std::to_string(copies));
    }

    // The first rule completes with the creating event, so its sticky field never matters.
    const StickyField sticky =
        i == 0 ? StickyField::kNone : correlate::parse_sticky(r.sticky_different);
    const bool plugin_rule = r.kind == config::RuleType::kPlugin;
    if (sticky == StickyField::kUnrecognised ||
        (!plugin_rule &&
         (sticky == StickyField::kPluginSid || sticky == StickyField::kCustomData1 ||
          sticky == StickyField::kCustomData2 || sticky == StickyField::kCustomData3))) {
      note("sticky_different",
           in_quotes(r.sticky_different) + " never records a value, so the stage cannot complete");
    }
    const auto distinct = [&](StickyField f) -> std::size_t {
      return sticky == f ? std::max<std::size_t>(copies, 1) : 1;
    };

    // Addresses: a reference prefers the referenced rule's address, anything else the previous
    // rule's (T2, T3).
    const std::string prev_src = i > 0 ? templates[i - 1].src_ip : "";
    const std::string prev_dst = i > 0 ? templates[i - 1].dst_ip : "";
    const auto ref_from = earlier_rule(r.from, i);
    const auto ref_to = earlier_rule(r.to, i);
    std::string problem;
    std::vector<std::string> src_ips, dst_ips;
    if (!options_.src_ip.empty()) {
      src_ips = {options_.src_ip};
    } else {
      src_ips = addresses(cond.from, ref_from ? templates[*ref_from].src_ip : prev_src,
                          distinct(StickyField::kSrcIp), problem);
      note("from", problem);
    }
    problem.clear();
    if (!options_.dst_ip.empty()) {
      dst_ips = {options_.dst_ip};
    } else {
      dst_ips = addresses(cond.to, ref_to ? templates[*ref_to].dst_ip : prev_dst,
                          distinct(StickyField::kDstIp), problem);
      note("to", problem);
    }

    problem.clear();
    const auto ref_port_from = earlier_rule(r.port_from, i);
    const std::vector<int64_t> src_ports =
        ports(cond.port_from, ref_port_from ? templates[*ref_port_from].src_port : -1, true,
              distinct(StickyField::kSrcPort), problem);
    note("port_from", problem);
    problem.clear();
    const auto ref_port_to = earlier_rule(r.port_to, i);
    const std::vector<int64_t> dst_ports =
        ports(cond.port_to, ref_port_to ? templates[*ref_port_to].dst_port : -1, false,
              distinct(StickyField::kDstPort), problem);
    note("port_to", problem);

    // Custom data only matters to PluginRules (directives.md §5.5).
    std::array<std::vector<std::string>, 3> custom{};
    for (int k = 0; k < 3; ++k) {
      if (!plugin_rule) {
        custom[k] = {""};
        continue;
      }
      const auto ref =
          earlier_rule(k == 0 ? r.custom_data1 : (k == 1 ? r.custom_data2 : r.custom_data3), i);
      static constexpr std::array<StickyField, 3> kFields = {
          StickyField::kCustomData1, StickyField::kCustomData2, StickyField::kCustomData3};
      const StickyField field = kFields[k];
      problem.clear();
      custom[k] = custom_values(cond.custom_data[k], ref ? templates[*ref].custom_data(k + 1) : "",
                                distinct(field), problem);
      note("custom_data" + std::to_string(k + 1), problem);
    }

    // Plugin fields; a TaxonomyRule without its own pair borrows the directive's.
    const config::Rule& pair_rule =
        (r.plugin_id != 0 && !r.plugin_sid.empty()) || !plugin_pair ? r : *plugin_pair;
    std::vector<int64_t> sids;
    if (!pair_rule.plugin_sid.empty()) {
      if (sticky == StickyField::kPluginSid && plugin_rule) {
        for (const int64_t sid : pair_rule.plugin_sid) add_unique(sids, sid);
        std::shuffle(sids.begin(), sids.end(), rng_);
        if (sids.size() < copies) {
          note("plugin_sid", "sticky_different needs " + std::to_string(copies) +
                                 " different plugin_sid values, the rule lists " +
                                 std::to_string(sids.size()));
        }
      } else {
        sids.push_back(pair_rule.plugin_sid[static_cast<std::size_t>(
            uniform(0, static_cast<int64_t>(pair_rule.plugin_sid.size()) - 1))]);
      }
    } else {
      sids.push_back(0);
    }
    const auto pick = [&](const std::vector<std::string>& list) -> std::string {
      if (list.empty()) return "";
      return list[static_cast<std::size_t>(uniform(0, static_cast<int64_t>(list.size()) - 1))];
    };

    event::Event base;
    base.title = options_.title.empty() ? r.name : options_.title;
    base.sensor = "dtester";
    base.plugin_id = pair_rule.plugin_id;
    base.product = pick(r.product);
    base.category = r.category;
    base.subcategory = pick(r.subcategory);
    base.protocol = r.protocol == "ANY" ? pick({"TCP", "UDP"}) : r.protocol;
    base.timestamp = std::string(timestamp);

    const auto compiled = correlate::Conditions::compile(
        r, cond.from, cond.to, cond.port_from, cond.port_to,
        {cond.custom_data[0], cond.custom_data[1], cond.custom_data[2]});
    bool mismatch = false;
    for (std::size_t c = 0; c < std::max<std::size_t>(copies, 1); ++c) {
      event::Event e = base;
      e.plugin_sid = sids[c % sids.size()];
      e.src_ip = src_ips[c % src_ips.size()];
      e.dst_ip = dst_ips[c % dst_ips.size()];
      e.src_port = src_ports[c % src_ports.size()];
      e.dst_port = dst_ports[c % dst_ports.size()];
      const std::array<const std::string*, 3> labels = {&r.custom_label1, &r.custom_label2,
                                                        &r.custom_label3};
      std::array<std::string*, 3> data = {&e.custom_data1, &e.custom_data2, &e.custom_data3};
      std::array<std::string*, 3> label_out = {&e.custom_label1, &e.custom_label2,
                                               &e.custom_label3};
      for (int k = 0; k < 3; ++k) {
        *data[k] = custom[k][c % custom[k].size()];
        if (!data[k]->empty()) *label_out[k] = *labels[k];
      }
      if (c == 0) templates[i] = e;
      if (c >= copies) break;  // --max 0: the template only, for references
      e.event_id = new_event_id();
      const correlate::MatchInput in = correlate::prepare_input(e, home);
      if (!correlate::match(r, compiled, in, nullptr)) mismatch = true;
      stage.events.push_back(std::move(e));
    }
    // A check with the engine's matcher, for what the notes above do not already explain.
    if (mismatch && result.problems.size() == problems_before) {
      note("", "an event does not satisfy the rule (check --homenet, --srcip and --destip)");
    }
    result.stages.push_back(std::move(stage));
  }
  return result;
}

}  // namespace dsiem::tools
