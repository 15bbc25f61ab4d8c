// `dsiem dpluger directive`: the reference fixture byte-for-byte, merging with an existing
// --outFile, the flag checks in order, and the rejected inputs (bad TSV rows, invalid existing
// directives) that leave the output file untouched.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "dsiem/tools/dpluger.h"
#include "unit/test_support.h"

namespace dsiem::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWritten =
    "Directives file written in %OUT%\n"
    "Now you should edit the generated file and deploy it to dsiem frontend configs directory\n";

fs::path fixtures() {
  const char* env = std::getenv("DSIEM_TEST_DATA");
  const fs::path base =
      env && *env ? fs::path(env) : fs::path(__FILE__).parent_path().parent_path();
  return base / "tools-fixtures" / "dpluger";
}

std::string written(const std::string& out_file) {
  std::string s = kWritten;
  return s.replace(s.find("%OUT%"), 5, out_file);
}

int run(const std::vector<std::string>& args, std::string& out) {
  std::ostringstream o, e;
  const int code = run_dpluger(args, o, e);
  out = o.str();
  return code;
}

// A temp dir holding the fixture TSV, with the argument list of a `directive` run in it.
class DplugerDir {
 public:
  DplugerDir() {
    dir.write("x_plugin-sid-test.tsv", test::read_file(fixtures() / "x_plugin-sid-test.tsv"));
  }
  std::string path(const std::string& name) const { return (dir.path() / name).string(); }
  std::vector<std::string> args(const std::string& tsv, std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"directive", "-f", path(tsv), "-o", path("out.json")};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string output() const { return test::read_file(dir.path() / "out.json"); }
  bool has_output() const { return fs::exists(dir.path() / "out.json"); }

  test::TempDir dir;
};

