#include "dsiem/alarm/alarm.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace {

using dsiem::alarm::AlarmSettings;
using dsiem::alarm::AlarmView;
using dsiem::alarm::append_alarm_json;
using dsiem::alarm::append_link_json;
using dsiem::alarm::LookupResult;
using dsiem::alarm::RuleView;
using dsiem::config::Rule;
using Strings = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string encode(const AlarmView& v) {
  std::string out = "prefix:";  // appends, never clears
  append_alarm_json(out, v);
  EXPECT_EQ(out.rfind("prefix:", 0), 0u);
  return out.substr(7);
}

Rule plugin_rule() {
  Rule r;
  r.name = "ICMP Ping";
  r.stage = 1;
  r.type = "PluginRule";
  r.plugin_id = 1001;
  r.plugin_sid = {2100384};
  r.plugin_sid_set = true;
  r.occurrence = 1;
  r.from = "HOME_NET";
  r.to = "ANY";
  r.port_from = "ANY";
  r.port_to = "ANY";
  r.protocol = "ICMP";
  r.reliability = 1;
  r.timeout = 0;
  return r;
}

RuleView view_of(const Rule& r) {
  RuleView v;
  v.rule = &r;
  v.from = r.from;
  v.to = r.to;
  v.port_from = r.port_from;
  v.port_to = r.port_to;
  v.custom_data1 = r.custom_data1;
  v.custom_data2 = r.custom_data2;
  v.custom_data3 = r.custom_data3;
  return v;
}

struct Fixture {
  Strings src = {"192.168.0.10"};
  Strings dst = {"8.8.8.8", "1.1.1.1"};
  Strings networks = {"192.168.0.0/16"};
  std::vector<LookupResult> intel;
  std::vector<LookupResult> vulns;
  Pairs custom;
  AlarmView view() const {
    AlarmView v;
    v.alarm_id = "b7TqZk2Xa";
    v.title = "Ping Flood from 192.168.0.10";
    v.status = "Open";
    v.kingdom = "Reconnaissance & Probing";
    v.category = "Misc Activity";
    v.created_time = 1704067201;
    v.update_time = 1704067210;
    v.risk = 1;
    v.risk_class = "Low";
    v.tag = "Identified Threat";
    v.src_ips = &src;
    v.dst_ips = &dst;
    v.intel_hits = &intel;
    v.vulnerabilities = &vulns;
    v.custom_data = &custom;
    v.networks = &networks;
    return v;
  }
};

constexpr std::string_view kHead =
    R"({"alarm_id":"b7TqZk2Xa","title":"Ping Flood from 192.168.0.10",)"
    R"("status":"Open","kingdom":"Reconnaissance \u0026 Probing",)"
    R"("category":"Misc Activity","created_time":1704067201,)"
    R"("update_time":1704067210,"risk":1,"risk_class":"Low",)"
    R"("tag":"Identified Threat","src_ips":["192.168.0.10"],"dst_ips":["8.8.8.8",)"
    R"("1.1.1.1"])";

TEST(AlarmJson, KeyOrderAndOmittedEmptyLists) {
  Fixture f;
  const Rule r = plugin_rule();
  AlarmView v = f.view();
  RuleView rv = view_of(r);
  rv.start_time = 1704067200;
  rv.end_time = 1704067200;
  rv.rcvd_time = 1704067201123456789;
  rv.status = "finished";
  v.rules.push_back(rv);
  EXPECT_EQ(encode(v),
            std::string(kHead) +
                R"(,"networks":["192.168.0.0/16"],"rules":[{"name":"ICMP Ping","stage":1,)"
                R"("plugin_id":1001,"plugin_sid":[2100384],"occurrence":1,"from":"HOME_NET",)"
                R"("to":"ANY","type":"PluginRule","port_from":"ANY","port_to":"ANY",)"
                R"("protocol":"ICMP","reliability":1,"timeout":0,"start_time":1704067200,)"
                R"("end_time":1704067200,"rcvd_time":1704067201123456789,"status":"finished"}]})");
}

