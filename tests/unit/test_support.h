#pragma once

// Shared helpers of the correlation / alarm unit tests.

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/alarm/record_sink.h"
#include "dsiem/config/assets.h"
#include "dsiem/config/directive.h"
#include "dsiem/event/event.h"

namespace dsiem::test {

// A RecordSink that keeps every line, in order. Thread-safe (the Pipeline calls it from its
// shard threads).
class CapturingSink final : public alarm::RecordSink {
 public:
  void write_link(std::string line) override {
    std::lock_guard lock(mu_);
    links_.push_back(line);
    sequence_.push_back("link " + line);
  }
  void write_alarm(std::string line) override {
    std::lock_guard lock(mu_);
    alarms_.push_back(line);
    sequence_.push_back("alarm " + line);
  }
  std::vector<std::string> links() const {
    std::lock_guard lock(mu_);
    return links_;
  }
  std::vector<std::string> alarms() const {
    std::lock_guard lock(mu_);
    return alarms_;
  }
  // Both kinds interleaved in write order, prefixed "link " / "alarm ".
  std::vector<std::string> sequence() const {
    std::lock_guard lock(mu_);
    return sequence_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    links_.clear();
    alarms_.clear();
    sequence_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> links_;
  std::vector<std::string> alarms_;
  std::vector<std::string> sequence_;
};

// configs/assets_testing.json (assets_and_intel.md §1).
inline constexpr std::string_view kTestingAssets = R"({ "assets": [
  { "name": "Firewall", "cidr": "192.168.0.1/32", "value": 5 },
  { "name": "VulnerabilityScanner", "cidr": "192.168.0.2/32", "value": 5, "whitelisted": true },
  { "name": "192-168-Net", "cidr": "192.168.0.0/16", "value": 2 },
  { "name": "10-Net", "cidr": "10.0.0.0/8", "value": 2 },
  { "name": "172-16-Net", "cidr": "172.16.0.0/12", "value": 2 } ] })";

// Directive 1 of directives.md §9 and directive 2 of alarms.md §5 Example B.
inline constexpr std::string_view kTestingDirectives = R"({"directives": [
  { "id": 1, "name": "Ping Flood from SRC_IP", "priority": 3,
    "kingdom": "Reconnaissance & Probing", "category": "Misc Activity",
    "rules": [
      { "name": "ICMP Ping", "type": "PluginRule", "stage": 1, "plugin_id": 1001,
        "plugin_sid": [2100384], "occurrence": 1, "from": "HOME_NET", "to": "ANY",
        "port_from": "ANY", "port_to": "ANY", "protocol": "ICMP", "reliability": 1, "timeout": 0 },
      { "name": "ICMP Ping", "type": "PluginRule", "stage": 2, "plugin_id": 1001,
        "plugin_sid": [2100384], "occurrence": 3, "from": ":1", "to": "ANY",
        "port_from": "ANY", "port_to": "ANY", "protocol": "ICMP", "reliability": 6,
        "timeout": 600 },
      { "name": "ICMP Ping", "type": "PluginRule", "stage": 3, "plugin_id": 1001,
        "plugin_sid": [2100384], "occurrence": 10000, "from": ":1", "to": "ANY",
        "port_from": "ANY", "port_to": "ANY", "protocol": "ICMP", "reliability": 10,
        "timeout": 3600 } ] },
  { "id": 2, "name": "Ping Flood to DST_IP", "priority": 3,
    "kingdom": "Reconnaissance & Probing", "category": "Misc Activity",
    "rules": [
      { "name": "ICMP Ping", "type": "PluginRule", "stage": 1, "plugin_id": 1001,
        "plugin_sid": [2100384], "occurrence": 1, "from": "ANY", "to": "HOME_NET",
        "port_from": "ANY", "port_to": "ANY", "protocol": "ICMP", "reliability": 1, "timeout": 0 },
      { "name": "ICMP Ping", "type": "PluginRule", "stage": 2, "plugin_id": 1001,
        "plugin_sid": [2100384], "occurrence": 3, "from": "ANY", "to": ":1",
        "port_from": "ANY", "port_to": "ANY", "protocol": "ICMP", "reliability": 6,
        "timeout": 3600 },
      { "name": "ICMP Ping", "type": "PluginRule", "stage": 3, "plugin_id": 1001,
        "plugin_sid": [2100384], "occurrence": 10000, "from": "ANY", "to": ":1",
        "port_from": "ANY", "port_to": "ANY", "protocol": "ICMP", "reliability": 10,
        "timeout": 3600 } ] } ]})";

