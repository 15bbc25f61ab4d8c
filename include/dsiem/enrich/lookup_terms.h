#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "dsiem/common/ip.h"

// Which addresses and ports the intel and vuln lookups accept (assets_and_intel.md §5.1 step 3,
// §6.1 step 3, decisions.md §9). vuln_terms() itself is declared in enricher.h.
namespace dsiem::enrich {

// Go's net.IP IsPrivate() || IsLoopback() || IsLinkLocalUnicast(): 10.0.0.0/8, 172.16.0.0/12,
// 192.168.0.0/16, 127.0.0.0/8, 169.254.0.0/16, fc00::/7, ::1/128, fe80::/10. IPv4-mapped IPv6
// addresses are tested as IPv4.
bool is_private_ip(const IpAddress& ip);

// Whether an alarm IP is looked up for threat intel. Unparsable text never is (it would reach
// a URL); private addresses only when `intel_private_ip` is set.
bool is_intel_candidate(std::string_view ip, bool intel_private_ip);

// Go's strconv.Atoi: an optional sign and decimal digits, within int64. Vuln term ports that
// fail it (e.g. "!80", " 443") are not looked up.
std::optional<int64_t> parse_decimal_int(std::string_view text);

}  // namespace dsiem::enrich
