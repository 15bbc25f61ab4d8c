// The pure parts of intel / vuln enrichment: the plugin answer parsers, URL filling, the term
// rules (assets_and_intel.md §5.1, §6.1), the strict-TTL cache and AlarmFindings.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "dsiem/common/clock.h"
#include "dsiem/common/ip.h"
#include "dsiem/enrich/checkers.h"
#include "dsiem/enrich/enricher.h"
#include "dsiem/enrich/lookup_cache.h"
#include "dsiem/enrich/lookup_terms.h"
#include "dsiem/json/go_reader.h"

namespace dsiem::enrich {
namespace {

using alarm::LookupResult;
using Results = std::vector<LookupResult>;

// ---- Wise answers (§5.3) ----

TEST(WiseAnswer, SpecExampleKeepsOnlyLongValues) {
  const std::string body =
      R"([{field:"alienvault.id",len:3,value:"12"},{field:"alienvault.activity",len:9,value:"Spamming"}])";
  EXPECT_EQ(parse_wise_answer(body, "1.2.3.4"),
            (Results{{"Wise", "1.2.3.4", "alienvault.activity: Spamming"}}));
}

TEST(WiseAnswer, LengthFiveIsTheFirstKeptLength) {
  const std::string body = R"([{field:"a",len:4,value:"four"},{field:"b",len:5,value:"fives"}])";
  EXPECT_EQ(parse_wise_answer(body, "8.8.8.8"), (Results{{"Wise", "8.8.8.8", "b: fives"}}));
}

TEST(WiseAnswer, AcceptsPlainJsonAndNull) {
  EXPECT_EQ(parse_wise_answer(R"([{"field":"x.tag","len":7,"value":"malware"}])", "::1"),
            (Results{{"Wise", "::1", "x.tag: malware"}}));
  EXPECT_TRUE(parse_wise_answer("[]", "8.8.8.8").empty());
  EXPECT_TRUE(parse_wise_answer("null", "8.8.8.8").empty());
}

TEST(WiseAnswer, RewritesKeysAnywhereInTheText) {
  // The rewriting is plain text replacement, so a value holding "len:" breaks the document.
  EXPECT_THROW(parse_wise_answer(R"([{field:"a",len:9,value:"see len: here"}])", "8.8.8.8"),
               json::DecodeError);
}

TEST(WiseAnswer, MalformedBodiesThrow) {
  EXPECT_THROW(parse_wise_answer("<html>oops</html>", "8.8.8.8"), json::DecodeError);
  EXPECT_THROW(parse_wise_answer("", "8.8.8.8"), json::DecodeError);
  EXPECT_THROW(parse_wise_answer(R"({field:"a",len:9,value:"b"})", "8.8.8.8"), json::DecodeError);
  EXPECT_THROW(parse_wise_answer(R"([{field:"a",len:"9",value:"b"}])", "8.8.8.8"),
               json::DecodeError);
}

// ---- nesd answers (§6.3) ----

TEST(NesdAnswer, SpecExample) {
  const std::string body =
      R"json([{"cve":"CVE-2014-6271","risk":"Critical","name":"Bash Remote Code Execution (Shellshock)"}])json";
  EXPECT_EQ(parse_nesd_answer(body, "10.0.0.5:80"),
            (Results{{"Nesd", "10.0.0.5:80",
                      "Critical - Bash Remote Code Execution (Shellshock) (CVE-2014-6271)"}}));
}

TEST(NesdAnswer, KeepsMediumHighCriticalCaseSensitively) {
  const std::string body = R"([
    {"cve":"","risk":"Medium","name":"m"},
    {"cve":"CVE-1","risk":"High","name":"h"},
    {"cve":"CVE-2","risk":"None","name":"n"},
    {"cve":"CVE-3","risk":"Low","name":"l"},
    {"cve":"CVE-4","risk":"critical","name":"lower-case"}])";
  EXPECT_EQ(parse_nesd_answer(body, "10.0.0.5:443"),
            (Results{{"Nesd", "10.0.0.5:443", "Medium - m"},
                     {"Nesd", "10.0.0.5:443", "High - h (CVE-1)"}}));
}

TEST(NesdAnswer, NoVulnerabilityFoundNeedsTheExactText) {
  EXPECT_TRUE(parse_nesd_answer("no vulnerability found\n", "10.0.0.5:80").empty());
  EXPECT_THROW(parse_nesd_answer("no vulnerability found", "10.0.0.5:80"), json::DecodeError);
}

TEST(NesdAnswer, MalformedBodiesThrow) {
  EXPECT_THROW(parse_nesd_answer("ip parameter only accept... ip address\n", "x:1"),
               json::DecodeError);
  EXPECT_THROW(parse_nesd_answer(R"([{"cve":1,"risk":"High","name":"n"}])", "x:1"),
               json::DecodeError);
}

