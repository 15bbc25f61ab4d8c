// `dsiem dtester`: event generation per rule (checked with the engine's own matcher and Engine),
// the fbeat file, the HTTP sender against an in-process server on 127.0.0.1, and CLI errors.
#include "dsiem/tools/dtester.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dsiem/common/clock.h"
#include "dsiem/common/log.h"
#include "dsiem/config/assets.h"
#include "dsiem/correlate/engine.h"
#include "dsiem/correlate/matcher.h"
#include "dsiem/http/router.h"
#include "dsiem/http/server.h"
#include "unit/test_support.h"

namespace dsiem::tools {
namespace {

namespace fs = std::filesystem;
using config::Directive;
using event::Event;

constexpr int64_t kT = 1704067200;  // 2024-01-01T00:00:00Z
const std::string kTimestamp = "2024-01-01T00:00:00Z";

fs::path test_data() {
  if (const char* dir = std::getenv("DSIEM_TEST_DATA"); dir && *dir) return dir;
  return fs::path(__FILE__).parent_path().parent_path();
}

// One directive from its rules (JSON objects without the common keys).
Directive directive_with(const std::vector<std::string>& rules, int64_t id = 1,
                         bool all_rules_always_active = false) {
  std::string json = R"({"directives":[{"id":)" + std::to_string(id) +
                     R"(,"name":"D","priority":3,"kingdom":"K","category":"C",)";
  if (all_rules_always_active) json += R"("all_rules_always_active":true,)";
  json += R"("rules":[)";
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (i) json += ",";
    json += R"({"name":"r)" + std::to_string(i + 1) + R"(","stage":)" + std::to_string(i + 1) +
            R"(,"reliability":5,"timeout":600,)" + rules[i] + "}";
  }
  json += "]}]}";
  auto directives = test::directives_from_json(json);
  EXPECT_EQ(directives.size(), 1u) << json;
  return directives.empty() ? Directive{} : directives.front();
}

// A PluginRule body with the given address/port fields.
std::string plugin(const std::string& extra, int occurrence = 1, const std::string& sids = "[1]") {
  return R"("type":"PluginRule","plugin_id":1001,"plugin_sid":)" + sids + R"(,"occurrence":)" +
         std::to_string(occurrence) + "," + extra;
}

std::string addresses(const std::string& from, const std::string& to,
                      const std::string& port_from = "ANY", const std::string& port_to = "ANY") {
  return R"("from":")" + from + R"(","to":")" + to + R"(","port_from":")" + port_from +
         R"(","port_to":")" + port_to + R"(")";
}

// A second stage for tests about the first one (a directive needs two rules).
const std::string kFollowUp = plugin(addresses("ANY", "ANY"), 1, "[99]");

DirectiveEvents generate(const Directive& d, GenerationOptions options = {}, uint64_t seed = 7) {
  EventGenerator generator(std::move(options), seed);
  return generator.generate(d, kTimestamp);
}

bool in_range(int64_t v, int64_t low, int64_t high) {
  return v >= low && v <= high;
}

// ------------------------------------------------------------------ generation: fields

TEST(DtesterGenerate, PluginRuleFieldsAndUniformPicks) {
  const Directive d = directive_with(
      {plugin(addresses("ANY", "HOME_NET", "ANY", "80,443,8080") + R"(,"protocol":"ANY")", 1,
              "[11,22,33]"),
       kFollowUp});
  std::set<int64_t> sids, dst_ports;
  std::set<std::string> protocols;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const DirectiveEvents ev = generate(d, {}, seed);
    ASSERT_EQ(ev.stages.size(), 2u);
    ASSERT_EQ(ev.stages[0].events.size(), 1u);
    const Event& e = ev.stages[0].events[0];
    EXPECT_EQ(e.sensor, "dtester");
    EXPECT_EQ(e.title, "r1");
    EXPECT_EQ(e.plugin_id, 1001);
    EXPECT_EQ(e.dst_ip, "192.168.0.1");
    EXPECT_TRUE(in_range(e.src_port, 4000, 65534)) << e.src_port;
    EXPECT_EQ(e.timestamp, kTimestamp);
    EXPECT_TRUE(event::is_valid(e));
    sids.insert(e.plugin_sid);
    dst_ports.insert(e.dst_port);
    protocols.insert(e.protocol);
  }
  // T1: every item can be picked, the first one included.
  EXPECT_EQ(sids, (std::set<int64_t>{11, 22, 33}));
  EXPECT_EQ(dst_ports, (std::set<int64_t>{80, 443, 8080}));
  EXPECT_EQ(protocols, (std::set<std::string>{"TCP", "UDP"}));
}

TEST(DtesterGenerate, TitleOptionReplacesRuleNameAndProtocolIsCopied) {
  const Directive d =
      directive_with({plugin(addresses("ANY", "ANY") + R"(,"protocol":"ICMP")"), kFollowUp});
  GenerationOptions options;
  options.title = "Dtester event";
  const Event e = generate(d, options).stages[0].events[0];
  EXPECT_EQ(e.title, "Dtester event");
  EXPECT_EQ(e.protocol, "ICMP");
  const Event no_protocol =
      generate(directive_with({plugin(addresses("ANY", "ANY")), kFollowUp})).stages[0].events[0];
  EXPECT_EQ(no_protocol.protocol, "");
  EXPECT_NE(event::encode(no_protocol).find(R"("protocol":"")"), std::string::npos);
}

