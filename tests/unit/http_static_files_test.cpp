#include "dsiem/http/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>

namespace {

namespace fs = std::filesystem;
using dsiem::http::Request;
using dsiem::http::Response;
using dsiem::http::Router;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("dsiem-static-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "assets" / "config");
    fs::create_directories(root_ / "empty");
    write(root_ / "index.html", "<html>ui</html>");
    write(root_ / "assets" / "app.js", "console.log(1)");
    write(root_ / "assets" / "config" / "esconfig.json", "{}");
    write(root_.parent_path() / "secret.json", "secret");
    dsiem::http::add_static_route(router_, "/ui/", root_);
  }
  void TearDown() override {
    fs::remove_all(root_);
    fs::remove(root_.parent_path() / "secret.json");
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  Response get(const std::string& path) {
    Request req;
    req.method = "GET";
    req.path = path;
    req.host = "127.0.0.1:8080";
    std::optional<Response> out;
    router_.dispatch(std::move(req), [&out](Response r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value());
    return out.value_or(Response{});
  }

  fs::path root_;
  Router router_;
};

TEST_F(StaticFilesTest, ServesIndexForTheRoot) {
  const Response r = get("/ui/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<html>ui</html>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
}

TEST_F(StaticFilesTest, ServesFilesWithTheirType) {
  const Response js = get("/ui/assets/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/ui/assets/config/esconfig.json").content_type, "application/json");
}

TEST_F(StaticFilesTest, RedirectsTheBarePrefix) {
  const Response r = get("/ui");
  EXPECT_EQ(r.status, 301);
}

TEST_F(StaticFilesTest, ListsADirectoryWithoutIndex) {
  const Response r = get("/ui/assets/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("app.js"), std::string::npos);
  EXPECT_NE(r.body.find("config/"), std::string::npos);
}

TEST_F(StaticFilesTest, MissingAndEscapingPathsAreNotFound) {
  EXPECT_EQ(get("/ui/nope.js").status, 404);
  EXPECT_EQ(get("/ui/../secret.json").status, 404);
  EXPECT_EQ(get("/ui/%2e%2e/secret.json").status, 404);
}

}  // namespace
