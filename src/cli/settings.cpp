#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "dsiem/cli/cli.h"
#include "dsiem/cli/go_values.h"
#include "dsiem/json/go_writer.h"

namespace dsiem::cli {
namespace {

// net.ParseIP: an IPv4 dotted quad or any IPv6 text form (no zone).
bool is_ip_literal(const std::string& addr) {
  in6_addr buf{};
  return inet_pton(AF_INET, addr.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, addr.c_str(), &buf) == 1;
}

class ConfigWriter {
 public:
  explicit ConfigWriter(const Settings& s) : s_(s) {}

  void add(std::string_view key, bool v) { add_raw(key, v ? "true" : "false"); }
  void add(std::string_view key, int64_t v) { add_raw(key, std::to_string(v)); }
  void add(std::string_view key, const std::string& v) {
    std::string text;
    json::append_string(text, v);
    add_raw(key, text);
  }
  void add(std::string_view key, const std::vector<std::string>& v) {
    add_value_prefix(key);
    out_ += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_ += ',';
      json::append_string(out_, v[i]);
    }
    out_ += ']';
  }

  // MarshalIndent's layout of the compact object.
  std::string finish() {
    out_ += '}';
    return json::indent(out_);
  }

 private:
  // viper hands env-sourced values over untyped, so encoding/json writes them as strings.
  void add_raw(std::string_view key, const std::string& typed) {
    add_value_prefix(key);
    const std::string k(key);
    if (s_.from_env.count(k) == 0) {
      out_ += typed;
      return;
    }
    const auto it = s_.env_text.find(k);
    if (it != s_.env_text.end()) {
      json::append_string(out_, it->second);
    } else if (!typed.empty() && typed.front() == '"') {
      out_ += typed;  // already a string
    } else {
      json::append_string(out_, typed);
    }
  }
  void add_value_prefix(std::string_view key) {
    out_ += first_ ? "{" : ",";
    first_ = false;
    json::append_key(out_, key);
  }

  const Settings& s_;
  std::string out_;
  bool first_ = true;
};

}  // namespace

std::string check_serve_settings(const Settings& s) {
  const std::string mode_err = "Incorrect mode configuration: ";
  if (s.mode != "standalone" && s.mode != "cluster-frontend" && s.mode != "cluster-backend") {
    return mode_err + "mode must be standalone || cluster-frontend || cluster-backend";
  }
  if (s.mode == "cluster-frontend" && (s.msq.empty() || s.node.empty())) {
    return mode_err + "mode cluster-frontend requires msq and node options";
  }
  if (s.mode == "cluster-backend" && (s.frontend.empty() || s.msq.empty() || s.node.empty())) {
    return mode_err + "mode cluster-backend requires msq, node, and frontend options";
  }
  if (s.min_eps > s.max_eps) return "Incorrect EPS setting: minEPS must be <= than maxEPS";
  if (!is_ip_literal(s.address)) {
    return "Cannot start server: " + s.address + " is not a valid IP address";
  }
  if (s.port < 1 || s.port > 65535) return "Cannot start server: Invalid TCP port number";
  if (s.mode == "cluster-frontend") return "";
  // The reference's text verbatim, typos included (overview.md §4).
  if (s.med_risk_min < 2 || s.med_risk_max > 9 || s.med_risk_min == s.med_risk_max) {
    return "Cannot initialize alarm: Wrong value for medRiskMin or medRiskMax: medRiskMax should "
           "be between 3-10, medRiskMin should be between 2-9, and medRiskMin should be < "
           "mdRiskMax";
  }
  // Go indexes the first element and crashes; dsiem-cpp refuses to start (decisions.md §8).
  if (s.tags.empty()) return "Cannot initialize alarm: tags list cannot be empty";
  if (s.status.empty()) return "Cannot initialize alarm: status list cannot be empty";
  return "";
}

std::string dsiem_config_json(const Settings& s) {
  ConfigWriter w(s);
  // Keys in sorted order, as encoding/json writes a map.
  w.add("address", s.address);
  w.add("apm", s.apm);
  w.add("cacheduration", s.cache_duration);
  w.add("debug", s.debug);
  w.add("dev", s.dev);
  w.add("filepattern", s.file_pattern);
  w.add("frontend", s.frontend);
  w.add("holdduration", s.hold_duration);
  w.add("intelprivateip", s.intel_private_ip);
  w.add("maxdelay", s.max_delay);
  w.add("maxeps", s.max_eps);
  w.add("maxqueue", s.max_queue);
  w.add("medriskmax", s.med_risk_max);
  w.add("medriskmin", s.med_risk_min);
  w.add("minalarmlifetime", s.min_alarm_lifetime);
  w.add("mineps", s.min_eps);
  w.add("mode", s.mode);
  w.add("msq", s.msq);
  w.add("node", s.node);
  w.add("port", s.port);
  w.add("pprof", s.pprof);
  // The reference converts both lists to real slices before writing, even when env-sourced.
  w.add("status", s.status);
  w.add("tags", s.tags);
  w.add("trace", s.trace);
  w.add("websocket", s.websocket);
  w.add("writeableconfig", s.writeable_config);
  return w.finish();
}

std::filesystem::path base_dir(bool dev) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe_dir;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    exe_dir = exe.parent_path();
  } else {
    exe_dir = fs::current_path(ec);
  }
  if (dev) {
    const fs::path cwd = fs::current_path(ec);
    if (!ec) {
      const std::string text = cwd.string();
      const size_t pos = text.find("dsiem");
      if (pos != std::string::npos) return fs::path(text.substr(0, pos + 5));
    }
  }
  return exe_dir;
}

}  // namespace dsiem::cli
