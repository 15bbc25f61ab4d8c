// The command line shared by the companion tools (tools.md §0): help, cobra-style errors,
// flag/env precedence, value validation and `version`.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "dsiem/tools/tool_cli.h"

namespace dsiem::tools {
namespace {

// A tool with one subcommand whose action records the values it received.
struct FakeTool {
  std::map<std::string, std::string> env;
  ToolValues seen;
  bool ran = false;

  ToolSpec spec() {
    ToolCommand run_cmd{"run",
                        "Run the fake tool",
                        {
                            {"name", 'n', FlagType::kString, "default-name", "a name"},
                            {"count", 'c', FlagType::kInt, "1000", "a count"},
                            {"verbose", 'v', FlagType::kBool, "false", "be verbose"},
                        },
                        [this](const ToolValues& values, std::ostream& out, std::ostream&) {
                          ran = true;
                          seen = values;
                          out << "ran\n";
                          return 7;
                        }};
    ToolCommand bare_cmd{"bare", "A command without an action", {}, nullptr};
    return ToolSpec{"fake",
                    "FAKE",
                    "A fake tool for tests",
                    {{"config", 'f', FlagType::kString, "fake.json", "config file"}},
                    nullptr,
                    {run_cmd, bare_cmd}};
  }

  int run(const std::vector<std::string>& args, std::string& out, std::string& err) {
    std::ostringstream o, e;
    const int code = run_tool(spec(), args, o, e, [this](const char* name) -> const char* {
      const auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    });
    out = o.str();
    err = e.str();
    return code;
  }
};

TEST(ToolCli, BareToolPrintsHelpAndExitsZero) {
  FakeTool tool;
  std::string out, err;
  EXPECT_EQ(tool.run({}, out, err), 0);
  EXPECT_TRUE(err.empty());
  EXPECT_EQ(out.rfind("A fake tool for tests\n\nUsage:\n  dsiem fake [command]\n", 0), 0u) << out;
  EXPECT_NE(out.find("\n  run         Run the fake tool\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n  help        Help about any command\n"), std::string::npos);
  EXPECT_NE(out.find("\n  version     Print the version and build information\n"),
            std::string::npos);
  EXPECT_NE(out.find("--config string"), std::string::npos);
  EXPECT_FALSE(tool.ran);
}

TEST(ToolCli, HelpCommandAndHelpFlagShowTheCommandHelp) {
  FakeTool tool;
  std::string out, err;
  EXPECT_EQ(tool.run({"help", "run"}, out, err), 0);
  const std::string help_cmd = out;
  EXPECT_EQ(help_cmd.rfind("Run the fake tool\n\nUsage:\n  dsiem fake run [flags]\n", 0), 0u)
      << help_cmd;
  EXPECT_NE(help_cmd.find("-n, --name string"), std::string::npos);
  EXPECT_NE(help_cmd.find("(default \"default-name\")"), std::string::npos);
  EXPECT_NE(help_cmd.find("(default 1000)"), std::string::npos);

  EXPECT_EQ(tool.run({"run", "--help"}, out, err), 0);
  EXPECT_EQ(out, help_cmd);
  EXPECT_EQ(tool.run({"run", "-h"}, out, err), 0);
  EXPECT_EQ(out, help_cmd);
  EXPECT_FALSE(tool.ran);

  // A command without an action prints its help too.
  EXPECT_EQ(tool.run({"bare"}, out, err), 0);
  EXPECT_EQ(out.rfind("A command without an action\n\nUsage:\n", 0), 0u) << out;
}

TEST(ToolCli, UnknownCommand) {
  FakeTool tool;
  std::string out, err;
  EXPECT_EQ(tool.run({"nope"}, out, err), 1);
  EXPECT_EQ(err,
            "Error: unknown command \"nope\" for \"dsiem fake\"\n"
            "Run 'dsiem fake --help' for usage.\n");
  EXPECT_EQ(out,
            "Exiting: Error returned from command: unknown command \"nope\" for \"dsiem fake\"\n");
}

TEST(ToolCli, UnknownFlagPrintsUsage) {
  FakeTool tool;
  std::string out, err;
  EXPECT_EQ(tool.run({"run", "--bogus"}, out, err), 1);
  EXPECT_EQ(out, "Exiting: Error returned from command: unknown flag: --bogus\n");
  EXPECT_EQ(err.rfind("Error: unknown flag: --bogus\n", 0), 0u) << err;
  EXPECT_NE(err.find("Usage:\n  dsiem fake run [flags]\n"), std::string::npos) << err;
  EXPECT_FALSE(tool.ran);

  EXPECT_EQ(tool.run({"run", "-z"}, out, err), 1);
  EXPECT_EQ(out, "Exiting: Error returned from command: unknown shorthand flag: 'z' in -z\n");

  EXPECT_EQ(tool.run({"run", "--name"}, out, err), 1);
  EXPECT_EQ(out, "Exiting: Error returned from command: flag needs an argument: --name\n");
}

TEST(ToolCli, DefaultsWhenNothingIsGiven) {
  FakeTool tool;
  std::string out, err;
  EXPECT_EQ(tool.run({"run"}, out, err), 7);
  ASSERT_TRUE(tool.ran);
  EXPECT_EQ(out, "ran\n");
  EXPECT_EQ(tool.seen.text("name"), "default-name");
  EXPECT_EQ(tool.seen.integer("count"), 1000);
  EXPECT_FALSE(tool.seen.boolean("verbose"));
  EXPECT_EQ(tool.seen.text("config"), "fake.json");
  EXPECT_FALSE(tool.seen.is_set("name"));
}

TEST(ToolCli, ExplicitFlagBeatsEnvWhichBeatsDefault) {
  FakeTool tool;
  std::string out, err;
  tool.env["FAKE_NAME"] = "from-env";
  tool.env["FAKE_COUNT"] = "42";
  tool.env["FAKE_CONFIG"] = "";  // empty: the default stays
  ASSERT_EQ(tool.run({"run"}, out, err), 7);
  EXPECT_EQ(tool.seen.text("name"), "from-env");
  EXPECT_TRUE(tool.seen.is_set("name"));
  EXPECT_EQ(tool.seen.integer("count"), 42);
  EXPECT_EQ(tool.seen.text("config"), "fake.json");
  EXPECT_FALSE(tool.seen.is_set("config"));

  ASSERT_EQ(tool.run({"run", "--name", "from-flag", "-c", "5"}, out, err), 7);
  EXPECT_EQ(tool.seen.text("name"), "from-flag");
  EXPECT_EQ(tool.seen.integer("count"), 5);
}

TEST(ToolCli, FlagSpellings) {
  FakeTool tool;
  std::string out, err;
  ASSERT_EQ(tool.run({"run", "--name=a=b", "-c7", "-v", "pos1", "--", "--name"}, out, err), 7);
  EXPECT_EQ(tool.seen.text("name"), "a=b");
  EXPECT_EQ(tool.seen.integer("count"), 7);
  EXPECT_TRUE(tool.seen.boolean("verbose"));
  EXPECT_EQ(tool.seen.args(), (std::vector<std::string>{"pos1", "--name"}));

  ASSERT_EQ(tool.run({"run", "--verbose=false", "-n=x", "--config", "other.json"}, out, err), 7);
  EXPECT_FALSE(tool.seen.boolean("verbose"));
  EXPECT_EQ(tool.seen.text("name"), "x");
  EXPECT_EQ(tool.seen.text("config"), "other.json");
}

TEST(ToolCli, IntFlagsAreValidatedWithBaseDetection) {
  FakeTool tool;
  std::string out, err;
  EXPECT_EQ(tool.run({"run", "--count", "abc"}, out, err), 1);
  EXPECT_EQ(out,
            "Exiting: Error returned from command: invalid argument \"abc\" for \"-c, --count\" "
            "flag: strconv.ParseInt: parsing \"abc\": invalid syntax\n");
  EXPECT_FALSE(tool.ran);

  ASSERT_EQ(tool.run({"run", "--count", "0x1F"}, out, err), 7);
  EXPECT_EQ(tool.seen.integer("count"), 31);
  ASSERT_EQ(tool.run({"run", "--count", "010"}, out, err), 7);
  EXPECT_EQ(tool.seen.integer("count"), 8);

  // A variable is not validated: unparsable text reads as 0, as spf13/cast does.
  tool.env["FAKE_COUNT"] = "abc";
  ASSERT_EQ(tool.run({"run"}, out, err), 7);
  EXPECT_EQ(tool.seen.integer("count"), 0);
}

TEST(ToolCli, BoolFlagsAndVariables) {
  FakeTool tool;
  std::string out, err;
  EXPECT_EQ(tool.run({"run", "--verbose=maybe"}, out, err), 1);
  EXPECT_EQ(out,
            "Exiting: Error returned from command: invalid argument \"maybe\" for \"-v, "
            "--verbose\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax\n");
  tool.env["FAKE_VERBOSE"] = "T";
  ASSERT_EQ(tool.run({"run"}, out, err), 7);
  EXPECT_TRUE(tool.seen.boolean("verbose"));
  ASSERT_EQ(tool.run({"run", "--verbose=0"}, out, err), 7);
  EXPECT_FALSE(tool.seen.boolean("verbose"));
}

TEST(ToolCli, VersionPrintsVersionAndBuildTime) {
  FakeTool tool;
  std::string out, err;
  EXPECT_EQ(tool.run({"version"}, out, err), 0);
  EXPECT_TRUE(err.empty());
#if defined(DSIEM_VERSION) && defined(DSIEM_BUILD_TIME)
  EXPECT_EQ(out, std::string(DSIEM_VERSION) + " " + DSIEM_BUILD_TIME + "\n");
#else
  // Both values are injected at build time and may be empty: "<version> <time>\n".
  EXPECT_TRUE(std::regex_match(out, std::regex("[^ \n]* [^ \n]*\n"))) << out;
#endif
  EXPECT_FALSE(tool.ran);
}

TEST(ToolCli, ExitFatalWritesOneExitingLine) {
  std::ostringstream out;
  EXPECT_EQ(exit_fatal(out, "Cannot start server", "Invalid TCP port number"), 1);
  EXPECT_EQ(out.str(), "Exiting: Cannot start server: Invalid TCP port number\n");
  std::ostringstream bare;
  EXPECT_EQ(exit_fatal(bare, "Something failed"), 1);
  EXPECT_EQ(bare.str(), "Exiting: Something failed\n");
}

}  // namespace
}  // namespace dsiem::tools
