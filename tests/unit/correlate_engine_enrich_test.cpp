// A real correlate::Engine with a real enrich::Enricher whose Wise and nesd sources are loopback
// servers: when lookups start (alarms.md §3 table), what they add to the records
// (assets_and_intel.md §5-§7, alarms.md §3.2 and §5 Example A), and that correlation never waits
// for them. Every wait is bounded by the checker timeout or by the server's hold limit.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "dsiem/alarm/record_sink.h"
#include "dsiem/common/clock.h"
#include "dsiem/correlate/engine.h"
#include "dsiem/enrich/enricher.h"
#include "unit/lookup_servers.h"
#include "unit/test_support.h"

namespace {

using dsiem::ManualClock;
using dsiem::config::Directive;
using dsiem::config::LookupSource;
using dsiem::correlate::Engine;
using dsiem::correlate::EngineOptions;
using dsiem::enrich::Enricher;
using dsiem::enrich::EnricherOptions;
using dsiem::event::Event;
using dsiem::test::alarm_id_of;
using dsiem::test::lookup_source;
using dsiem::test::LookupServer;
using dsiem::test::make_event;
using Strings = std::vector<std::string>;
using namespace std::chrono_literals;

constexpr int64_t T = 1704067200;  // 2024-01-01T00:00:00Z

// The Wise answer of alarms.md §5 Example A for a known address.
const std::string kMaliciousHost =
    R"([{field:"alienvault.activity",len:14,value:"Malicious Host"}])";

std::string malicious_host_hit(std::string_view ip) {
  return R"({"provider":"Wise","term":")" + std::string(ip) +
         R"(","result":"alienvault.activity: Malicious Host"})";
}

std::string intel_hits(const Strings& hits) {
  std::string out = R"(,"intel_hits":[)";
  for (std::size_t i = 0; i < hits.size(); ++i) out += (i ? "," : "") + hits[i];
  return out + "]";
}

std::string vulnerabilities(const Strings& entries) {
  std::string out = R"(,"vulnerabilities":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) out += (i ? "," : "") + entries[i];
  return out + "]";
}

std::string nesd_entry(std::string_view term, std::string_view result) {
  return R"({"provider":"Nesd","term":")" + std::string(term) + R"(","result":")" +
         std::string(result) + R"("})";
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// `record` as a snapshot of alarms.md §3.2 would write it: `findings` placed right after
// dst_ips (before custom_data), and custom_data removed when `drop_custom_data`.
std::string with_findings(const std::string& record, std::string_view findings,
                          bool drop_custom_data) {
  const auto custom_at = record.find(R"(,"custom_data":)");
  const auto networks_at = record.find(R"(,"networks":)");
  if (networks_at == std::string::npos) return "no networks key in: " + record;
  const auto findings_at = custom_at == std::string::npos ? networks_at : custom_at;
  const auto rest_at = drop_custom_data ? networks_at : findings_at;
  return record.substr(0, findings_at) + std::string(findings) + record.substr(rest_at);
}

// `record` without its intel_hits and vulnerabilities members (their texts hold no "}]").
std::string without_findings(std::string record) {
  for (std::string_view key : {R"(,"intel_hits":[)", R"(,"vulnerabilities":[)"}) {
    const auto start = record.find(key);
    if (start == std::string::npos) continue;
    const auto end = record.find("}]", start);
    record.erase(start, end + 2 - start);
  }
  return record;
}

