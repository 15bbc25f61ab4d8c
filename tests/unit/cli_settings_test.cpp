#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "dsiem/cli/cli.h"

namespace dsiem::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMedRiskError =
    "Cannot initialize alarm: Wrong value for medRiskMin or medRiskMax: medRiskMax should be "
    "between 3-10, medRiskMin should be between 2-9, and medRiskMin should be < mdRiskMax";

TEST(CliChecks, DefaultsPass) {
  EXPECT_EQ(check_serve_settings(Settings{}), "");
}

TEST(CliChecks, Mode) {
  Settings s;
  s.mode = "cluster";
  EXPECT_EQ(check_serve_settings(s),
            "Incorrect mode configuration: mode must be standalone || cluster-frontend || "
            "cluster-backend");

  s.mode = "cluster-frontend";
  s.node = "fe";
  EXPECT_EQ(check_serve_settings(s), "");
  s.node.clear();
  EXPECT_EQ(check_serve_settings(s),
            "Incorrect mode configuration: mode cluster-frontend requires msq and node options");
  s.node = "fe";
  s.msq.clear();
  EXPECT_EQ(check_serve_settings(s),
            "Incorrect mode configuration: mode cluster-frontend requires msq and node options");

  s = Settings{};
  s.mode = "cluster-backend";
  s.node = "be";
  s.frontend = "http://dsiem:8080";
  EXPECT_EQ(check_serve_settings(s), "");
  const std::string backend_error =
      "Incorrect mode configuration: mode cluster-backend requires msq, node, and frontend "
      "options";
  s.frontend.clear();
  EXPECT_EQ(check_serve_settings(s), backend_error);
  s.frontend = "http://dsiem:8080";
  s.node.clear();
  EXPECT_EQ(check_serve_settings(s), backend_error);
  s.node = "be";
  s.msq.clear();
  EXPECT_EQ(check_serve_settings(s), backend_error);
}

TEST(CliChecks, Eps) {
  Settings s;
  s.min_eps = 1001;
  EXPECT_EQ(check_serve_settings(s), "Incorrect EPS setting: minEPS must be <= than maxEPS");
  s.min_eps = 1000;
  EXPECT_EQ(check_serve_settings(s), "");
  // Mode comes first.
  s.min_eps = 5000;
  s.mode = "x";
  EXPECT_NE(check_serve_settings(s).find("Incorrect mode configuration"), std::string::npos);
}

TEST(CliChecks, AddressAndPort) {
  Settings s;
  s.address = "localhost";
  EXPECT_EQ(check_serve_settings(s), "Cannot start server: localhost is not a valid IP address");
  s.address = "";
  EXPECT_EQ(check_serve_settings(s), "Cannot start server:  is not a valid IP address");
  s.address = "256.1.1.1";
  EXPECT_EQ(check_serve_settings(s), "Cannot start server: 256.1.1.1 is not a valid IP address");
  for (const char* ok : {"127.0.0.1", "::", "::1", "fe80::1", "::ffff:10.0.0.1"}) {
    s.address = ok;
    EXPECT_EQ(check_serve_settings(s), "") << ok;
  }
  s.address = "0.0.0.0";
  for (int64_t bad : {0, -1, 65536}) {
    s.port = bad;
    EXPECT_EQ(check_serve_settings(s), "Cannot start server: Invalid TCP port number") << bad;
  }
  s.port = 65535;
  EXPECT_EQ(check_serve_settings(s), "");
  s.port = 1;
  EXPECT_EQ(check_serve_settings(s), "");
}

TEST(CliChecks, MedRisk) {
  Settings s;
  s.med_risk_min = 1;
  EXPECT_EQ(check_serve_settings(s), kMedRiskError);
  s.med_risk_min = 3;
  s.med_risk_max = 10;
  EXPECT_EQ(check_serve_settings(s), kMedRiskError);
  s.med_risk_max = 3;
  EXPECT_EQ(check_serve_settings(s), kMedRiskError);
  // Like the reference: min > max is not rejected.
  s.med_risk_min = 5;
  s.med_risk_max = 3;
  EXPECT_EQ(check_serve_settings(s), "");
  s.med_risk_min = 2;
  s.med_risk_max = 9;
  EXPECT_EQ(check_serve_settings(s), "");
  // Alarms do not run on a frontend, so neither do their checks.
  s.med_risk_min = 0;
  s.mode = "cluster-frontend";
  s.node = "fe";
  EXPECT_EQ(check_serve_settings(s), "");
  s.mode = "cluster-backend";
  s.frontend = "http://fe:8080";
  EXPECT_EQ(check_serve_settings(s), kMedRiskError);
}