TEST(DplugerDirective, FixtureByteForByte) {
  DplugerDir d;
  std::string out;
  ASSERT_EQ(run(d.args("x_plugin-sid-test.tsv"), out), 0) << out;
  EXPECT_EQ(out, "Found 3 new directives\n" + written(d.path("out.json")));
  const std::string expected = test::read_file(fixtures() / "expected_directives_dsiem.json");
  EXPECT_EQ(d.output(), expected);

  struct stat st {};
  ASSERT_EQ(::stat(d.path("out.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);  // created 0600 (less with a stricter umask)

  // A second run merges every row into the directive of the same name: no change.
  ASSERT_EQ(run(d.args("x_plugin-sid-test.tsv"), out), 0) << out;
  EXPECT_EQ(out,
            "merging plugin-sid list of an existing directive: Directive Test 1 (SRC_IP to "
            "DST_IP)\n"
            "merging plugin-sid list of an existing directive: Directive Test 2 (SRC_IP to "
            "DST_IP)\n"
            "merging plugin-sid list of an existing directive: Directive Test 3 (SRC_IP to "
            "DST_IP)\n"
            "Found 0 new directives\n" +
                written(d.path("out.json")));
  EXPECT_EQ(d.output(), expected);
}

TEST(DplugerDirective, ChecksInOrder) {
  DplugerDir d;
  std::string out;
  const auto expect_exit = [&](std::vector<std::string> extra, const std::string& message) {
    EXPECT_EQ(run(d.args("x_plugin-sid-test.tsv", extra), out), 1) << message;
    EXPECT_EQ(out, "Exiting: " + message + "\n");
    EXPECT_FALSE(d.has_output());
  };
  // Every check fails here; the title template is reported first.
  expect_exit({"-m", "event_title", "-p", "9", "-r", "11", "-i", "0", "-f", "/nonexistent"},
              "titleTemplate must contain EVENT_TITLE: wrong titleTemplate");
  expect_exit({"-p", "9", "-r", "11", "-i", "0", "-f", "/nonexistent"},
              "Priority must be between 1 and 5: wrong priority");
  expect_exit({"-p", "010"}, "Priority must be between 1 and 5: wrong priority");  // octal 8
  expect_exit({"-p", "abc"}, "Priority must be between 1 and 5: wrong priority");  // 0
  expect_exit({"-r", "11", "-i", "0", "-f", "/nonexistent"},
              "Reliability must be between 0 - 10: wrong reliability");
  expect_exit({"-r", "-1"}, "Reliability must be between 0 - 10: wrong reliability");
  expect_exit({"-i", "0", "-f", "/nonexistent"},
              "dirNumber must be greater than 0: wrong dirNumber");
  expect_exit({"-f", "/nonexistent"}, "/nonexistent doesn't exist: wrong TSVFile parameter");

  EXPECT_EQ(run({"directive", "-o", d.path("out.json")}, out), 1);
  EXPECT_EQ(out, "Exiting:  doesn't exist: wrong TSVFile parameter\n");

  EXPECT_EQ(run(d.args("x_plugin-sid-test.tsv", {"-i", "abc"}), out), 1);
  EXPECT_EQ(out,
            "Exiting: Error returned from command: invalid argument \"abc\" for \"-i, "
            "--dirNumber\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax\n");
}

TEST(DplugerDirective, FlagValuesShapeTheDirectives) {
  DplugerDir d;
  d.dir.write("in.tsv", "plugin\tid\tsid\ttitle\tcategory\n p\t7\t70\tA & B\tCat\n");
  std::string out;
  ASSERT_EQ(run(d.args("in.tsv", {"-p", "0x2", "-r", "0", "-k", "King", "-m",
                                  "[EVENT_TITLE] EVENT_TITLE", "-i", "42"}),
                out),
            0)
      << out;
  const std::string json = d.output();
  EXPECT_NE(json.find("\"id\": 42,"), std::string::npos);
  EXPECT_NE(json.find("\"name\": \"[A \\u0026 B] A \\u0026 B\","), std::string::npos) << json;
  EXPECT_NE(json.find("\"priority\": 2,"), std::string::npos);
  EXPECT_NE(json.find("\"kingdom\": \"King\","), std::string::npos);
  // Reliability 0 is accepted but the rules use 1 (and 1 + 4 on stage 2).
  EXPECT_NE(json.find("\"reliability\": 1,"), std::string::npos);
  EXPECT_NE(json.find("\"reliability\": 5,"), std::string::npos);
}

TEST(DplugerDirective, EnvironmentUsesTheDplugerPrefix) {
  DplugerDir d;
  ::setenv("DPLUGER_PRIORITY", "5", 1);
  ::setenv("DPLUGER_DIRNUMBER", "7", 1);
  std::string out;
  const int code = run(d.args("x_plugin-sid-test.tsv"), out);
  ::unsetenv("DPLUGER_PRIORITY");
  ::unsetenv("DPLUGER_DIRNUMBER");
  ASSERT_EQ(code, 0) << out;
  const std::string json = d.output();
  EXPECT_NE(json.find("\"priority\": 5,"), std::string::npos);
  EXPECT_NE(json.find("\"id\": 7,"), std::string::npos);
  EXPECT_NE(json.find("\"id\": 9,"), std::string::npos);
}

TEST(DplugerDirective, BadRowsAreRejectedWithTheirLine) {
  DplugerDir d;
  std::string out;
  d.dir.write("bad_id.tsv", "plugin\tid\tsid\ttitle\tcategory\nx\t1\t2\tT\tC\nx\tone\t3\tT2\tC\n");
  EXPECT_EQ(run(d.args("bad_id.tsv"), out), 1);
  EXPECT_EQ(out, "Exiting: Cannot create directive file: " + d.path("bad_id.tsv") +
                     " line 3 (row #2): id \"one\" is not an integer\n");
  EXPECT_FALSE(d.has_output());

  d.dir.write("empty_sid.tsv", "h\nx\t1\t\tT\tC\n");
  EXPECT_EQ(run(d.args("empty_sid.tsv"), out), 1);
  EXPECT_EQ(out, "Exiting: Cannot create directive file: " + d.path("empty_sid.tsv") +
                     " line 2 (row #1): sid \"\" is not an integer\n");
  EXPECT_FALSE(d.has_output());
}

TEST(DplugerDirective, LastLineWithoutNewlineAndCrlf) {
  DplugerDir d;
  d.dir.write("crlf.tsv",
              "plugin\tid\tsid\ttitle\tcategory\tkingdom\r\n"
              "x\t1\t11\tT\\tab\tC1\tK1\r\n"
              "\r\n"
              "x\t1\t0\tZero SID\tC\r\n"
              "x\t2\t22\tLast\tC2");
  std::string out;
  ASSERT_EQ(run(d.args("crlf.tsv"), out), 0) << out;
  EXPECT_EQ(out,
            "Skipping an empty title or SID in TSV file\n"
            "Skipping an empty title or SID in TSV file\n"
            "Found 2 new directives\n" +
                written(d.path("out.json")));
  const std::string json = d.output();
  EXPECT_NE(json.find("\"name\": \"T\\tab (SRC_IP to DST_IP)\","), std::string::npos) << json;
  EXPECT_NE(json.find("\"kingdom\": \"K1\","), std::string::npos);
  EXPECT_NE(json.find("\"category\": \"C1\","), std::string::npos);
  EXPECT_NE(json.find("\"name\": \"Last (SRC_IP to DST_IP)\","), std::string::npos);
  EXPECT_NE(json.find("\"kingdom\": \"Environmental Awareness\","), std::string::npos);
  EXPECT_NE(json.find("\"category\": \"C2\","), std::string::npos);
  EXPECT_EQ(json.find('\r'), std::string::npos);
  EXPECT_EQ(json.find("\\r"), std::string::npos);
}

constexpr const char* kExisting = R"json({"directives":[{
  "id": 100000, "name": "Directive Test 2 (SRC_IP to DST_IP)", "priority": 4, "disabled": true,
  "kingdom": "K", "category": "C", "unknown_key": 1,
  "rules": [
    {"name": "a", "stage": 1, "plugin_id": 9, "plugin_sid": [5, 1337112], "occurrence": 1,
     "from": "ANY", "to": "ANY", "type": "PluginRule", "port_from": "ANY", "port_to": "ANY",
     "reliability": 1, "timeout": 0},
    {"name": "b", "stage": 2, "product": ["P"], "category": "Cat", "occurrence": 2,
     "from": ":1", "to": ":1", "type": "TaxonomyRule", "port_from": "ANY", "port_to": "ANY",
     "reliability": 3, "timeout": 60, "custom_data1": "x & y"}
  ]}]})json";

