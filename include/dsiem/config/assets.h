#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/common/ip.h"

namespace dsiem::config {

struct Asset {
  std::string name;
  Cidr cidr;
  int64_t value = 0;
  bool whitelisted = false;
};

// The asset networks, HOME_NET and the whitelist (assets_and_intel.md §1-§3). Immutable after
// loading; safe to share between threads.
class Assets {
 public:
  Assets() = default;

  // Loads every assets_*.json of `configs_dir`. Throws ConfigError with the message of
  // assets_and_intel.md §1, prefixed "Cannot initialize assets from <dir>: ".
  static Assets load(const std::filesystem::path& configs_dir);
  // Adds the assets of one JSON document. Throws ConfigError with the message of
  // assets_and_intel.md §1, without the "Cannot initialize assets from <dir>: " prefix.
  void add_from_json(std::string_view json_text);
  void add(Asset asset);

  bool in_home_net(std::string_view ip) const;
  bool in_home_net(const IpAddress& ip) const;
  bool is_whitelisted(std::string_view ip) const;
  // Maximum value over the asset networks containing `ip`; 0 if none or unparsable.
  int64_t value(std::string_view ip) const;
  // Name of the single-host asset equal to `ip`, or "".
  std::string_view name(std::string_view ip) const;
  // Non-host asset networks containing `ip` as text (valid while the Assets live), by
  // increasing prefix length.
  std::vector<std::string_view> networks(std::string_view ip) const;
  // Calls fn(text) for each of those networks, in the same order, without allocating: an alarm
  // asks for the networks of every address it gains.
  template <typename Fn>
  void for_each_network(std::string_view ip, Fn&& fn) const {
    const auto parsed = IpAddress::parse(ip);
    if (!parsed) return;
    for (const std::size_t i : networks_by_prefix_) {
      if (assets_[i].cidr.contains(*parsed)) fn(std::string_view(network_texts_[i]));
    }
  }

  std::size_t asset_count() const { return assets_.size(); }
  std::size_t whitelist_count() const { return whitelist_.size(); }

 private:
  std::vector<Asset> assets_;  // non-whitelisted, one per CIDR (a later definition replaces)
  // assets_[i].cidr as text: an alarm lists the networks of its addresses at every update.
  std::vector<std::string> network_texts_;
  // Positions in assets_ of the non-host networks, by prefix length, then position.
  std::vector<std::size_t> networks_by_prefix_;
  std::vector<Asset> whitelist_;  // whitelisted, one per CIDR
};

}  // namespace dsiem::config
