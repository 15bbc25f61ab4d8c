// The Enricher against real Wise and nesd servers on 127.0.0.1 (assets_and_intel.md §5-§6,
// alarms.md §3.2): which terms are looked up, the cache, failures, the worker queue and the
// snapshot records. Every wait on the servers is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dsiem/common/clock.h"
#include "dsiem/common/log.h"
#include "dsiem/enrich/checkers.h"
#include "dsiem/enrich/enricher.h"
#include "dsiem/http/router.h"
#include "dsiem/http/server.h"
#include "dsiem/http/util.h"
#include "test_support.h"
#include "unit/lookup_servers.h"

namespace dsiem::enrich {
namespace {

using alarm::LookupResult;
using Results = std::vector<LookupResult>;
using namespace std::chrono_literals;
using dsiem::test::lookup_source;
using dsiem::test::LookupServer;

constexpr auto kBoundedWait = 5s;

const std::string kSpamming =
    R"([{field:"alienvault.id",len:3,value:"12"},{field:"alienvault.activity",len:9,value:"Spamming"}])";
const std::string kOnlyMetadata = R"([{field:"alienvault.id",len:3,value:"12"}])";
const std::string kShellshock =
    R"json([{"cve":"CVE-2014-6271","risk":"Critical","name":"Bash Remote Code Execution (Shellshock)"}])json";

LookupJob intel_job(std::string alarm_id, std::vector<std::string> ips,
                    std::shared_ptr<AlarmFindings> findings = std::make_shared<AlarmFindings>()) {
  LookupJob job;
  job.alarm_id = std::move(alarm_id);
  job.findings = std::move(findings);
  job.ips = std::move(ips);
  return job;
}

LookupJob vuln_job(std::string alarm_id, std::vector<VulnTerm> terms,
                   std::shared_ptr<AlarmFindings> findings = std::make_shared<AlarmFindings>()) {
  LookupJob job;
  job.alarm_id = std::move(alarm_id);
  job.findings = std::move(findings);
  job.vuln_terms = std::move(terms);
  return job;
}

class EnricherTest : public ::testing::Test {
 protected:
  EnricherOptions options() const {
    EnricherOptions o;
    o.timeout = 3000ms;
    return o;
  }
  std::unique_ptr<Enricher> wise_enricher(EnricherOptions o) {
    return std::make_unique<Enricher>(std::vector{lookup_source("Wise", server_.wise_url())},
                                      std::vector<config::LookupSource>{}, o, clock_, sink_);
  }
  std::unique_ptr<Enricher> nesd_enricher(EnricherOptions o) {
    return std::make_unique<Enricher>(std::vector<config::LookupSource>{},
                                      std::vector{lookup_source("Nesd", server_.nesd_url())}, o,
                                      clock_, sink_);
  }

