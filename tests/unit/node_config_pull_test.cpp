#include "dsiem/node/config_pull.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "dsiem/http/client.h"
#include "dsiem/http/config_routes.h"
#include "dsiem/http/router.h"
#include "dsiem/http/server.h"

namespace {

namespace fs = std::filesystem;
using dsiem::node::pull_configs;
using dsiem::node::wanted_by_backend;

TEST(ConfigPull, WantedFilesFollowThePrefixRule) {
  EXPECT_TRUE(wanted_by_backend("assets_testing.json", "dsiem-backend-0"));
  EXPECT_TRUE(wanted_by_backend("intel_wise.json", "dsiem-backend-0"));
  EXPECT_TRUE(wanted_by_backend("vuln_nessus.json", "dsiem-backend-0"));
  EXPECT_TRUE(wanted_by_backend("directives_dsiem-backend-0_a.json", "dsiem-backend-0"));
  // cluster.md §3: a prefix test on "directives_<node>_".
  EXPECT_FALSE(wanted_by_backend("directives_dsiem-backend-0_a.json", "dsiem-backend"));
  EXPECT_TRUE(wanted_by_backend("directives_dsiem-backend_a.json", "dsiem-backend"));
  EXPECT_FALSE(wanted_by_backend("directives_dsiem-backend-1_a.json", "dsiem-backend-0"));
  EXPECT_FALSE(wanted_by_backend("kingdom.json", "dsiem-backend-0"));
  EXPECT_FALSE(wanted_by_backend("dsiem_config.json", "dsiem-backend-0"));
}

class ConfigPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("dsiem-pull-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "frontend");
    fs::create_directories(root_ / "backend");
    write("assets_a.json", R"({"assets":[]})");
    write("directives_b0_x.json", R"({"directives":[]})");
    write("directives_b1_y.json", R"({"directives":[]})");
    write("kingdom.json", "{}");
  }
  void TearDown() override {
    if (server_) server_->stop();
    fs::remove_all(root_);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / "frontend" / name) << text;
  }
  // Serves the frontend folder like a cluster-frontend; `extra` may replace routes.
  std::string start(const std::function<void(dsiem::http::Router&)>& extra = {}) {
    auto router = std::make_shared<dsiem::http::Router>();
    dsiem::http::add_config_routes(*router, root_ / "frontend", false);
    if (extra) extra(*router);  // a route added again replaces the first one
    dsiem::http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    server_ = std::make_unique<dsiem::http::Server>(options, router);
    server_->start();
    return "http://127.0.0.1:" + std::to_string(server_->port());
  }
  std::string read_backend(const std::string& name) {
    std::ifstream in(root_ / "backend" / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path root_;
  std::unique_ptr<dsiem::http::Server> server_;
};

TEST_F(ConfigPullTest, DownloadsOnlyTheNodesFiles) {
  const std::string url = start();
  const auto written = pull_configs(url, "b0", root_ / "backend");
  EXPECT_EQ(written, (std::vector<std::string>{"assets_a.json", "directives_b0_x.json"}));
  EXPECT_EQ(read_backend("directives_b0_x.json"), R"({"directives":[]})");
  EXPECT_FALSE(fs::exists(root_ / "backend" / "directives_b1_y.json"));
  EXPECT_FALSE(fs::exists(root_ / "backend" / "kingdom.json"));
  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(root_ / "backend")) {
    EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
  }
}

TEST_F(ConfigPullTest, AnErrorPageIsAFailureNotAConfig) {
  // The listing names a file that then fails (400 "cannot open", cluster.md §4.3): a non-2xx
  // answer is a failure, never saved as a config (decisions.md §2).
  const std::string url = start([](dsiem::http::Router& r) {
    r.add("GET", "/config/", [](dsiem::http::Request&&, dsiem::http::Responder respond) {
      dsiem::http::Response res;
      res.body = R"({"files":[{"filename":"assets_gone.json"}]})";
      respond(std::move(res));
    });
  });
  try {
    pull_configs(url, "b0", root_ / "backend");
    FAIL() << "expected a failure";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), url + "/config/assets_gone.json: HTTP status 400");
  }
  EXPECT_FALSE(fs::exists(root_ / "backend" / "assets_gone.json"));
}

TEST_F(ConfigPullTest, AnUnreachableFrontendFails) {
  const std::string url = start();
  server_->stop();
  server_.reset();
  EXPECT_THROW(pull_configs(url, "b0", root_ / "backend"), std::runtime_error);
}

TEST_F(ConfigPullTest, ClientFollowsRedirects) {
  const std::string url = start();
  // "/config" is redirected to "/config/" by the router (301), as the reference's pull relies on.
  const auto res = dsiem::http::get(url + "/config", std::chrono::seconds(5));
  EXPECT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("\"filename\": \"assets_a.json\""), std::string::npos) << res.body;
}

TEST(HttpClient, RejectsUnsupportedUrls) {
  EXPECT_THROW(dsiem::http::get("https://127.0.0.1:1/", std::chrono::seconds(1)),
               std::runtime_error);
  EXPECT_THROW(dsiem::http::get("http:///x", std::chrono::seconds(1)), std::runtime_error);
}

}  // namespace