TEST(DtesterGenerate, TaxonomyRuleFields) {
  const Directive d = directive_with(
      {R"("type":"TaxonomyRule","product":["IDS","WAF"],"category":"Web Attack",)"
       R"("subcategory":["SQL Injection","XSS"],"occurrence":1,)" +
           addresses("ANY", "HOME_NET"),
       R"("type":"TaxonomyRule","product":["IDS"],"category":"Web Attack","occurrence":1,)" +
           addresses("ANY", "ANY")});
  std::set<std::string> products, subcategories;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    const Event e = generate(d, {}, seed).stages[0].events[0];
    EXPECT_EQ(e.plugin_id, 0);
    EXPECT_EQ(e.plugin_sid, 0);
    EXPECT_EQ(e.category, "Web Attack");
    EXPECT_TRUE(event::is_valid(e));
    products.insert(e.product);
    subcategories.insert(e.subcategory);
    EXPECT_EQ(event::encode(e).find("plugin_id"), std::string::npos);
  }
  EXPECT_EQ(products, (std::set<std::string>{"IDS", "WAF"}));
  EXPECT_EQ(subcategories, (std::set<std::string>{"SQL Injection", "XSS"}));
}

TEST(DtesterGenerate, TaxonomyStageOfAPluginDirectiveCarriesItsPluginPair) {
  // The quick filter only consults plugin pairs when a directive has any (directives.md §4).
  const Directive d = directive_with(
      {plugin(addresses("HOME_NET", "ANY"), 1, "[5,6]"),
       R"("type":"TaxonomyRule","product":["Firewall"],"category":"Allowed","occurrence":1,)" +
           addresses(":1", "ANY")});
  const Event e = generate(d).stages[1].events[0];
  EXPECT_EQ(e.plugin_id, 1001);
  EXPECT_TRUE(e.plugin_sid == 5 || e.plugin_sid == 6) << e.plugin_sid;
  EXPECT_EQ(e.product, "Firewall");
}

// ------------------------------------------------------------------ generation: addresses

TEST(DtesterGenerate, HomeNetAndNotHomeNetPerRule) {
  const Directive d = directive_with({plugin(addresses("HOME_NET", "!HOME_NET")),
                                      plugin(addresses("!HOME_NET", "HOME_NET")),
                                      plugin(addresses("!HOME_NET", "!HOME_NET"))});
  GenerationOptions options;
  options.home_net = "10.0.0.7";
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const DirectiveEvents ev = generate(d, options, seed);
    EXPECT_TRUE(ev.problems.empty()) << ev.problems.front();
    const Event& s1 = ev.stages[0].events[0];
    const Event& s2 = ev.stages[1].events[0];
    const Event& s3 = ev.stages[2].events[0];
    EXPECT_EQ(s1.src_ip, "10.0.0.7");
    EXPECT_NE(s1.dst_ip, "10.0.0.7");
    // !HOME_NET after a HOME_NET stage is not given the home-net address (decisions.md §10).
    EXPECT_NE(s2.src_ip, "10.0.0.7");
    EXPECT_EQ(s2.dst_ip, "10.0.0.7");
    // T2: an external address is kept from one stage to the next, the home-net one is not.
    EXPECT_EQ(s3.src_ip, s2.src_ip);
    EXPECT_NE(s3.dst_ip, "10.0.0.7");
    for (const std::string& ip : {s1.dst_ip, s2.src_ip}) {
      const auto addr = IpAddress::parse(ip);
      ASSERT_TRUE(addr) << ip;
      EXPECT_TRUE(addr->v4);
      EXPECT_TRUE(addr->bytes[0] != 10 && addr->bytes[0] != 127 && addr->bytes[0] != 172 &&
                  addr->bytes[0] != 192)
          << ip;
    }
  }
}

TEST(DtesterGenerate, AnyRepeatsThePreviousAddress) {
  const Directive d =
      directive_with({plugin(addresses("ANY", "ANY")), plugin(addresses("ANY", "ANY")),
                      plugin(addresses("HOME_NET", "ANY"))});
  const DirectiveEvents ev = generate(d);
  const Event& s1 = ev.stages[0].events[0];
  EXPECT_EQ(ev.stages[1].events[0].src_ip, s1.src_ip);
  EXPECT_EQ(ev.stages[1].events[0].dst_ip, s1.dst_ip);
  EXPECT_EQ(ev.stages[2].events[0].src_ip, "192.168.0.1");
  EXPECT_EQ(ev.stages[2].events[0].dst_ip, s1.dst_ip);
}

TEST(DtesterGenerate, LiteralCidrAndListAddressesFitTheRule) {
  const Directive d =
      directive_with({plugin(addresses("10.1.0.0/16, 10.3.0.0/16", "192.168.1.10, 192.168.1.11")),
                      plugin(addresses("!10.0.0.0/8, !172.16.0.0/12", "8.8.8.8")),
                      plugin(addresses("2001:db8::/64", "10.9.9.9"))});
  std::set<std::string> stage1_dst;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    const DirectiveEvents ev = generate(d, {}, seed);
    EXPECT_TRUE(ev.problems.empty()) << ev.problems.front();
    const Event& s1 = ev.stages[0].events[0];
    const auto src = Cidr::parse(s1.src_ip + "/32");
    ASSERT_TRUE(src);
    EXPECT_TRUE(Cidr::parse("10.1.0.0/16")->contains(src->network) ||
                Cidr::parse("10.3.0.0/16")->contains(src->network))
        << s1.src_ip;
    stage1_dst.insert(s1.dst_ip);
    const Event& s2 = ev.stages[1].events[0];
    EXPECT_FALSE(Cidr::parse("10.0.0.0/8")->contains(*IpAddress::parse(s2.src_ip))) << s2.src_ip;
    EXPECT_FALSE(Cidr::parse("172.16.0.0/12")->contains(*IpAddress::parse(s2.src_ip)));
    EXPECT_EQ(s2.dst_ip, "8.8.8.8");
    const Event& s3 = ev.stages[2].events[0];
    EXPECT_TRUE(Cidr::parse("2001:db8::/64")->contains(*IpAddress::parse(s3.src_ip))) << s3.src_ip;
    EXPECT_EQ(s3.dst_ip, "10.9.9.9");
  }
  EXPECT_EQ(stage1_dst, (std::set<std::string>{"192.168.1.10", "192.168.1.11"}));
}

