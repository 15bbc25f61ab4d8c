#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dsiem::config {

// An intel or vuln source of configs/intel_*.json / vuln_*.json (assets_and_intel.md §4).
struct LookupSource {
  std::string name;
  std::string type;
  std::string plugin;
  bool enabled = false;
  std::string config;  // plugin-specific JSON text
  std::string url;     // the "url" of `config`
};

enum class LookupKind { kIntel, kVuln };

// Loads the enabled, usable sources of every intel_*.json (or vuln_*.json) file of
// `configs_dir`. Unknown plugins and unusable configs are skipped with the WARN of the spec.
// Throws ConfigError ("Cannot initialize threat intel: <err>" /
// "Cannot initialize Vulnerability scan result: <err>") when a file does not decode.
std::vector<LookupSource> load_lookup_sources(const std::filesystem::path& configs_dir,
                                              LookupKind kind);

}  // namespace dsiem::config