  LookupServer server_;
  ManualClock clock_{1'700'000'000};
  test::CapturingSink sink_;
};

// ---- enabling ----

TEST_F(EnricherTest, EnabledPerKindBySources) {
  auto none =
      std::make_unique<Enricher>(std::vector<config::LookupSource>{},
                                 std::vector<config::LookupSource>{}, options(), clock_, sink_);
  EXPECT_FALSE(none->enabled());
  none->submit(intel_job("a1", {"8.8.8.8"}));
  none->wait_idle();
  EXPECT_TRUE(server_.requests().empty());

  auto unknown = std::make_unique<Enricher>(std::vector{lookup_source("Nope", server_.wise_url())},
                                            std::vector{lookup_source("Wise", server_.nesd_url())},
                                            options(), clock_, sink_);
  EXPECT_FALSE(unknown->intel_enabled());
  EXPECT_FALSE(unknown->vuln_enabled());

  EXPECT_TRUE(wise_enricher(options())->intel_enabled());
  EXPECT_FALSE(wise_enricher(options())->vuln_enabled());
  EXPECT_TRUE(nesd_enricher(options())->vuln_enabled());
}

// ---- intel: which IPs ----

TEST_F(EnricherTest, WiseResultsAreAddedToTheAlarm) {
  server_.answer("wise 8.8.8.8", kSpamming);
  auto enricher = wise_enricher(options());
  auto findings = std::make_shared<AlarmFindings>();
  enricher->submit(intel_job("a1", {"8.8.8.8"}, findings));
  enricher->wait_idle();
  EXPECT_EQ(findings->intel_hits(),
            (Results{{"Wise", "8.8.8.8", "alienvault.activity: Spamming"}}));
  EXPECT_EQ(enricher->stats().lookups, 1u);
  EXPECT_EQ(enricher->stats().failures, 0u);
}

TEST_F(EnricherTest, PrivateAndUnparsableIpsAreSkipped) {
  auto enricher = wise_enricher(options());
  enricher->submit(intel_job(
      "a1", {"10.0.0.1", "172.16.5.5", "192.168.1.1", "127.0.0.1", "169.254.0.9", "fd00::1", "::1",
             "fe80::1", "8.8.8.8", "not-an-ip", "%zz", "1.2.3.4/../x", "8.8.8.8"}));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(), std::vector<std::string>{"wise 8.8.8.8"});
}

TEST_F(EnricherTest, IntelPrivateIpLooksUpPrivateButNeverUnparsable) {
  EnricherOptions o = options();
  o.intel_private_ip = true;
  auto enricher = wise_enricher(o);
  enricher->submit(intel_job("a1", {"10.0.0.1", "%zz", "not-an-ip", "fe80::1"}));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(), (std::vector<std::string>{"wise 10.0.0.1", "wise fe80::1"}));
}

TEST_F(EnricherTest, Ipv6IsEncodedIntoTheUrlAndKeptAsTheTerm) {
  server_.answer("wise 2001:db8::1", kSpamming);
  auto enricher = wise_enricher(options());
  auto findings = std::make_shared<AlarmFindings>();
  enricher->submit(intel_job("a1", {"2001:db8::1"}, findings));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(), std::vector<std::string>{"wise 2001:db8::1"});
  EXPECT_EQ(findings->intel_hits(),
            (Results{{"Wise", "2001:db8::1", "alienvault.activity: Spamming"}}));
}

TEST_F(EnricherTest, IpsAlreadyInIntelHitsAreSkipped) {
  auto enricher = wise_enricher(options());
  auto findings = std::make_shared<AlarmFindings>();
  findings->add_intel_hits({{"Wise", "8.8.8.8", "earlier: hit"}});
  enricher->submit(intel_job("a1", {"8.8.8.8", "9.9.9.9"}, findings));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(), std::vector<std::string>{"wise 9.9.9.9"});
}

TEST_F(EnricherTest, EachSourceUsesItsOwnUrlWithoutDuplicates) {
  server_.answer("wise 8.8.8.8", kSpamming);
  server_.answer("wise2 8.8.8.8", R"([{field:"other.tag",len:7,value:"malware"}])");
  auto enricher =
      std::make_unique<Enricher>(std::vector{lookup_source("Wise", server_.wise_url()),
                                             lookup_source("Wise", server_.url("/wise2/${ip}"))},
                                 std::vector<config::LookupSource>{}, options(), clock_, sink_);
  auto findings = std::make_shared<AlarmFindings>();
  enricher->submit(intel_job("a1", {"8.8.8.8"}, findings));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(), (std::vector<std::string>{"wise 8.8.8.8", "wise2 8.8.8.8"}));
  EXPECT_EQ(findings->intel_hits(), (Results{{"Wise", "8.8.8.8", "alienvault.activity: Spamming"},
                                             {"Wise", "8.8.8.8", "other.tag: malware"}}));
}

// ---- failures ----

TEST_F(EnricherTest, Non2xxAndMalformedAnswersAreFailuresAndNotCached) {
  server_.answer("wise 8.8.8.8", LookupServer::Answer{500, kSpamming});
  server_.answer("wise 9.9.9.9", "<html>not wise</html>");
  auto enricher = wise_enricher(options());
  auto findings = std::make_shared<AlarmFindings>();
  for (const char* alarm_id : {"a1", "a2"}) {
    enricher->submit(intel_job(alarm_id, {"8.8.8.8", "9.9.9.9"}, findings));
    enricher->wait_idle();
  }
  EXPECT_TRUE(findings->intel_hits().empty());
  EXPECT_EQ(server_.requests().size(), 4u);  // nothing cached: asked again
  EXPECT_EQ(enricher->stats().failures, 4u);
  EXPECT_EQ(enricher->stats().cache_hits, 0u);
  EXPECT_TRUE(sink_.alarms().empty());
}