TEST(DtesterGenerate, AddressReferenceTakesTheReferencedRulesValue) {
  // tools.md §1.3: Go gives stage 3 the home-net address here (the previous rule's); T3 fixes it.
  const Directive d =
      directive_with({plugin(addresses("ANY", "ANY")), plugin(addresses("HOME_NET", ":1")),
                      plugin(addresses(":1", ":2"))});
  const DirectiveEvents ev = generate(d);
  EXPECT_TRUE(ev.problems.empty());
  const Event& s1 = ev.stages[0].events[0];
  EXPECT_EQ(ev.stages[1].events[0].src_ip, "192.168.0.1");
  EXPECT_EQ(ev.stages[1].events[0].dst_ip, s1.dst_ip);
  EXPECT_EQ(ev.stages[2].events[0].src_ip, s1.src_ip);
  EXPECT_EQ(ev.stages[2].events[0].dst_ip, s1.dst_ip);
}

TEST(DtesterGenerate, ReferenceToACidrStaysInsideIt) {
  // The engine copies a referenced list verbatim (directives.md §7.2).
  const Directive d =
      directive_with({plugin(addresses("10.0.0.0/24", "ANY")), plugin(addresses(":1", ":1"), 2)});
  const DirectiveEvents ev = generate(d);
  for (const Event& e : ev.stages[1].events) {
    EXPECT_TRUE(Cidr::parse("10.0.0.0/24")->contains(*IpAddress::parse(e.src_ip))) << e.src_ip;
  }
}

TEST(DtesterGenerate, SourceAndDestinationOverrides) {
  const Directive d =
      directive_with({plugin(addresses("ANY", "ANY")), plugin(addresses("HOME_NET", ":1"))});
  GenerationOptions options;
  options.src_ip = "1.2.3.4";
  options.dst_ip = "5.6.7.8";
  const DirectiveEvents ev = generate(d, options);
  for (const StageEvents& s : ev.stages) {
    EXPECT_EQ(s.events[0].src_ip, "1.2.3.4");
    EXPECT_EQ(s.events[0].dst_ip, "5.6.7.8");
  }
  // Stage 2 wants HOME_NET, which 1.2.3.4 is not.
  ASSERT_EQ(ev.problems.size(), 1u);
  EXPECT_NE(ev.problems[0].find("stage 2"), std::string::npos) << ev.problems[0];
}

// ------------------------------------------------------------------ generation: ports

TEST(DtesterGenerate, PortsAnyListsNegationsAndEmpty) {
  const Directive d = directive_with({plugin(addresses("ANY", "ANY", "ANY", "ANY")),
                                      plugin(addresses("ANY", "ANY", "1024", "!22, !23")),
                                      plugin(addresses("ANY", "ANY", "", ""))});
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    const DirectiveEvents ev = generate(d, {}, seed);
    const Event& s1 = ev.stages[0].events[0];
    EXPECT_TRUE(in_range(s1.src_port, 4000, 65534)) << s1.src_port;
    EXPECT_TRUE(in_range(s1.dst_port, 20, 1023)) << s1.dst_port;
    const Event& s2 = ev.stages[1].events[0];
    EXPECT_EQ(s2.src_port, 1024);
    EXPECT_TRUE(in_range(s2.dst_port, 20, 1023) && s2.dst_port != 22 && s2.dst_port != 23)
        << s2.dst_port;
    // T4: an empty port spec gives 0 (the engine never matches it: reported).
    const Event& s3 = ev.stages[2].events[0];
    EXPECT_EQ(s3.src_port, 0);
    EXPECT_EQ(s3.dst_port, 0);
    ASSERT_EQ(ev.problems.size(), 2u);
    EXPECT_NE(ev.problems[0].find("stage 3 port_from"), std::string::npos) << ev.problems[0];
  }
}

TEST(DtesterGenerate, PortReferenceTakesTheReferencedRulesPort) {
  // tools.md §1.3: Go gives stage 3 stage 2's (random) port; the engine wants stage 1's.
  const Directive d = directive_with(
      {plugin(addresses("ANY", "ANY", "ANY", "ANY")), plugin(addresses("ANY", "ANY", "ANY", "ANY")),
       plugin(addresses("ANY", "ANY", ":1", ":1")), plugin(addresses("ANY", "ANY", "ANY", "445")),
       plugin(addresses("ANY", "ANY", ":4", ":4"))});
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const DirectiveEvents ev = generate(d, {}, seed);
    EXPECT_TRUE(ev.problems.empty());
    const Event& s1 = ev.stages[0].events[0];
    EXPECT_EQ(ev.stages[2].events[0].src_port, s1.src_port);
    EXPECT_EQ(ev.stages[2].events[0].dst_port, s1.dst_port);
    // ":4" on an ANY port_from means the first event's port; on "445" it means 445.
    EXPECT_EQ(ev.stages[4].events[0].src_port, s1.src_port);
    EXPECT_EQ(ev.stages[4].events[0].dst_port, 445);
  }
}

// ------------------------------------------------------------------ generation: counts and ids

TEST(DtesterGenerate, OccurrenceAndMaxCap) {
  const Directive d =
      directive_with({plugin(addresses("ANY", "ANY")), plugin(addresses("ANY", "ANY"), 5),
                      plugin(addresses("ANY", "ANY"), 0)});
  const DirectiveEvents ev = generate(d);
  EXPECT_EQ(ev.stages[0].events.size(), 1u);
  EXPECT_EQ(ev.stages[1].events.size(), 5u);
  EXPECT_EQ(ev.stages[2].events.size(), 1u);  // occurrence 0 still needs one event
  EXPECT_TRUE(ev.problems.empty());
  EXPECT_EQ(ev.event_count(), 7u);

  GenerationOptions capped;
  capped.max_per_rule = 3;
  const DirectiveEvents c = generate(d, capped);
  EXPECT_EQ(c.stages[1].events.size(), 3u);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0], "stage 2 occurrence: 5 events needed, --max allows 3");

  GenerationOptions none;
  none.max_per_rule = 0;
  EXPECT_EQ(generate(d, none).event_count(), 0u);
}

