#include "dsiem/config/directive.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/test_support.h"

namespace {

using dsiem::config::accept_directives;
using dsiem::config::ConfigError;
using dsiem::config::decode_directives;
using dsiem::config::Directive;
using dsiem::config::DirectiveSet;
using dsiem::config::glob_files;
using dsiem::config::load_directives;
using dsiem::config::Rule;
using dsiem::config::RuleType;
using dsiem::config::validate_directive;
using dsiem::test::TempDir;

Rule plugin_rule(int64_t stage) {
  Rule r;
  r.name = "rule " + std::to_string(stage);
  r.stage = stage;
  r.type = "PluginRule";
  r.kind = RuleType::kPlugin;
  r.plugin_id = 1001;
  r.plugin_sid = {1};
  r.plugin_sid_set = true;
  r.occurrence = 1;
  r.from = "ANY";
  r.to = "ANY";
  r.port_from = "ANY";
  r.port_to = "ANY";
  r.reliability = 1;
  r.timeout = 10;
  return r;
}

Rule taxonomy_rule(int64_t stage) {
  Rule r = plugin_rule(stage);
  r.type = "TaxonomyRule";
  r.kind = RuleType::kTaxonomy;
  r.plugin_id = 0;
  r.plugin_sid.clear();
  r.plugin_sid_set = false;
  r.product = {"Firewall"};
  r.category = "Packet processing";
  return r;
}

// A valid directive with `rules` plugin stages numbered 1..rules.
Directive directive(int64_t id = 7, std::size_t rules = 2) {
  Directive d;
  d.id = id;
  d.name = "directive " + std::to_string(id);
  d.priority = 3;
  d.kingdom = "kingdom";
  d.category = "category";
  for (std::size_t i = 1; i <= rules; ++i) d.rules.push_back(plugin_rule(static_cast<int64_t>(i)));
  return d;
}

std::string validate(Directive d, const std::vector<Directive>& accepted = {}) {
  return validate_directive(d, accepted);
}

std::string rule_error(std::string_view e) {
  return "directive 7 contains invalid rule, " + std::string(e);
}

TEST(ValidateDirective, ValidDirectivePasses) {
  EXPECT_EQ(validate(directive()), "");
  Directive tax = directive();
  tax.rules = {taxonomy_rule(1), taxonomy_rule(2)};
  EXPECT_EQ(validate(tax), "");
}

TEST(ValidateDirective, DirectiveLevelMessages) {
  const std::vector<Directive> accepted = {directive(7)};
  EXPECT_EQ(validate(directive(7), accepted), "id '7' is already used as an ID by other directive");
  EXPECT_EQ(validate(directive(8), accepted), "");

  Directive d = directive();
  d.name = "";
  EXPECT_EQ(validate(d), "Directive name cannot be empty");
  d = directive();
  d.kingdom = "";
  EXPECT_EQ(validate(d), "Directive kingdom cannot be empty");
  d = directive();
  d.category = "";
  EXPECT_EQ(validate(d), "Directive category cannot be empty");

  const std::string no_rules =
      "directive 7 has no rule therefore has no effect, or only 1 rule and therefore will never "
      "expire";
  EXPECT_EQ(validate(directive(7, 0)), no_rules);
  EXPECT_EQ(validate(directive(7, 1)), no_rules);
}

TEST(ValidateDirective, ChecksRunInTableOrder) {
  // ID before name.
  Directive d = directive(7);
  d.name = "";
  EXPECT_EQ(validate(d, {directive(7)}), "id '7' is already used as an ID by other directive");
  // Name before kingdom before category.
  d = directive();
  d.name = d.kingdom = d.category = "";
  EXPECT_EQ(validate(d), "Directive name cannot be empty");
  d.name = "n";
  EXPECT_EQ(validate(d), "Directive kingdom cannot be empty");
  // Category before the rule count.
  d = directive(7, 0);
  d.category = "";
  EXPECT_EQ(validate(d), "Directive category cannot be empty");
  // The priority fix happens before the rule count check.
  d = directive(7, 1);
  d.priority = 9;
  validate_directive(d, {});
  EXPECT_EQ(d.priority, 1);
}

TEST(ValidateDirective, NegativeAndZeroIdsAreAllowed) {
  EXPECT_EQ(validate(directive(0)), "");
  EXPECT_EQ(validate(directive(-5)), "");
}

TEST(ValidateDirective, PriorityOutsideOneToFiveBecomesOne) {
  for (int64_t p : {0, -1, 6, 9}) {
    Directive d = directive();
    d.priority = p;
    EXPECT_EQ(validate_directive(d, {}), "");
    EXPECT_EQ(d.priority, 1) << p;
  }
  for (int64_t p : {1, 3, 5}) {
    Directive d = directive();
    d.priority = p;
    EXPECT_EQ(validate_directive(d, {}), "");
    EXPECT_EQ(d.priority, p);
  }
}

TEST(ValidateDirective, StageOneOccurrenceBecomesOne) {
  Directive d = directive();
  d.rules[0].occurrence = 3;
  d.rules[1].occurrence = 0;
  EXPECT_EQ(validate_directive(d, {}), "");
  EXPECT_EQ(d.rules[0].occurrence, 1);
  EXPECT_EQ(d.rules[1].occurrence, 0);  // only stage 1 is fixed

  d = directive();
  d.rules[0].occurrence = 0;
  validate_directive(d, {});
  EXPECT_EQ(d.rules[0].occurrence, 1);
}

TEST(ValidateDirective, ReliabilityIsClamped) {
  Directive d = directive(7, 3);
  d.rules[0].reliability = -2;
  d.rules[1].reliability = 11;
  d.rules[2].reliability = 10;
  EXPECT_EQ(validate_directive(d, {}), "");
  EXPECT_EQ(d.rules[0].reliability, 0);
  EXPECT_EQ(d.rules[1].reliability, 10);
  EXPECT_EQ(d.rules[2].reliability, 10);
}

TEST(ValidateDirective, RuleStageMessages) {
  Directive d = directive();
  d.rules[1].stage = 0;
  EXPECT_EQ(validate(d), rule_error("can not use 0 as rule stage"));
  d = directive(7, 3);
  d.rules[2].stage = 2;
  EXPECT_EQ(validate(d), rule_error("duplicate rule stage found (2)"));
  // Stage checks come before the type check.
  d = directive();
  d.rules[1].stage = 0;
  d.rules[1].type = "Bogus";
  d.rules[1].kind = RuleType::kOther;
  EXPECT_EQ(validate(d), rule_error("can not use 0 as rule stage"));
}

TEST(ValidateDirective, RuleTypeMessages) {
  Directive d = directive();
  d.rules[1].type = "pluginrule";
  d.rules[1].kind = RuleType::kOther;
  EXPECT_EQ(validate(d), rule_error("invalid rule type, valid types: [PluginRule TaxonomyRule]"));

  d = directive();
  d.rules[1].plugin_id = 0;
  EXPECT_EQ(validate(d), rule_error("PluginRule requires PluginID to be 1 or higher"));
  d = directive();
  d.rules[1].plugin_sid.clear();
  EXPECT_EQ(validate(d), rule_error("PluginRule requires PluginSID to be defined"));
  d = directive();
  d.rules[1].plugin_sid = {5, 0};
  EXPECT_EQ(validate(d), rule_error("PluginRule requires PluginSID to be 1 or higher"));

  d = directive();
  d.rules[1] = taxonomy_rule(2);
  d.rules[1].product.clear();
  EXPECT_EQ(validate(d), rule_error("TaxonomyRule requires Product to be defined"));
  d.rules[1] = taxonomy_rule(2);
  d.rules[1].category = "";
  EXPECT_EQ(validate(d), rule_error("TaxonomyRule requires Category to be defined"));
}

TEST(ValidateDirective, AddressMessages) {
  Directive d = directive();
  d.rules[1].from = "";
  EXPECT_EQ(validate(d), rule_error("rule From/To cannot be empty"));
  d = directive();
  d.rules[1].to = "";
  EXPECT_EQ(validate(d), rule_error("rule From/To cannot be empty"));

  d = directive();
  d.rules[0].from = "foo";
  EXPECT_EQ(validate(d), rule_error("foo/32 is not a valid IPv4 address"));
  d.rules[0].from = "!foo";
  EXPECT_EQ(validate(d), rule_error("foo/32 is not a valid IPv4 address"));
  d.rules[0].from = "10.0.0.1, 10.0.0.300";
  EXPECT_EQ(validate(d), rule_error("10.0.0.300/32 is not a valid IPv4 address"));
  d.rules[0].from = "10.0.0.0/33";
  EXPECT_EQ(validate(d), rule_error("10.0.0.0/33 is not a valid IPv4 address"));
  d.rules[0].from = "any";  // case-sensitive: not the special value
  EXPECT_EQ(validate(d), rule_error("any/32 is not a valid IPv4 address"));
  d.rules[0].to = "HOME_NET";
  d.rules[0].from = "10.0.0.1";
  d.rules[1].to = "bar";
  EXPECT_EQ(validate(d), rule_error("bar/32 is not a valid IPv4 address"));

  for (const char* ok : {"ANY", "HOME_NET", "!HOME_NET", "10.0.0.1", "10.0.0.0/8, !10.0.0.1",
                         "!10.0.0.1", "2001:db8::1", "2001:db8::/32", " ", ","}) {
    d = directive();
    d.rules[0].from = ok;
    d.rules[1].to = ok;
    EXPECT_EQ(validate(d), "") << "'" << ok << "'";
  }
}

TEST(ValidateDirective, References) {
  Directive d = directive(7, 3);
  d.rules[1].from = ":1";
  d.rules[1].to = ":1";
  d.rules[1].port_from = ":1";
  d.rules[1].port_to = ":1";
  d.rules[2].from = ":2";  // a rule may name itself
  d.rules[2].to = ":1";
  EXPECT_EQ(validate(d), "");

  const std::string invalid =
      rule_error("invalid reference number, must be larger than 0 and less than the rule count");
  for (const char* bad : {":0", ":3", ":01", ":100", ":", ":a", ":1x", ":-1"}) {
    d = directive(7, 3);
    d.rules[1].from = bad;
    EXPECT_EQ(validate(d), invalid) << bad;
    d = directive(7, 3);
    d.rules[2].port_to = bad;
    EXPECT_EQ(validate(d), invalid) << bad;
  }

  // Two-digit references up to 99 are allowed when there are enough rules.
  d = directive(7, 11);
  d.rules[10].to = ":10";
  EXPECT_EQ(validate(d), "");
  d.rules[10].to = ":11";
  EXPECT_EQ(validate(d), invalid);

  d = directive(7, 3);
  d.rules[0].from = ":1";
  EXPECT_EQ(validate(d), rule_error("first rule cannot contain reference"));
  d = directive(7, 3);
  d.rules[0].to = ":2";
  EXPECT_EQ(validate(d), rule_error("first rule cannot contain reference"));
  d = directive(7, 3);
  d.rules[0].port_from = ":1";
  EXPECT_EQ(validate(d), rule_error("first rule cannot contain reference"));

  // References in custom data are not validated.
  d = directive(7, 3);
  d.rules[0].custom_data1 = ":9";
  d.rules[1].custom_data2 = ":0";
  EXPECT_EQ(validate(d), "");
}

TEST(ValidateDirective, PortMessages) {
  auto port_error = [](const char* port) {
    Directive d = directive();
    d.rules[1].port_to = port;
    return validate(d);
  };
  EXPECT_EQ(port_error("0"), rule_error("0 is not a valid TCP/IP port number"));
  EXPECT_EQ(port_error("1"), rule_error("1 is not a valid TCP/IP port number"));
  EXPECT_EQ(port_error("65535"), rule_error("65535 is not a valid TCP/IP port number"));
  EXPECT_EQ(port_error("-5"), rule_error("-5 is not a valid TCP/IP port number"));
  EXPECT_EQ(port_error("!1"), rule_error("1 is not a valid TCP/IP port number"));
  EXPECT_EQ(port_error("80, 70000"), rule_error("70000 is not a valid TCP/IP port number"));
  EXPECT_EQ(port_error("http"), rule_error("strconv.Atoi: parsing \"http\": invalid syntax"));
  EXPECT_EQ(port_error("80,http"), rule_error("strconv.Atoi: parsing \"http\": invalid syntax"));
  EXPECT_EQ(port_error("any"), rule_error("strconv.Atoi: parsing \"any\": invalid syntax"));
  EXPECT_EQ(port_error("99999999999999999999"),
            rule_error("strconv.Atoi: parsing \"99999999999999999999\": value out of range"));

  for (const char* ok : {"2", "65534", "ANY", "", " ", "80, !443", "!22", "+80", "080"}) {
    EXPECT_EQ(port_error(ok), "") << "'" << ok << "'";
    Directive d = directive();
    d.rules[0].port_from = ok;
    EXPECT_EQ(validate(d), "") << "'" << ok << "'";
  }
}

TEST(ValidateDirective, FromIsCheckedBeforeToBeforePorts) {
  Directive d = directive();
  d.rules[1].from = "a";
  d.rules[1].to = "b";
  d.rules[1].port_from = "0";
  d.rules[1].port_to = "1";
  EXPECT_EQ(validate(d), rule_error("a/32 is not a valid IPv4 address"));
  d.rules[1].from = "ANY";
  EXPECT_EQ(validate(d), rule_error("b/32 is not a valid IPv4 address"));
  d.rules[1].to = "ANY";
  EXPECT_EQ(validate(d), rule_error("0 is not a valid TCP/IP port number"));
  d.rules[1].port_from = "ANY";
  EXPECT_EQ(validate(d), rule_error("1 is not a valid TCP/IP port number"));
}

TEST(ValidateDirective, FirstFailingRuleWins) {
  Directive d = directive(7, 3);
  d.rules[1].plugin_id = 0;
  d.rules[2].stage = 0;
  EXPECT_EQ(validate(d), rule_error("PluginRule requires PluginID to be 1 or higher"));
}

// decisions.md §1: stages must be 1..n in array order.
TEST(ValidateDirective, RulesOutOfStageOrderAreRejected) {
  Directive d = directive(7, 2);
  d.rules[0].stage = 2;
  d.rules[1].stage = 1;
  std::string err = validate(d);
  EXPECT_EQ(err.rfind("directive 7 ", 0), 0u) << err;
  EXPECT_NE(err.find("out of stage order"), std::string::npos) << err;

  d = directive(7, 3);
  d.rules[2].stage = 5;  // gap: 1, 2, 5
  err = validate(d);
  EXPECT_EQ(err.rfind("directive 7 ", 0), 0u) << err;
  EXPECT_NE(err.find("out of stage order"), std::string::npos) << err;

  d = directive(7, 2);
  d.rules[0].stage = 3;
  d.rules[1].stage = 4;
  EXPECT_NE(validate(d).find("out of stage order"), std::string::npos);
}

TEST(DecodeDirectives, DecodesEveryField) {
  const auto decoded = decode_directives(R"({"directives":[{
      "id": 42, "name": "n SRC_IP", "priority": 4, "disabled": false,
      "all_rules_always_active": true, "kingdom": "k", "category": "c", "unknown": 1,
      "rules": [
        {"name": "r1", "stage": 1, "plugin_id": 10, "plugin_sid": [1, 2], "occurrence": 1,
         "from": "HOME_NET", "to": "ANY", "type": "PluginRule", "port_from": "ANY",
         "port_to": "80", "protocol": "TCP", "reliability": 3, "timeout": 60,
         "sticky_different": "DST_IP", "custom_data1": "a", "custom_label1": "la",
         "custom_data2": "b", "custom_label2": "lb", "custom_data3": "c", "custom_label3": "lc",
         "status": "finished", "start_time": 5, "events": ["x"]},
        {"name": "r2", "stage": 2, "type": "TaxonomyRule", "product": ["P1", "P2"],
         "category": "cat", "subcategory": ["s1", "ANY"], "occurrence": 2, "from": ":1",
         "to": "ANY", "port_from": "ANY", "port_to": "ANY", "reliability": 5, "timeout": 30}
      ]}]})",
                                         "x.json");
  ASSERT_EQ(decoded.size(), 1u);
  const Directive& d = decoded[0];
  EXPECT_EQ(d.id, 42);
  EXPECT_EQ(d.name, "n SRC_IP");
  EXPECT_EQ(d.priority, 4);
  EXPECT_FALSE(d.disabled);
  EXPECT_TRUE(d.all_rules_always_active);
  EXPECT_EQ(d.kingdom, "k");
  EXPECT_EQ(d.category, "c");
  ASSERT_EQ(d.rules.size(), 2u);
  const Rule& r1 = d.rules[0];
  EXPECT_EQ(r1.name, "r1");
  EXPECT_EQ(r1.stage, 1);
  EXPECT_EQ(r1.kind, RuleType::kPlugin);
  EXPECT_EQ(r1.plugin_id, 10);
  EXPECT_EQ(r1.plugin_sid, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(r1.plugin_sid_set);
  EXPECT_EQ(r1.from, "HOME_NET");
  EXPECT_EQ(r1.port_to, "80");
  EXPECT_EQ(r1.protocol, "TCP");
  EXPECT_EQ(r1.reliability, 3);
  EXPECT_EQ(r1.timeout, 60);
  EXPECT_EQ(r1.sticky_different, "DST_IP");
  EXPECT_EQ(r1.custom_data1, "a");
  EXPECT_EQ(r1.custom_label1, "la");
  EXPECT_EQ(r1.custom_data2, "b");
  EXPECT_EQ(r1.custom_label2, "lb");
  EXPECT_EQ(r1.custom_data3, "c");
  EXPECT_EQ(r1.custom_label3, "lc");
  const Rule& r2 = d.rules[1];
  EXPECT_EQ(r2.kind, RuleType::kTaxonomy);
  EXPECT_FALSE(r2.plugin_sid_set);
  EXPECT_EQ(r2.product, (std::vector<std::string>{"P1", "P2"}));
  EXPECT_EQ(r2.category, "cat");
  EXPECT_EQ(r2.subcategory, (std::vector<std::string>{"s1", "ANY"}));
  EXPECT_EQ(r2.occurrence, 2);
}

