#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace dsiem {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses are stored as IPv4, as Go's To4() does
// before every containment test.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes
  bool v4 = true;

  // Go net.ParseIP: dotted-quad IPv4 (no leading zeros) or IPv6 text. No prefix, no zone.
  static std::optional<IpAddress> parse(std::string_view text);
  int bit_length() const { return v4 ? 32 : 128; }
  // Two 8-byte compares inline: the defaulted form calls memcmp, dear on the per-event path.
  bool operator==(const IpAddress& other) const {
    uint64_t a[2], b[2];
    std::memcpy(a, bytes.data(), sizeof a);
    std::memcpy(b, other.bytes.data(), sizeof b);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1])) == 0 && v4 == other.v4;
  }
};

// A network as Go's net.ParseCIDR returns it: address masked to the prefix.
struct Cidr {
  IpAddress network;
  int prefix = 0;

  // Parses "addr/len" (the prefix is required). On success also returns the unmasked address
  // through `address` when given. Returns nullopt on any error.
  static std::optional<Cidr> parse(std::string_view text, IpAddress* address = nullptr);
  bool contains(const IpAddress& ip) const;
  bool is_host() const { return prefix == network.bit_length(); }
  // Normalised text: "192.168.0.0/16", IPv6 in canonical compressed form.
  std::string to_string() const;
  bool operator==(const Cidr&) const = default;
};

std::string to_string(const IpAddress& ip);

struct IpAddressHash {
  // Two 64-bit words mixed with multiplies: this runs for every event and candidate directive.
  std::size_t operator()(const IpAddress& ip) const {
    uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, ip.bytes.data(), 8);
    std::memcpy(&hi, ip.bytes.data() + 8, 8);
    uint64_t h =
        (lo ^ (ip.v4 ? 0x9E3779B97F4A7C15ULL : 0xC2B2AE3D27D4EB4FULL)) * 0xff51afd7ed558ccdULL;
    h = (h ^ (h >> 32) ^ hi) * 0xc4ceb9fe1a85ec53ULL;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};

}  // namespace dsiem