TEST(AlarmJson, IntelVulnerabilitiesAndCustomDataInOrder) {
  Fixture f;
  f.intel = {{"Wise", "1.1.1.1", "alienvault.activity: Malicious Host"}};
  f.vulns = {{"Nesd", "10.0.0.1:80", "CVE <x>"}, {"Nesd", "10.0.0.1:443", "y"}};
  f.custom = {{"icmp_type", "8"}, {"label & co", "a\"b"}};
  f.networks.clear();
  EXPECT_EQ(encode(f.view()),
            std::string(kHead) +
                R"(,"intel_hits":[{"provider":"Wise","term":"1.1.1.1",)"
                R"("result":"alienvault.activity: Malicious Host"}],)"
                R"("vulnerabilities":[{"provider":"Nesd","term":"10.0.0.1:80",)"
                R"("result":"CVE \u003cx\u003e"},{"provider":"Nesd","term":"10.0.0.1:443",)"
                R"("result":"y"}],"custom_data":[{"label":"icmp_type","content":"8"},)"
                R"({"label":"label \u0026 co","content":"a\"b"}],"networks":[],"rules":[]})");
}

TEST(AlarmJson, NullListPointersAreOmittedOrEmpty) {
  Fixture f;
  AlarmView v = f.view();
  v.intel_hits = nullptr;
  v.vulnerabilities = nullptr;
  v.custom_data = nullptr;
  v.networks = nullptr;
  EXPECT_EQ(encode(v), std::string(kHead) + R"(,"networks":[],"rules":[]})");
}

// alarms.md §5 Example C.
TEST(AlarmJson, TaxonomyRuleObjectExampleC) {
  Rule r;
  r.name = "Dropped packets";
  r.stage = 2;
  r.type = "TaxonomyRule";
  r.product = {"Firewall"};
  r.category = "Packet processing";
  r.subcategory = {"Drop"};
  r.occurrence = 100;
  r.from = ":1";
  r.to = "ANY";
  r.port_from = "ANY";
  r.port_to = "ANY";
  r.protocol = "ANY";
  r.reliability = 5;
  r.timeout = 300;
  r.sticky_different = "SRC_IP";
  RuleView rv = view_of(r);
  rv.from = "192.168.0.10";  // resolved value is written, not the rule's ":1"
  rv.start_time = 1704067200;
  Fixture f;
  AlarmView v = f.view();
  v.rules.push_back(rv);
  const std::string json = encode(v);
  const std::string rules =
      R"("rules":[{"name":"Dropped packets","stage":2,"plugin_id":0,)"
      R"("plugin_sid":null,"product":["Firewall"],"category":"Packet processing",)"
      R"("subcategory":["Drop"],"occurrence":100,"from":"192.168.0.10","to":"ANY",)"
      R"("type":"TaxonomyRule","port_from":"ANY","port_to":"ANY","protocol":"ANY",)"
      R"("reliability":5,"timeout":300,"start_time":1704067200,)"
      R"("sticky_different":"SRC_IP"}]})";
  ASSERT_GE(json.size(), rules.size());
  EXPECT_EQ(json.substr(json.size() - rules.size()), rules);
}

TEST(AlarmJson, PluginSidNullEmptyOrList) {
  Rule r = plugin_rule();
  Fixture f;
  auto rule_json = [&](const Rule& rule) {
    AlarmView v = f.view();
    v.rules.push_back(view_of(rule));
    const std::string json = encode(v);
    return json.substr(json.find("\"rules\":"));
  };
  r.plugin_sid = {1, 2, 3};
  EXPECT_NE(rule_json(r).find(R"("plugin_id":1001,"plugin_sid":[1,2,3],"occurrence")"),
            std::string::npos);
  r.plugin_sid.clear();
  EXPECT_NE(rule_json(r).find(R"("plugin_sid":[],)"), std::string::npos);
  r.plugin_sid_set = false;
  EXPECT_NE(rule_json(r).find(R"("plugin_sid":null,)"), std::string::npos);
}

