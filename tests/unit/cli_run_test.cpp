#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dsiem/cli/cli.h"

#ifndef DSIEM_VERSION
#define DSIEM_VERSION ""
#endif
#ifndef DSIEM_BUILD_TIME
#define DSIEM_BUILD_TIME ""
#endif

namespace dsiem::cli {
namespace {

using Env = std::map<std::string, std::string>;
using Strings = std::vector<std::string>;

struct Outcome {
  int code = -1;
  std::string out, err;
  std::optional<Settings> serve, validate;
};

Outcome run_cli(const Strings& args, const Env& env = {}, int command_code = 0) {
  std::vector<const char*> argv{"dsiem"};
  for (const auto& a : args) argv.push_back(a.c_str());
  Outcome o;
  Commands commands;
  commands.serve = [&](const Settings& s) {
    o.serve = s;
    return command_code;
  };
  commands.validate = [&](const Settings& s) {
    o.validate = s;
    return command_code;
  };
  std::ostringstream out, err;
  o.code = run(static_cast<int>(argv.size()), argv.data(), commands, out, err,
               [&env](const char* name) -> const char* {
                 const auto it = env.find(name);
                 return it == env.end() ? nullptr : it->second.c_str();
               });
  o.out = out.str();
  o.err = err.str();
  return o;
}

Settings serve_with(const Strings& args, const Env& env = {}) {
  Strings full{"serve"};
  full.insert(full.end(), args.begin(), args.end());
  const Outcome o = run_cli(full, env);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(o.serve.has_value());
  return o.serve.value_or(Settings{});
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CliRun, ServeDefaults) {
  const Settings s = serve_with({});
  const Settings d;
  EXPECT_FALSE(s.dev);
  EXPECT_FALSE(s.debug);
  EXPECT_EQ(s.address, "0.0.0.0");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.max_delay, 180);
  EXPECT_EQ(s.max_queue, 25000);
  EXPECT_EQ(s.max_eps, 1000);
  EXPECT_EQ(s.min_eps, 100);
  EXPECT_EQ(s.min_alarm_lifetime, 0);
  EXPECT_EQ(s.hold_duration, 10);
  EXPECT_EQ(s.cache_duration, 10);
  EXPECT_FALSE(s.apm || s.writeable_config || s.pprof || s.websocket || s.trace ||
               s.intel_private_ip);
  EXPECT_EQ(s.mode, "standalone");
  EXPECT_EQ(s.msq, "nats://dsiem-nats:4222");
  EXPECT_EQ(s.frontend, "");
  EXPECT_EQ(s.node, "");
  EXPECT_EQ(s.tags, d.tags);
  EXPECT_EQ(s.status, d.status);
  EXPECT_EQ(s.med_risk_min, 3);
  EXPECT_EQ(s.med_risk_max, 6);
  EXPECT_EQ(s.file_pattern, "directives_*.json");
  EXPECT_TRUE(s.from_env.empty());
  EXPECT_EQ(dsiem_config_json(s), dsiem_config_json(d));
}

struct IntFlag {
  const char* name;
  const char* shorthand;
  int64_t Settings::*member;
};

const std::vector<IntFlag>& int_flags() {
  static const std::vector<IntFlag> flags = {
      {"port", "p", &Settings::port},
      {"maxDelay", "d", &Settings::max_delay},
      {"maxQueue", "q", &Settings::max_queue},
      {"maxEPS", "e", &Settings::max_eps},
      {"minEPS", "i", &Settings::min_eps},
      {"minAlarmLifetime", "l", &Settings::min_alarm_lifetime},
      {"holdDuration", "n", &Settings::hold_duration},
      {"cacheDuration", "c", &Settings::cache_duration},
      {"medRiskMin", "", &Settings::med_risk_min},
      {"medRiskMax", "", &Settings::med_risk_max},
  };
  return flags;
}

TEST(CliRun, IntFlagsLongAndShort) {
  for (const auto& f : int_flags()) {
    const std::string name = f.name;
    EXPECT_EQ(serve_with({"--" + name, "42"}).*f.member, 42) << name;
    EXPECT_EQ(serve_with({"--" + name + "=0x10"}).*f.member, 16) << name;
    if (*f.shorthand) {
      const std::string sh = f.shorthand;
      EXPECT_EQ(serve_with({"-" + sh, "7"}).*f.member, 7) << sh;
      EXPECT_EQ(serve_with({"-" + sh + "9"}).*f.member, 9) << sh;
      EXPECT_EQ(serve_with({"-" + sh + "=11"}).*f.member, 11) << sh;
    }
  }
  EXPECT_EQ(serve_with({"--port", "-5"}).port, -5);
  EXPECT_EQ(serve_with({"-p", "1", "--port", "2"}).port, 2);  // last one wins
}

struct StringFlag {
  const char* name;
  const char* shorthand;
  std::string Settings::*member;
};

TEST(CliRun, StringFlagsLongAndShort) {
  const std::vector<StringFlag> flags = {
      {"address", "a", &Settings::address}, {"mode", "m", &Settings::mode},
      {"msq", "", &Settings::msq},          {"frontend", "", &Settings::frontend},
      {"node", "", &Settings::node},
  };
  for (const auto& f : flags) {
    const std::string name = f.name;
    EXPECT_EQ(serve_with({"--" + name, "v a"}).*f.member, "v a") << name;
    EXPECT_EQ(serve_with({"--" + name + "=x=y"}).*f.member, "x=y") << name;
    EXPECT_EQ(serve_with({"--" + name + "="}).*f.member, "") << name;
    if (*f.shorthand) {
      EXPECT_EQ(serve_with({std::string("-") + f.shorthand, "sv"}).*f.member, "sv") << name;
    }
  }
  // A value-taking flag takes the next argument even when it looks like a flag or a command.
  EXPECT_EQ(serve_with({"--node", "--dev"}).node, "--dev");
  EXPECT_EQ(serve_with({"--node", "validate"}).node, "validate");
  EXPECT_EQ(serve_with({"--node", "--"}).node, "--");
}

TEST(CliRun, BoolFlags) {
  const std::vector<std::pair<const char*, bool Settings::*>> flags = {
      {"dev", &Settings::dev},     {"debug", &Settings::debug},
      {"apm", &Settings::apm},     {"writeableConfig", &Settings::writeable_config},
      {"pprof", &Settings::pprof}, {"websocket", &Settings::websocket},
      {"trace", &Settings::trace}, {"intelPrivateIP", &Settings::intel_private_ip},
  };
  for (const auto& [name_c, member] : flags) {
    const std::string name = name_c;
    EXPECT_TRUE(serve_with({"--" + name}).*member) << name;
    EXPECT_TRUE(serve_with({"--" + name + "=true"}).*member) << name;
    EXPECT_TRUE(serve_with({"--" + name + "=T"}).*member) << name;
    EXPECT_FALSE(serve_with({"--" + name + "=false"}).*member) << name;
    EXPECT_FALSE(serve_with({"--" + name, "--" + name + "=0"}).*member) << name;
    // As in pflag, a separate word is not the flag's value.
    EXPECT_TRUE(serve_with({"--" + name, "false"}).*member) << name;
  }
  const Outcome bad = run_cli({"serve", "--apm=yes"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(has(bad.err,
                  "Error: invalid argument \"yes\" for \"--apm\" flag: "
                  "strconv.ParseBool: parsing \"yes\": invalid syntax"))
      << bad.err;
  EXPECT_FALSE(bad.serve.has_value());
}

TEST(CliRun, GlobalFlagsBeforeAndAfterTheCommand) {
  EXPECT_TRUE(run_cli({"--dev", "serve"}).serve->dev);
  EXPECT_TRUE(run_cli({"--debug", "validate"}).validate->debug);
  EXPECT_FALSE(run_cli({"--dev", "serve", "--dev=false"}).serve->dev);
  EXPECT_TRUE(run_cli({"--dev=false", "serve", "--dev"}).serve->dev);
  EXPECT_TRUE(run_cli({"validate", "--dev"}).validate->dev);
}

TEST(CliRun, ListFlagsUseCsvOnTheCommandLine) {
  EXPECT_EQ(serve_with({"--status", "Open,In Progress"}).status, (Strings{"Open", "In Progress"}));
  EXPECT_EQ(serve_with({"-t", "\"a,b\",c"}).tags, (Strings{"a,b", "c"}));
  EXPECT_EQ(serve_with({"--tags=x"}).tags, Strings{"x"});
  // Repeats append; the first one replaces the default.
  EXPECT_EQ(serve_with({"-s", "a", "--status", "b,c", "-s=d"}).status,
            (Strings{"a", "b", "c", "d"}));
  EXPECT_EQ(serve_with({"--tags", ""}).tags, Strings{});
  EXPECT_EQ(serve_with({"--tags="}).tags, Strings{});

  const Outcome bad = run_cli({"serve", "--tags", "a\"b"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(has(bad.err,
                  "Error: invalid argument \"a\\\"b\" for \"-t, --tags\" flag: "
                  "parse error on line 1, column 1: bare \" in non-quoted-field"))
      << bad.err;
}

TEST(CliRun, ValidateFilePattern) {
  EXPECT_EQ(run_cli({"validate"}).validate->file_pattern, "directives_*.json");
  EXPECT_EQ(run_cli({"validate", "-f", "directives_a*.json"}).validate->file_pattern,
            "directives_a*.json");
  EXPECT_EQ(run_cli({"validate", "--filePattern=x.json"}).validate->file_pattern, "x.json");
  EXPECT_EQ(run_cli({"validate", "-f", "a"}, {{"DSIEM_FILEPATTERN", "b"}}).validate->file_pattern,
            "a");
  const Outcome env = run_cli({"validate"}, {{"DSIEM_FILEPATTERN", "b"}});
  EXPECT_EQ(env.validate->file_pattern, "b");
  // -f belongs to validate only.
  EXPECT_EQ(run_cli({"serve", "-f", "x"}).code, 1);
  // serve sees DSIEM_FILEPATTERN too (it ends up in dsiem_config.json).
  EXPECT_EQ(serve_with({}, {{"DSIEM_FILEPATTERN", "b"}}).file_pattern, "b");
}

TEST(CliRun, CommandExitCodeIsReturned) {
  EXPECT_EQ(run_cli({"serve"}, {}, 3).code, 3);
  EXPECT_EQ(run_cli({"validate"}, {}, 1).code, 1);
}

TEST(CliRun, EnvSetsEveryFlag) {
  const Env env = {
      {"DSIEM_DEV", "true"},
      {"DSIEM_DEBUG", "1"},
      {"DSIEM_ADDRESS", "127.0.0.1"},
      {"DSIEM_PORT", "9090"},
      {"DSIEM_MAXDELAY", "1"},
      {"DSIEM_MAXQUEUE", "2"},
      {"DSIEM_MAXEPS", "30"},
      {"DSIEM_MINEPS", "4"},
      {"DSIEM_MINALARMLIFETIME", "5"},
      {"DSIEM_HOLDDURATION", "6"},
      {"DSIEM_APM", "T"},
      {"DSIEM_WRITEABLECONFIG", "TRUE"},
      {"DSIEM_PPROF", "True"},
      {"DSIEM_WEBSOCKET", "t"},
      {"DSIEM_TRACE", "1"},
      {"DSIEM_INTELPRIVATEIP", "true"},
      {"DSIEM_MODE", "cluster-backend"},
      {"DSIEM_CACHEDURATION", "7"},
      {"DSIEM_MSQ", "nats://n:4222"},
      {"DSIEM_FRONTEND", "http://fe:8080"},
      {"DSIEM_NODE", "be-1"},
      {"DSIEM_TAGS", "A B"},
      {"DSIEM_STATUS", "X Y Z"},
      {"DSIEM_MEDRISKMIN", "2"},
      {"DSIEM_MEDRISKMAX", "8"},
      {"DSIEM_FILEPATTERN", "d_*.json"},
  };
  const Settings s = serve_with({}, env);
  EXPECT_TRUE(s.dev && s.debug && s.apm && s.writeable_config && s.pprof && s.websocket &&
              s.trace && s.intel_private_ip);
  EXPECT_EQ(s.address, "127.0.0.1");
  EXPECT_EQ(s.port, 9090);
  EXPECT_EQ(s.max_delay, 1);
  EXPECT_EQ(s.max_queue, 2);
  EXPECT_EQ(s.max_eps, 30);
  EXPECT_EQ(s.min_eps, 4);
  EXPECT_EQ(s.min_alarm_lifetime, 5);
  EXPECT_EQ(s.hold_duration, 6);
  EXPECT_EQ(s.cache_duration, 7);
  EXPECT_EQ(s.mode, "cluster-backend");
  EXPECT_EQ(s.msq, "nats://n:4222");
  EXPECT_EQ(s.frontend, "http://fe:8080");
  EXPECT_EQ(s.node, "be-1");
  EXPECT_EQ(s.tags, (Strings{"A", "B"}));
  EXPECT_EQ(s.status, (Strings{"X", "Y", "Z"}));
  EXPECT_EQ(s.med_risk_min, 2);
  EXPECT_EQ(s.med_risk_max, 8);
  EXPECT_EQ(s.file_pattern, "d_*.json");
  EXPECT_EQ(s.from_env.size(), env.size());
  for (const char* key : {"maxeps", "intelprivateip", "writeableconfig", "filepattern", "tags"}) {
    EXPECT_EQ(s.from_env.count(key), 1u) << key;
  }
  EXPECT_EQ(s.env_text.at("port"), "9090");
  EXPECT_EQ(check_serve_settings(s), "");
}

TEST(CliRun, ExplicitFlagBeatsEnvAndEmptyEnvIsIgnored) {
  const Settings s = serve_with({"--port", "81", "-m", "standalone", "--apm=false"},
                                {{"DSIEM_PORT", "82"},
                                 {"DSIEM_MODE", "cluster-frontend"},
                                 {"DSIEM_APM", "true"},
                                 {"DSIEM_MAXEPS", "500"},
                                 {"DSIEM_NODE", ""}});
  EXPECT_EQ(s.port, 81);
  EXPECT_EQ(s.mode, "standalone");
  EXPECT_FALSE(s.apm);
  EXPECT_EQ(s.max_eps, 500);
  EXPECT_EQ(s.node, "");
  EXPECT_EQ(s.from_env, (std::set<std::string>{"maxeps"}));
  EXPECT_EQ(s.env_text.count("port"), 0u);
  // A flag given with the default value still wins over the environment.
  EXPECT_EQ(serve_with({"-p", "8080"}, {{"DSIEM_PORT", "82"}}).port, 8080);
}

TEST(CliRun, EnvListsSplitOnWhitespace) {
  const Settings s = serve_with({}, {{"DSIEM_TAGS", "Identified Threat,Valid Threat"},
                                     {"DSIEM_STATUS", " Open\tIn-Progress\n"}});
  EXPECT_EQ(s.tags, (Strings{"Identified", "Threat,Valid", "Threat"}));
  EXPECT_EQ(s.status, (Strings{"Open", "In-Progress"}));
  const Settings blank = serve_with({}, {{"DSIEM_TAGS", "   "}});
  EXPECT_EQ(blank.tags, Strings{});
  EXPECT_EQ(check_serve_settings(blank), "Cannot initialize alarm: tags list cannot be empty");
}

TEST(CliRun, EnvIntsDetectTheBase) {
  EXPECT_EQ(serve_with({}, {{"DSIEM_PORT", "010"}}).port, 8);
  EXPECT_EQ(serve_with({}, {{"DSIEM_PORT", "0x1F"}}).port, 31);
  EXPECT_EQ(serve_with({}, {{"DSIEM_PORT", "0b11"}}).port, 3);
  EXPECT_EQ(serve_with({}, {{"DSIEM_PORT", "0o11"}}).port, 9);
  const Settings bad = serve_with({}, {{"DSIEM_PORT", "abc"}});
  EXPECT_EQ(bad.port, 0);
  EXPECT_EQ(check_serve_settings(bad), "Cannot start server: Invalid TCP port number");
  EXPECT_EQ(serve_with({}, {{"DSIEM_MAXEPS", "1e3"}}).max_eps, 0);
}

TEST(CliRun, EnvBools) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    EXPECT_TRUE(serve_with({}, {{"DSIEM_WEBSOCKET", t}}).websocket) << t;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False", "yes", "on", "2"}) {
    EXPECT_FALSE(serve_with({}, {{"DSIEM_WEBSOCKET", f}}).websocket) << f;
  }
  EXPECT_TRUE(serve_with({}, {{"DSIEM_DEV", "1"}}).dev);
}

TEST(CliRun, EnvValuesGoToConfigJsonAsStrings) {
  const Settings s = serve_with(
      {"--maxEPS", "5"},
      {{"DSIEM_PORT", "0x1F"}, {"DSIEM_DEBUG", "1"}, {"DSIEM_MAXEPS", "6"}, {"DSIEM_TAGS", "A B"}});
  const std::string json = dsiem_config_json(s);
  EXPECT_TRUE(has(json, "\n  \"port\": \"0x1F\",\n")) << json;
  EXPECT_TRUE(has(json, "\n  \"debug\": \"1\",\n"));
  EXPECT_TRUE(has(json, "\n  \"maxeps\": 5,\n"));
  EXPECT_TRUE(has(json, "\n  \"tags\": [\n    \"A\",\n    \"B\"\n  ],\n"));
  EXPECT_TRUE(has(json, "\n  \"mineps\": 100,\n"));
}

TEST(CliRun, CommandLineIntErrors) {
  const Outcome o = run_cli({"serve", "--port", "abc"});
  EXPECT_EQ(o.code, 1);
  EXPECT_FALSE(o.serve.has_value());
  EXPECT_TRUE(has(o.err,
                  "Error: invalid argument \"abc\" for \"-p, --port\" flag: "
                  "strconv.ParseInt: parsing \"abc\": invalid syntax\n"))
      << o.err;
  EXPECT_TRUE(has(o.err, "Usage:\n  dsiem serve [flags]"));
  EXPECT_TRUE(has(o.out, "Error returned from command: invalid argument"));
  EXPECT_EQ(run_cli({"serve", "-e", "99999999999999999999"}).code, 1);
  EXPECT_EQ(run_cli({"serve", "--maxEPS="}).code, 1);
}

TEST(CliRun, UnknownFlagsAndCommands) {
  Outcome o = run_cli({"serve", "--bogus"});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(has(o.err, "Error: unknown flag: --bogus\n")) << o.err;
  EXPECT_FALSE(o.serve.has_value());

  o = run_cli({"serve", "--bogus=1"});
  EXPECT_TRUE(has(o.err, "Error: unknown flag: --bogus\n")) << o.err;

  o = run_cli({"serve", "-x"});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(has(o.err, "Error: unknown shorthand flag: 'x' in -x\n")) << o.err;

  o = run_cli({"--bogus"});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(has(o.err, "Error: unknown flag: --bogus")) << o.err;

  o = run_cli({"frobnicate"});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(has(o.err, "Error: unknown command \"frobnicate\" for \"dsiem\"\n")) << o.err;
  EXPECT_TRUE(has(o.err, "Run 'dsiem --help' for usage.\n"));

  o = run_cli({"serv"});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(has(o.err, "Did you mean this?\n\tserve\n")) << o.err;

  o = run_cli({"serve", "--port"});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(has(o.err, "Error: flag needs an argument: --port\n")) << o.err;
  o = run_cli({"serve", "-p"});
  EXPECT_TRUE(has(o.err, "Error: flag needs an argument: 'p' in -p\n")) << o.err;
}

TEST(CliRun, PositionalArgumentsOfACommandAreAccepted) {
  EXPECT_EQ(run_cli({"serve", "extra", "args"}).code, 0);
  const Outcome o = run_cli({"serve", "a", "--", "-p", "5", "--bogus"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.serve->port, 8080);
}

TEST(CliRun, HelpEverywhere) {
  for (const Strings& args :
       {Strings{}, Strings{"-h"}, Strings{"--help"}, Strings{"help"}, Strings{"--dev"}}) {
    const Outcome o = run_cli(args);
    EXPECT_EQ(o.code, 0);
    EXPECT_TRUE(has(o.out, "Usage:\n  dsiem [command]\n")) << o.out;
    EXPECT_TRUE(has(o.out,
                    "Available Commands:\n  help        Help about any command\n"
                    "  serve       Start the server\n"))
        << o.out;
    EXPECT_EQ(o.err, "");
  }
  for (const Strings& args :
       {Strings{"serve", "-h"}, Strings{"serve", "--help"}, Strings{"help", "serve"},
        Strings{"--dev", "serve", "-p", "1", "-h"}}) {
    const Outcome o = run_cli(args);
    EXPECT_EQ(o.code, 0);
    EXPECT_FALSE(o.serve.has_value());
    EXPECT_TRUE(has(o.out, "Usage:\n  dsiem serve [flags]\n")) << o.out;
    EXPECT_TRUE(has(o.out, "  -e, --maxEPS int ")) << o.out;
    EXPECT_TRUE(has(o.out, "(default [Open,In-Progress,Closed])"));
    EXPECT_TRUE(has(o.out, "Global Flags:\n      --debug "));
  }
  Outcome o = run_cli({"validate", "--help"});
  EXPECT_EQ(o.code, 0);
  EXPECT_FALSE(o.validate.has_value());
  EXPECT_TRUE(has(o.out,
                  "  -f, --filePattern string   Directive file pattern glob to validate "
                  "(default \"directives_*.json\")"))
      << o.out;
  o = run_cli({"help", "version"});
  EXPECT_TRUE(has(o.out, "Usage:\n  dsiem version [flags]")) << o.out;
  o = run_cli({"help", "nothing"});
  EXPECT_EQ(o.code, 0);
  EXPECT_TRUE(has(o.err, "Unknown help topic [`nothing`]")) << o.err;
  // cobra's help flag is a boolean like any other.
  o = run_cli({"serve", "--help=false"});
  EXPECT_EQ(o.code, 0);
  EXPECT_TRUE(o.serve.has_value());
}

TEST(CliRun, Version) {
  const Outcome o = run_cli({"version"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, std::string(DSIEM_VERSION) + " " + DSIEM_BUILD_TIME + "\n");
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(run_cli({"version", "--dev"}).out, o.out);
}

TEST(CliRun, MissingCommandImplementation) {
  const char* argv[] = {"dsiem", "serve"};
  std::ostringstream out, err;
  EXPECT_EQ(run(2, argv, Commands{}, out, err, [](const char*) { return nullptr; }), 1);
  EXPECT_TRUE(has(err.str(), "Error:"));
}

}  // namespace
}  // namespace dsiem::cli