// alarms.md §5 Example A (records A1, A2, A3) for alarm `id`: `findings` goes after dst_ips,
// `third` after the third rule's start_time.
std::string example_a(const std::string& id, std::string_view findings = "",
                      std::string_view third = "") {
  return "{\"alarm_id\":\"" + id +
         R"(","title":"Ping Flood from 192.168.0.10","status":"Open",)"
         R"("kingdom":"Reconnaissance \u0026 Probing","category":"Misc Activity",)"
         R"("created_time":1704067201,"update_time":1704067210,"risk":1,)"
         R"("risk_class":"Low","tag":"Identified Threat","src_ips":["192.168.0.10"],)"
         R"("dst_ips":["8.8.8.8","1.1.1.1"])" +
         std::string(findings) +
         R"(,"networks":["192.168.0.0/16"],)"
         R"("rules":[{"name":"ICMP Ping","stage":1,"plugin_id":1001,)"
         R"("plugin_sid":[2100384],"occurrence":1,"from":"HOME_NET","to":"ANY",)"
         R"("type":"PluginRule","port_from":"ANY","port_to":"ANY","protocol":"ICMP",)"
         R"("reliability":1,"timeout":0,"start_time":1704067200,"end_time":1704067200,)"
         R"("rcvd_time":1704067201123456789,"status":"finished"},{"name":"ICMP Ping",)"
         R"("stage":2,"plugin_id":1001,"plugin_sid":[2100384],"occurrence":3,)"
         R"("from":"192.168.0.10","to":"ANY","type":"PluginRule","port_from":"ANY",)"
         R"("port_to":"ANY","protocol":"ICMP","reliability":6,"timeout":600,)"
         R"("start_time":1704067200,"end_time":1704067209,"status":"finished"},)"
         R"({"name":"ICMP Ping","stage":3,"plugin_id":1001,"plugin_sid":[2100384],)"
         R"("occurrence":10000,"from":"192.168.0.10","to":"ANY","type":"PluginRule",)"
         R"("port_from":"ANY","port_to":"ANY","protocol":"ICMP","reliability":10,)"
         R"("timeout":3600,"start_time":1704067209)" +
         std::string(third) + "}]}";
}

// alarms.md §5 Example B for alarm `id`, with `findings` after dst_ips, custom_data unless
// `snapshot`, and `third` after the third rule's start_time.
std::string example_b(const std::string& id, std::string_view findings, bool snapshot,
                      std::string_view third = "") {
  return "{\"alarm_id\":\"" + id +
         R"(","title":"Ping Flood to Firewall","status":"Open",)"
         R"("kingdom":"Reconnaissance \u0026 Probing","category":"Misc Activity",)"
         R"("created_time":1709607601,"update_time":1709607607,"risk":3,)"
         R"("risk_class":"Medium","tag":"Identified Threat","src_ips":["203.0.113.7",)"
         R"("203.0.113.8","198.51.100.2"],"dst_ips":["192.168.0.1"])" +
         std::string(findings) +
         (snapshot ? "" : R"(,"custom_data":[{"label":"icmp_type","content":"8"}])") +
         R"(,"networks":["192.168.0.0/16"],"rules":[{"name":"ICMP Ping","stage":1,)"
         R"("plugin_id":1001,"plugin_sid":[2100384],"occurrence":1,"from":"ANY",)"
         R"("to":"HOME_NET","type":"PluginRule","port_from":"ANY","port_to":"ANY",)"
         R"("protocol":"ICMP","reliability":1,"timeout":0,"start_time":1709607600,)"
         R"("end_time":1709607600,"rcvd_time":1709607601000000000,"status":"finished"},)"
         R"({"name":"ICMP Ping","stage":2,"plugin_id":1001,"plugin_sid":[2100384],)"
         R"("occurrence":3,"from":"ANY","to":"192.168.0.1","type":"PluginRule",)"
         R"("port_from":"ANY","port_to":"ANY","protocol":"ICMP","reliability":6,)"
         R"("timeout":3600,"start_time":1709607600,"end_time":1709607606,)"
         R"("status":"finished"},{"name":"ICMP Ping","stage":3,"plugin_id":1001,)"
         R"("plugin_sid":[2100384],"occurrence":10000,"from":"ANY","to":"192.168.0.1",)"
         R"("type":"PluginRule","port_from":"ANY","port_to":"ANY","protocol":"ICMP",)"
         R"("reliability":10,"timeout":3600,"start_time":1709607606)" +
         std::string(third) + "}]}";
}

// Stage 1: anything to 192.168.225.196 on "22, 80" (" 80" is not an integer, so only the last
// event's port can produce an :80 term). Stage 2: two FTP events from the same source. With
// the testing assets (192.168.0.0/16, value 2) the risk is 5*5*2/25 = 2 at both stages.
constexpr std::string_view kServiceProbeDirective = R"({"directives":[
  {"id":10,"name":"Service probe on DST_IP","priority":5,
   "kingdom":"Reconnaissance & Probing","category":"Misc Activity","rules":[
    {"name":"web or ssh","stage":1,"type":"PluginRule","plugin_id":1002,"plugin_sid":[1],
     "occurrence":1,"from":"ANY","to":"192.168.225.196","port_from":"ANY","port_to":"22, 80",
     "protocol":"TCP","reliability":5,"timeout":0},
    {"name":"ftp","stage":2,"type":"PluginRule","plugin_id":1002,"plugin_sid":[2],
     "occurrence":2,"from":":1","to":":1","port_from":"ANY","port_to":"21",
     "protocol":"TCP","reliability":5,"timeout":600}]}]})";