inline std::shared_ptr<const config::Assets> assets_from_json(std::string_view json) {
  auto assets = std::make_shared<config::Assets>();
  assets->add_from_json(json);
  return assets;
}

inline std::shared_ptr<const config::Assets> testing_assets() {
  return assets_from_json(kTestingAssets);
}

// Decodes and validates a directives document; every directive in it must be valid.
inline std::vector<config::Directive> directives_from_json(std::string_view json) {
  config::DirectiveSet set;
  config::accept_directives(config::decode_directives(json, "test_directives.json"), set);
  EXPECT_EQ(set.directives.size(), set.total) << "a test directive is invalid";
  return std::move(set.directives);
}

inline config::Directive testing_directive(int64_t id) {
  for (config::Directive& d : directives_from_json(kTestingDirectives)) {
    if (d.id == id) return d;
  }
  ADD_FAILURE() << "no testing directive " << id;
  return {};
}

// Unix seconds as "YYYY-MM-DDTHH:MM:SSZ".
inline std::string rfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A plugin event (1001/2100384 unless changed by the caller). rcvd_time = ts + 1 s.
inline event::Event make_event(std::string id, std::string src, std::string dst, int64_t ts,
                               int64_t plugin_id = 1001, int64_t plugin_sid = 2100384) {
  event::Event e;
  e.event_id = std::move(id);
  e.timestamp = rfc3339(ts);
  e.title = "ICMP Ping";
  e.sensor = "sensor1";
  e.plugin_id = plugin_id;
  e.plugin_sid = plugin_sid;
  e.src_ip = std::move(src);
  e.dst_ip = std::move(dst);
  e.protocol = "ICMP";
  e.rcvd_time = (ts + 1) * 1'000'000'000;
  return e;
}

// The string value of `"key":"..."` in a JSON line (no unescaping), or "".
inline std::string string_field(const std::string& line, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  const auto pos = line.find(needle);
  if (pos == std::string::npos) return "";
  const auto start = pos + needle.size();
  return line.substr(start, line.find('"', start) - start);
}

inline std::string alarm_id_of(const std::string& line) {
  return string_field(line, "alarm_id");
}

inline std::string link_line(std::string_view alarm_id, int stage, std::string_view event_id) {
  return "{\"alarm_id\":\"" + std::string(alarm_id) + "\",\"stage\":" + std::to_string(stage) +
         ",\"event_id\":\"" + std::string(event_id) + "\"}";
}

// Replaces every alarm ID (the value of "alarm_id") by A1, A2, ... in order of first appearance,
// so outputs of different runs can be compared.
inline std::vector<std::string> normalize_ids(const std::vector<std::string>& lines) {
  std::map<std::string, std::string> names;
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    const std::string id = alarm_id_of(line);
    std::string copy = line;
    if (!id.empty()) {
      auto [it, inserted] = names.try_emplace(id, "A" + std::to_string(names.size() + 1));
      const std::string needle = "\"alarm_id\":\"" + id + "\"";
      copy.replace(copy.find(needle), needle.size(), "\"alarm_id\":\"" + it->second + "\"");
    }
    out.push_back(std::move(copy));
  }
  return out;
}

// A fresh, empty directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    const auto base = std::filesystem::temp_directory_path();
    for (;;) {
      path_ = base / ("dsiem_unit_" + std::to_string(rd()) + std::to_string(rd()));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, std::string_view content) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << content;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace dsiem::test
