// The /config routes (cluster.md §4.2–4.5) against a temporary configs directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "dsiem/http/config_routes.h"

namespace dsiem::http {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBadNameGet =
    "Not a valid filename, should be in any_N4m3-that_you_want.json format\n";
constexpr const char* kBadNamePost =
    "Not a valid filename, should be in any_N4m3_you_want.json format\n";
constexpr const char* kInvalid = "Invalid content detected, parsing error message is: ";

std::string header(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

Response call(const Router& router, std::string method, std::string path, std::string body = "") {
  Request req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.host = "localhost";
  req.body = std::move(body);
  std::optional<Response> out;
  router.dispatch(std::move(req), [&](Response res) { out = std::move(res); });
  EXPECT_TRUE(out.has_value());
  return out.value_or(Response{-1, "", "", {}});
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
}

class ConfigRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dsiem_cfg_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    add_config_routes(ro_, dir_, false);
    add_config_routes(rw_, dir_, true);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  Router ro_;
  Router rw_;
};

TEST_F(ConfigRoutesTest, ListEmptyDirectoryIsNull) {
  auto r = call(ro_, "GET", "/config/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\n  \"files\": null\n}");
}

TEST_F(ConfigRoutesTest, ListIsSortedIndentedAndIncludesEverything) {
  write_file(dir_ / "directives_dsiem-backend-0_testing1.json", "{}");
  write_file(dir_ / "assets_testing.json", "{}");
  write_file(dir_ / "dsiem_config.json", "{}");
  fs::create_directory(dir_ / "Sub");
  auto r = call(ro_, "GET", "/config/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\n"
            "  \"files\": [\n"
            "    {\n      \"filename\": \"Sub\"\n    },\n"
            "    {\n      \"filename\": \"assets_testing.json\"\n    },\n"
            "    {\n      \"filename\": \"directives_dsiem-backend-0_testing1.json\"\n    },\n"
            "    {\n      \"filename\": \"dsiem_config.json\"\n    }\n"
            "  ]\n"
            "}");
}

TEST_F(ConfigRoutesTest, ListUnreadableDirectoryIs500) {
  Router r;
  add_config_routes(r, dir_ / "missing", false);
  auto res = call(r, "GET", "/config/");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, "Error reading config directory");
}

TEST_F(ConfigRoutesTest, DownloadReturnsRawBytes) {
  std::string content = "{\"a\": 1}\n\x01\xFFtail";
  write_file(dir_ / "assets_x.json", content);
  auto r = call(ro_, "GET", "/config/assets_x.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, content);
  // Through the cleaned path as well.
  EXPECT_EQ(call(ro_, "GET", "/config//assets_x.json").body, content);
}

TEST_F(ConfigRoutesTest, DownloadErrors) {
  auto r = call(ro_, "GET", "/config/missing.json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "cannot open missing.json");
  fs::create_directory(dir_ / "dir.json");
  r = call(ro_, "GET", "/config/dir.json");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "cannot read dir.json");
}

TEST_F(ConfigRoutesTest, InvalidNamesGet418) {
  write_file(dir_ / "test.json.foo", "secret");
  write_file(dir_ / "payload.exe", "secret");
  for (const char* name : {"_.json", "..x.json", "test.json.foo", "payload.exe", "%C3%A9.json",
                           "a%C3%A9b.json", "-a.json", "ajson", "a%0Ajson", ".json"}) {
    auto r = call(ro_, "GET", std::string("/config/") + name);
    EXPECT_EQ(r.status, 418) << name;
    EXPECT_EQ(r.body, kBadNameGet) << name;
  }
}

TEST_F(ConfigRoutesTest, UnescapedDotAcceptsAnyCharacter) {
  write_file(dir_ / "abcXjson", "x");
  auto r = call(ro_, "GET", "/config/abcXjson");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "x");
  // Valid name, missing file: past the name check.
  EXPECT_EQ(call(ro_, "GET", "/config/a.json").status, 400);
}

TEST(ConfigFilenameTest, RegexSemantics) {
  EXPECT_TRUE(is_valid_config_filename("a.json"));
  EXPECT_TRUE(is_valid_config_filename("abcXjson"));
  EXPECT_TRUE(is_valid_config_filename("abjson"));
  EXPECT_TRUE(is_valid_config_filename("assets_testing.json"));
  EXPECT_TRUE(is_valid_config_filename("directives_dsiem-backend-0_testing1.json"));
  EXPECT_TRUE(is_valid_config_filename("a-b_c.json"));
  EXPECT_TRUE(is_valid_config_filename("a\xC3\xA9json"));  // '.' matches one code point
  EXPECT_TRUE(is_valid_config_filename("a\xFFjson"));      // or one invalid byte
  EXPECT_FALSE(is_valid_config_filename("a\xC3\xA9\xC3\xA9json"));
  EXPECT_FALSE(is_valid_config_filename("ajson"));
  EXPECT_FALSE(is_valid_config_filename("a\njson"));
  EXPECT_FALSE(is_valid_config_filename("_.json"));
  EXPECT_FALSE(is_valid_config_filename("..x.json"));
  EXPECT_FALSE(is_valid_config_filename("test.json.foo"));
  EXPECT_FALSE(is_valid_config_filename("payload.exe"));
  EXPECT_FALSE(is_valid_config_filename("a.b.json"));
  EXPECT_FALSE(is_valid_config_filename("\xC3\xA9.json"));
  EXPECT_FALSE(is_valid_config_filename("a.JSON"));
  EXPECT_FALSE(is_valid_config_filename(""));
}