TEST_F(EnricherTest, OneFailingSourceDoesNotHideTheOtherOnesResults) {
  server_.answer("wise 8.8.8.8", LookupServer::Answer{503, ""});
  server_.answer("wise2 8.8.8.8", kSpamming);
  auto enricher =
      std::make_unique<Enricher>(std::vector{lookup_source("Wise", server_.wise_url()),
                                             lookup_source("Wise", server_.url("/wise2/${ip}"))},
                                 std::vector<config::LookupSource>{}, options(), clock_, sink_);
  auto first = std::make_shared<AlarmFindings>();
  auto second = std::make_shared<AlarmFindings>();
  enricher->submit(intel_job("a1", {"8.8.8.8"}, first));
  enricher->wait_idle();
  enricher->submit(intel_job("a2", {"8.8.8.8"}, second));
  enricher->wait_idle();
  const Results expected = {{"Wise", "8.8.8.8", "alienvault.activity: Spamming"}};
  EXPECT_EQ(first->intel_hits(), expected);
  EXPECT_EQ(second->intel_hits(), expected);  // from the cache: one source answered
  EXPECT_EQ(server_.requests().size(), 2u);
  EXPECT_EQ(enricher->stats().failures, 1u);
  EXPECT_EQ(enricher->stats().cache_hits, 1u);
}

TEST_F(EnricherTest, FailuresAreLoggedAsWarnings) {
  server_.answer("wise 8.8.8.8", LookupServer::Answer{500, ""});
  server_.answer("nesd 10.0.0.5:80", "{}");
  auto enricher = std::make_unique<Enricher>(std::vector{lookup_source("Wise", server_.wise_url())},
                                             std::vector{lookup_source("Nesd", server_.nesd_url())},
                                             options(), clock_, sink_);
  LookupJob job = intel_job("a1", {"8.8.8.8"});
  job.vuln_terms = {{"10.0.0.5", "80"}};
  testing::internal::CaptureStdout();
  enricher->submit(std::move(job));
  enricher->wait_idle();
  log::flush();
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("Error received from intel checker Wise: "), std::string::npos) << out;
  EXPECT_NE(out.find("Error received from vuln checker Nesd: "), std::string::npos) << out;
}

TEST_F(EnricherTest, TimeoutIsAFailureAndSubmitNeverWaits) {
  EnricherOptions o = options();
  o.timeout = 200ms;
  o.workers = 1;
  auto enricher = wise_enricher(o);
  server_.hold();
  enricher->submit(intel_job("a1", {"8.8.8.8"}));
  ASSERT_TRUE(server_.wait_for_requests(1));
  // The only worker is stuck in a held request; submitting still returns at once.
  const auto before = std::chrono::steady_clock::now();
  enricher->submit(intel_job("a2", {"9.9.9.9"}));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 100ms);
  EXPECT_EQ(server_.requests().size(), 1u);
  enricher->wait_idle();
  EXPECT_EQ(enricher->stats().failures, 2u);

  server_.release();
  enricher->submit(intel_job("a3", {"8.8.8.8"}));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests().size(), 3u);  // the timed-out answer was not cached
  EXPECT_EQ(enricher->stats().failures, 2u);
}

TEST_F(EnricherTest, SlowAnswerBeyondTheTimeoutIsAFailure) {
  server_.answer("wise 8.8.8.8", LookupServer::Answer{200, kSpamming, 600ms});
  EnricherOptions o = options();
  o.timeout = 150ms;
  auto enricher = wise_enricher(o);
  auto findings = std::make_shared<AlarmFindings>();
  enricher->submit(intel_job("a1", {"8.8.8.8"}, findings));
  enricher->wait_idle();
  EXPECT_TRUE(findings->intel_hits().empty());
  EXPECT_EQ(enricher->stats().failures, 1u);
}

// ---- the cache ----

TEST_F(EnricherTest, CacheServesFoundAndNotFoundUntilTheTtlEnds) {
  server_.answer("wise 8.8.8.8", kSpamming);
  server_.answer("wise 9.9.9.9", kOnlyMetadata);
  EnricherOptions o = options();
  o.cache_ttl = std::chrono::minutes(10);
  auto enricher = wise_enricher(o);

  auto lookup = [&](const std::string& alarm_id) {
    auto findings = std::make_shared<AlarmFindings>();
    enricher->submit(intel_job(alarm_id, {"8.8.8.8", "9.9.9.9"}, findings));
    enricher->wait_idle();
    return findings->intel_hits();
  };
  const Results spamming = {{"Wise", "8.8.8.8", "alienvault.activity: Spamming"}};
  EXPECT_EQ(lookup("a1"), spamming);
  EXPECT_EQ(server_.requests().size(), 2u);

  clock_.advance_seconds(599);
  EXPECT_EQ(lookup("a2"), spamming);
  EXPECT_EQ(server_.requests().size(), 2u);
  EXPECT_EQ(enricher->stats().cache_hits, 2u);

  clock_.advance_seconds(1);  // both entries are now exactly 10 minutes old
  EXPECT_EQ(lookup("a3"), spamming);
  EXPECT_EQ(server_.requests().size(), 4u);
  EXPECT_EQ(enricher->stats().lookups, 4u);
}