const std::string kProbeTarget = "192.168.225.196";
const std::string kProbeSource = "203.0.113.9";

Event probe_event(std::string id, int64_t sid, int64_t src_port, int64_t dst_port, int64_t ts) {
  Event e = make_event(std::move(id), kProbeSource, kProbeTarget, ts, 1002, sid);
  e.protocol = "TCP";
  e.src_port = src_port;
  e.dst_port = dst_port;
  return e;
}

// Canned nesd answers for the probe target, shaped like tools-fixtures/nesd/expected_responses.
const std::string kSshAnswer =
    R"([{"cve":"CVE-2008-5161","risk":"Low","name":"SSH Server CBC Mode Ciphers Enabled"}])";
const std::string kHttpAnswer =
    R"([{"cve":"CVE-2003-1567","risk":"Medium","name":"HTTP TRACE / TRACK Methods Allowed"},)"
    R"({"cve":"CVE-2013-4113","risk":"High","name":"PHP 5.4.x < 5.4.18 Multiple Vulnerabilities"},)"
    R"({"cve":"CVE-1999-0632","risk":"None","name":"RPC portmapper Service Detection"}])";
const std::string kFtpAnswer =
    R"([{"cve":"CVE-1999-0497","risk":"Medium","name":"Anonymous FTP Enabled"}])";

// Example B's events (alarms.md §5): ICMP to the Firewall asset with custom data.
Event example_b_event(std::string id, std::string src, std::string timestamp) {
  Event e = make_event(std::move(id), std::move(src), "192.168.0.1", 0);
  e.timestamp = std::move(timestamp);
  e.custom_label1 = "icmp_type";
  e.custom_data1 = "8";
  e.rcvd_time = 1709607601000000000;
  return e;
}

// Keeps every line, and for each alarm line whether the thread that built the sink wrote it.
// The test thread runs the engine, so its lines are the engine's records; every other alarm
// line is a snapshot written by a lookup worker.
class OriginTrackingSink final : public dsiem::alarm::RecordSink {
 public:
  void write_link(std::string line) override {
    std::lock_guard lock(mu_);
    links_.push_back(std::move(line));
  }
  void write_alarm(std::string line) override {
    std::lock_guard lock(mu_);
    alarms_.push_back({std::move(line), std::this_thread::get_id() == engine_thread_});
  }
  Strings links() const {
    std::lock_guard lock(mu_);
    return links_;
  }
  Strings alarms() const { return select(true, true); }
  Strings engine_records() const { return select(true, false); }
  Strings snapshots() const { return select(false, true); }

 private:
  Strings select(bool engine, bool workers) const {
    std::lock_guard lock(mu_);
    Strings out;
    for (const auto& [line, from_engine] : alarms_) {
      if (from_engine ? engine : workers) out.push_back(line);
    }
    return out;
  }

  const std::thread::id engine_thread_ = std::this_thread::get_id();
  mutable std::mutex mu_;
  Strings links_;
  std::vector<std::pair<std::string, bool>> alarms_;
};

class EngineEnrichTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Held requests would keep the enricher's workers (and so its destructor) waiting.
    server_.release();
    engine_.reset();
    enricher_.reset();
  }

  static EnricherOptions options() {
    EnricherOptions o;
    o.timeout = 3000ms;  // bounds every wait_idle()
    return o;
  }
  LookupSource wise() const { return lookup_source("Wise", server_.wise_url()); }
  LookupSource nesd() const { return lookup_source("Nesd", server_.nesd_url()); }

  void start(std::vector<Directive> directives, std::vector<LookupSource> intel,
             std::vector<LookupSource> vuln, EnricherOptions enricher_options = options(),
             std::shared_ptr<const dsiem::config::Assets> assets = dsiem::test::testing_assets()) {
    enricher_ = std::make_unique<Enricher>(std::move(intel), std::move(vuln), enricher_options,
                                           clock_, sink_);
    EngineOptions engine_options;
    engine_options.enricher = enricher_.get();
    engine_ = std::make_unique<Engine>(std::move(directives), std::move(assets), clock_, sink_,
                                       engine_options);
  }
  // Processes `e` with the wall clock at `wall` seconds.
  void feed(const Event& e, int64_t wall) {
    clock_.set_seconds(wall);
    engine_->process(e);
  }
  void tick_at(int64_t wall) {
    clock_.set_seconds(wall);
    engine_->tick();
  }
  Strings alarms() const { return sink_.alarms(); }
  Strings links() const { return sink_.links(); }
  uint64_t jobs() const { return enricher_->stats().jobs_submitted; }

  // Events e1, e2, e6 and e7 of alarms.md §5 Example A; returns the alarm ID. The lookups are
  // left running: callers decide when to wait for them.
  void feed_example_a_creation() {
    Event e1 = make_event("e1", "192.168.0.10", "8.8.8.8", T);
    e1.rcvd_time = 1704067201123456789;
    feed(e1, T + 1);
  }
  void feed_example_a_rest() {
    feed(make_event("e2", "192.168.0.10", "1.1.1.1", T + 5), T + 6);
    feed(make_event("e6", "192.168.0.10", "8.8.8.8", T + 8), T + 9);
    feed(make_event("e7", "192.168.0.10", "8.8.8.8", T + 9), T + 10);
  }

  // Declared first: destroyed last, after the enricher that may still be talking to it.
  LookupServer server_;
  ManualClock clock_{T};
  OriginTrackingSink sink_;
  std::unique_ptr<Enricher> enricher_;
  std::unique_ptr<Engine> engine_;
};

// alarms.md §5 Example A with its Wise source: the risk-0 upsert at e1 already looks up 8.8.8.8
// (192.168.0.10 is private), e2 completes nothing, A1 is written at e7 and its lookup finds
// 1.1.1.1 (8.8.8.8 from the "not found" cache), giving snapshot A2; A3 at expiry keeps the hit.
TEST_F(EngineEnrichTest, ExampleAWithWiseSource) {
  server_.answer("wise 1.1.1.1", kMaliciousHost);
  start({dsiem::test::testing_directive(1)}, {wise()}, {});

  feed_example_a_creation();
  enricher_->wait_idle();
  EXPECT_EQ(server_.requests(), Strings{"wise 8.8.8.8"});
  EXPECT_TRUE(alarms().empty());  // risk 0: nothing written, not even a snapshot
  ASSERT_EQ(links().size(), 1u);
  const std::string id = alarm_id_of(links()[0]);

  feed(make_event("e2", "192.168.0.10", "1.1.1.1", T + 5), T + 6);
  enricher_->wait_idle();
  EXPECT_EQ(server_.requests(), Strings{"wise 8.8.8.8"});  // a link only: no lookup
  EXPECT_EQ(jobs(), 1u);

  feed(make_event("e6", "192.168.0.10", "8.8.8.8", T + 8), T + 9);
  feed(make_event("e7", "192.168.0.10", "8.8.8.8", T + 9), T + 10);
  // A1 is written by process() itself, before anything was found for 1.1.1.1.
  ASSERT_FALSE(alarms().empty());
  EXPECT_EQ(alarms()[0], example_a(id));
  enricher_->wait_idle();

  const std::string a2 = example_a(id, intel_hits({malicious_host_hit("1.1.1.1")}));
  EXPECT_EQ(alarms(), (Strings{example_a(id), a2}));
  EXPECT_EQ(sink_.snapshots(), Strings{a2});
  EXPECT_EQ(server_.requests(), (Strings{"wise 8.8.8.8", "wise 1.1.1.1"}));
  EXPECT_EQ(enricher_->stats().cache_hits, 1u);

  tick_at(T + 3611);
  enricher_->wait_idle();
  EXPECT_EQ(engine_->backlog_count(), 0u);
  ASSERT_EQ(alarms().size(), 3u);
  EXPECT_EQ(alarms()[2],
            example_a(id, intel_hits({malicious_host_hit("1.1.1.1")}), R"(,"status":"timeout")"));
  EXPECT_EQ(jobs(), 2u);  // expiry starts no lookup
  EXPECT_EQ(server_.requests().size(), 2u);
}

