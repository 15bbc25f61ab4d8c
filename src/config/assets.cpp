#include "dsiem/config/assets.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

#include "dsiem/common/log.h"
#include "dsiem/config/directive.h"
#include "dsiem/json/go_reader.h"

namespace dsiem::config {

namespace {

constexpr std::array<std::string_view, 1> kFileKeys = {"assets"};
constexpr std::array<std::string_view, 4> kAssetKeys = {"name", "cidr", "value", "whitelisted"};

// An asset as written, before its checks.
struct RawAsset {
  std::string name, cidr;
  int64_t value = 0;
  bool whitelisted = false;
};

RawAsset decode_asset(simdjson::dom::element item) {
  RawAsset r;
  json::for_each_field(item, kAssetKeys, "asset.NetworkAsset", [&r](int idx, auto f) {
    switch (idx) {
      case 0:
        json::read_string(f, r.name, "NetworkAsset.name");
        break;
      case 1:
        json::read_string(f, r.cidr, "NetworkAsset.cidr");
        break;
      case 2:
        json::read_int(f, r.value, "NetworkAsset.value");
        break;
      case 3:
        json::read_bool(f, r.whitelisted, "NetworkAsset.whitelisted");
        break;
    }
  });
  return r;
}

// -> the asset's position in `set`.
std::size_t upsert(std::vector<Asset>& set, Asset asset) {
  for (std::size_t i = 0; i < set.size(); ++i) {
    if (set[i].cidr == asset.cidr) {
      set[i] = std::move(asset);
      return i;
    }
  }
  set.push_back(std::move(asset));
  return set.size() - 1;
}

}  // namespace

void Assets::add(Asset asset) {
  if (asset.whitelisted) {
    upsert(whitelist_, std::move(asset));
    return;
  }
  std::string text = asset.cidr.to_string();
  const Cidr cidr = asset.cidr;
  const std::size_t position = upsert(assets_, std::move(asset));
  if (position < network_texts_.size()) {
    network_texts_[position] = std::move(text);  // the same CIDR: its place in the order stays
    return;
  }
  network_texts_.push_back(std::move(text));
  if (cidr.is_host()) return;
  // After the networks of the same prefix length: those came first.
  const auto place = std::upper_bound(
      networks_by_prefix_.begin(), networks_by_prefix_.end(), cidr.prefix,
      [this](int prefix, std::size_t i) { return prefix < assets_[i].cidr.prefix; });
  networks_by_prefix_.insert(place, position);
}

void Assets::add_from_json(std::string_view json_text) {
  std::vector<RawAsset> raws;
  simdjson::dom::parser parser;
  try {
    auto root = json::parse(parser, json_text);
    json::for_each_field(root, kFileKeys, "asset.NetworkAssets", [&](int, auto v) {
      json::read_array(v, raws, "NetworkAssets.assets", "[]asset.NetworkAsset",
                       [](simdjson::dom::element item, RawAsset& r) { r = decode_asset(item); });
    });
  } catch (const json::DecodeError& e) {
    throw ConfigError(e.what());
  }
  for (RawAsset& r : raws) {
    auto cidr = Cidr::parse(r.cidr);
    if (!cidr) throw ConfigError("invalid CIDR address: " + r.cidr);
    if (r.value == 0 || r.name.empty()) {
      throw ConfigError("value cannot be 0 and name cannot be empty for " + r.cidr);
    }
    add(Asset{std::move(r.name), *cidr, r.value, r.whitelisted});
  }
}

Assets Assets::load(const std::filesystem::path& configs_dir) {
  std::string dir = configs_dir.string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string prefix = "Cannot initialize assets from " + dir + ": ";
  const auto files = glob_files(configs_dir, "assets_*.json");
  if (files.empty()) {
    throw ConfigError(prefix + "Cannot find asset files in " + dir + "/assets_*.json");
  }
  Assets assets;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(prefix + "cannot read " + path.string());
    std::stringstream buf;
    buf << in.rdbuf();
    try {
      assets.add_from_json(buf.str());
    } catch (const ConfigError& e) {
      throw ConfigError(prefix + e.what());
    }
  }
  log::info("Loaded " + std::to_string(assets.assets_.size()) + " host and/or network assets.");
  log::info("Loaded " + std::to_string(assets.whitelist_.size()) +
            " whitelisted host and/or network assets.");
  return assets;
}

bool Assets::in_home_net(const IpAddress& ip) const {
  return std::any_of(assets_.begin(), assets_.end(),
                     [&ip](const Asset& a) { return a.cidr.contains(ip); });
}

bool Assets::in_home_net(std::string_view ip) const {
  auto parsed = IpAddress::parse(ip);
  return parsed && in_home_net(*parsed);
}

bool Assets::is_whitelisted(std::string_view ip) const {
  if (whitelist_.empty()) return false;
  auto parsed = IpAddress::parse(ip);
  if (!parsed) return false;
  return std::any_of(whitelist_.begin(), whitelist_.end(),
                     [&](const Asset& a) { return a.cidr.contains(*parsed); });
}

int64_t Assets::value(std::string_view ip) const {
  auto parsed = IpAddress::parse(ip);
  if (!parsed) return 0;
  int64_t best = 0;
  bool found = false;
  for (const Asset& a : assets_) {
    if (!a.cidr.contains(*parsed)) continue;
    best = found ? std::max(best, a.value) : a.value;
    found = true;
  }
  return best;
}

std::string_view Assets::name(std::string_view ip) const {
  auto parsed = IpAddress::parse(ip);
  if (!parsed) return {};
  for (const Asset& a : assets_) {
    if (a.cidr.is_host() && a.cidr.contains(*parsed)) return a.name;
  }
  return {};
}

std::vector<std::string_view> Assets::networks(std::string_view ip) const {
  std::vector<std::string_view> out;
  for_each_network(ip, [&out](std::string_view network) { out.push_back(network); });
  return out;
}

}  // namespace dsiem::config