TEST(AlarmJson, RuleOptionalFieldsOrderAndOmission) {
  Rule r = plugin_rule();
  r.protocol = "";
  r.sticky_different = "CUSTOM_DATA2";
  r.custom_data1 = "d1";
  r.custom_label1 = "l1";
  r.custom_label2 = "l2";  // custom_data2 empty: only the label
  r.custom_data3 = "d3";
  r.custom_label3 = "";
  Fixture f;
  AlarmView v = f.view();
  RuleView rv = view_of(r);
  rv.end_time = 5;  // no start_time, no rcvd_time
  rv.status = "timeout";
  v.rules.push_back(rv);
  RuleView second = view_of(r);
  second.custom_data1 = "resolved";
  v.rules.push_back(second);
  const std::string json = encode(v);
  EXPECT_NE(
      json.find(R"("rules":[{"name":"ICMP Ping","stage":1,"plugin_id":1001,)"
                R"("plugin_sid":[2100384],"occurrence":1,"from":"HOME_NET","to":"ANY",)"
                R"("type":"PluginRule","port_from":"ANY","port_to":"ANY","reliability":1,)"
                R"("timeout":0,"end_time":5,"status":"timeout",)"
                R"("sticky_different":"CUSTOM_DATA2","custom_data1":"d1","custom_label1":"l1",)"
                R"("custom_label2":"l2","custom_data3":"d3"},{"name":"ICMP Ping")"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("custom_data1":"resolved","custom_label1":"l1")"), std::string::npos);
  // Empty product/category/subcategory of a PluginRule are omitted.
  EXPECT_EQ(json.find("\"product\""), std::string::npos);
  EXPECT_EQ(json.find("\"subcategory\""), std::string::npos);
}

TEST(AlarmJson, GoEscaping) {
  Fixture f;
  f.src = {"a<b>", "tab\there", "nl\n", "ctl\x01", "q\"\\", "\xe2\x80\xa8", "bad\xff", "\xc3\xa4"};
  AlarmView v = f.view();
  const std::string json = encode(v);
  EXPECT_NE(
      json.find(R"("src_ips":["a\u003cb\u003e","tab\there","nl\n","ctl\u0001","q\"\\","\u2028",)"
                R"("bad\ufffd","ä"])"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("kingdom":"Reconnaissance \u0026 Probing")"), std::string::npos);
}

TEST(AlarmJson, NegativeAndLargeIntegers) {
  Fixture f;
  AlarmView v = f.view();
  v.risk = -1;
  v.created_time = 0;
  v.update_time = 9223372036854775807;
  const std::string json = encode(v);
  EXPECT_NE(json.find(R"("created_time":0,"update_time":9223372036854775807,"risk":-1,)"),
            std::string::npos)
      << json;
}

TEST(LinkJson, ExactLine) {
  std::string out;
  append_link_json(out, "b7TqZk2Xa", 2, "3f0c9b0e-3a64-4d2b-9a52-6a3a3e0f9c11");
  EXPECT_EQ(
      out,
      R"({"alarm_id":"b7TqZk2Xa","stage":2,"event_id":"3f0c9b0e-3a64-4d2b-9a52-6a3a3e0f9c11"})");
  out = "x";
  append_link_json(out, "id", 10, "<&>");
  EXPECT_EQ(out, R"(x{"alarm_id":"id","stage":10,"event_id":"\u003c\u0026\u003e"})");
  append_link_json(out, "", 123, "");
  EXPECT_EQ(out, R"(x{"alarm_id":"id","stage":10,"event_id":"\u003c\u0026\u003e"})"
                 R"({"alarm_id":"","stage":123,"event_id":""})");
}

TEST(RiskClass, DefaultBoundaries) {
  const AlarmSettings s;
  EXPECT_EQ(s.status, "Open");
  EXPECT_EQ(s.tag, "Identified Threat");
  EXPECT_EQ(s.risk_class(0), "Low");
  EXPECT_EQ(s.risk_class(1), "Low");
  EXPECT_EQ(s.risk_class(2), "Low");
  EXPECT_EQ(s.risk_class(3), "Medium");
  EXPECT_EQ(s.risk_class(6), "Medium");
  EXPECT_EQ(s.risk_class(7), "High");
  EXPECT_EQ(s.risk_class(10), "High");
}

TEST(RiskClass, CustomBoundaries) {
  AlarmSettings s;
  s.med_risk_min = 2;
  s.med_risk_max = 9;
  EXPECT_EQ(s.risk_class(1), "Low");
  EXPECT_EQ(s.risk_class(2), "Medium");
  EXPECT_EQ(s.risk_class(9), "Medium");
  EXPECT_EQ(s.risk_class(10), "High");
}

TEST(RiskClass, MinAboveMaxMakesEveryRiskFromMinHigh) {
  AlarmSettings s;
  s.med_risk_min = 5;
  s.med_risk_max = 4;
  EXPECT_EQ(s.risk_class(4), "Low");
  EXPECT_EQ(s.risk_class(5), "High");
  EXPECT_EQ(s.risk_class(6), "High");
  EXPECT_EQ(s.risk_class(1), "Low");
}

}  // namespace