// Example A's "Variant": Wise knows 8.8.8.8, found during the risk-0 upsert at e1 and kept in
// the alarm, so A1 itself carries the hit and no snapshot follows (1.1.1.1 is not known).
TEST_F(EngineEnrichTest, HitFoundAtRiskZeroUpsertIsInTheFirstRecord) {
  server_.answer("wise 8.8.8.8", kMaliciousHost);
  start({dsiem::test::testing_directive(1)}, {wise()}, {});

  feed_example_a_creation();
  enricher_->wait_idle();
  EXPECT_TRUE(alarms().empty());
  const std::string id = alarm_id_of(links().at(0));

  feed_example_a_rest();
  enricher_->wait_idle();
  EXPECT_EQ(alarms(), Strings{example_a(id, intel_hits({malicious_host_hit("8.8.8.8")}))});
  EXPECT_TRUE(sink_.snapshots().empty());
  // 8.8.8.8 is already a term of the alarm: only 1.1.1.1 is asked at e7.
  EXPECT_EQ(server_.requests(), (Strings{"wise 8.8.8.8", "wise 1.1.1.1"}));
  EXPECT_EQ(enricher_->stats().snapshots_written, 0u);
}

// alarms.md §3.2: the snapshot carries no custom_data, later records carry both.
TEST_F(EngineEnrichTest, SnapshotOmitsCustomDataThatLaterRecordsKeep) {
  server_.answer("wise 198.51.100.2", kMaliciousHost);
  start({dsiem::test::testing_directive(2)}, {wise()}, {});
  const int64_t t0 = 1709607600;
  feed(example_b_event("f1", "203.0.113.7", "2024-03-05T10:00:00+07:00"), t0 + 1);
  feed(example_b_event("f2", "203.0.113.8", "2024-03-05T10:00:02+07:00"), t0 + 3);
  feed(example_b_event("f3", "203.0.113.7", "2024-03-05T10:00:04+07:00"), t0 + 5);
  enricher_->wait_idle();
  EXPECT_TRUE(alarms().empty());
  feed(example_b_event("f4", "198.51.100.2", "2024-03-05T10:00:06+07:00"), t0 + 7);
  enricher_->wait_idle();
  const std::string id = alarm_id_of(links().at(0));
  const std::string hits = intel_hits({malicious_host_hit("198.51.100.2")});
  EXPECT_EQ(alarms(), (Strings{example_b(id, "", false), example_b(id, hits, true)}));
  // f1 asked for 203.0.113.7 (192.168.0.1 is private); f4 found it in the cache.
  EXPECT_EQ(server_.requests(),
            (Strings{"wise 203.0.113.7", "wise 203.0.113.8", "wise 198.51.100.2"}));

  tick_at(t0 + 7200);  // stage 3 (started t0+6, timeout 3600) has expired
  ASSERT_EQ(alarms().size(), 3u);
  EXPECT_EQ(alarms()[2], example_b(id, hits, false, R"(,"status":"timeout")"));
}