TEST(DtesterGenerate, EveryEventHasItsOwnUuid) {
  const Directive d =
      directive_with({plugin(addresses("ANY", "ANY")), plugin(addresses(":1", ":1"), 1000)});
  EventGenerator generator({}, 42);
  std::set<std::string> ids;
  const std::regex uuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int round = 0; round < 3; ++round) {
    for (const StageEvents& s : generator.generate(d, kTimestamp).stages) {
      for (const Event& e : s.events) {
        EXPECT_TRUE(std::regex_match(e.event_id, uuid4)) << e.event_id;
        ids.insert(e.event_id);
      }
    }
  }
  EXPECT_EQ(ids.size(), 3u * 1001u);
}

TEST(DtesterGenerate, SameSeedSameEvents) {
  const Directive d = test::testing_directive(1);
  const DirectiveEvents a = generate(d, {}, 99);
  const DirectiveEvents b = generate(d, {}, 99);
  const DirectiveEvents c = generate(d, {}, 100);
  ASSERT_EQ(a.stages.size(), b.stages.size());
  for (std::size_t i = 0; i < a.stages.size(); ++i) {
    EXPECT_EQ(a.stages[i].events, b.stages[i].events);
  }
  EXPECT_NE(a.stages[0].events[0], c.stages[0].events[0]);
}

// ------------------------------------------------------------------ generation: T10

TEST(DtesterGenerate, StickyDifferentFieldsGetDistinctValues) {
  const Directive d = directive_with(
      {plugin(addresses("ANY", "HOME_NET")),
       plugin(addresses("ANY", ":1") + R"(,"sticky_different":"SRC_IP")", 4),
       plugin(addresses(":1", "ANY") + R"(,"sticky_different":"DST_IP")", 4),
       plugin(addresses(":1", ":1") + R"(,"sticky_different":"SRC_PORT")", 4),
       plugin(addresses(":1", ":1", "ANY", "80,443,8080") + R"(,"sticky_different":"DST_PORT")", 3),
       plugin(addresses(":1", ":1") + R"(,"sticky_different":"PLUGIN_SID")", 3, "[1,2,3]"),
       plugin(addresses(":1", ":1") + R"(,"sticky_different":"CUSTOM_DATA2")", 3)});
  const DirectiveEvents ev = generate(d);
  EXPECT_TRUE(ev.problems.empty()) << ev.problems.front();
  const auto distinct = [&](std::size_t stage, auto field) {
    std::set<std::string> values;
    for (const Event& e : ev.stages[stage].events) values.insert(field(e));
    return values.size();
  };
  EXPECT_EQ(distinct(1, [](const Event& e) { return e.src_ip; }), 4u);
  EXPECT_EQ(distinct(2, [](const Event& e) { return e.dst_ip; }), 4u);
  EXPECT_EQ(distinct(3, [](const Event& e) { return std::to_string(e.src_port); }), 4u);
  EXPECT_EQ(distinct(4, [](const Event& e) { return std::to_string(e.dst_port); }), 3u);
  EXPECT_EQ(distinct(5, [](const Event& e) { return std::to_string(e.plugin_sid); }), 3u);
  EXPECT_EQ(distinct(6, [](const Event& e) { return e.custom_data2; }), 3u);
  // The fields that are not sticky stay put.
  EXPECT_EQ(distinct(1, [](const Event& e) { return e.dst_ip; }), 1u);
}

TEST(DtesterGenerate, StickyDifferentThatCannotBeMetIsReported) {
  const Directive d =
      directive_with({plugin(addresses("ANY", "ANY")),
                      plugin(addresses("HOME_NET", "ANY") + R"(,"sticky_different":"SRC_IP")", 3),
                      plugin(addresses("ANY", "ANY") + R"(,"sticky_different":"SRC_ADDR")", 2)});
  const DirectiveEvents ev = generate(d);
  ASSERT_EQ(ev.problems.size(), 2u);
  EXPECT_NE(ev.problems[0].find("stage 2 from: sticky_different needs 3"), std::string::npos)
      << ev.problems[0];
  EXPECT_NE(ev.problems[1].find("stage 3 sticky_different"), std::string::npos) << ev.problems[1];
}

TEST(DtesterGenerate, CustomDataConditionsAreSatisfied) {
  const Directive d = directive_with(
      {plugin(addresses("ANY", "ANY") +
              R"(,"custom_data1":"admin, root","custom_label1":"user","custom_data2":"Success",)"
              R"("custom_data3":"!localhost")"),
       plugin(addresses(":1", ":1") + R"(,"custom_data1":":1","custom_data2":"!Success")", 2)});
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const DirectiveEvents ev = generate(d, {}, seed);
    EXPECT_TRUE(ev.problems.empty());
    const Event& s1 = ev.stages[0].events[0];
    EXPECT_TRUE(s1.custom_data1 == "admin" || s1.custom_data1 == "root") << s1.custom_data1;
    EXPECT_EQ(s1.custom_label1, "user");
    EXPECT_EQ(s1.custom_data2, "Success");
    EXPECT_NE(s1.custom_data3, "localhost");
    for (const Event& e : ev.stages[1].events) {
      EXPECT_EQ(e.custom_data1, s1.custom_data1);  // ":1" copies "admin, root" verbatim
      EXPECT_NE(e.custom_data2, "Success");
    }
  }
}

// ------------------------------------------------------------------ generated events vs Engine

// Feeds `events` to a fresh Engine holding only `d` and returns whether one backlog walked every
// stage: links for each stage (as many as events generated for it) and no live backlog left.
struct Walk {
  bool complete = false;
  std::string detail;
  std::vector<std::string> alarms;
};