TEST(DecodeDirectives, PluginSidNullOrAbsentIsUnset) {
  const auto decoded = decode_directives(R"({"directives":[{"id":1,"rules":[
      {"type":"PluginRule"}, {"type":"PluginRule","plugin_sid":null},
      {"type":"PluginRule","plugin_sid":[]}, {"type":"Other"}]}]})",
                                         "x.json");
  ASSERT_EQ(decoded.size(), 1u);
  ASSERT_EQ(decoded[0].rules.size(), 4u);
  EXPECT_FALSE(decoded[0].rules[0].plugin_sid_set);
  EXPECT_FALSE(decoded[0].rules[1].plugin_sid_set);
  EXPECT_TRUE(decoded[0].rules[2].plugin_sid_set);
  EXPECT_TRUE(decoded[0].rules[2].plugin_sid.empty());
  EXPECT_EQ(decoded[0].rules[3].kind, RuleType::kOther);
}

TEST(DecodeDirectives, MissingOrNullKeyContributesNothing) {
  EXPECT_TRUE(decode_directives("{}", "x.json").empty());
  EXPECT_TRUE(decode_directives(R"({"directives":null})", "x.json").empty());
  EXPECT_TRUE(decode_directives(R"({"other":[1]})", "x.json").empty());
  EXPECT_TRUE(decode_directives(R"({"directives":[]})", "x.json").empty());
}