TEST_F(EnricherTest, ZeroCacheDurationMeansTenMinutes) {
  server_.answer("wise 8.8.8.8", kSpamming);
  EnricherOptions o = options();
  o.cache_ttl = std::chrono::minutes(0);
  auto enricher = wise_enricher(o);
  enricher->submit(intel_job("a1", {"8.8.8.8"}));
  enricher->wait_idle();
  clock_.advance_seconds(599);
  enricher->submit(intel_job("a2", {"8.8.8.8"}));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests().size(), 1u);
  clock_.advance_seconds(1);
  enricher->submit(intel_job("a3", {"8.8.8.8"}));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests().size(), 2u);
}

// ---- vuln ----

TEST_F(EnricherTest, NesdResultsAndSkippedTerms) {
  server_.answer("nesd 192.168.0.1:80", kShellshock);
  server_.answer("nesd 192.168.0.1:8080",
                 R"([{"cve":"","risk":"Low","name":"l"},{"cve":"","risk":"High","name":"h"}])");
  auto enricher = nesd_enricher(options());
  auto findings = std::make_shared<AlarmFindings>();
  findings->add_vulnerabilities({{"Nesd", "192.168.0.1:22", "High - earlier"}});
  const std::vector<RuleAddresses> rules = {{"ANY", "192.168.0.1", "ANY", "80, 443,22"},
                                            {"!10.0.0.9", "ANY", "!80,25", "ANY"}};
  enricher->submit(vuln_job("a1", vuln_terms(rules, 0, 8080), findings));
  enricher->wait_idle();
  // " 443" and "!80" are not integers, ":22" is already known, "!10.0.0.9" is no address.
  EXPECT_EQ(server_.requests(),
            (std::vector<std::string>{"nesd 192.168.0.1:80", "nesd 192.168.0.1:8080"}));
  EXPECT_EQ(findings->vulnerabilities(),
            (Results{{"Nesd", "192.168.0.1:22", "High - earlier"},
                     {"Nesd", "192.168.0.1:80",
                      "Critical - Bash Remote Code Execution (Shellshock) (CVE-2014-6271)"},
                     {"Nesd", "192.168.0.1:8080", "High - h"}}));
}

TEST_F(EnricherTest, NesdQueryIsEncodedAndPortIsDecimal) {
  auto enricher = nesd_enricher(options());
  enricher->submit(vuln_job("a1", {{"2001:db8::5", "+443"}}));
  enricher->wait_idle();
  EXPECT_EQ(server_.queries(), std::vector<std::string>{"ip=2001%3Adb8%3A%3A5&port=443"});
  EXPECT_EQ(server_.requests(), std::vector<std::string>{"nesd 2001:db8::5:443"});
}

TEST_F(EnricherTest, NesdNotFoundIsCachedPerIpAndPort) {
  auto enricher = nesd_enricher(options());
  enricher->submit(vuln_job("a1", {{"10.0.0.5", "80"}, {"10.0.0.5", "443"}}));
  enricher->wait_idle();
  enricher->submit(vuln_job("a2", {{"10.0.0.5", "80"}, {"10.0.0.5", "22"}}));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(), (std::vector<std::string>{"nesd 10.0.0.5:80", "nesd 10.0.0.5:443",
                                                          "nesd 10.0.0.5:22"}));
  EXPECT_EQ(enricher->stats().cache_hits, 1u);
}

TEST_F(EnricherTest, IntelAndVulnCachesAreSeparate) {
  auto enricher = std::make_unique<Enricher>(std::vector{lookup_source("Wise", server_.wise_url())},
                                             std::vector{lookup_source("Nesd", server_.nesd_url())},
                                             options(), clock_, sink_);
  LookupJob job = intel_job("a1", {"8.8.8.8"});
  job.vuln_terms = {{"8.8.8.8", "53"}};
  enricher->submit(std::move(job));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(), (std::vector<std::string>{"wise 8.8.8.8", "nesd 8.8.8.8:53"}));
  EXPECT_EQ(enricher->stats().cache_hits, 0u);
}

