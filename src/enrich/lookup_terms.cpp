#include "dsiem/enrich/lookup_terms.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>

#include "dsiem/enrich/enricher.h"

namespace dsiem::enrich {

namespace {

const std::array<Cidr, 8>& private_networks() {
  static const std::array<Cidr, 8> networks = {
      *Cidr::parse("10.0.0.0/8"),  *Cidr::parse("172.16.0.0/12"),  *Cidr::parse("192.168.0.0/16"),
      *Cidr::parse("127.0.0.0/8"), *Cidr::parse("169.254.0.0/16"), *Cidr::parse("fc00::/7"),
      *Cidr::parse("::1/128"),     *Cidr::parse("fe80::/10"),
  };
  return networks;
}

std::vector<std::string_view> split_on_comma(std::string_view s) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto comma = s.find(',');
    parts.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return parts;
    s.remove_prefix(comma + 1);
  }
}

bool is_rule_keyword_or_network(std::string_view ip) {
  return ip == "ANY" || ip == "HOME_NET" || ip == "!HOME_NET" ||
         ip.find('/') != std::string_view::npos;
}

// §6.1 step 1 for one side (from/port_from or to/port_to) of one rule.
void add_side_terms(std::vector<VulnTerm>& terms, std::string_view ips_text,
                    std::string_view ports_text, int64_t last_port) {
  const std::vector<std::string_view> ports = split_on_comma(ports_text);
  const std::string last = std::to_string(last_port);
  std::unordered_set<std::string_view> seen_ips;
  for (std::string_view ip : split_on_comma(ips_text)) {
    if (!seen_ips.insert(ip).second || is_rule_keyword_or_network(ip)) continue;
    for (std::string_view port : ports) {
      if (port != "ANY") terms.push_back({std::string(ip), std::string(port)});
    }
    if (last != "0") terms.push_back({std::string(ip), last});
  }
}

}  // namespace

bool is_private_ip(const IpAddress& ip) {
  const auto& networks = private_networks();
  return std::any_of(networks.begin(), networks.end(),
                     [&](const Cidr& net) { return net.contains(ip); });
}

bool is_intel_candidate(std::string_view ip, bool intel_private_ip) {
  const auto parsed = IpAddress::parse(ip);
  if (!parsed) return false;
  return intel_private_ip || !is_private_ip(*parsed);
}

std::optional<int64_t> parse_decimal_int(std::string_view text) {
  std::string_view digits = text;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    digits.remove_prefix(1);
  }
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  // from_chars accepts a leading '-' but not '+'; parse the digits with the sign re-attached.
  const std::string signed_digits = (negative ? "-" : "") + std::string(digits);
  int64_t value = 0;
  const auto [end, ec] =
      std::from_chars(signed_digits.data(), signed_digits.data() + signed_digits.size(), value);
  if (ec != std::errc() || end != signed_digits.data() + signed_digits.size()) return std::nullopt;
  return value;
}

std::vector<VulnTerm> vuln_terms(const std::vector<RuleAddresses>& rules, int64_t last_src_port,
                                 int64_t last_dst_port) {
  std::vector<VulnTerm> all;
  for (const RuleAddresses& rule : rules) {
    add_side_terms(all, rule.from, rule.port_from, last_src_port);
    add_side_terms(all, rule.to, rule.port_to, last_dst_port);
  }
  std::vector<VulnTerm> unique;
  std::set<std::pair<std::string, std::string>> seen;
  for (VulnTerm& term : all) {
    if (seen.emplace(term.ip, term.port).second) unique.push_back(std::move(term));
  }
  return unique;
}

}  // namespace dsiem::enrich