Walk drive_engine(const Directive& d, const DirectiveEvents& events,
                  std::shared_ptr<const config::Assets> assets) {
  ManualClock clock(kT);
  test::CapturingSink sink;
  correlate::Engine engine({d}, std::move(assets), clock, sink, {});
  for (const StageEvents& s : events.stages) {
    for (const Event& e : s.events) engine.process(e);
  }
  Walk walk;
  std::map<std::string, std::map<int64_t, std::size_t>> per_alarm;  // alarm → stage → links
  for (const std::string& link : sink.links()) {
    const auto stage_pos = link.find("\"stage\":") + 8;
    ++per_alarm[test::alarm_id_of(link)][std::stoll(link.substr(stage_pos))];
  }
  for (const auto& [id, stages] : per_alarm) {
    bool all = true;
    for (const StageEvents& s : events.stages) {
      const auto it = stages.find(static_cast<int64_t>(s.index) + 1);
      if (it == stages.end() || it->second != s.events.size()) all = false;
    }
    if (all) walk.complete = engine.backlog_count() == 0;
  }
  std::ostringstream detail;
  for (const std::string& link : sink.links()) detail << link << "\n";
  walk.detail = detail.str();
  walk.alarms = sink.alarms();
  return walk;
}

// The last alarm record has every rule "finished".
bool last_alarm_finished(const std::vector<std::string>& alarms, std::size_t rules) {
  if (alarms.empty()) return false;
  const std::string& last = alarms.back();
  std::size_t finished = 0;
  for (auto pos = last.find(R"("status":"finished")"); pos != std::string::npos;
       pos = last.find(R"("status":"finished")", pos + 1)) {
    ++finished;
  }
  return finished == rules;
}

TEST(DtesterEngine, TestingDirectivesWalkEveryStage) {
  GenerationOptions options;
  options.home_net = "192.168.0.10";
  options.max_per_rule = 10000;
  for (int64_t id : {1, 2}) {
    const Directive d = test::testing_directive(id);
    const DirectiveEvents ev = generate(d, options);
    EXPECT_TRUE(ev.problems.empty());
    const Walk walk = drive_engine(d, ev, test::testing_assets());
    EXPECT_TRUE(walk.complete) << "directive " << id << "\n" << walk.detail;
    EXPECT_TRUE(last_alarm_finished(walk.alarms, d.rules.size())) << "directive " << id;
  }
}