// ---- the queue ----

TEST_F(EnricherTest, FullQueueDropsJobs) {
  EnricherOptions o = options();
  o.workers = 1;
  o.max_pending = 2;
  auto enricher = wise_enricher(o);
  server_.hold();
  enricher->submit(intel_job("a1", {"8.8.8.1"}));
  ASSERT_TRUE(server_.wait_for_requests(1));  // running, no longer queued
  enricher->submit(intel_job("a2", {"8.8.8.2"}));
  enricher->submit(intel_job("a3", {"8.8.8.3"}));
  enricher->submit(intel_job("a4", {"8.8.8.4"}));
  EXPECT_EQ(enricher->stats().jobs_submitted, 4u);
  EXPECT_EQ(enricher->stats().jobs_dropped, 1u);
  server_.release();
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(),
            (std::vector<std::string>{"wise 8.8.8.1", "wise 8.8.8.2", "wise 8.8.8.3"}));
}

TEST_F(EnricherTest, QueueFullWarningIsRateLimited) {
  EnricherOptions o = options();
  o.workers = 1;
  o.max_pending = 1;
  auto enricher = wise_enricher(o);
  server_.hold();
  enricher->submit(intel_job("a1", {"8.8.8.1"}));
  ASSERT_TRUE(server_.wait_for_requests(1));
  enricher->submit(intel_job("a2", {"8.8.8.2"}));
  testing::internal::CaptureStdout();
  enricher->submit(intel_job("a3", {"8.8.8.3"}));
  enricher->submit(intel_job("a4", {"8.8.8.4"}));
  clock_.advance_seconds(9);
  enricher->submit(intel_job("a5", {"8.8.8.5"}));
  clock_.advance_seconds(1);
  enricher->submit(intel_job("a6", {"8.8.8.6"}));
  log::flush();
  const std::string out = testing::internal::GetCapturedStdout();
  server_.release();
  enricher->wait_idle();
  EXPECT_EQ(enricher->stats().jobs_dropped, 4u);
  std::vector<std::string> warned;
  for (const char* id : {"a3", "a4", "a5", "a6"}) {
    if (out.find("dropping the lookups of alarm " + std::string(id)) != std::string::npos) {
      warned.push_back(id);
    }
  }
  EXPECT_EQ(warned, (std::vector<std::string>{"a3", "a6"})) << out;
}

TEST_F(EnricherTest, JobsOfOneAlarmRunInSubmissionOrder) {
  server_.answer("wise 8.8.8.1", LookupServer::Answer{200, "[]", 200ms});
  EnricherOptions o = options();
  o.workers = 4;
  auto enricher = wise_enricher(o);
  enricher->submit(intel_job("a1", {"8.8.8.1"}));
  enricher->submit(intel_job("a1", {"8.8.8.2"}));
  enricher->submit(intel_job("a1", {"8.8.8.3"}));
  enricher->wait_idle();
  EXPECT_EQ(server_.timeline(), (std::vector<std::string>{
                                    "start wise 8.8.8.1", "end wise 8.8.8.1", "start wise 8.8.8.2",
                                    "end wise 8.8.8.2", "start wise 8.8.8.3", "end wise 8.8.8.3"}));
}

TEST_F(EnricherTest, DifferentAlarmsRunInParallel) {
  EnricherOptions o = options();
  o.workers = 2;
  o.timeout = 10'000ms;
  auto enricher = wise_enricher(o);
  server_.hold();
  enricher->submit(intel_job("a1", {"8.8.8.1"}));
  enricher->submit(intel_job("a2", {"8.8.8.2"}));
  EXPECT_TRUE(server_.wait_for_requests(2));  // both in flight at once
  server_.release();
  enricher->wait_idle();
  EXPECT_EQ(enricher->stats().failures, 0u);
}

TEST_F(EnricherTest, StopDiscardsQueuedJobsAndIgnoresLaterOnes) {
  EnricherOptions o = options();
  o.workers = 1;
  o.timeout = 300ms;
  auto enricher = wise_enricher(o);
  server_.hold();
  enricher->submit(intel_job("a1", {"8.8.8.1"}));
  ASSERT_TRUE(server_.wait_for_requests(1));
  enricher->submit(intel_job("a2", {"8.8.8.2"}));
  enricher->stop();
  enricher->stop();
  enricher->submit(intel_job("a3", {"8.8.8.3"}));
  enricher->wait_idle();
  EXPECT_EQ(server_.requests(), std::vector<std::string>{"wise 8.8.8.1"});
}

