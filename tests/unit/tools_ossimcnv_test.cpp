#include "dsiem/tools/ossimcnv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "unit/test_support.h"

namespace dsiem::tools {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path fixture_dir() {
  if (const char* data = std::getenv("DSIEM_TEST_DATA")) {
    return fs::path(data) / "tools-fixtures" / "ossimcnv";
  }
  return fs::path(__FILE__).parent_path().parent_path() / "tools-fixtures" / "ossimcnv";
}

struct ToolRun {
  int code = 0;
  std::string out;
  std::string err;
};

ToolRun run_cli(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {}) {
  std::ostringstream out, err;
  ToolRun r;
  r.code = run_ossimcnv_with_env(args, out, err, [&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// A working directory with the fixture's reference tables and a given user.xml.
class Workspace {
 public:
  explicit Workspace(std::string_view user_xml) {
    fs::copy(fixture_dir() / "ossimref", dir_.path() / "ossimref");
    for (const auto& entry : fs::directory_iterator(dir_.path() / "ossimref")) {
      fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
    }
    dir_.write("user.xml", user_xml);
  }
  fs::path path(std::string_view name) const { return dir_.path() / name; }
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"-i", path("user.xml").string(),
                                  "-r", path("ossimref").string(),
                                  "-o", path("directives_ossim.json").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  const fs::path& root() const { return dir_.path(); }
  void write(const std::string& name, std::string_view content) const { dir_.write(name, content); }

 private:
  TempDir dir_;
};

ossimcnv::ReferenceTables fixture_tables() {
  return ossimcnv::load_reference_tables(fixture_dir() / "ossimref");
}

constexpr std::string_view kDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

// A plugin rule with every address/port set to ANY, plus `extra` attributes.
std::string rule(std::string_view name, std::string_view extra = "",
                 std::string_view children = "") {
  std::string r = "<rule name=\"" + std::string(name) +
                  "\" plugin_id=\"7\" plugin_sid=\"1\" from=\"ANY\" to=\"ANY\" "
                  "port_from=\"ANY\" port_to=\"ANY\" " +
                  std::string(extra);
  if (children.empty()) return r + "/>\n";
  return r + ">\n" + std::string(children) + "</rule>\n";
}

std::string rules(std::string_view inner) {
  return "<rules>\n" + std::string(inner) + "</rules>\n";
}

std::string directive(std::string_view id, std::string_view body) {
  return "<directive id=\"" + std::string(id) + "\" name=\"D" + std::string(id) +
         "\" priority=\"3\">\n" + std::string(body) + "</directive>\n";
}

std::vector<std::string> stage_names(const ossimcnv::DsiemDirective& d) {
  std::vector<std::string> names;
  for (const auto& r : d.rules) names.push_back(r.name);
  return names;
}

std::string all_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// ---- The fixture (tools.md §2.10) ---------------------------------------------------------

TEST(OssimcnvFixture, OutputIsByteIdenticalToTheReference) {
  TempDir out;
  const fs::path fixture = fixture_dir();
  const ToolRun r =
      run_cli({"-i", (fixture / "user.xml").string(), "-r", (fixture / "ossimref").string(), "-o",
               (out.path() / "directives_ossim.json").string()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "Done.\n");
  EXPECT_EQ(read_file(out.path() / "directives_ossim.json"),
            read_file(fixture / "expected_directives_ossim.json"));
  EXPECT_EQ(files_in(out.path()), std::set<std::string>{"directives_ossim.json"});
  const auto perms = fs::status(out.path() / "directives_ossim.json").permissions();
  EXPECT_EQ(perms & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST(OssimcnvFixture, ReportsWhatTheConversionLoses) {
  const std::string xml = read_file(fixture_dir() / "user.xml");
  const auto c = ossimcnv::convert(xml, fixture_tables(), "user.xml");
  EXPECT_TRUE(c.errors.empty()) << all_lines(c.errors);
  ASSERT_EQ(c.directives.size(), 2u);
  const std::string w = all_lines(c.warnings);
  EXPECT_THAT(w,
              HasSubstr("directive 500001 \"SSH brute force & login on DST_IP\" (line 2): "
                        "stages 3-4 (\"SSH success\", \"More failures\") are alternatives (OR)"));
  EXPECT_THAT(w, HasSubstr("stage 2 \"SSH failed login x5\" (line 5): reliability \"+2\" is "
                           "relative to the previous stage in OSSIM; written as the absolute "
                           "value 2"));
  EXPECT_THAT(w, HasSubstr("directive 500002 \"Login failures from SRC_IP\" (line 14): stage 1 "
                           "\"Login failed\" (line 15): product \"99\" not found"));
  EXPECT_THAT(w, HasSubstr("subcategory \"77\" of category \"2\" not found"));
  EXPECT_THAT(w, HasSubstr("stage 2 \"Login failed again\" (line 17): subcategory \"24\" is not "
                           "translated because category \"Authentication\" is not a number"));
  EXPECT_EQ(c.warnings.size(), 5u) << w;
}

TEST(OssimcnvFixture, WarningsGoToStderrAndTheRunStillSucceeds) {
  TempDir out;
  const fs::path fixture = fixture_dir();
  const ToolRun r =
      run_cli({"--in", (fixture / "user.xml").string(), "--refdir", (fixture / "ossimref").string(),
               "--out", (out.path() / "x.json").string()});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("Warning: directive 500001"));
  EXPECT_THAT(r.err, Not(HasSubstr("Error:")));
}

// ---- --split (tools.md §2.8) --------------------------------------------------------------

TEST(OssimcnvSplit, FileNamesDropEveryJsonAndAppendTheIndex) {
  EXPECT_EQ(ossimcnv::split_file_name("./directives_ossim.json", 1, 1), "./directives_ossim.json");
  EXPECT_EQ(ossimcnv::split_file_name("./directives_ossim.json", 3, 1),
            "./directives_ossim_1.json");
  EXPECT_EQ(ossimcnv::split_file_name("a.json.bak.json", 2, 2), "a.bak_2.json");
  EXPECT_EQ(ossimcnv::split_file_name("out", 2, 1), "out_1.json");
}

TEST(OssimcnvSplit, ThreeFilesGetZeroZeroAndTheRest) {
  TempDir out;
  const fs::path fixture = fixture_dir();
  const ToolRun r =
      run_cli({"-i", (fixture / "user.xml").string(), "-r", (fixture / "ossimref").string(), "-o",
               (out.path() / "directives_ossim.json").string(), "-n", "3"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(files_in(out.path()),
            (std::set<std::string>{"directives_ossim_1.json", "directives_ossim_2.json",
                                   "directives_ossim_3.json"}));
  EXPECT_EQ(read_file(out.path() / "directives_ossim_1.json"), "{\n  \"directives\": []\n}\n");
  EXPECT_EQ(read_file(out.path() / "directives_ossim_2.json"), "{\n  \"directives\": []\n}\n");
  EXPECT_EQ(read_file(out.path() / "directives_ossim_3.json"),
            read_file(fixture / "expected_directives_ossim.json"));
}

TEST(OssimcnvSplit, TwoFilesGetOneDirectiveEach) {
  TempDir out;
  const fs::path fixture = fixture_dir();
  const ToolRun r =
      run_cli({"-i", (fixture / "user.xml").string(), "-r", (fixture / "ossimref").string(), "-o",
               (out.path() / "d.json").string(), "--split=2"});
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string first = read_file(out.path() / "d_1.json");
  const std::string second = read_file(out.path() / "d_2.json");
  EXPECT_THAT(first, AllOf(HasSubstr("\"id\": 500001"), Not(HasSubstr("\"id\": 500002"))));
  EXPECT_THAT(second, AllOf(HasSubstr("\"id\": 500002"), Not(HasSubstr("\"id\": 500001"))));
}

TEST(OssimcnvSplit, NoDirectivesAtAllIsWrittenAsNull) {
  const std::vector<ossimcnv::DsiemDirective> none;
  EXPECT_EQ(ossimcnv::render(none, true), "{\n  \"directives\": null\n}\n");
  EXPECT_EQ(ossimcnv::render(none, false), "{\n  \"directives\": []\n}\n");
}

TEST(OssimcnvSplit, ZeroOrNegativeIsAClearErrorAndWritesNothing) {
  Workspace ws(read_file(fixture_dir() / "user.xml"));
  for (const std::string n : {"0", "-1"}) {
    const ToolRun r = run_cli(ws.args({"-n", n}));
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "Exiting: Invalid --split value: " + n +
                         ": the number of output files must be 1 or more\n");
    EXPECT_EQ(files_in(ws.root()), (std::set<std::string>{"ossimref", "user.xml"}));
  }
}

// ---- Environment variables (tools.md §0, §2.1) -------------------------------------------

TEST(OssimcnvEnv, VariablesSetEveryFlagAndAnExplicitFlagWins) {
  Workspace ws(read_file(fixture_dir() / "user.xml"));
  const std::map<std::string, std::string> env = {
      {"OSSIMCNV_IN", ws.path("user.xml").string()},
      {"OSSIMCNV_REFDIR", ws.path("ossimref").string()},
      {"OSSIMCNV_OUT", ws.path("from_env.json").string()},
      {"OSSIMCNV_SPLIT", "2"}};
  ToolRun r = run_cli({}, env);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(ws.path("from_env_1.json")));
  EXPECT_TRUE(fs::exists(ws.path("from_env_2.json")));

  r = run_cli({"-o", ws.path("from_flag.json").string(), "--split", "1"}, env);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_file(ws.path("from_flag.json")),
            read_file(fixture_dir() / "expected_directives_ossim.json"));
}

TEST(OssimcnvEnv, AnEmptyVariableLeavesTheDefaultAndBadNumbersBecomeZero) {
  Workspace ws(read_file(fixture_dir() / "user.xml"));
  ToolRun r = run_cli(ws.args(), {{"OSSIMCNV_SPLIT", ""}});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(ws.path("directives_ossim.json")));

  r = run_cli(ws.args(), {{"OSSIMCNV_SPLIT", "many"}});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("Exiting: Invalid --split value: 0"));
}

TEST(OssimcnvCli, HelpShowsTheFlagsAndDefaults) {
  const ToolRun r = run_cli({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("-i, --in string"));
  EXPECT_THAT(r.out, HasSubstr("(default \"./user.xml\")"));
  EXPECT_THAT(r.out, HasSubstr("(default \"./directives_ossim.json\")"));
  EXPECT_THAT(r.out, HasSubstr("(default \"./ossimref\")"));
  EXPECT_THAT(r.out, HasSubstr("-n, --split int"));
}

// ---- Input and reference errors (tools.md §2.2, §2.4, O4, O5) ---------------------------

TEST(OssimcnvErrors, MissingInput) {
  Workspace ws("");
  const std::string missing = ws.path("nope.xml").string();
  const ToolRun r = run_cli(
      {"-i", missing, "-r", ws.path("ossimref").string(), "-o", ws.path("o.json").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Exiting: Cannot create temporary XML file: " + missing + " doesn't exist.\n");
}

TEST(OssimcnvErrors, MissingReferenceFileIsNamedAndNoTemporaryFileIsLeft) {
  Workspace ws(read_file(fixture_dir() / "user.xml"));
  fs::remove(ws.path("ossimref") / "ossim_alarm_kingdom.tsv");
  const ToolRun r = run_cli(ws.args());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Exiting: Cannot parse ossim reference TSV from " +
                       ws.path("ossimref").string() + ": " +
                       (ws.path("ossimref") / "ossim_alarm_kingdom.tsv").string() +
                       " doesnt exist.\n");
  EXPECT_EQ(files_in(ws.root()), (std::set<std::string>{"ossimref", "user.xml"}));
}

TEST(OssimcnvErrors, EmptyReferenceFileIsAClearError) {
  Workspace ws(read_file(fixture_dir() / "user.xml"));
  ws.write("ossimref/ossim_product_type.tsv", "");
  const ToolRun r = run_cli(ws.args());
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("Exiting: Cannot parse ossim reference TSV from "));
  EXPECT_THAT(r.out, HasSubstr("ossim_product_type.tsv is empty"));
  EXPECT_FALSE(fs::exists(ws.path("directives_ossim.json")));
}

TEST(OssimcnvErrors, NullIdInADumpStopsWithGosMessage) {
  Workspace ws(read_file(fixture_dir() / "user.xml"));
  ws.write("ossimref/ossim_alarm_kingdom.tsv", "id\tname\nNULL\tx\n");
  const ToolRun r = run_cli(ws.args());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Exiting: Cannot parse ossim reference TSV from " +
                       ws.path("ossimref").string() +
                       ": strconv.ParseInt: parsing \"NULL\": invalid syntax\n");
}

TEST(OssimcnvErrors, NoTemporaryFileAfterASuccessfulRun) {
  Workspace ws(read_file(fixture_dir() / "user.xml"));
  ASSERT_EQ(run_cli(ws.args()).code, 0);
  EXPECT_EQ(files_in(ws.root()),
            (std::set<std::string>{"directives_ossim.json", "ossimref", "user.xml"}));
}

// ---- Reference TSV reading (tools.md §2.4) -----------------------------------------------

TEST(OssimcnvTsv, ColumnsByHeaderNameWithCsvQuoting) {
  const std::string text =
      "sid\tengine_id\tkingdom\tcategory\r\n"
      "\n"
      "7\t0\t\"2\"\t3\r\n"
      "8\t\"a\tb\nc\"\t4\t5";
  const auto rows = ossimcnv::read_tsv_columns(text, {"sid", "category", "engine_id"}, "t.tsv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"7", "3", "0"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"8", "5", "a\tb\nc"}));
}

TEST(OssimcnvTsv, ErrorsUseEncodingCsvWording) {
  const auto error_of = [](std::string_view text) {
    try {
      ossimcnv::read_tsv_columns(text, {"id", "name"}, "t.tsv");
    } catch (const ossimcnv::ReferenceError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("id\tname\n1\tx\ty\n"), "record on line 2: wrong number of fields");
  EXPECT_EQ(error_of("id\tname\n1\tx\"y\n"),
            "parse error on line 2, column 4: bare \" in non-quoted-field");
  EXPECT_EQ(error_of("id\tname\n1\t\"x\n"),
            "parse error on line 2, column 6: extraneous or missing \" in quoted-field");
  EXPECT_EQ(error_of("id\tname\n1\t\"x\ny\"z\n"),
            "record on line 2; parse error on line 3, column 2: extraneous or missing \" in "
            "quoted-field");
  EXPECT_EQ(error_of(""), "t.tsv is empty: a header line naming the columns is expected");
  EXPECT_EQ(error_of("id\tnom\n"), "t.tsv: the header line has no \"name\" column");
  EXPECT_EQ(error_of("id\tname\n"), "no error");
}

TEST(OssimcnvTsv, ParseDecimalFollowsStrconv) {
  std::string error;
  EXPECT_EQ(ossimcnv::parse_decimal("+2", "ParseInt"), 2);
  EXPECT_EQ(ossimcnv::parse_decimal("-9223372036854775808", "ParseInt"), INT64_MIN);
  EXPECT_FALSE(ossimcnv::parse_decimal("9223372036854775808", "Atoi", &error));
  EXPECT_EQ(error, "strconv.Atoi: parsing \"9223372036854775808\": value out of range");
  EXPECT_FALSE(ossimcnv::parse_decimal(" 6", "Atoi", &error));
  EXPECT_EQ(error, "strconv.Atoi: parsing \" 6\": invalid syntax");
  EXPECT_FALSE(ossimcnv::parse_decimal("0x1F", "ParseInt"));
  EXPECT_FALSE(ossimcnv::parse_decimal("", "ParseInt"));
}

// ---- Flattening and per-directive reports (tools.md §2.5, decisions.md §10) --------------

TEST(OssimcnvConvert, OnePathIsKeptAndEveryOtherBranchIsReported) {
  // A -> {B1, B2 -> {C1} {C2}, B3 -> {D}} plus a second top-level rule T2.
  const std::string body =
      rule("A", "",
           rules(rule("B1") + rule("B2", "", rules(rule("C1")) + rules(rule("C2"))) +
                 rule("B3", "", rules(rule("D"))))) +
      rule("T2");
  const auto c = ossimcnv::convert(std::string(kDeclaration) + directive("9", body),
                                   fixture_tables(), "user.xml");
  EXPECT_TRUE(c.errors.empty()) << all_lines(c.errors);
  ASSERT_EQ(c.directives.size(), 1u);
  EXPECT_EQ(stage_names(c.directives[0]), (std::vector<std::string>{"A", "B1", "B2", "C1"}));
  const std::string w = all_lines(c.warnings);
  EXPECT_THAT(w, HasSubstr("OR-branch dropped: rule \"T2\""));
  EXPECT_THAT(w, HasSubstr("OR-branch dropped: rule \"B3\" (line 14) and the 1 rule below it; "
                           "only the path through rule \"B2\" (line 6) is converted"));
  EXPECT_THAT(w,
              HasSubstr("OR-branch dropped: <rules> block (line 10) of rule \"B2\" with 1 rule"));
  EXPECT_THAT(w, HasSubstr("stages 2-3 (\"B1\", \"B2\") are alternatives (OR)"));
  EXPECT_THAT(w, HasSubstr("directive 9 \"D9\" (line 2): "));
}

TEST(OssimcnvConvert, EmptyRulesEndsTheFlatteningAndNoRulesGivesAnEmptyList) {
  const std::string xml = std::string(kDeclaration) +
                          directive("1", rule("A", "", "<rules/>\n") + rule("B")) +
                          directive("2", "");
  const auto c = ossimcnv::convert(xml, fixture_tables());
  ASSERT_EQ(c.directives.size(), 2u);
  EXPECT_EQ(stage_names(c.directives[0]), std::vector<std::string>{"A"});
  EXPECT_TRUE(c.directives[1].rules.empty());
  const std::string out = ossimcnv::render(c.directives, true);
  EXPECT_THAT(out, HasSubstr("\"rules\": []"));
  EXPECT_THAT(all_lines(c.warnings), HasSubstr("OR-branch dropped: rule \"B\""));
  EXPECT_THAT(all_lines(c.warnings),
              HasSubstr("it has 0 rules; the Dsiem loader needs at least 2"));
}

TEST(OssimcnvConvert, UnsupportedConstructsAreReportedPerRule) {
  const std::string body =
      rule("A", "sensor=\"10.0.0.1\" userdata1=\"root\" sticky=\"true\" type=\"monitor\"",
           rules(rule("B",
                      "plugin_sid=\"ANY,5, 6\" from=\"1:DST_IP\" to=\"fe80::1\" "
                      "port_from=\"!1:SRC_PORT\"")));
  // The later plugin_sid attribute wins, as with Go's decoder.
  const auto c =
      ossimcnv::convert(std::string(kDeclaration) + directive("500001", body), fixture_tables());
  ASSERT_EQ(c.directives.size(), 1u);
  const auto& b = c.directives[0].rules[1];
  EXPECT_EQ(b.plugin_sid, (std::vector<int64_t>{0, 5, 0}));
  EXPECT_EQ(b.from, ":1");
  EXPECT_EQ(b.to, ":fe80");
  EXPECT_EQ(b.port_from, ":!1");
  const std::string w = all_lines(c.warnings);
  EXPECT_THAT(w, HasSubstr("stage 1 \"A\" (line 3): attributes not converted: "
                           "sensor=\"10.0.0.1\", userdata1=\"root\""));
  EXPECT_THAT(w, Not(HasSubstr("sticky=")));
  EXPECT_THAT(w, HasSubstr("stage 1 \"A\" (line 3): a monitor rule"));
  EXPECT_THAT(w, HasSubstr("plugin_sid \"ANY,5, 6\": \"ANY\", \" 6\" are not numbers"));
  EXPECT_THAT(w, HasSubstr("from \"1:DST_IP\" cannot be expressed"));
  EXPECT_THAT(w, HasSubstr("to \"fe80::1\" is not a rule reference; written as \":fe80\""));
  EXPECT_THAT(w, HasSubstr("port_from \"!1:SRC_PORT\" is a negated reference"));
  EXPECT_TRUE(c.errors.empty());
}

TEST(OssimcnvConvert, ReferencesThatLandOnAnotherStageAreReported) {
  // A -> {B1, B2 -> {C}}: OSSIM level 2 on C's path is B2 (stage 3), but :2 is B1.
  const std::string body =
      rule("A", "", rules(rule("B1") + rule("B2", "", rules(rule("C", "from=\"2:SRC_IP\"")))));
  const auto c =
      ossimcnv::convert(std::string(kDeclaration) + directive("1", body), fixture_tables());
  ASSERT_EQ(c.directives.size(), 1u);
  EXPECT_EQ(c.directives[0].rules[3].from, ":2");
  EXPECT_THAT(all_lines(c.warnings),
              HasSubstr("stage 4 \"C\" (line 8): from \"2:SRC_IP\" means the rule at OSSIM level "
                        "2, stage 3 \"B2\" (line 6), but Dsiem reads :2 as stage 2 \"B1\""));
}

TEST(OssimcnvConvert, PluginSidReferences) {
  const std::string body = rule("A", "plugin_sid=\"4,5\"",
                                rules(rule("B", "plugin_sid=\"1:PLUGIN_SID\"",
                                           rules(rule("C", "plugin_sid=\"3:PLUGIN_SID\"")))));
  const auto c =
      ossimcnv::convert(std::string(kDeclaration) + directive("1", body), fixture_tables());
  ASSERT_EQ(c.directives.size(), 1u);
  EXPECT_EQ(c.directives[0].rules[1].plugin_sid, (std::vector<int64_t>{4, 5}));
  EXPECT_TRUE(c.directives[0].rules[2].plugin_sid.empty());
  EXPECT_THAT(ossimcnv::render(c.directives, true), Not(HasSubstr("\"plugin_sid\": []")));
  EXPECT_THAT(all_lines(c.warnings),
              HasSubstr("plugin_sid \"3:PLUGIN_SID\" refers to this or a later stage"));
}

TEST(OssimcnvConvert, OutOfRangePluginSidReferenceDropsOnlyThatDirective) {
  for (const std::string bad : {"5:PLUGIN_SID", "0:PLUGIN_SID", "-1:PLUGIN_SID"}) {
    const std::string xml =
        std::string(kDeclaration) + directive("1", rule("A") + rule("B")) +
        directive("2", rule("A", "", rules(rule("B", "plugin_sid=\"" + bad + "\"")))) +
        directive("3", rule("A") + rule("B"));
    const auto c = ossimcnv::convert(xml, fixture_tables());
    ASSERT_EQ(c.directives.size(), 2u) << bad;
    EXPECT_EQ(c.directives[0].id, 1);
    EXPECT_EQ(c.directives[1].id, 3);
    ASSERT_EQ(c.errors.size(), 1u);
    EXPECT_THAT(c.errors[0], HasSubstr("directive 2 \"D2\" (line 6): not converted: stage 2 \"B\" "
                                       "(line 9): plugin_sid \"" +
                                       bad + "\" refers to rule"));
    EXPECT_THAT(c.errors[0], HasSubstr("but the converted directive has 2 rules"));
  }
}

TEST(OssimcnvConvert, NonNumericPluginSidReferenceKeepsGosMessage) {
  const std::string xml =
      std::string(kDeclaration) +
      directive("2", rule("A", "", rules(rule("B", "plugin_sid=\"x:PLUGIN_SID\""))));
  const auto c = ossimcnv::convert(xml, fixture_tables());
  EXPECT_TRUE(c.directives.empty());
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_THAT(c.errors[0], HasSubstr("strconv.Atoi: parsing \"x\": invalid syntax"));
}

TEST(OssimcnvConvert, AnUnconvertibleDirectiveMakesTheRunExitOne) {
  Workspace ws(std::string(kDeclaration) +
               directive("500001", rule("A") + rule("B", "plugin_sid=\"7:PLUGIN_SID\"")) +
               directive("500002", rule("A") + rule("B")));
  const ToolRun r = run_cli(ws.args());
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("Exiting: Cannot convert every directive: directive 500001 "));
  EXPECT_THAT(r.err, HasSubstr("Error: directive 500001 \"D500001\" (line 2): not converted"));
  // What could be converted is still written.
  const std::string written = read_file(ws.path("directives_ossim.json"));
  EXPECT_THAT(written, HasSubstr("\"id\": 500002"));
  EXPECT_THAT(written, Not(HasSubstr("\"id\": 500001")));
}

TEST(OssimcnvConvert, TaxonomyRules) {
  const std::string xml =
      std::string(kDeclaration) +
      directive("500002",
                "<rule name=\"T\" product=\"3,4,x\" category=\"2\" subcategory=\"25,24\" "
                "from=\"ANY\" to=\"ANY\" port_from=\"ANY\" port_to=\"ANY\"/>\n"
                "<rule name=\"U\" category=\"9\" from=\"ANY\" to=\"ANY\" port_from=\"ANY\" "
                "port_to=\"ANY\"/>\n"
                "<rule name=\"P\" plugin_id=\"1\" plugin_sid=\"1\" product=\"4\" category=\"7\" "
                "subcategory=\"24\" from=\"ANY\" to=\"ANY\" port_from=\"ANY\" port_to=\"ANY\"/>\n");
  const auto c = ossimcnv::convert(xml, fixture_tables());
  ASSERT_EQ(c.directives.size(), 1u);
  const auto& d = c.directives[0];
  EXPECT_EQ(d.kingdom, "Reconnaissance & Probing");
  EXPECT_EQ(d.category, "Misc Activity");
  EXPECT_EQ(d.rules[0].type, "TaxonomyRule");
  EXPECT_EQ(d.rules[0].product,
            (std::vector<std::string>{"Intrusion Detection", "Authentication and DHCP"}));
  EXPECT_EQ(d.rules[0].category, "Authentication");
  EXPECT_EQ(d.rules[0].subcategory, (std::vector<std::string>{"Login Succeeded", "Login Failed"}));
  EXPECT_EQ(d.rules[1].category, "9");
  EXPECT_TRUE(d.rules[1].product.empty());
  EXPECT_EQ(d.rules[2].type, "PluginRule");
  EXPECT_EQ(d.rules[2].product_str, "4");
  EXPECT_EQ(d.rules[2].category, "7");
  EXPECT_EQ(d.rules[2].subcategory_str, "24");
  const std::string w = all_lines(c.warnings);
  EXPECT_THAT(w, HasSubstr("product \"x\" not found"));
  EXPECT_THAT(w, HasSubstr("category \"9\" not found in ossim_product_category.tsv"));
  EXPECT_THAT(w, HasSubstr("stage 2 \"U\" (line 4): the TaxonomyRule has no product"));
  EXPECT_THAT(w, HasSubstr("stage 3 \"P\" (line 5): product/category/subcategory of a PluginRule"));
}

TEST(OssimcnvConvert, DirectiveMissingFromTheTaxonomyIsReported) {
  const auto c = ossimcnv::convert(
      std::string(kDeclaration) + directive("42", rule("A") + rule("B")), fixture_tables());
  ASSERT_EQ(c.directives.size(), 1u);
  EXPECT_EQ(c.directives[0].kingdom, "");
  EXPECT_THAT(
      all_lines(c.warnings),
      HasSubstr("directive 42 \"D42\" (line 2): its id is not in ossim_alarm_taxonomy.tsv"));
}

// ---- XML decoding (tools.md §2.3, O1) -----------------------------------------------------

TEST(OssimcnvXml, EntitiesCommentsPisCdataAndDoctype) {
  const auto doc = ossimcnv::parse_xml(
      "<?xml version='1.0' encoding='utf-8'?>\n"
      "<!DOCTYPE directives SYSTEM 'x.dtd' [ <!ENTITY a 'b'> <!-- c> --> ]>\n"
      "<root><!-- a - comment -->\n"
      "  <e a=\"&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#xe9;\" b='say \"hi\"'\r\n"
      "     c=\"x\r\ny\"><![CDATA[ <not> &markup; ]]></e>\n"
      "  <?pi anything?>\n"
      "  <f/>\n"
      "</root>\n");
  EXPECT_EQ(doc.error, "");
  ASSERT_EQ(doc.elements.size(), 1u);
  const auto& root = doc.elements[0];
  ASSERT_EQ(root.children.size(), 2u);
  const auto& e = root.children[0];
  EXPECT_EQ(e.line, 4);
  EXPECT_TRUE(e.complete);
  EXPECT_EQ(*e.attribute("a"), "<>&\"'AB\xc3\xa9");
  EXPECT_EQ(*e.attribute("b"), "say \"hi\"");
  EXPECT_EQ(*e.attribute("c"), "x\ny");
  EXPECT_EQ(e.attribute("d"), nullptr);
  EXPECT_EQ(root.children[1].name, "f");
  EXPECT_EQ(root.children[1].line, 8);  // the value of c spans two lines
}

TEST(OssimcnvXml, SyntaxErrorsStopReadingWithALine) {
  const auto error_of = [](std::string_view text) {
    const auto doc = ossimcnv::parse_xml(text);
    return std::to_string(doc.error_line) + ": " + doc.error;
  };
  EXPECT_EQ(error_of("<a>\n<b x=\"&foo;\"/></a>"), "2: invalid character entity &foo;");
  EXPECT_EQ(error_of("<a>\n&amp</a>"), "2: invalid character entity &amp (no semicolon)");
  EXPECT_EQ(error_of("<a>\n<b></a>"), "2: element <b> (line 2) closed by </a>");
  EXPECT_EQ(error_of("<a x=1/>"), "1: unquoted or missing attribute value in element");
  EXPECT_EQ(error_of("<a x/>"), "1: attribute name without = in element");
  EXPECT_EQ(error_of("<a x=\"<\"/>"), "1: unescaped < inside quoted string");
  EXPECT_EQ(error_of("<a><!-- x -- y --></a>"),
            "1: invalid sequence \"--\" not allowed in comments");
  EXPECT_EQ(error_of("<a>\n\n<b>"),
            "3: unexpected end of file: element <b> (line 3) is not closed");
  EXPECT_EQ(error_of("<a>\xff</a>"), "1: invalid UTF-8");
  EXPECT_EQ(error_of("<a>\x01</a>"), "1: illegal character code U+0001");
  EXPECT_EQ(error_of("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>"),
            "1: encoding \"ISO-8859-1\" declared, but only UTF-8 is supported");
  EXPECT_EQ(error_of("</a>"), "1: unexpected end element </a>");
  EXPECT_EQ(error_of("<a>]]></a>"), "1: unescaped ]]> not in CDATA section");
}

TEST(OssimcnvXml, ContentAfterTheRootIsNotAnError) {
  const auto doc = ossimcnv::parse_xml("<a/>\n<b>&bad;</b>");
  EXPECT_EQ(doc.elements.size(), 2u);
  EXPECT_TRUE(doc.error_after_root);
}

TEST(OssimcnvXml, ImplicitRootWrapsTheRestOfTheText) {
  const std::string text = "<?xml version=\"1.0\"?>\n<d id=\"1\"/>\n<d id=\"2\"/>\n";
  const auto doc = ossimcnv::parse_xml(text, text.find('\n'), "directives");
  EXPECT_EQ(doc.error, "");
  ASSERT_EQ(doc.elements.size(), 1u);
  EXPECT_EQ(doc.elements[0].name, "directives");
  EXPECT_TRUE(doc.elements[0].complete);
  EXPECT_EQ(doc.elements[0].children.size(), 2u);
}

TEST(OssimcnvMalformed, DirectivesBeforeASyntaxErrorAreKept) {
  const std::string xml = std::string(kDeclaration) + directive("1", rule("A") + rule("B")) +
                          "<directive id=\"2\" name=\"broken\" priority=\"1\">\n"
                          "<rule name=\"a\" plugin_sid=\"&nope;\"/>\n</directive>\n" +
                          directive("3", rule("A") + rule("B"));
  const auto c = ossimcnv::convert(xml, fixture_tables(), "in.xml");
  ASSERT_EQ(c.directives.size(), 1u);
  EXPECT_EQ(c.directives[0].id, 1);
  const std::string e = all_lines(c.errors);
  EXPECT_THAT(e, HasSubstr("in.xml: XML syntax error on line 7 (nothing after it was read): "
                           "invalid character entity &nope;"));
  EXPECT_THAT(e, HasSubstr("directive 2 \"broken\" (line 6): not converted: it is cut by the XML "
                           "syntax error on line 7"));
}

TEST(OssimcnvMalformed, AnInvalidNumberDropsThatDirectiveAndEveryLaterOne) {
  const std::string xml = std::string(kDeclaration) + directive("1", rule("A") + rule("B")) +
                          directive("2", rule("A", "", rules(rule("B", "time_out=\"soon\"")))) +
                          directive("3", rule("A") + rule("B"));
  const auto c = ossimcnv::convert(xml, fixture_tables());
  ASSERT_EQ(c.directives.size(), 1u);
  ASSERT_EQ(c.errors.size(), 2u) << all_lines(c.errors);
  EXPECT_THAT(c.errors[0],
              HasSubstr("directive 2 \"D2\" (line 6): not converted: line 9: time_out=\"soon\": "
                        "strconv.ParseInt: parsing \"soon\": invalid syntax"));
  EXPECT_THAT(c.errors[1], HasSubstr("directive 3 \"D3\" (line 13): not converted: reading "
                                     "stopped at the invalid number in directive 2"));
}

TEST(OssimcnvMalformed, WithoutTheExactDeclarationNothingIsConverted) {
  const std::string xml = "<?xml version='1.0' encoding='UTF-8'?>\n" +
                          directive("1", rule("A") + rule("B")) +
                          directive("2", rule("A") + rule("B"));
  const auto c = ossimcnv::convert(xml, fixture_tables());
  EXPECT_TRUE(c.directives.empty());
  ASSERT_EQ(c.errors.size(), 2u) << all_lines(c.errors);
  EXPECT_THAT(c.errors[0], HasSubstr("directive 1 \"D1\" (line 2): not converted: it is the root "
                                     "element of the file; no line holds exactly"));
  EXPECT_THAT(c.errors[1], HasSubstr("directive 2 \"D2\" (line 6): not converted: it comes after "
                                     "the end of the root element"));
  EXPECT_EQ(ossimcnv::render(c.directives, true), "{\n  \"directives\": null\n}\n");
}

TEST(OssimcnvMalformed, AFileThatHasItsOwnRootIsReported) {
  const std::string xml = std::string(kDeclaration) + "<directives>\n" +
                          directive("1", rule("A") + rule("B")) + "</directives>\n";
  const auto c = ossimcnv::convert(xml, fixture_tables());
  EXPECT_TRUE(c.directives.empty());
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_THAT(c.errors[0], HasSubstr("directive 1 \"D1\" (line 3): not converted: it is inside "
                                     "<directives> (line 2)"));
}

TEST(OssimcnvMalformed, ADirectiveOnTheDeclarationLineIsLost) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + directive("1", rule("A") + rule("B"));
  const auto c = ossimcnv::convert(xml, fixture_tables());
  EXPECT_TRUE(c.directives.empty());
  EXPECT_FALSE(c.errors.empty());
  EXPECT_THAT(all_lines(c.errors), HasSubstr("text next to the XML declaration was discarded"));
}

TEST(OssimcnvMalformed, TheRunWritesWhatWasReadAndExitsOne) {
  Workspace ws(std::string(kDeclaration) + directive("500001", rule("A") + rule("B")) +
               "<directive id=\"500002\" name=\"x\" priority=\"1\">\n<rule name=\"a\">\n");
  const ToolRun r = run_cli(ws.args());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Exiting: Cannot convert every directive: " + ws.path("user.xml").string() +
                       ": XML syntax error on line 8 (nothing after it was read): unexpected end "
                       "of file: element <rule> (line 7) is not closed (and 1 more errors on "
                       "stderr)\n");
  EXPECT_THAT(r.err, HasSubstr("Error: directive 500002 \"x\" (line 6): not converted"));
  const std::string written = read_file(ws.path("directives_ossim.json"));
  EXPECT_THAT(written, HasSubstr("\"id\": 500001"));
  EXPECT_THAT(written, HasSubstr("\"kingdom\": \"System Compromise\""));
  EXPECT_EQ(files_in(ws.root()),
            (std::set<std::string>{"directives_ossim.json", "ossimref", "user.xml"}));
}

}  // namespace
}  // namespace dsiem::tools