TEST(DtesterEngine, ConformanceDirectivesWalkEveryStage) {
  const fs::path cases = test_data() / "conformance" / "cases";
  ASSERT_TRUE(fs::is_directory(cases)) << cases;
  std::size_t walked = 0, with_alarm = 0, total = 0;
  for (const auto& entry : fs::directory_iterator(cases)) {
    const fs::path configs = entry.path() / "configs";
    if (!fs::is_directory(configs)) continue;
    const auto assets = std::make_shared<config::Assets>(config::Assets::load(configs));
    const config::DirectiveSet set = config::load_directives(configs, "directives_*.json");
    // HOME_NET: the first address of the case's first asset network.
    GenerationOptions options;
    options.max_per_rule = 10000;
    {
      const std::string assets_json =
          test::read_file(config::glob_files(configs, "assets_*.json").front());
      const std::smatch m = [&] {
        std::smatch match;
        std::regex_search(assets_json, match,
                          std::regex(R"re("cidr"\s*:\s*"(\d+)\.(\d+)\.(\d+)\.)re"));
        return match;
      }();
      ASSERT_FALSE(m.empty()) << configs;
      options.home_net = m[1].str() + "." + m[2].str() + "." + m[3].str() + ".1";
    }
    for (const Directive& d : set.directives) {
      SCOPED_TRACE(entry.path().filename().string() + " directive " + std::to_string(d.id));
      const DirectiveEvents ev = generate(d, options, static_cast<uint64_t>(d.id));
      EXPECT_TRUE(ev.problems.empty()) << ev.problems.front();
      const Walk walk = drive_engine(d, ev, assets);
      EXPECT_TRUE(walk.complete) << walk.detail;
      walked += walk.complete ? 1 : 0;
      ++total;
      if (!walk.alarms.empty()) {
        EXPECT_TRUE(last_alarm_finished(walk.alarms, d.rules.size())) << walk.alarms.back();
        ++with_alarm;
      }
    }
  }
  EXPECT_EQ(walked, total);
  EXPECT_GE(total, 30u);
  // Directives that only see random public addresses carry no asset value, hence no alarm.
  EXPECT_GE(with_alarm, total / 3);
}

TEST(DtesterEngine, AllRulesAlwaysActiveDirectiveWalks) {
  const Directive d =
      directive_with({plugin(addresses("ANY", "HOME_NET")), plugin(addresses(":1", ":1"), 3, "[2]"),
                      plugin(addresses(":1", ":2"), 2, "[3]")},
                     9, true);
  const DirectiveEvents ev = generate(d);
  const Walk walk = drive_engine(d, ev, test::testing_assets());
  EXPECT_TRUE(walk.complete) << walk.detail;
  EXPECT_TRUE(last_alarm_finished(walk.alarms, 3));
}

// ------------------------------------------------------------------ CLI and fbeat

class DtesterCli : public ::testing::Test {
 protected:
  void SetUp() override {
    log::setup(false);  // the default logger; the tool only switches the debug flag
    dir_.write("directives_a.json", test::kTestingDirectives);
  }
  void TearDown() override { log::setup(false); }

  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    const auto getenv_fn = [this](const char* name) -> const char* {
      const auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
    return run_dtester(args, out_, err_, getenv_fn);
  }
  std::string file_glob() const { return (dir_.path() / "directives_*.json").string(); }
  std::vector<std::string> lines(const fs::path& p) const {
    std::vector<std::string> out;
    std::istringstream in(test::read_file(p));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  test::TempDir dir_;
  std::map<std::string, std::string> env_;
  std::ostringstream out_, err_;
};

TEST_F(DtesterCli, FbeatAppendsJsonLines) {
  const fs::path logfile = dir_.path() / "dtester.json";
  ASSERT_EQ(run({"fbeat", "-f", file_glob(), "-n", "5", "-l", logfile.string()}), 0) << out_.str();
  EXPECT_EQ(out_.str(), "");
  const auto written = lines(logfile);
  // Two directives of 1 + min(3, 5) + min(10000, 5) events.
  ASSERT_EQ(written.size(), 2u * (1 + 3 + 5));
  EXPECT_EQ(fs::status(logfile).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  std::set<std::string> ids;
  for (const std::string& line : written) {
    Event e;
    std::string error;
    ASSERT_TRUE(event::decode(line, e, &error)) << error << ": " << line;
    EXPECT_TRUE(event::is_valid(e)) << line;
    EXPECT_EQ(e.title, "ICMP Ping");  // fbeat: the rule's name
    EXPECT_EQ(e.sensor, "dtester");
    EXPECT_TRUE(event::parse_rfc3339_seconds(e.timestamp)) << e.timestamp;
    EXPECT_EQ(event::encode(e), line);
    ids.insert(e.event_id);
  }
  EXPECT_EQ(ids.size(), written.size());
  // Directive 1: stage 1 from HOME_NET, the next stages ":1".
  Event first;
  ASSERT_TRUE(event::decode(written[0], first));
  EXPECT_EQ(first.src_ip, "192.168.0.1");

  // A second run appends.
  ASSERT_EQ(run({"fbeat", "-f", file_glob(), "-n", "1", "-l", logfile.string()}), 0);
  EXPECT_EQ(lines(logfile).size(), written.size() + 6);
}

TEST_F(DtesterCli, FbeatVerbosePrintsTheJsonText) {
  const fs::path logfile = dir_.path() / "out.json";
  ASSERT_EQ(run({"fbeat", "-f", file_glob(), "-n", "1", "-v", "-l", logfile.string()}), 0);
  EXPECT_EQ(out_.str(), test::read_file(logfile));  // T7: the text, not a byte array
}

TEST_F(DtesterCli, FbeatTakesAddressesFromTheEnvironmentOnly) {
  const fs::path logfile = dir_.path() / "env.json";
  env_["DTESTER_SRCIP"] = "1.2.3.4";
  env_["DTESTER_HOMENET"] = "10.1.1.1";
  env_["DTESTER_MAX"] = "2";
  ASSERT_EQ(run({"fbeat", "-f", file_glob(), "-l", logfile.string()}), 0) << out_.str();
  const auto written = lines(logfile);
  ASSERT_EQ(written.size(), 2u * (1 + 2 + 2));
  for (const std::string& line : written) {
    Event e;
    ASSERT_TRUE(event::decode(line, e));
    EXPECT_EQ(e.src_ip, "1.2.3.4");
  }
  Event d2_first;
  ASSERT_TRUE(event::decode(written[5], d2_first));
  EXPECT_EQ(d2_first.dst_ip, "10.1.1.1");  // directive 2, stage 1: to HOME_NET

  EXPECT_EQ(run({"fbeat", "--srcip", "1.2.3.4"}), 1);
  EXPECT_EQ(out_.str(), "Exiting: Error returned from command: unknown flag: --srcip\n");
}

TEST_F(DtesterCli, FbeatWriteFailure) {
  const std::string logfile = (dir_.path() / "missing" / "y.json").string();
  EXPECT_EQ(run({"fbeat", "-f", file_glob(), "-l", logfile}), 1);
  EXPECT_EQ(out_.str(), "Exiting: Cannot save to " + logfile + ": open " + logfile +
                            ": no such file or directory\n");
}

TEST_F(DtesterCli, DirectiveLoadingErrors) {
  EXPECT_EQ(run({"fbeat", "-f", (dir_.path() / "none_*.json").string()}), 1);
  EXPECT_EQ(out_.str(),
            "Exiting: Cannot initialize directives: no directive loaded from the file\n");
  dir_.write("directives_b.json", "{not json");
  EXPECT_EQ(run({"dsiem", "-f", file_glob()}), 1);
  EXPECT_EQ(out_.str().rfind("Exiting: Cannot initialize directives: ", 0), 0u) << out_.str();
}

TEST_F(DtesterCli, GlobIsRelativeToTheWorkingDirectory) {
  const fs::path before = fs::current_path();
  fs::current_path(dir_.path());
  const int rc = run({"fbeat", "-n", "1", "-l", "rel.json"});
  fs::current_path(before);
  EXPECT_EQ(rc, 0) << out_.str();
  EXPECT_EQ(lines(dir_.path() / "rel.json").size(), 6u);
}

TEST_F(DtesterCli, RateAndPortAreCheckedAtStart) {
  EXPECT_EQ(run({"dsiem", "-f", file_glob(), "-r", "0"}), 1);
  EXPECT_EQ(out_.str(), "Exiting: Invalid --rps value: must be greater than 0, got 0\n");
  env_["DTESTER_RPS"] = "-5";
  EXPECT_EQ(run({"dsiem", "-f", file_glob()}), 1);
  EXPECT_EQ(out_.str(), "Exiting: Invalid --rps value: must be greater than 0, got -5\n");
  env_.clear();
  EXPECT_EQ(run({"dsiem", "-f", file_glob(), "-p", "70000"}), 1);
  EXPECT_EQ(out_.str(), "Exiting: Invalid --port value: must be between 1 and 65535, got 70000\n");
}

TEST_F(DtesterCli, CommandLineErrorsAndHelp) {
  EXPECT_EQ(run({"bogus"}), 1);
  EXPECT_EQ(out_.str(),
            "Exiting: Error returned from command: unknown command \"bogus\" for \"dsiem "
            "dtester\"\n");
  EXPECT_EQ(run({"dsiem", "--rps", "x"}), 1);
  EXPECT_NE(out_.str().find("invalid argument \"x\" for \"-r, --rps\" flag"), std::string::npos)
      << out_.str();
  EXPECT_EQ(run({}), 0);
  EXPECT_NE(out_.str().find("fbeat"), std::string::npos);
  EXPECT_EQ(run({"dsiem", "--help"}), 0);
  for (const char* flag : {"--address", "--port", "--homenet", "--srcip", "--destip", "--rps",
                           "--concurrency", "--file", "--max", "--verbose"}) {
    EXPECT_NE(out_.str().find(flag), std::string::npos) << flag;
  }
}

// ------------------------------------------------------------------ sending over HTTP

// An /events endpoint on 127.0.0.1 that records every request and answers after `delay`.
class EventsServer {
 public:
  struct Arrival {
    Event event;
    int64_t arrived;   // sequence number at arrival
    int64_t answered;  // sequence number when answered
  };
  using Status = std::function<int(const Event&)>;

  explicit EventsServer(std::chrono::milliseconds delay, Status status = {})
      : delay_(delay), status_(std::move(status)) {
    auto router = std::make_shared<http::Router>();
    router->add("POST", "/events", [this](http::Request&& req, http::Responder respond) {
      handle(std::move(req), std::move(respond));
    });
    server_ = std::make_unique<http::Server>(http::ServerOptions{"127.0.0.1", 0, 2}, router);
    server_->start();
  }
  ~EventsServer() { server_->stop(); }

  uint16_t port() const { return server_->port(); }
  std::vector<Arrival> arrivals() const {
    std::lock_guard lock(mu_);
    return arrivals_;
  }
  int max_in_flight() const { return max_in_flight_; }
  std::function<void(const Event&)> on_event;

 private:
  void handle(http::Request&& req, http::Responder respond) {
    Event e;
    if (!event::decode(req.body, e)) {
      http::Response bad;
      bad.status = 500;
      bad.body = "Cannot parse the submitted event\n";
      respond(std::move(bad));
      return;
    }
    std::size_t slot = 0;
    {
      std::lock_guard lock(mu_);
      slot = arrivals_.size();
      arrivals_.push_back({e, seq_++, -1});
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
      if (on_event) on_event(e);
    }
    const int status = status_ ? status_(e) : 200;
    auto timer = std::make_shared<boost::asio::steady_timer>(server_->io_context(), delay_);
    timer->async_wait([this, timer, slot, status, respond](const boost::system::error_code&) {
      {
        std::lock_guard lock(mu_);
        arrivals_[slot].answered = seq_++;
        --in_flight_;
      }
      http::Response answer;
      answer.status = status;
      respond(std::move(answer));
    });
  }

  std::chrono::milliseconds delay_;
  Status status_;
  mutable std::mutex mu_;
  std::vector<Arrival> arrivals_;
  int64_t seq_ = 0;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  std::unique_ptr<http::Server> server_;
};

SendOptions send_options(uint16_t port) {
  SendOptions o;
  o.port = port;
  o.rps = 100000;
  o.concurrency = 8;
  o.progress_interval = std::chrono::milliseconds(0);
  return o;
}

std::vector<DirectiveEvents> plan_for(const std::vector<Directive>& directives, uint64_t seed) {
  EventGenerator generator({}, seed);
  std::vector<DirectiveEvents> plan;
  for (const Directive& d : directives) plan.push_back(generator.generate(d, kTimestamp));
  return plan;
}

DirectiveSource source_of(std::vector<DirectiveEvents>& plan) {
  return [&plan](std::size_t i) { return plan[i]; };
}

TEST(DtesterSend, StagesOfADirectiveGoStrictlyInOrder) {
  EventsServer server(std::chrono::milliseconds(20));
  std::vector<Directive> directives;
  for (int64_t id = 1; id <= 6; ++id) {
    directives.push_back(
        directive_with({plugin(addresses("ANY", "ANY")), plugin(addresses(":1", ":1"), 4, "[2]"),
                        plugin(addresses(":1", ":1"), 3, "[3]")},
                       id));
  }
  auto plan = plan_for(directives, 5);
  std::ostringstream out;
  const SendSummary summary =
      send_events(plan.size(), source_of(plan), send_options(server.port()), out);
  EXPECT_EQ(summary.sent, 6u * 8u);
  EXPECT_EQ(summary.accepted, 6u * 8u);
  EXPECT_EQ(summary.failed(), 0u);
  EXPECT_EQ(summary.directives, 6u);

  // Per directive (by its stage-1 source address): every stage-k event was answered before any
  // stage-k+1 event arrived.
  std::map<std::string, std::map<int64_t, std::vector<EventsServer::Arrival>>> by_directive;
  for (const auto& a : server.arrivals()) {
    by_directive[a.event.src_ip][a.event.plugin_sid].push_back(a);
  }
  ASSERT_EQ(by_directive.size(), 6u);
  for (const auto& [src, stages] : by_directive) {
    ASSERT_EQ(stages.size(), 3u) << src;
    EXPECT_EQ(stages.at(2).size(), 4u);
    for (int64_t sid = 1; sid < 3; ++sid) {
      int64_t last_answer = -1, first_next = std::numeric_limits<int64_t>::max();
      for (const auto& a : stages.at(sid)) last_answer = std::max(last_answer, a.answered);
      for (const auto& a : stages.at(sid + 1)) first_next = std::min(first_next, a.arrived);
      EXPECT_LT(last_answer, first_next) << src << " stage " << sid;
    }
  }
  // Events of one stage and of different directives were in flight together, within the limit.
  EXPECT_GT(server.max_in_flight(), 1);
  EXPECT_LE(server.max_in_flight(), 8);
}

TEST(DtesterSend, ConcurrencyLimitHolds) {
  EventsServer server(std::chrono::milliseconds(30));
  std::vector<Directive> directives;
  for (int64_t id = 1; id <= 4; ++id) {
    directives.push_back(directive_with(
        {plugin(addresses("ANY", "ANY")), plugin(addresses(":1", ":1"), 10, "[2]")}, id));
  }
  auto plan = plan_for(directives, 6);
  SendOptions options = send_options(server.port());
  options.concurrency = 3;
  std::ostringstream out;
  const SendSummary summary = send_events(plan.size(), source_of(plan), options, out);
  EXPECT_EQ(summary.accepted, 44u);
  EXPECT_EQ(server.max_in_flight(), 3);
}

TEST(DtesterSend, RateLimit) {
  EventsServer server(std::chrono::milliseconds(0));
  auto plan = plan_for(
      {directive_with({plugin(addresses("ANY", "ANY")), plugin(addresses(":1", ":1"), 10, "[2]")})},
      7);
  SendOptions options = send_options(server.port());
  options.rps = 10;
  std::ostringstream out;
  const auto started = std::chrono::steady_clock::now();
  const SendSummary summary = send_events(plan.size(), source_of(plan), options, out);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(summary.accepted, 11u);
  // 11 events at 10 per second: the last one leaves 1 s after the first.
  EXPECT_GE(seconds, 0.95);
  EXPECT_LT(seconds, 5.0);
  EXPECT_GE(summary.elapsed_seconds, 0.95);
}

TEST(DtesterSend, RefusedEventsAreCountedPerStatus) {
  EventsServer server(std::chrono::milliseconds(0),
                      [](const Event& e) { return e.plugin_sid == 2 ? 429 : 200; });
  auto plan = plan_for(
      {directive_with({plugin(addresses("ANY", "ANY")), plugin(addresses(":1", ":1"), 3, "[2]"),
                       plugin(addresses(":1", ":1"), 1, "[3]")})},
      8);
  std::ostringstream out;
  const SendSummary summary =
      send_events(plan.size(), source_of(plan), send_options(server.port()), out);
  EXPECT_EQ(summary.sent, 5u);
  EXPECT_EQ(summary.accepted, 2u);
  EXPECT_EQ(summary.refused, (std::map<int, uint64_t>{{429, 3}}));
  EXPECT_EQ(summary.failed(), 3u);
  std::ostringstream printed;
  print_summary(summary, printed);
  EXPECT_NE(printed.str().find("Events sent: 5\nAccepted: 2\nFailed: 3\n  HTTP 429: 3\n"),
            std::string::npos)
      << printed.str();
}

TEST(DtesterSend, UnreachableEngineFailsEveryEvent) {
  uint16_t port = 0;
  {
    // A port that was free a moment ago: nothing listens on it.
    EventsServer probe(std::chrono::milliseconds(0));
    port = probe.port();
  }
  auto plan = plan_for({test::testing_directive(2)}, 9);
  SendOptions options = send_options(port);
  options.timeout = std::chrono::milliseconds(2000);
  std::ostringstream out;
  const SendSummary summary = send_events(plan.size(), source_of(plan), options, out);
  EXPECT_EQ(summary.accepted, 0u);
  EXPECT_EQ(summary.sent, plan[0].event_count());
  EXPECT_EQ(summary.failed(), summary.sent);
  ASSERT_EQ(summary.transport_errors.size(), 1u);
  EXPECT_NE(summary.transport_errors.begin()->first.find("/events"), std::string::npos);
}

TEST(DtesterSend, DsiemModeDrivesAnEngineToItsAlarms) {
  // The engine behind an in-process /events endpoint, fed in arrival order.
  ManualClock clock(kT);
  test::CapturingSink sink;
  const fs::path configs = test_data() / "conformance" / "cases" / "p07_references" / "configs";
  config::DirectiveSet set = config::load_directives(configs, "directives_*.json");
  ASSERT_EQ(set.directives.size(), 2u);
  correlate::Engine engine(set.directives,
                           std::make_shared<config::Assets>(config::Assets::load(configs)), clock,
                           sink, {});
  EventsServer server(std::chrono::milliseconds(5));
  std::mutex engine_mu;
  server.on_event = [&](const Event& e) {
    std::lock_guard lock(engine_mu);
    clock.set_seconds(*event::parse_rfc3339_seconds(e.timestamp));
    engine.process(e);
  };

  log::setup(false);
  std::ostringstream out, err;
  const int rc = run_dtester({"dsiem", "-f", (configs / "directives_*.json").string(), "-p",
                              std::to_string(server.port()), "-i", "10.0.0.1", "-v"},
                             out, err);
  log::setup(false);
  EXPECT_EQ(rc, 0) << out.str();
  EXPECT_NE(out.str().find("Events sent: 7\nAccepted: 7\nFailed: 0\n"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("Directives driven: 2\n"), std::string::npos);
  EXPECT_NE(out.str().find("Sent event for stage: 3 order #: 0\n{\"event_id\":"),
            std::string::npos);
  EXPECT_NE(out.str().find(R"("title":"Dtester event")"), std::string::npos);
  std::lock_guard lock(engine_mu);
  EXPECT_EQ(engine.backlog_count(), 0u);
  // Both directives completed their last stage.
  std::map<std::string, std::string> last_by_alarm;
  for (const std::string& a : sink.alarms()) last_by_alarm[test::alarm_id_of(a)] = a;
  ASSERT_EQ(last_by_alarm.size(), 2u);
  for (const auto& [id, record] : last_by_alarm) {
    const std::size_t rules = record.find("Lateral movement") != std::string::npos ? 3 : 2;
    EXPECT_TRUE(last_alarm_finished({record}, rules)) << record;
  }
}

TEST(DtesterSend, FailedSendsMakeTheCommandFail) {
  EventsServer server(std::chrono::milliseconds(0), [](const Event&) { return 503; });
  test::TempDir dir;
  dir.write("directives_a.json", test::kTestingDirectives);
  log::setup(false);
  std::ostringstream out, err;
  const int rc = run_dtester({"dsiem", "-f", (dir.path() / "directives_*.json").string(), "-p",
                              std::to_string(server.port()), "-n", "2"},
                             out, err);
  log::setup(false);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.str().find("Failed: 10\n  HTTP 503: 10\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("Exiting: Cannot send events: 10 of 10 events were not accepted\n"),
            std::string::npos)
      << out.str();
}

}  // namespace
}  // namespace dsiem::tools