TEST(DecodeDirectives, UndecodableThrowsConfigErrorNamingTheSource) {
  for (std::string_view bad :
       {"", "{", "[]", R"({"directives":5})", R"({"directives":"x"})",
        R"({"directives":[{"id":"1"}]})", R"({"directives":[{"id":1.5}]})",
        R"({"directives":[{"id":1,"rules":[{"stage":"2"}]}]})",
        R"({"directives":[{"id":1,"rules":{}}]})", R"({"directives":[]} x)"}) {
    try {
      decode_directives(bad, "configs/directives_bad.json");
      ADD_FAILURE() << "no error for " << bad;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("configs/directives_bad.json: ", 0), 0u) << e.what();
    }
  }
  try {
    decode_directives(R"({"directives":"x"})", "f.json");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot unmarshal string"), std::string::npos);
  }
}

const char* kValidRules = R"("rules":[
    {"name":"a","stage":1,"type":"PluginRule","plugin_id":1,"plugin_sid":[1],"occurrence":1,
     "from":"ANY","to":"ANY","port_from":"ANY","port_to":"ANY","reliability":1,"timeout":1},
    {"name":"b","stage":2,"type":"PluginRule","plugin_id":1,"plugin_sid":[1],"occurrence":1,
     "from":"ANY","to":"ANY","port_from":"ANY","port_to":"ANY","reliability":1,"timeout":1}])";