// ---- snapshot records (alarms.md §3.2) ----

const std::string kRecordHead =
    R"({"alarm_id":"a1","title":"Ping","status":"Open","kingdom":"K","category":"C",)"
    R"("created_time":1,"update_time":2,"risk":3,"risk_class":"Medium","tag":"T",)"
    R"("src_ips":["8.8.8.8"],"dst_ips":["10.0.0.5"])";
const std::string kRecordCustomData = R"(,"custom_data":[{"label":"user","content":"bob"}])";
const std::string kRecordTail = R"(,"networks":["10.0.0.0/8"],"rules":[]})";

void set_record(LookupJob& job) {
  job.record = kRecordHead + kRecordCustomData + kRecordTail;
  job.findings_at = kRecordHead.size();
  job.networks_at = kRecordHead.size() + kRecordCustomData.size();
}

TEST_F(EnricherTest, SnapshotHasTheFindingsAndNoCustomData) {
  server_.answer("wise 8.8.8.8", kSpamming);
  auto enricher = wise_enricher(options());
  auto findings = std::make_shared<AlarmFindings>();
  findings->add_vulnerabilities({{"Nesd", "10.0.0.5:80", "High - x"}});
  LookupJob job = intel_job("a1", {"8.8.8.8", "10.0.0.5"}, findings);
  set_record(job);
  enricher->submit(std::move(job));
  enricher->wait_idle();
  EXPECT_EQ(
      sink_.alarms(),
      std::vector<std::string>{
          kRecordHead +
          R"(,"intel_hits":[{"provider":"Wise","term":"8.8.8.8",)"
          R"("result":"alienvault.activity: Spamming"}])"
          R"(,"vulnerabilities":[{"provider":"Nesd","term":"10.0.0.5:80","result":"High - x"}])" +
          kRecordTail});
  EXPECT_TRUE(sink_.links().empty());
  EXPECT_EQ(enricher->stats().snapshots_written, 1u);
}

TEST_F(EnricherTest, IntelAndVulnEachWriteTheirSnapshot) {
  server_.answer("wise 8.8.8.8", kSpamming);
  server_.answer("nesd 10.0.0.5:80", kShellshock);
  auto enricher = std::make_unique<Enricher>(std::vector{lookup_source("Wise", server_.wise_url())},
                                             std::vector{lookup_source("Nesd", server_.nesd_url())},
                                             options(), clock_, sink_);
  LookupJob job = intel_job("a1", {"8.8.8.8"});
  job.vuln_terms = {{"10.0.0.5", "80"}};
  set_record(job);
  enricher->submit(std::move(job));
  enricher->wait_idle();
  const std::string intel =
      R"(,"intel_hits":[{"provider":"Wise","term":"8.8.8.8","result":"alienvault.activity: Spamming"}])";
  const std::string vuln =
      R"json(,"vulnerabilities":[{"provider":"Nesd","term":"10.0.0.5:80","result":"Critical - Bash Remote Code Execution (Shellshock) (CVE-2014-6271)"}])json";
  EXPECT_EQ(sink_.alarms(), (std::vector<std::string>{kRecordHead + intel + kRecordTail,
                                                      kRecordHead + intel + vuln + kRecordTail}));
}

TEST_F(EnricherTest, NoSnapshotWithoutNewResultsOrWithoutRecord) {
  server_.answer("wise 8.8.8.8", kSpamming);
  auto enricher = wise_enricher(options());

  auto known = std::make_shared<AlarmFindings>();
  known->add_intel_hits({{"Wise", "8.8.8.8", "alienvault.activity: Spamming"}});
  LookupJob nothing_new = intel_job("a1", {"8.8.8.8", "9.9.9.9"}, known);  // 9.9.9.9: "[]"
  set_record(nothing_new);
  enricher->submit(std::move(nothing_new));

  auto risk_zero = std::make_shared<AlarmFindings>();
  enricher->submit(intel_job("a2", {"8.8.8.8"}, risk_zero));  // no record
  enricher->wait_idle();

  EXPECT_TRUE(sink_.alarms().empty());
  EXPECT_EQ(risk_zero->intel_hits().size(), 1u);  // the live alarm still gets the results
  EXPECT_EQ(enricher->stats().snapshots_written, 0u);
}

}  // namespace
}  // namespace dsiem::enrich