// ---- URL templates ----

TEST(FillUrlTemplate, ReplacesTheFirstPlaceholderOnly) {
  EXPECT_EQ(fill_url_template("http://w/ip/${ip}/${ip}", "${ip}", "8.8.8.8"),
            "http://w/ip/8.8.8.8/${ip}");
  EXPECT_EQ(fill_url_template("http://w/static", "${ip}", "8.8.8.8"), "http://w/static");
}

TEST(FillUrlTemplate, PercentEncodesTheValue) {
  EXPECT_EQ(fill_url_template("http://n/?ip=${ip}&port=80", "${ip}", "1.2.3.4&port=22"),
            "http://n/?ip=1.2.3.4%26port%3D22&port=80");
  EXPECT_EQ(fill_url_template("http://w/ip/${ip}", "${ip}", "2001:db8::1"),
            "http://w/ip/2001%3Adb8%3A%3A1");
  EXPECT_EQ(fill_url_template("http://w/ip/${ip}", "${ip}", "a b/%zz~_-."),
            "http://w/ip/a%20b%2F%25zz~_-.");
}

// ---- which terms are looked up ----

bool private_ip(const char* text) {
  const auto ip = IpAddress::parse(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip && is_private_ip(*ip);
}

TEST(PrivateIp, RangesOfTheSpec) {
  for (const char* ip : {"10.0.0.0", "10.255.255.255", "172.16.0.1", "172.31.255.255",
                         "192.168.0.1", "127.0.0.1", "127.255.255.254", "169.254.1.1", "fc00::1",
                         "fdff::1", "::1", "fe80::1", "febf::1", "::ffff:10.1.2.3"}) {
    EXPECT_TRUE(private_ip(ip)) << ip;
  }
  for (const char* ip :
       {"8.8.8.8", "172.15.255.255", "172.32.0.0", "192.169.0.1", "0.0.0.0", "100.64.0.1",
        "224.0.0.1", "255.255.255.255", "169.253.0.1", "fec0::1", "fe00::1", "2001:db8::1", "::"}) {
    EXPECT_FALSE(private_ip(ip)) << ip;
  }
}

TEST(IntelCandidate, UnparsableNeverEvenWithIntelPrivateIp) {
  EXPECT_TRUE(is_intel_candidate("8.8.8.8", false));
  EXPECT_FALSE(is_intel_candidate("10.0.0.1", false));
  EXPECT_TRUE(is_intel_candidate("10.0.0.1", true));
  for (const char* text : {"", "%zz", "not-an-ip", "1.2.3.4&port=22", "10.0.0.0/8", "01.2.3.4"}) {
    EXPECT_FALSE(is_intel_candidate(text, true)) << text;
    EXPECT_FALSE(is_intel_candidate(text, false)) << text;
  }
}

TEST(ParseDecimalInt, FollowsAtoi) {
  EXPECT_EQ(parse_decimal_int("80"), 80);
  EXPECT_EQ(parse_decimal_int("+80"), 80);
  EXPECT_EQ(parse_decimal_int("-1"), -1);
  EXPECT_EQ(parse_decimal_int("0080"), 80);
  for (const char* text :
       {"", "+", "-", " 443", "443 ", "!80", "8 0", "0x50", "ANY", "99999999999999999999"}) {
    EXPECT_FALSE(parse_decimal_int(text).has_value()) << text;
  }
}

// ---- vuln terms (§6.1 steps 1-2) ----

TEST(VulnTerms, SpecExampleOfRuleTwo) {
  const std::vector<RuleAddresses> rules = {
      {"HOME_NET", "ANY", "ANY", "ANY"},
      {"ANY", "192.168.0.1", "ANY", "80, 443"},
  };
  EXPECT_EQ(vuln_terms(rules, 0, 8080),
            (std::vector<VulnTerm>{
                {"192.168.0.1", "80"}, {"192.168.0.1", " 443"}, {"192.168.0.1", "8080"}}));
}

TEST(VulnTerms, SkipsKeywordsAndNetworksKeepsNegationsVerbatim) {
  const std::vector<RuleAddresses> rules = {
      {"10.0.0.1,10.0.0.1,!HOME_NET,10.0.0.0/8,!10.0.0.2", "ANY", "22,ANY", "ANY"},
  };
  EXPECT_EQ(
      vuln_terms(rules, 5555, 0),
      (std::vector<VulnTerm>{
          {"10.0.0.1", "22"}, {"10.0.0.1", "5555"}, {"!10.0.0.2", "22"}, {"!10.0.0.2", "5555"}}));
}

TEST(VulnTerms, LastPortZeroAddsNothingAndDuplicatesAcrossRulesGo) {
  const std::vector<RuleAddresses> rules = {
      {"10.0.0.1", "10.0.0.9", "ANY", "443"},
      {"10.0.0.1", "10.0.0.9", "ANY", "443"},
  };
  EXPECT_EQ(vuln_terms(rules, 0, 0), (std::vector<VulnTerm>{{"10.0.0.9", "443"}}));
  EXPECT_TRUE(vuln_terms({{"ANY", "HOME_NET", "1", "2"}}, 10, 20).empty());
  EXPECT_TRUE(vuln_terms({}, 10, 20).empty());
}

// ---- the cache ----

constexpr auto kTtl = std::chrono::minutes(10);
const Results kHit = {{"Wise", "8.8.8.8", "a: b"}};

TEST(LookupCache, ServesWithinTheTtlOnly) {
  ManualClock clock(1000);
  LookupCache cache(clock, kTtl, 10);
  EXPECT_FALSE(cache.get("8.8.8.8").has_value());
  cache.put("8.8.8.8", kHit);
  cache.put("9.9.9.9", {});
  clock.advance_seconds(599);
  EXPECT_EQ(cache.get("8.8.8.8"), kHit);
  EXPECT_EQ(cache.get("9.9.9.9"), Results{});  // a stored "not found"
  clock.advance_seconds(1);
  EXPECT_FALSE(cache.get("8.8.8.8").has_value());
  EXPECT_FALSE(cache.get("9.9.9.9").has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(LookupCache, StoringAgainRestartsTheAge) {
  ManualClock clock(0);
  LookupCache cache(clock, kTtl, 10);
  cache.put("k", {});
  clock.advance_seconds(500);
  cache.put("k", kHit);
  clock.advance_seconds(500);
  EXPECT_EQ(cache.get("k"), kHit);
}

TEST(LookupCache, FullCacheDropsExpiredThenOldest) {
  ManualClock clock(0);
  LookupCache cache(clock, kTtl, 2);
  cache.put("a", {});
  clock.advance_seconds(300);
  cache.put("b", {});
  clock.advance_seconds(301);  // "a" expired, "b" live
  cache.put("c", {});
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.get("b").has_value());
  EXPECT_TRUE(cache.get("c").has_value());
  cache.put("d", {});  // nothing expired: the oldest ("b") goes
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.get("b").has_value());
  EXPECT_TRUE(cache.get("c").has_value());
  EXPECT_TRUE(cache.get("d").has_value());
}

// ---- AlarmFindings ----

// An answer's repeated elements are all kept, as the reference appends every one.
TEST(AlarmFindings, KeepsEveryResultOfAnAnswer) {
  AlarmFindings f;
  EXPECT_EQ(f.add_intel_hits({{"Wise", "8.8.8.8", "a: b"}, {"Wise", "8.8.8.8", "a: b"}}), 2u);
  EXPECT_EQ(f.add_intel_hits({{"Other", "8.8.8.8", "a: b"}}), 1u);
  EXPECT_EQ(f.add_vulnerabilities({{"Nesd", "10.0.0.5:80", "High - x"}}), 1u);
  EXPECT_EQ(f.intel_hits().size(), 3u);
  EXPECT_TRUE(f.has_intel_term("8.8.8.8"));
  EXPECT_FALSE(f.has_intel_term("10.0.0.5:80"));
  EXPECT_TRUE(f.has_vulnerability_term("10.0.0.5:80"));
  EXPECT_FALSE(f.has_vulnerability_term("10.0.0.5"));
  EXPECT_EQ(f.vulnerabilities(), (Results{{"Nesd", "10.0.0.5:80", "High - x"}}));
}

TEST(AlarmFindings, AppendJsonWritesEachNonEmptyListWithGoEscaping) {
  AlarmFindings f;
  std::string out = "X";
  f.append_json(out);
  EXPECT_EQ(out, "X");

  f.add_vulnerabilities({{"Nesd", "10.0.0.5:80", "High - <b> \"q\" & co"}});
  out.clear();
  f.append_json(out);
  EXPECT_EQ(out, R"(,"vulnerabilities":[{"provider":"Nesd","term":"10.0.0.5:80",)"
                 R"("result":"High - \u003cb\u003e \"q\" \u0026 co"}])");

  f.add_intel_hits({{"Wise", "8.8.8.8", "a: b"}, {"Wise", "8.8.8.8", "c: d"}});
  out.clear();
  f.append_json(out);
  EXPECT_EQ(out, R"(,"intel_hits":[{"provider":"Wise","term":"8.8.8.8","result":"a: b"},)"
                 R"({"provider":"Wise","term":"8.8.8.8","result":"c: d"}])"
                 R"(,"vulnerabilities":[{"provider":"Nesd","term":"10.0.0.5:80",)"
                 R"("result":"High - \u003cb\u003e \"q\" \u0026 co"}])");
}

}  // namespace
}  // namespace dsiem::enrich