std::string directive_json(int64_t id, std::string name, bool disabled = false, bool valid = true) {
  return "{\"id\":" + std::to_string(id) + ",\"name\":\"" + name +
         "\",\"priority\":1,\"kingdom\":\"k\",\"category\":" + (valid ? "\"c\"" : "\"\"") +
         ",\"disabled\":" + (disabled ? "true" : "false") + "," + kValidRules + "}";
}

std::string file_json(const std::vector<std::string>& directives) {
  std::string out = "{\"directives\":[";
  for (std::size_t i = 0; i < directives.size(); ++i) out += (i ? "," : "") + directives[i];
  return out + "]}";
}

TEST(AcceptDirectives, DuplicateIdFirstWins) {
  DirectiveSet set;
  accept_directives(
      decode_directives(file_json({directive_json(1, "first"), directive_json(1, "second"),
                                   directive_json(2, "other")}),
                        "x.json"),
      set);
  EXPECT_EQ(set.total, 3u);
  ASSERT_EQ(set.directives.size(), 2u);
  EXPECT_EQ(set.directives[0].name, "first");
  EXPECT_EQ(set.directives[1].name, "other");
}

TEST(AcceptDirectives, DisabledAndInvalidDirectivesDoNotReserveTheirId) {
  DirectiveSet set;
  accept_directives(
      decode_directives(file_json({directive_json(1, "disabled", true),
                                   directive_json(2, "invalid", false, false),
                                   directive_json(1, "one"), directive_json(2, "two")}),
                        "x.json"),
      set);
  EXPECT_EQ(set.total, 4u);
  ASSERT_EQ(set.directives.size(), 2u);
  EXPECT_EQ(set.directives[0].name, "one");
  EXPECT_EQ(set.directives[1].name, "two");
}

