#include "dsiem/common/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dsiem {

namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Four decimal octets 0-255 separated by dots, no leading zeros, nothing else: what
// inet_pton(AF_INET) and Go's ParseIP accept. Every event address goes through here: the text
// is classified 16 bytes at a time (digits, dots), then each octet is read knowing its length.
bool parse_dotted_quad(std::string_view text, uint8_t* out) {
  const std::size_t n = text.size();
  if (n < 7 || n > 15) return false;  // "0.0.0.0" to "255.255.255.255"
  // The text in a zeroed block: a zero byte is neither a digit nor a dot.
  alignas(16) unsigned char block[16] = {};
  const char* p = text.data();
  unsigned dots = 0;
  unsigned digits = 0;
#if defined(__SSE2__)
  // Read with two fixed-size loads that overlap, assembled in registers and stored whole:
  // loading a block written by two overlapping stores would wait for both to retire.
  uint64_t low = 0;
  uint64_t high = 0;
  if (n >= 8) {
    std::memcpy(&low, p, 8);
    std::memcpy(&high, p + n - 8, 8);
    high = n == 8 ? 0 : high >> (8 * (16 - n));
  } else {
    uint32_t head = 0;
    uint32_t tail = 0;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    low = head | static_cast<uint64_t>(tail >> (8 * (8 - n))) << 32;
  }
  const __m128i v = _mm_set_epi64x(static_cast<int64_t>(high), static_cast<int64_t>(low));
  _mm_store_si128(reinterpret_cast<__m128i*>(block), v);
  dots = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
  // Subtracting '0' + 128 maps '0'-'9' to -128..-119, the ten smallest signed bytes.
  const __m128i shifted = _mm_sub_epi8(v, _mm_set1_epi8(static_cast<char>('0' + 128)));
  digits = static_cast<unsigned>(
      _mm_movemask_epi8(_mm_cmplt_epi8(shifted, _mm_set1_epi8(static_cast<char>(-128 + 10)))));
#else
  std::memcpy(block, p, n);
  for (std::size_t i = 0; i < n; ++i) {
    dots |= static_cast<unsigned>(block[i] == '.') << i;
    digits |= static_cast<unsigned>(static_cast<unsigned>(block[i] - '0') <= 9) << i;
  }
#endif
  if ((dots | digits) != (1u << n) - 1) return false;
  std::size_t start = 0;
  for (int octet = 0; octet < 4; ++octet) {
    std::size_t end = n;
    if (octet < 3) {
      if (dots == 0) return false;
      end = static_cast<std::size_t>(__builtin_ctz(dots));
      dots &= dots - 1;
    } else if (dots != 0) {
      return false;
    }
    const unsigned char* d = block + start;
    unsigned value = 0;
    switch (end - start) {
      case 1:
        value = d[0] - '0';
        break;
      case 2:
        value = (d[0] - '0') * 10 + (d[1] - '0');
        break;
      case 3:
        value = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
        break;
      default:  // an empty octet, or more than three digits
        return false;
    }
    if (end - start > 1 && (d[0] == '0' || value > 255)) return false;
    out[octet] = static_cast<uint8_t>(value);
    start = end + 1;
  }
  return true;
}

uint32_t load_be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

uint64_t load_be64(const uint8_t* p) {
  return static_cast<uint64_t>(load_be32(p)) << 32 | load_be32(p + 4);
}

// The top `bits` bits (0-64) of a 64-bit word set.
uint64_t top_bits(int bits) {
  return bits <= 0 ? 0 : (bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits));
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 63) return std::nullopt;
  IpAddress ip;
  // A dotted quad holds only digits and dots: anything else is IPv6 text or nothing.
  if (parse_dotted_quad(text, ip.bytes.data())) return ip;
  if (text.find(':') == std::string_view::npos) return std::nullopt;
  ip.bytes = {};
  // inet_pton needs a NUL-terminated string; addresses are short.
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
  if (std::memcmp(ip.bytes.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0) {
    std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
    std::memset(ip.bytes.data() + 4, 0, 12);
    ip.v4 = true;
    return ip;
  }
  ip.v4 = false;
  return ip;
}

std::optional<Cidr> Cidr::parse(std::string_view text, IpAddress* address) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view addr_text = text.substr(0, slash);
  const std::string_view len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3) return std::nullopt;
  int prefix = 0;
  const auto [ptr, ec] =
      std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
  if (ec != std::errc() || ptr != len_text.data() + len_text.size()) return std::nullopt;
  auto ip = IpAddress::parse(addr_text);
  if (!ip) return std::nullopt;
  // The prefix limit follows the textual family: "::ffff:1.2.3.4/104" is IPv6 syntax.
  const bool v6_syntax = addr_text.find(':') != std::string_view::npos;
  const int max_prefix = v6_syntax ? 128 : 32;
  if (prefix < 0 || prefix > max_prefix) return std::nullopt;
  // Go keeps the address of a mapped IPv4 as IPv4 (To4() before every containment test).
  if (address) *address = *ip;
  if (v6_syntax && ip->v4) {
    if (prefix < 96) {
      // A mapped address with a short IPv6 prefix covers non-IPv4 space: keep it IPv6.
      IpAddress v6;
      v6.v4 = false;
      std::memcpy(v6.bytes.data(), kV4MappedPrefix.data(), 12);
      std::memcpy(v6.bytes.data() + 12, ip->bytes.data(), 4);
      ip = v6;
    } else {
      prefix -= 96;
    }
  }
  Cidr c;
  c.network = *ip;
  c.prefix = prefix;
  const int bytes = ip->v4 ? 4 : 16;
  for (int i = 0; i < bytes; ++i) {
    const int bits = prefix - i * 8;
    if (bits >= 8) continue;
    c.network.bytes[i] &= bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
  }
  return c;
}

// The network's address is stored masked (parse), so only the address needs masking.
bool Cidr::contains(const IpAddress& ip) const {
  if (ip.v4 != network.v4) return false;
  if (ip.v4) {
    const auto mask = static_cast<uint32_t>(top_bits(prefix) >> 32);
    return (load_be32(ip.bytes.data()) & mask) == load_be32(network.bytes.data());
  }
  return (load_be64(ip.bytes.data()) & top_bits(prefix)) == load_be64(network.bytes.data()) &&
         (load_be64(ip.bytes.data() + 8) & top_bits(prefix - 64)) ==
             load_be64(network.bytes.data() + 8);
}

std::string to_string(const IpAddress& ip) {
  if (ip.v4) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, ip.bytes.data(), buf, sizeof(buf));
    return buf;
  }
  // Go's form: hex groups only (no dotted tail), the longest run of two or more zero groups
  // (the first one on a tie) written as "::".
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i)
    groups[i] = static_cast<uint16_t>(ip.bytes[2 * i] << 8 | ip.bytes[2 * i + 1]);
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out.push_back(':');
    std::snprintf(buf, sizeof(buf), "%x", groups[i]);
    out += buf;
  }
  return out;
}

std::string Cidr::to_string() const {
  return dsiem::to_string(network) + "/" + std::to_string(prefix);
}

}  // namespace dsiem