TEST(DplugerDirective, MergesWithExistingDirectives) {
  DplugerDir d;
  d.dir.write("out.json", kExisting);
  std::string out;
  ASSERT_EQ(run(d.args("x_plugin-sid-test.tsv"), out), 0) << out;
  EXPECT_EQ(out,
            "merging plugin-sid list of an existing directive: Directive Test 2 (SRC_IP to "
            "DST_IP)\n"
            "Found 2 new directives\n" +
                written(d.path("out.json")));
  const std::string json = d.output();
  // The existing directive stays first, re-serialised: unknown keys dropped, the taxonomy rule
  // written with plugin_id 0, and every rule's SID list merged with the row's SID.
  EXPECT_EQ(json.rfind(R"json({
  "directives": [
    {
      "id": 100000,
      "name": "Directive Test 2 (SRC_IP to DST_IP)",
      "priority": 4,
      "disabled": true,
      "all_rules_always_active": false,
      "kingdom": "K",
      "category": "C",
      "rules": [
        {
          "name": "a",
          "stage": 1,
          "plugin_id": 9,
          "plugin_sid": [
            5,
            1337112
          ],
          "occurrence": 1,
          "from": "ANY",
          "to": "ANY",
          "type": "PluginRule",
          "port_from": "ANY",
          "port_to": "ANY",
          "reliability": 1,
          "timeout": 0
        },
        {
          "name": "b",
          "stage": 2,
          "plugin_id": 0,
          "plugin_sid": [
            1337112
          ],
          "product": [
            "P"
          ],
          "category": "Cat",
          "occurrence": 2,
          "from": ":1",
          "to": ":1",
          "type": "TaxonomyRule",
          "port_from": "ANY",
          "port_to": "ANY",
          "reliability": 3,
          "timeout": 60,
          "custom_data1": "x \u0026 y"
        }
      ]
    },
    {
      "id": 100001,
      "name": "Directive Test 1 (SRC_IP to DST_IP)",)json",
                       0),
            0u)
      << json;
  EXPECT_NE(json.find("\"id\": 100002,\n      \"name\": \"Directive Test 3"), std::string::npos);
  EXPECT_EQ(json.find("unknown_key"), std::string::npos);
}

TEST(DplugerDirective, InvalidExistingDirectiveWritesNothing) {
  DplugerDir d;
  std::string out;
  const auto expect_rejected = [&](const std::string& existing, const std::string& message) {
    d.dir.write("out.json", existing);
    EXPECT_EQ(run(d.args("x_plugin-sid-test.tsv"), out), 1) << existing;
    EXPECT_EQ(out, "Exiting: Cannot create directive file: " + message + "\n");
    EXPECT_EQ(d.output(), existing);
  };
  const std::string rules =
      R"("rules":[{"name":"a","stage":1,"plugin_id":1,"plugin_sid":[1],"occurrence":1,"from":"ANY","to":"ANY","type":"PluginRule","port_from":"ANY","port_to":"ANY","reliability":1,"timeout":0},{"name":"b","stage":2,"plugin_id":1,"plugin_sid":[1],"occurrence":OCC,"from":":1","to":":1","type":"PluginRule","port_from":"ANY","port_to":"ANY","reliability":REL,"timeout":10}])";
  const auto directive = [&](const std::string& id, const std::string& category,
                             const std::string& priority, const std::string& rel) {
    std::string r = rules;
    r.replace(r.find("OCC"), 3, "5");
    r.replace(r.find("REL"), 3, rel);
    return R"({"id":)" + id + R"(,"name":"N)" + id + R"(","priority":)" + priority +
           R"(,"kingdom":"K","category":")" + category + "\"," + r + "}";
  };
  const std::string file = d.path("out.json");

  expect_rejected(R"({"directives":[)" + directive("1", "", "3", "2") + "]}",
                  "existing directive ID 1 'N1' in " + file +
                      " is not valid: Directive category cannot be empty");
  expect_rejected(R"({"directives":[)" + directive("1", "C", "3", "2") + "," +
                      directive("1", "C", "3", "2") + "]}",
                  "existing directive ID 1 'N1' in " + file +
                      " is not valid: id '1' is already used as an ID by other directive");
  // Values the engine would silently change at load time are refused too.
  expect_rejected(R"({"directives":[)" + directive("1", "C", "9", "2") + "]}",
                  "existing directive ID 1 'N1' in " + file +
                      " is not valid: wrong priority set (9), must be 1 to 5");
  expect_rejected(R"({"directives":[)" + directive("1", "C", "3", "12") + "]}",
                  "existing directive ID 1 'N1' in " + file +
                      " is not valid: rule 2 has wrong reliability set (12), must be 0 to 10");
  expect_rejected(R"({"directives":[{b}]})",
                  "invalid character 'b' looking for beginning of object key string");

  // The same directive with valid values is accepted and kept.
  d.dir.write("out.json", R"({"directives":[)" + directive("1", "C", "3", "2") + "]}");
  ASSERT_EQ(run(d.args("x_plugin-sid-test.tsv"), out), 0) << out;
  EXPECT_NE(d.output().find("\"name\": \"N1\","), std::string::npos);
}