TEST(AcceptDirectives, DisabledIsSkippedBeforeValidation) {
  DirectiveSet set;
  accept_directives(decode_directives(file_json({directive_json(1, "", true)}), "x.json"), set);
  EXPECT_EQ(set.total, 1u);
  EXPECT_TRUE(set.directives.empty());
}

TEST(AcceptDirectives, AccumulatesAcrossCallsAndAppliesFixes) {
  DirectiveSet set;
  accept_directives(decode_directives(file_json({directive_json(1, "a")}), "a.json"), set);
  accept_directives(
      decode_directives(file_json({directive_json(1, "dup"), directive_json(3, "b")}), "b.json"),
      set);
  EXPECT_EQ(set.total, 3u);
  ASSERT_EQ(set.directives.size(), 2u);
  EXPECT_EQ(set.directives[0].name, "a");
  EXPECT_EQ(set.directives[1].id, 3);

  DirectiveSet fixed;
  accept_directives(decode_directives(R"({"directives":[{"id":9,"name":"n","priority":7,
      "kingdom":"k","category":"c","rules":[
      {"stage":1,"type":"PluginRule","plugin_id":1,"plugin_sid":[1],"occurrence":5,"from":"ANY",
       "to":"ANY","port_from":"ANY","port_to":"ANY","reliability":12},
      {"stage":2,"type":"PluginRule","plugin_id":1,"plugin_sid":[1],"occurrence":5,"from":"ANY",
       "to":"ANY","port_from":"ANY","port_to":"ANY","reliability":-1}]}]})",
                                      "x.json"),
                    fixed);
  ASSERT_EQ(fixed.directives.size(), 1u);
  const Directive& d = fixed.directives[0];
  EXPECT_EQ(d.priority, 1);
  EXPECT_EQ(d.rules[0].occurrence, 1);
  EXPECT_EQ(d.rules[0].reliability, 10);
  EXPECT_EQ(d.rules[1].occurrence, 5);
  EXPECT_EQ(d.rules[1].reliability, 0);
}