TEST(CliChecks, EmptyTagsAndStatus) {
  Settings s;
  s.tags.clear();
  EXPECT_EQ(check_serve_settings(s), "Cannot initialize alarm: tags list cannot be empty");
  s = Settings{};
  s.status.clear();
  EXPECT_EQ(check_serve_settings(s), "Cannot initialize alarm: status list cannot be empty");
  s.mode = "cluster-frontend";
  s.node = "fe";
  s.tags.clear();
  EXPECT_EQ(check_serve_settings(s), "");
}

constexpr const char* kDefaultConfig = R"({
  "address": "0.0.0.0",
  "apm": false,
  "cacheduration": 10,
  "debug": false,
  "dev": false,
  "filepattern": "directives_*.json",
  "frontend": "",
  "holdduration": 10,
  "intelprivateip": false,
  "maxdelay": 180,
  "maxeps": 1000,
  "maxqueue": 25000,
  "medriskmax": 6,
  "medriskmin": 3,
  "minalarmlifetime": 0,
  "mineps": 100,
  "mode": "standalone",
  "msq": "nats://dsiem-nats:4222",
  "node": "",
  "port": 8080,
  "pprof": false,
  "status": [
    "Open",
    "In-Progress",
    "Closed"
  ],
  "tags": [
    "Identified Threat",
    "False Positive",
    "Valid Threat",
    "Security Incident"
  ],
  "trace": false,
  "websocket": false,
  "writeableconfig": false
})";

TEST(CliConfigJson, Defaults) {
  EXPECT_EQ(dsiem_config_json(Settings{}), kDefaultConfig);
}

TEST(CliConfigJson, EnvSourcedValuesAreStrings) {
  Settings s;
  s.port = 31;
  s.debug = true;
  s.max_eps = 0;
  s.node = "a<b";
  s.tags = {"A", "B"};
  s.status.clear();
  for (const char* k : {"port", "debug", "maxeps", "node", "tags", "status"}) s.from_env.insert(k);
  s.env_text = {{"port", "0x1F"}, {"debug", "1"},  {"maxeps", "abc"},
                {"node", "a<b"},  {"tags", "A B"}, {"status", "  "}};
  s.apm = true;                   // from a flag: stays a bool
  s.from_env.insert("maxdelay");  // no raw text known: the value is written as a string
  const std::string json = dsiem_config_json(s);
  EXPECT_NE(json.find("\n  \"port\": \"0x1F\",\n"), std::string::npos) << json;
  EXPECT_NE(json.find("\n  \"debug\": \"1\",\n"), std::string::npos);
  EXPECT_NE(json.find("\n  \"maxeps\": \"abc\",\n"), std::string::npos);
  EXPECT_NE(json.find("\n  \"maxdelay\": \"180\",\n"), std::string::npos);
  EXPECT_NE(json.find("\n  \"node\": \"a\\u003cb\",\n"), std::string::npos);
  EXPECT_NE(json.find("\n  \"apm\": true,\n"), std::string::npos);
  EXPECT_NE(json.find("\n  \"status\": [],\n"), std::string::npos);
  EXPECT_NE(json.find("\n  \"tags\": [\n    \"A\",\n    \"B\"\n  ],\n"), std::string::npos);
  EXPECT_NE(json.find("\n  \"mode\": \"standalone\",\n"), std::string::npos);
  EXPECT_EQ(json.back(), '}');
}

// Restores the working directory when a test changes it.
class CwdGuard {
 public:
  CwdGuard() : saved_(fs::current_path()) {}
  ~CwdGuard() { fs::current_path(saved_); }

 private:
  fs::path saved_;
};

TEST(CliBaseDir, ExecutableDirectoryByDefault) {
  const fs::path exe_dir = fs::read_symlink("/proc/self/exe").parent_path();
  EXPECT_EQ(base_dir(false), exe_dir);
  CwdGuard guard;
  fs::current_path("/");
  EXPECT_EQ(base_dir(false), exe_dir);
}

TEST(CliBaseDir, DevCutsTheWorkingDirectoryAfterTheFirstDsiem) {
  CwdGuard guard;
  const fs::path root = fs::temp_directory_path() / ("cli_base_dir_" + std::to_string(getpid()));
  const fs::path deep = root / "src" / "mydsiemx" / "cmd" / "dsiem";
  fs::create_directories(deep);
  fs::current_path(deep);
  const std::string cwd = fs::current_path().string();
  EXPECT_EQ(base_dir(true).string(), cwd.substr(0, cwd.find("dsiem") + 5));
  if (root.string().find("dsiem") == std::string::npos) {
    EXPECT_EQ(base_dir(true), fs::canonical(root) / "src" / "mydsiem");
    // No "dsiem" in the working directory: back to the executable's directory.
    fs::current_path(root);
    EXPECT_EQ(base_dir(true), fs::read_symlink("/proc/self/exe").parent_path());
  }
  fs::current_path("/");
  fs::remove_all(root);
}

}  // namespace
}  // namespace dsiem::cli