// assets_and_intel.md §6.1: the terms come from the literal IPs of the resolved rules with
// their listed ports and the last event's ports; " 80" (leading space) is no integer, so :80
// comes from the event's dst_port. Results never change the risk.
TEST_F(EngineEnrichTest, VulnTermsFromRuleAddressesAndLastEventPorts) {
  server_.answer("nesd 192.168.225.196:22", kSshAnswer);
  server_.answer("nesd 192.168.225.196:80", kHttpAnswer);
  server_.answer("nesd 192.168.225.196:21", kFtpAnswer);
  start(dsiem::test::directives_from_json(kServiceProbeDirective), {}, {nesd()});

  feed(probe_event("v1", 1, 40000, 80, T), T + 1);
  enricher_->wait_idle();
  // Rule 1 "to" with "22", " 80" (skipped) and the last dst_port 80; rule 2 "from" (":1", the
  // first event's source) with the last src_port; rule 2 "to" with "21".
  EXPECT_EQ(server_.requests(), (Strings{"nesd 192.168.225.196:22", "nesd 192.168.225.196:80",
                                         "nesd 203.0.113.9:40000", "nesd 192.168.225.196:21"}));
  EXPECT_EQ(server_.queries().at(1), "ip=192.168.225.196&port=80");
  const std::string vulns = vulnerabilities(
      {nesd_entry("192.168.225.196:80",
                  "Medium - HTTP TRACE / TRACK Methods Allowed (CVE-2003-1567)"),
       nesd_entry("192.168.225.196:80",
                  R"(High - PHP 5.4.x \u003c 5.4.18 Multiple Vulnerabilities (CVE-2013-4113))"),
       nesd_entry("192.168.225.196:21", "Medium - Anonymous FTP Enabled (CVE-1999-0497)")});
  const Strings after_stage_1 = alarms();
  ASSERT_EQ(after_stage_1.size(), 2u);
  const std::string& r1 = after_stage_1[0];
  EXPECT_TRUE(contains(r1, R"("title":"Service probe on 192.168.225.196",)")) << r1;
  EXPECT_TRUE(contains(r1, R"("risk":2,"risk_class":"Low",)")) << r1;
  EXPECT_TRUE(contains(r1, R"("from":"203.0.113.9","to":"192.168.225.196",)")) << r1;
  EXPECT_FALSE(contains(r1, "vulnerabilities")) << r1;
  EXPECT_EQ(after_stage_1[1], with_findings(r1, vulns, true));
  EXPECT_EQ(sink_.snapshots(), Strings{after_stage_1[1]});

  // Stage 2 (the last) completes: the record keeps the results and the risk. Its lookup only
  // asks for the new source port: :21 and :80 are known terms, :22 is a cached "not found".
  feed(probe_event("v2", 2, 40001, 21, T + 2), T + 3);
  feed(probe_event("v3", 2, 40001, 21, T + 3), T + 4);
  enricher_->wait_idle();
  EXPECT_EQ(engine_->backlog_count(), 0u);
  const Strings all = alarms();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(contains(all[2], R"("risk":2,"risk_class":"Low",)")) << all[2];
  EXPECT_TRUE(contains(all[2], R"("dst_ips":["192.168.225.196"])" + vulns + R"(,"networks":)"))
      << all[2];
  EXPECT_EQ(server_.requests().size(), 5u);
  EXPECT_EQ(server_.requests().back(), "nesd 203.0.113.9:40001");
  EXPECT_EQ(enricher_->stats().cache_hits, 1u);
}

// alarms.md §3 table: expiry and events absorbed by an earlier stage (all_rules_always_active)
// start no lookup, but their records carry what was found before.
TEST_F(EngineEnrichTest, NoLookupsOnExpiryOrAbsorbedEvents) {
  server_.answer("wise 8.8.8.8", kMaliciousHost);
  EnricherOptions o = options();
  o.intel_private_ip = true;  // so that the absorbed event's 10.0.0.5 would be a candidate
  start(dsiem::test::directives_from_json(R"({"directives":[{"id":5,"name":"two SRC_IP",
          "priority":5,"kingdom":"k","category":"c","all_rules_always_active":true,"rules":[
          {"name":"s1","stage":1,"type":"PluginRule","plugin_id":7,"plugin_sid":[1],
           "occurrence":1,"from":"10.0.0.0/8","to":"ANY","port_from":"ANY","port_to":"ANY",
           "reliability":5,"timeout":0},
          {"name":"s2","stage":2,"type":"PluginRule","plugin_id":7,"plugin_sid":[2],
           "occurrence":2,"from":":1","to":"ANY","port_from":"ANY","port_to":"ANY",
           "reliability":5,"timeout":100}]}]})"),
        {wise()}, {}, o,
        dsiem::test::assets_from_json(
            R"({"assets":[{"name":"net","cidr":"10.0.0.0/8","value":2}]})"));
  const std::string hits = intel_hits({malicious_host_hit("8.8.8.8")});

  feed(make_event("a", "10.0.0.1", "8.8.8.8", T, 7, 1), T + 1);
  enricher_->wait_idle();
  ASSERT_EQ(alarms().size(), 2u);  // record (risk 5*5*2/25 = 2) and its snapshot
  EXPECT_FALSE(contains(alarms()[0], "intel_hits")) << alarms()[0];
  EXPECT_EQ(alarms()[1], with_findings(alarms()[0], hits, true));
  EXPECT_EQ(server_.requests(), (Strings{"wise 10.0.0.1", "wise 8.8.8.8"}));
  EXPECT_EQ(jobs(), 1u);

  // Stage 1 (pinned to 8.8.8.8) absorbs "b": a record with the new source, no lookup.
  feed(make_event("b", "10.0.0.5", "8.8.8.8", T + 2, 7, 1), T + 3);
  enricher_->wait_idle();
  ASSERT_EQ(alarms().size(), 3u);
  EXPECT_TRUE(contains(alarms()[2], R"("src_ips":["10.0.0.1","10.0.0.5"],"dst_ips":["8.8.8.8"])" +
                                        hits + R"(,"networks":)"))
      << alarms()[2];
  EXPECT_EQ(jobs(), 1u);
  EXPECT_EQ(server_.requests().size(), 2u);

  // Stage 2 (started T, timeout 100) expires at the tick of T+101.
  tick_at(T + 101);
  enricher_->wait_idle();
  EXPECT_EQ(engine_->backlog_count(), 0u);
  ASSERT_EQ(alarms().size(), 4u);
  EXPECT_TRUE(contains(alarms()[3], hits + R"(,"networks":)")) << alarms()[3];
  EXPECT_TRUE(contains(alarms()[3], R"("status":"timeout"}]})")) << alarms()[3];
  EXPECT_EQ(jobs(), 1u);
  EXPECT_EQ(server_.requests().size(), 2u);
}