TEST(GlobFiles, MatchesPatternInByteOrder) {
  TempDir dir;
  for (const char* name :
       {"directives_b.json", "directives_a.json", "directives_10.json", "directives_B.json",
        "directives_.json", "assets_x.json", "directives_c.json.bak", "xdirectives_a.json"}) {
    dir.write(name, "{}");
  }
  const auto files = glob_files(dir.path(), "directives_*.json");
  std::vector<std::string> names;
  for (const auto& f : files) {
    EXPECT_EQ(f.parent_path(), dir.path());
    names.push_back(f.filename().string());
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"directives_.json", "directives_10.json", "directives_B.json",
                                      "directives_a.json", "directives_b.json"}));
  EXPECT_TRUE(glob_files(dir.path() / "missing", "*.json").empty());
}

TEST(LoadDirectives, LoadsFilesInPathOrderFirstIdWins) {
  TempDir dir;
  dir.write("directives_b.json", file_json({directive_json(1, "from b"), directive_json(2, "b2")}));
  dir.write("directives_a.json", file_json({directive_json(1, "from a")}));
  dir.write("directives_c.json.txt", "not json");
  const DirectiveSet set = load_directives(dir.path(), "directives_*.json");
  EXPECT_EQ(set.total, 3u);
  ASSERT_EQ(set.directives.size(), 2u);
  EXPECT_EQ(set.directives[0].name, "from a");
  EXPECT_EQ(set.directives[1].name, "b2");
}

TEST(LoadDirectives, NoFileIsNotAnErrorHere) {
  TempDir dir;
  const DirectiveSet set = load_directives(dir.path(), "directives_*.json");
  EXPECT_EQ(set.total, 0u);
  EXPECT_TRUE(set.directives.empty());
}

TEST(LoadDirectives, AnyUndecodableFileAbortsTheLoad) {
  TempDir dir;
  dir.write("directives_a.json", file_json({directive_json(1, "ok")}));
  dir.write("directives_b.json", "{\"directives\": [");
  try {
    load_directives(dir.path(), "directives_*.json");
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("directives_b.json"), std::string::npos) << e.what();
  }
}

}  // namespace
