#include "dsiem/node/config_pull.h"

#include <array>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "dsiem/common/log.h"
#include "dsiem/http/client.h"
#include "dsiem/json/go_reader.h"

namespace dsiem::node {

namespace {

constexpr auto kTimeout = std::chrono::seconds(10);
constexpr int kTries = 3;
constexpr auto kRetryPause = std::chrono::seconds(1);
constexpr std::array<std::string_view, 1> kListKeys = {"files"};
constexpr std::array<std::string_view, 1> kFileKeys = {"filename"};

http::ClientResponse get_ok(const std::string& url) {
  std::string reason;
  for (int attempt = 1; attempt <= kTries; ++attempt) {
    try {
      http::ClientResponse res = http::get(url, kTimeout);
      if (res.status >= 200 && res.status < 300) return res;
      reason = "HTTP status " + std::to_string(res.status);
    } catch (const std::exception& e) {
      reason = e.what();
    }
    log::warn("cannot download " + url + " (try " + std::to_string(attempt) + "/" +
              std::to_string(kTries) + "): " + reason);
    if (attempt < kTries) std::this_thread::sleep_for(kRetryPause);
  }
  throw std::runtime_error(url + ": " + reason);
}

std::string decode_file_name(simdjson::dom::element item) {
  std::string name;
  json::for_each_field(item, kFileKeys, "server.configFile",
                       [&name](int, auto v) { json::read_string(v, name, "configFile.filename"); });
  return name;
}

std::vector<std::string> parse_listing(const std::string& url, const std::string& body) {
  std::vector<std::string> names;
  simdjson::dom::parser parser;
  try {
    auto root = json::parse(parser, body);
    json::for_each_field(root, kListKeys, "server.configFiles", [&](int, auto files) {
      json::read_array(
          files, names, "configFiles.files", "[]server.configFile",
          [](simdjson::dom::element item, std::string& name) { name = decode_file_name(item); });
    });
  } catch (const json::DecodeError& e) {
    throw std::runtime_error(url + ": " + e.what());
  }
  return names;
}

}  // namespace

bool wanted_by_backend(const std::string& name, const std::string& node) {
  for (const std::string prefix : {"assets_", "vuln_", "intel_"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return name.rfind("directives_" + node + "_", 0) == 0;
}

std::vector<std::string> pull_configs(const std::string& frontend, const std::string& node,
                                      const std::filesystem::path& configs_dir) {
  const std::string list_url = frontend + "/config/";
  const auto listing = get_ok(list_url);
  std::vector<std::string> written;
  std::error_code ec;
  std::filesystem::create_directories(configs_dir, ec);
  for (const std::string& name : parse_listing(list_url, listing.body)) {
    // Names come from another host: never let one escape the configs directory.
    if (!wanted_by_backend(name, node) || name.find('/') != std::string::npos) continue;
    const std::string url = frontend + "/config/" + name;
    log::info("downloading " + url);
    const auto res = get_ok(url);
    const auto target = configs_dir / name;
    const auto temp = configs_dir / ("." + name + ".download");
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      out.write(res.body.data(), static_cast<std::streamsize>(res.body.size()));
      if (!out.good()) throw std::runtime_error(url + ": cannot write " + temp.string());
    }
    std::filesystem::rename(temp, target, ec);
    if (ec)
      throw std::runtime_error(url + ": cannot write " + target.string() + ": " + ec.message());
    written.push_back(name);
  }
  return written;
}

}  // namespace dsiem::node