TEST(DplugerDirective, NothingToWriteGivesNull) {
  DplugerDir d;
  d.dir.write("header_only.tsv", "plugin\tid\tsid\ttitle\tcategory\n");
  std::string out;
  ASSERT_EQ(run(d.args("header_only.tsv"), out), 0) << out;
  EXPECT_EQ(out, "Found 0 new directives\n" + written(d.path("out.json")));
  EXPECT_EQ(d.output(), "{\n  \"directives\": null\n}");
}

TEST(DplugerDirective, OnlyTheDirectiveCommandExists) {
  std::string out;
  EXPECT_EQ(run({"create"}, out), 1);
  EXPECT_EQ(out,
            "Exiting: Error returned from command: unknown command \"create\" for \"dsiem "
            "dpluger\"\n");
  EXPECT_EQ(run({}, out), 0);
  EXPECT_NE(out.find("\n  directive   Create a Dsiem directive file from dpluger TSV\n"),
            std::string::npos)
      << out;
}

TEST(DplugerTsv, ParsesColumnsAndEscapes) {
  const auto rows = parse_plugin_sid_tsv(
      "plugin\tid\tsid\ttitle\tcategory\tkingdom\tlabel\n"
      "p\t+5\t-6\ta\\nb\\\\c\\qd\\\tcat\t\textra\n"
      "p\t1\n"
      "\n",
      "t.tsv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[0].plugin_id, 5);
  EXPECT_EQ(rows[0].sid, -6);
  EXPECT_EQ(rows[0].title, "a\nb\\cqd\\");
  EXPECT_EQ(rows[0].category, "cat");
  EXPECT_EQ(rows[0].kingdom, "");
  EXPECT_EQ(rows[1].plugin_id, 1);
  EXPECT_EQ(rows[1].sid, 0);  // missing trailing columns are 0 / empty
  EXPECT_EQ(rows[1].title, "");
  EXPECT_EQ(rows[2].line, 4);
  EXPECT_EQ(rows[2].title, "");
  EXPECT_TRUE(parse_plugin_sid_tsv("header only", "t.tsv").empty());
  EXPECT_THROW(parse_plugin_sid_tsv("h\nx\t99999999999999999999\t1\tT\n", "t.tsv"), DplugerError);
}

TEST(DplugerJson, GoIndentLayout) {
  config::Directive d;
  d.id = 1;
  d.name = "<x>";
  config::Rule r;
  r.name = "r";
  r.plugin_sid_set = true;  // an empty, non-null list
  r.subcategory = {"s1", "s2"};
  r.sticky_different = "SRC_IP";
  d.rules.push_back(r);
  EXPECT_EQ(directives_json({d}),
            "{\n"
            "  \"directives\": [\n"
            "    {\n"
            "      \"id\": 1,\n"
            "      \"name\": \"\\u003cx\\u003e\",\n"
            "      \"priority\": 0,\n"
            "      \"disabled\": false,\n"
            "      \"all_rules_always_active\": false,\n"
            "      \"kingdom\": \"\",\n"
            "      \"category\": \"\",\n"
            "      \"rules\": [\n"
            "        {\n"
            "          \"name\": \"r\",\n"
            "          \"stage\": 0,\n"
            "          \"plugin_id\": 0,\n"
            "          \"plugin_sid\": [],\n"
            "          \"subcategory\": [\n"
            "            \"s1\",\n"
            "            \"s2\"\n"
            "          ],\n"
            "          \"occurrence\": 0,\n"
            "          \"from\": \"\",\n"
            "          \"to\": \"\",\n"
            "          \"type\": \"\",\n"
            "          \"port_from\": \"\",\n"
            "          \"port_to\": \"\",\n"
            "          \"reliability\": 0,\n"
            "          \"timeout\": 0,\n"
            "          \"sticky_different\": \"SRC_IP\"\n"
            "        }\n"
            "      ]\n"
            "    }\n"
            "  ]\n"
            "}");
  EXPECT_EQ(directives_json({}), "{\n  \"directives\": null\n}");
}

}  // namespace
}  // namespace dsiem::tools