TEST_F(ConfigRoutesTest, UploadValidContent) {
  std::string body = "{\"assets\":[{\"name\":\"a\",\"cidr\":\"10.0.0.0/8\",\"value\":5}]}";
  auto r = call(rw_, "POST", "/config/assets_x.json", body);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "File assets_x.json uploaded successfully\n");
  EXPECT_EQ(read_file(dir_ / "assets_x.json"), body);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "assets_x.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Overwrite replaces (no append), and no temporary file is left behind.
  std::string body2 = "{\"ASSETS\":[{}]}";
  EXPECT_EQ(call(rw_, "POST", "/config/assets_x.json", body2).status, 201);
  EXPECT_EQ(read_file(dir_ / "assets_x.json"), body2);
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);

  EXPECT_EQ(
      call(rw_, "POST", "/config/directives_n_a.json", "{\"directives\":[{\"id\":1}]}").status,
      201);
  EXPECT_EQ(
      call(rw_, "POST", "/config/intel_a.json", "{\"intel_sources\":[{\"name\":\"x\"}]}").status,
      201);
  EXPECT_EQ(call(rw_, "POST", "/config/vuln_a.json", " {\"vuln_sources\":[null]} ").status, 201);
  // Other names: no content check at all.
  EXPECT_EQ(call(rw_, "POST", "/config/other.json", "not json at all").status, 201);
  EXPECT_EQ(read_file(dir_ / "other.json"), "not json at all");
  EXPECT_EQ(call(rw_, "POST", "/config/empty.json", "").status, 201);
}

TEST_F(ConfigRoutesTest, UploadInvalidContentIs418) {
  struct Case {
    const char* name;
    const char* body;
    const char* err;  // nullptr: any error text
  };
  const Case cases[] = {
      {"assets_a.json", "{\"assets\":[]}", "content doesn't have a valid entry"},
      {"assets_a.json", "{}", "content doesn't have a valid entry"},
      {"assets_a.json", "null", "content doesn't have a valid entry"},
      {"assets_a.json", "{\"assets\":null}", "content doesn't have a valid entry"},
      {"directives_a.json", "{\"assets\":[{}]}", "content doesn't have a valid entry"},
      {"assets_a.json", "", "unexpected end of JSON input"},
      {"assets_a.json", "[]",
       "json: cannot unmarshal array into Go value of type asset.NetworkAssets"},
      {"intel_a.json", "{\"intel_sources\":5}",
       "json: cannot unmarshal number into Go struct field IntelSources.intel_sources of type "
       "[]xcorrelator.IntelSource"},
      {"vuln_a.json", "{\"vuln_sources\":[\"x\"]}",
       "json: cannot unmarshal string into Go struct field VulnSources.vuln_sources of type "
       "xcorrelator.VulnSource"},
      {"directives_a.json", "{\"directives\":[{}]", nullptr},
      {"directives_a.json", "{\"directives\":[{}]} x", nullptr},
  };
  for (const auto& c : cases) {
    auto r = call(rw_, "POST", std::string("/config/") + c.name, c.body);
    EXPECT_EQ(r.status, 418) << c.name << " " << c.body;
    if (c.err) {
      EXPECT_EQ(r.body, std::string(kInvalid) + c.err + "\n") << c.body;
    } else {
      EXPECT_EQ(r.body.rfind(kInvalid, 0), 0u) << r.body;
      EXPECT_EQ(r.body.back(), '\n');
      EXPECT_GT(r.body.size(), std::string(kInvalid).size() + 1);
    }
    EXPECT_FALSE(fs::exists(dir_ / c.name)) << c.name;
  }
}

TEST_F(ConfigRoutesTest, UploadInvalidNameUsesPostWording) {
  auto r = call(rw_, "POST", "/config/_.json", "{}");
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.body, kBadNamePost);
  EXPECT_FALSE(fs::exists(dir_ / "_.json"));
}

TEST_F(ConfigRoutesTest, UploadTargetErrorsAre500) {
  fs::create_directory(dir_ / "dir.json");
  auto r = call(rw_, "POST", "/config/dir.json", "x");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "Cannot open target file location\n");

  Router missing;
  add_config_routes(missing, dir_ / "missing", true);
  r = call(missing, "POST", "/config/a.json", "x");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "Cannot open target file location\n");
}

TEST_F(ConfigRoutesTest, Delete) {
  write_file(dir_ / "a.json", "x");
  auto r = call(rw_, "DELETE", "/config/a.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(fs::exists(dir_ / "a.json"));

  r = call(rw_, "DELETE", "/config/a.json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "cannot delete a.json");

  r = call(rw_, "DELETE", "/config/test.json.foo");
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.body, kBadNameGet);
}

TEST_F(ConfigRoutesTest, ReadOnlyRejectsWrites) {
  for (const char* m : {"POST", "DELETE"}) {
    auto r = call(ro_, m, "/config/a.json", "{}");
    EXPECT_EQ(r.status, 405) << m;
    EXPECT_EQ(r.body, "Method Not Allowed");
    EXPECT_EQ(header(r, "Allow"), "GET, OPTIONS");
  }
  EXPECT_FALSE(fs::exists(dir_ / "a.json"));
}

}  // namespace
}  // namespace dsiem::http
