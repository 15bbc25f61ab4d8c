#include "dsiem/config/lookup_sources.h"

#include <array>
#include <fstream>
#include <sstream>

#include "dsiem/common/log.h"
#include "dsiem/config/directive.h"
#include "dsiem/json/go_reader.h"

namespace dsiem::config {

namespace {

constexpr std::array<std::string_view, 5> kSourceKeys = {"name", "type", "plugin", "enabled",
                                                         "config"};
constexpr std::array<std::string_view, 1> kUrlKeys = {"url"};

struct KindInfo {
  std::string_view glob, list_key, word, known_plugin, error_prefix, loaded_text;
};

LookupSource decode_source(simdjson::dom::element item) {
  LookupSource s;
  json::for_each_field(item, kSourceKeys, "Source", [&s](int idx, auto f) {
    switch (idx) {
      case 0:
        json::read_string(f, s.name, "Source.name");
        break;
      case 1:
        json::read_string(f, s.type, "Source.type");
        break;
      case 2:
        json::read_string(f, s.plugin, "Source.plugin");
        break;
      case 3:
        json::read_bool(f, s.enabled, "Source.enabled");
        break;
      case 4:
        json::read_string(f, s.config, "Source.config");
        break;
    }
  });
  return s;
}

KindInfo info(LookupKind kind) {
  if (kind == LookupKind::kIntel) {
    return {"intel_*.json",
            "intel_sources",
            "intel",
            "Wise",
            "Cannot initialize threat intel: ",
            " threat intelligence sources."};
  }
  return {"vuln_*.json",
          "vuln_sources",
          "vuln",
          "Nesd",
          "Cannot initialize Vulnerability scan result: ",
          " vulnerability scan result sources."};
}

}  // namespace

std::vector<LookupSource> load_lookup_sources(const std::filesystem::path& configs_dir,
                                              LookupKind kind) {
  const KindInfo k = info(kind);
  const std::array<std::string_view, 1> file_keys = {k.list_key};
  std::vector<LookupSource> accepted;
  for (const auto& path : glob_files(configs_dir, k.glob)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    std::vector<LookupSource> sources;
    simdjson::dom::parser parser;
    try {
      auto root = json::parse(parser, text);
      json::for_each_field(root, file_keys, "xcorrelator.Sources", [&](int, auto v) {
        json::read_array(
            v, sources, "Sources." + std::string(k.list_key), "[]Source",
            [](simdjson::dom::element item, LookupSource& s) { s = decode_source(item); });
      });
    } catch (const json::DecodeError& e) {
      throw ConfigError(std::string(k.error_prefix) + path.string() + ": " + e.what());
    }
    for (LookupSource& s : sources) {
      if (!s.enabled) continue;
      if (s.plugin != k.known_plugin) {
        log::warn("Cannot find " + std::string(k.word) + " plugin " + s.plugin);
        continue;
      }
      try {
        simdjson::dom::parser cfg_parser;
        auto cfg = json::parse(cfg_parser, s.config);
        json::for_each_field(cfg, kUrlKeys, "config",
                             [&s](int, auto f) { json::read_string(f, s.url, "config.url"); });
      } catch (const json::DecodeError& e) {
        log::warn("Cannot initialize " + std::string(k.word) + " plugin " + s.plugin + ": " +
                  e.what());
        continue;
      }
      log::info("Adding " + std::string(k.word) + " plugin " + s.plugin);
      accepted.push_back(std::move(s));
    }
  }
  log::info("Loaded " + std::to_string(accepted.size()) + std::string(k.loaded_text));
  return accepted;
}

}  // namespace dsiem::config