// Connection refused at both sources: every lookup fails, correlation is unchanged.
TEST_F(EngineEnrichTest, DeadLookupServerChangesNothing) {
  const std::string dead =
      "http://127.0.0.1:" + std::to_string(dsiem::test::closed_loopback_port());
  start({dsiem::test::testing_directive(1)}, {lookup_source("Wise", dead + "/wise/${ip}")},
        {lookup_source("Nesd", dead + "/nesd/?ip=${ip}&port=${port}")});
  feed_example_a_creation();
  feed_example_a_rest();
  const std::string id = alarm_id_of(links().at(0));
  EXPECT_EQ(alarms(), Strings{example_a(id)});
  enricher_->wait_idle();
  EXPECT_EQ(alarms(), Strings{example_a(id)});
  // 8.8.8.8 at e1, then 8.8.8.8 again (failures are not cached) and 1.1.1.1 at e7.
  EXPECT_EQ(enricher_->stats().failures, 3u);
  EXPECT_EQ(enricher_->stats().lookups, 3u);

  tick_at(T + 3611);
  EXPECT_EQ(alarms(), (Strings{example_a(id), example_a(id, "", R"(,"status":"timeout")")}));
}

// A lookup stuck at the server does not keep the engine from completing the next stage and
// writing its record; the found hit arrives later as a snapshot.
TEST_F(EngineEnrichTest, SlowLookupServerNeverHoldsUpCorrelation) {
  server_.answer("wise 1.1.1.1", kMaliciousHost);
  EnricherOptions o = options();
  o.timeout = 20s;  // longer than the server's hold limit: the held request never times out
  start({dsiem::test::testing_directive(1)}, {wise()}, {}, o);

  server_.hold();
  feed_example_a_creation();
  ASSERT_TRUE(server_.wait_for_requests(1));  // the lookup of 8.8.8.8 waits at the gate
  feed_example_a_rest();
  const std::string id = alarm_id_of(links().at(0));
  EXPECT_EQ(links().size(), 4u);
  EXPECT_EQ(alarms(), Strings{example_a(id)});
  // A1 was written while the first request was still unanswered.
  EXPECT_EQ(server_.timeline(), Strings{"start wise 8.8.8.8"});

  server_.release();
  enricher_->wait_idle();
  EXPECT_EQ(alarms(),
            (Strings{example_a(id), example_a(id, intel_hits({malicious_host_hit("1.1.1.1")}))}));
  EXPECT_EQ(server_.requests(), (Strings{"wise 8.8.8.8", "wise 1.1.1.1"}));
  EXPECT_EQ(enricher_->stats().failures, 0u);
}

// assets_and_intel.md §7: with every address and port known to the sources, the links and the
// engine's own records are those of a run without lookups, apart from the added members.
TEST_F(EngineEnrichTest, ResultsNeverChangeRiskOrCorrelation) {
  for (const char* ip : {"203.0.113.7", "203.0.113.8", "198.51.100.2", "203.0.113.9"}) {
    server_.answer("wise " + std::string(ip), kMaliciousHost);
  }
  server_.answer("nesd 192.168.225.196:80", kHttpAnswer);
  server_.answer("nesd 192.168.225.196:21", kFtpAnswer);
  std::vector<Directive> directives = dsiem::test::directives_from_json(kServiceProbeDirective);
  directives.push_back(dsiem::test::testing_directive(2));

  struct Output {
    Strings links, records;
  };
  auto run = [&](Enricher* enricher, OriginTrackingSink& sink) {
    ManualClock clock{T};
    EngineOptions engine_options;
    engine_options.enricher = enricher;
    Engine engine(directives, dsiem::test::testing_assets(), clock, sink, engine_options);
    auto step = [&](const Event& e, int64_t wall) {
      clock.set_seconds(wall);
      engine.process(e);
      if (enricher) enricher->wait_idle();
    };
    step(probe_event("v1", 1, 40000, 80, T), T + 1);
    step(example_b_event("f1", "203.0.113.7", dsiem::test::rfc3339(T + 1)), T + 2);
    step(example_b_event("f2", "203.0.113.8", dsiem::test::rfc3339(T + 2)), T + 3);
    step(probe_event("v2", 2, 40001, 21, T + 2), T + 3);
    step(example_b_event("f3", "203.0.113.7", dsiem::test::rfc3339(T + 3)), T + 4);
    step(example_b_event("f4", "198.51.100.2", dsiem::test::rfc3339(T + 4)), T + 5);
    step(probe_event("v3", 2, 40001, 21, T + 5), T + 6);
    clock.set_seconds(T + 7200);
    engine.tick();
    Strings records;
    for (const std::string& r : sink.engine_records()) records.push_back(without_findings(r));
    return Output{dsiem::test::normalize_ids(sink.links()), dsiem::test::normalize_ids(records)};
  };

  OriginTrackingSink plain_sink;
  const Output plain = run(nullptr, plain_sink);
  ASSERT_EQ(plain.records.size(), 4u);  // probe: stages 1 and 2; ping flood: stage 2, expiry

  Enricher enricher({wise()}, {nesd()}, options(), clock_, sink_);
  const Output enriched = run(&enricher, sink_);
  EXPECT_EQ(enriched.links, plain.links);
  EXPECT_EQ(enriched.records, plain.records);
  // The lookups did find things, and every engine record after the first one carries them.
  EXPECT_EQ(sink_.snapshots().size(), 3u);  // probe stage 1: intel, vuln; ping flood: intel
  const Strings records = sink_.engine_records();
  for (std::size_t i = 1; i < records.size(); ++i) {
    EXPECT_TRUE(contains(records[i], "intel_hits")) << records[i];
  }
}

// assets_and_intel.md §6.3 and §5.3: every qualifying element of an answer yields one result,
// as in Go (internal/pkg/plugin/nesd/nesd.go appends each one); the Nessus export behind
// tools-fixtures/nesd/expected_responses lists the same finding several times.
TEST_F(EngineEnrichTest, EveryQualifyingElementOfAnAnswerIsKept) {
  const std::string snmp_finding =
      R"json({"cve":"CVE-1999-0517","risk":"High","name":"SNMP Agent Default Community Name (public)"})json";
  server_.answer("nesd 192.168.225.196:80", "[" + snmp_finding + "," + snmp_finding + "]");
  server_.answer("wise 203.0.113.9",
                 R"([{field:"tag",len:7,value:"scanner"},{field:"tag",len:7,value:"scanner"}])");
  start(dsiem::test::directives_from_json(kServiceProbeDirective), {wise()}, {nesd()});
  feed(probe_event("v1", 1, 40000, 80, T), T + 1);
  enricher_->wait_idle();
  const Strings all = alarms();
  ASSERT_FALSE(all.empty());
  const std::string snmp = nesd_entry(
      "192.168.225.196:80", "High - SNMP Agent Default Community Name (public) (CVE-1999-0517)");
  const std::string tag = R"({"provider":"Wise","term":"203.0.113.9","result":"tag: scanner"})";
  EXPECT_TRUE(contains(all.back(), intel_hits({tag, tag}) + vulnerabilities({snmp, snmp})))
      << all.back();
}

}  // namespace
