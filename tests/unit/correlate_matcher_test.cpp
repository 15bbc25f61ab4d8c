#include "dsiem/correlate/matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/test_support.h"

namespace {

using dsiem::config::Rule;
using dsiem::config::RuleType;
using dsiem::correlate::AddressCondition;
using dsiem::correlate::Conditions;
using dsiem::correlate::CustomDataCondition;
using dsiem::correlate::parse_sticky;
using dsiem::correlate::PortCondition;
using dsiem::correlate::prepare_input;
using dsiem::correlate::StickyField;
using dsiem::correlate::StickySet;
using dsiem::correlate::StringListCondition;
using dsiem::event::Event;

Rule plugin_rule() {
  Rule r;
  r.name = "r";
  r.stage = 2;
  r.type = "PluginRule";
  r.kind = RuleType::kPlugin;
  r.plugin_id = 1001;
  r.plugin_sid = {1, 2};
  r.plugin_sid_set = true;
  r.occurrence = 1;
  r.from = "ANY";
  r.to = "ANY";
  r.port_from = "ANY";
  r.port_to = "ANY";
  return r;
}

Rule taxonomy_rule() {
  Rule r = plugin_rule();
  r.type = "TaxonomyRule";
  r.kind = RuleType::kTaxonomy;
  r.plugin_id = 0;
  r.plugin_sid.clear();
  r.plugin_sid_set = false;
  r.product = {"Firewall", "IDS"};
  r.category = "Packet processing";
  return r;
}

Event event(std::string src = "10.0.0.1", std::string dst = "10.0.0.2") {
  Event e;
  e.event_id = "e";
  e.timestamp = "2024-01-01T00:00:00Z";
  e.plugin_id = 1001;
  e.plugin_sid = 1;
  e.product = "Firewall";
  e.category = "Packet processing";
  e.subcategory = "Drop";
  e.src_ip = std::move(src);
  e.dst_ip = std::move(dst);
  e.src_port = 40000;
  e.dst_port = 80;
  return e;
}

const dsiem::config::Assets& home() {
  static const auto assets = dsiem::test::testing_assets();
  return *assets;
}

bool matches(const Rule& r, const Event& e, StickySet* sticky = nullptr) {
  const auto in = prepare_input(e, home());
  return dsiem::correlate::match(r, Conditions::compile(r), in, sticky);
}

// from = `value`, event source `ip`.
bool from_matches(std::string_view value, std::string ip) {
  Rule r = plugin_rule();
  r.from = std::string(value);
  return matches(r, event(std::move(ip)));
}

bool list_matches(std::string_view value, std::string_view term) {
  return StringListCondition::compile(value).matches(term);
}

bool custom_matches(std::string_view value, std::string_view event_value) {
  return CustomDataCondition::compile(value).matches(event_value);
}

// directives.md §5.3, "Order matters" table.
// Note: the spec's table says "no" for `10.0.0.0/8, !10.0.0.1` against 172.16.0.1, but the
// algorithm of §5.3 (and its "in words" summary: no item covers the address and the list has a
// negated item -> match) gives "match", like the §5.4 string example `!1000, 1001` -> match. The
// code follows the algorithm, and so does this test.
TEST(AddressMatch, OrderMattersTable) {
  struct Row {
    const char* value;
    bool a, b, c;  // 10.0.0.1, 10.0.0.2, 172.16.0.1
  };
  for (const Row& row :
       {Row{"10.0.0.0/8, !10.0.0.1", true, true, true},
        Row{"!10.0.0.1, 10.0.0.0/8", false, true, true}, Row{"!10.0.0.1", false, true, true},
        Row{"10.0.0.1, 192.168.0.0/16", true, false, false}}) {
    EXPECT_EQ(from_matches(row.value, "10.0.0.1"), row.a) << row.value;
    EXPECT_EQ(from_matches(row.value, "10.0.0.2"), row.b) << row.value;
    EXPECT_EQ(from_matches(row.value, "172.16.0.1"), row.c) << row.value;
  }
  // Without any negated item, an address no item covers does not match.
  EXPECT_FALSE(from_matches("10.0.0.0/8, 192.168.0.0/16", "172.16.0.1"));
}

TEST(AddressMatch, SpecialValues) {
  EXPECT_TRUE(from_matches("ANY", "8.8.8.8"));
  EXPECT_TRUE(from_matches("ANY", "not-an-ip"));
  EXPECT_TRUE(from_matches("HOME_NET", "192.168.0.10"));
  EXPECT_FALSE(from_matches("HOME_NET", "8.8.8.8"));
  EXPECT_FALSE(from_matches("HOME_NET", "not-an-ip"));
  EXPECT_FALSE(from_matches("!HOME_NET", "192.168.0.10"));
  EXPECT_TRUE(from_matches("!HOME_NET", "8.8.8.8"));
  EXPECT_TRUE(from_matches("!HOME_NET", "not-an-ip"));  // unparsable counts as outside
  // The whitelisted 192.168.0.2/32 is not part of HOME_NET by itself, but 192.168.0.0/16 is.
  EXPECT_TRUE(from_matches("HOME_NET", "192.168.0.2"));
}

TEST(AddressMatch, ToUsesDestination) {
  Rule r = plugin_rule();
  r.to = "HOME_NET";
  EXPECT_TRUE(matches(r, event("8.8.8.8", "10.0.0.1")));
  EXPECT_FALSE(matches(r, event("10.0.0.1", "8.8.8.8")));
  r.to = "8.8.8.0/24";
  EXPECT_TRUE(matches(r, event("10.0.0.1", "8.8.8.8")));
  EXPECT_FALSE(matches(r, event("8.8.8.8", "10.0.0.1")));
}

TEST(AddressMatch, ListDetails) {
  EXPECT_TRUE(from_matches("10.0.0.1", "10.0.0.1"));
  EXPECT_FALSE(from_matches("10.0.0.1", "10.0.0.10"));
  EXPECT_TRUE(from_matches("192.168.0.0/16", "192.168.255.1"));
  EXPECT_TRUE(from_matches("1.1.1.1 10.0.0.0/8", "10.0.0.5"));  // white space separates too
  EXPECT_FALSE(from_matches(" ", "10.0.0.1"));                  // empty list never matches
  EXPECT_FALSE(from_matches("10.0.0.1", "not-an-ip"));
  EXPECT_FALSE(from_matches("!10.0.0.1", "not-an-ip"));  // unparsable term: no match at all
  // The event IP's own prefix is ignored: only its address part counts.
  EXPECT_TRUE(from_matches("10.1.2.3", "10.1.2.3/8"));
  EXPECT_FALSE(from_matches("10.0.0.0/16", "10.1.2.3/8"));
  // An item that does not parse stops with "no match" when it is reached.
  EXPECT_TRUE(from_matches("10.0.0.0/8, foo", "10.0.0.1"));
  EXPECT_FALSE(from_matches("10.0.0.0/8, foo", "172.16.0.1"));
  EXPECT_FALSE(from_matches("!foo", "10.0.0.1"));
  // Families never contain each other.
  EXPECT_FALSE(from_matches("10.0.0.0/8", "2001:db8::1"));
  EXPECT_TRUE(from_matches("!10.0.0.0/8", "2001:db8::1"));
}

TEST(AddressMatch, Ipv6ItemWithoutPrefixGetsSlash32) {
  EXPECT_TRUE(from_matches("2001:db8::1", "2001:db8::1"));
  EXPECT_TRUE(from_matches("2001:db8::1", "2001:db8:ffff::5"));  // quirk: means 2001:db8::/32
  EXPECT_FALSE(from_matches("2001:db8::1", "2001:db9::1"));
  EXPECT_FALSE(from_matches("2001:db8::1/128", "2001:db8:ffff::5"));
  EXPECT_TRUE(from_matches("2001:db8::1/128", "2001:db8::1"));
}

// Regression (reported as a bug): an IPv4-mapped event IP ("::ffff:10.0.0.1") must match IPv4
// rule networks, as in Go (ParseCIDR(ip+"/32") then IPNet.Contains, which applies To4()), and
// agree with HOME_NET, which already treats it as IPv4.
TEST(AddressMatch, Ipv4MappedEventIpMatchesIpv4Items) {
  EXPECT_TRUE(from_matches("HOME_NET", "::ffff:10.0.0.1"));
  EXPECT_TRUE(from_matches("10.0.0.0/8", "::ffff:10.0.0.1"));
  EXPECT_TRUE(from_matches("10.0.0.1", "::ffff:10.0.0.1"));
  EXPECT_FALSE(from_matches("!10.0.0.1", "::ffff:10.0.0.1"));
}

TEST(AddressCondition, CompiledConditionMatchesDirectly) {
  const auto cond = AddressCondition::compile("!10.0.0.1, 10.0.0.0/8");
  EXPECT_FALSE(cond.matches(false, dsiem::IpAddress::parse("10.0.0.1")));
  EXPECT_TRUE(cond.matches(false, dsiem::IpAddress::parse("10.0.0.2")));
  EXPECT_FALSE(cond.matches(true, std::nullopt));
  EXPECT_TRUE(AddressCondition::compile("HOME_NET").matches(true, std::nullopt));
  EXPECT_FALSE(AddressCondition::compile("HOME_NET").matches(false, std::nullopt));
  EXPECT_TRUE(AddressCondition::compile("!HOME_NET").matches(false, std::nullopt));
  EXPECT_TRUE(AddressCondition::compile("ANY").matches(false, std::nullopt));
}

// Copies of compiled conditions match as the original does (lists are held behind a pointer).
TEST(AddressCondition, CopiesMatchAsTheOriginal) {
  const auto ip = [](const char* text) { return dsiem::IpAddress::parse(text); };
  for (const char* value : {"!10.0.0.1, 10.0.0.0/8", "10.0.0.5", "!10.0.0.5", "bogus", "ANY"}) {
    SCOPED_TRACE(value);
    const auto original = AddressCondition::compile(value);
    AddressCondition copy = original;
    AddressCondition assigned;
    assigned = copy;
    AddressCondition moved = std::move(copy);
    for (const char* event_ip : {"10.0.0.1", "10.0.0.5", "192.168.1.1"}) {
      const bool expected = original.matches(false, ip(event_ip));
      EXPECT_EQ(assigned.matches(false, ip(event_ip)), expected) << event_ip;
      EXPECT_EQ(moved.matches(false, ip(event_ip)), expected) << event_ip;
    }
    EXPECT_EQ(assigned.single_host(), original.single_host());
  }
  EXPECT_EQ(AddressCondition::compile("10.0.0.5").single_host(), ip("10.0.0.5"));
  EXPECT_EQ(AddressCondition::compile("!10.0.0.5").single_host(), std::nullopt);
}

// A value made of digits and dots (a creating event's address) takes a short path: it must
// compile to what the general path makes of the same address written "address/32" or with
// spaces around it, and leave what does not parse unparsed.
TEST(AddressCondition, DottedQuadCompilesAsTheGeneralPath) {
  const auto ip = [](const char* text) { return dsiem::IpAddress::parse(text); };
  const char* event_ips[] = {"10.0.0.5",        "10.0.0.6",    "0.0.0.0", "255.255.255.255",
                             "::ffff:10.0.0.5", "2001:db8::5", "1.2.3.4"};
  for (const char* value : {"10.0.0.5", "0.0.0.0", "255.255.255.255", "1.2.3.4", "010.0.0.5",
                            "10.0.0", "10.0.0.5.", "256.0.0.1", "1..2.3", ".", "4294967295"}) {
    SCOPED_TRACE(value);
    const auto quick = AddressCondition::compile(value);
    const auto with_prefix = AddressCondition::compile(std::string(value) + "/32");
    const auto spaced = AddressCondition::compile(std::string(" ") + value + " ");
    for (const char* event_ip : event_ips) {
      EXPECT_EQ(quick.matches(false, ip(event_ip)), spaced.matches(false, ip(event_ip)))
          << event_ip;
      EXPECT_EQ(quick.matches(false, ip(event_ip)), with_prefix.matches(false, ip(event_ip)))
          << event_ip;
    }
    EXPECT_EQ(quick.single_host(), spaced.single_host());
    EXPECT_EQ(quick.single_host(), with_prefix.single_host());
  }
  EXPECT_TRUE(AddressCondition::compile("1.2.3.4").matches(false, ip("1.2.3.4")));
  EXPECT_FALSE(AddressCondition::compile("1.2.3.4").matches(false, ip("1.2.3.5")));
  EXPECT_FALSE(AddressCondition::compile("010.0.0.5").matches(false, ip("10.0.0.5")));
}

// directives.md §5.4 examples with term 1231.
TEST(StringListMatch, Term1231Examples) {
  EXPECT_FALSE(list_matches("1000, 1001", "1231"));
  EXPECT_FALSE(list_matches("!1231, 1001", "1231"));
  EXPECT_FALSE(list_matches("1000, !1231", "1231"));
  EXPECT_TRUE(list_matches("1231, !1231", "1231"));
  EXPECT_FALSE(list_matches("!1231, 1231", "1231"));
  EXPECT_TRUE(list_matches("!1000, !1001", "1231"));
  EXPECT_TRUE(list_matches("!1000, 1001", "1231"));
  EXPECT_TRUE(list_matches("!1000, 1231", "1231"));
}

TEST(StringListMatch, ExactCaseSensitiveAndEmpty) {
  EXPECT_TRUE(list_matches("1231", "1231"));
  EXPECT_FALSE(list_matches("", "1231"));
  EXPECT_FALSE(list_matches(" , ", "1231"));
  EXPECT_FALSE(list_matches("", ""));
  EXPECT_TRUE(list_matches("Deny,allow", "Deny"));
  EXPECT_FALSE(list_matches("Deny,allow", "deny"));
}

TEST(PortMatch, DecimalTextComparison) {
  Rule r = plugin_rule();
  r.port_to = "80";
  EXPECT_TRUE(matches(r, event()));  // dst_port 80
  r.port_to = "080";
  EXPECT_FALSE(matches(r, event()));
  r.port_to = "";
  EXPECT_FALSE(matches(r, event()));  // "" passes validation but never matches
  r.port_to = "ANY";
  EXPECT_TRUE(matches(r, event()));
  r.port_to = "443, !80";
  EXPECT_FALSE(matches(r, event()));
  r.port_to = "!443";
  EXPECT_TRUE(matches(r, event()));
  r.port_to = "ANY";
  r.port_from = "40000";
  EXPECT_TRUE(matches(r, event()));
  r.port_from = "80";
  EXPECT_FALSE(matches(r, event()));

  Event neg = event();
  neg.src_port = -1;
  r.port_from = "-1";
  EXPECT_TRUE(matches(r, neg));
  Event zero = event();
  zero.src_port = 0;
  r.port_from = "0";
  EXPECT_TRUE(matches(r, zero));

  EXPECT_TRUE(PortCondition::compile("ANY").matches(12345));
  EXPECT_FALSE(PortCondition::compile("any").matches(0));
  EXPECT_TRUE(PortCondition::compile("22 80").matches(80));
  EXPECT_FALSE(PortCondition::compile("22 80").matches(8));
}

// Items are compared as the decimal text of the port: text that no number prints as matches
// nothing, yet a negated one still counts as a negation.
TEST(PortMatch, ItemsThatAreNotDecimalTextMatchNoPort) {
  EXPECT_FALSE(PortCondition::compile("080").matches(80));
  EXPECT_FALSE(PortCondition::compile("+80").matches(80));
  EXPECT_FALSE(PortCondition::compile("-0").matches(0));
  EXPECT_FALSE(PortCondition::compile("99999999999999999999").matches(-1));
  EXPECT_TRUE(PortCondition::compile("!http").matches(80));
  EXPECT_TRUE(PortCondition::compile("-9223372036854775808").matches(INT64_MIN));
  EXPECT_FALSE(PortCondition::compile("!80, 80").matches(80));
  EXPECT_TRUE(PortCondition::compile("!22, 80").matches(443));
  EXPECT_FALSE(PortCondition::compile("22, 80").matches(443));
}

// directives.md §5.5.
TEST(CustomDataMatch, SingleValueIsTrimmedAndCaseInsensitive) {
  EXPECT_TRUE(custom_matches("Deny", "deny "));
  EXPECT_TRUE(custom_matches(" DENY ", "\tdeny"));
  EXPECT_FALSE(custom_matches("deny", "denied"));
  EXPECT_FALSE(custom_matches("deny", ""));
  EXPECT_TRUE(custom_matches("\u00c4\u00d6", "\u00e4\u00f6"));  // Unicode lower-case
  EXPECT_TRUE(custom_matches("a b", " A B "));                  // no comma: one value
}

TEST(CustomDataMatch, Negation) {
  EXPECT_FALSE(custom_matches("!deny", "deny"));
  EXPECT_FALSE(custom_matches("!deny", " DENY "));
  EXPECT_TRUE(custom_matches("!deny", "allow"));
  EXPECT_TRUE(custom_matches("!deny", ""));
  EXPECT_TRUE(custom_matches("! deny", "allow"));
  EXPECT_FALSE(custom_matches("! deny", "deny"));
  // A lone "!" matches any non-empty value.
  EXPECT_TRUE(custom_matches("!", "x"));
  EXPECT_FALSE(custom_matches("!", ""));
  EXPECT_FALSE(custom_matches("!", "  "));
}

TEST(CustomDataMatch, CommaListIsCaseSensitiveStringList) {
  EXPECT_TRUE(custom_matches("Deny,Drop", "Deny"));
  EXPECT_FALSE(custom_matches("Deny,Drop", "deny"));
  EXPECT_FALSE(custom_matches("Deny,Drop", "Deny "));
  EXPECT_FALSE(custom_matches("a b, c", "a b"));  // items are split on spaces too
  EXPECT_TRUE(custom_matches("!Deny, !Drop", "Allow"));
  EXPECT_FALSE(custom_matches("!Deny, Drop", "Deny"));
  EXPECT_FALSE(custom_matches(",", ""));
}

TEST(CustomDataMatch, EmptyAndAnyMatchEverything) {
  EXPECT_TRUE(custom_matches("", "whatever"));
  EXPECT_TRUE(custom_matches("", ""));
  EXPECT_TRUE(custom_matches("ANY", "x"));
  EXPECT_TRUE(custom_matches("ANY", ""));
  EXPECT_FALSE(custom_matches("any", "x"));  // case-sensitive special value
}

TEST(CustomDataMatch, AllThreeMustPassInAPluginRule) {
  Rule r = plugin_rule();
  r.custom_data1 = "deny";
  r.custom_data2 = "!tcp";
  r.custom_data3 = "a,b";
  Event e = event();
  e.custom_data1 = "DENY";
  e.custom_data2 = "udp";
  e.custom_data3 = "b";
  EXPECT_TRUE(matches(r, e));
  e.custom_data2 = "tcp";
  EXPECT_FALSE(matches(r, e));
  e.custom_data2 = "udp";
  e.custom_data3 = "c";
  EXPECT_FALSE(matches(r, e));
}

TEST(PluginRule, PluginIdAndSid) {
  Rule r = plugin_rule();
  Event e = event();
  EXPECT_TRUE(matches(r, e));
  e.plugin_sid = 2;
  EXPECT_TRUE(matches(r, e));
  e.plugin_sid = 3;
  EXPECT_FALSE(matches(r, e));
  e.plugin_sid = 1;
  e.plugin_id = 1002;
  EXPECT_FALSE(matches(r, e));
}

// directives.md §5.6.
TEST(TaxonomyRule, CategoryProductSubcategory) {
  Rule r = taxonomy_rule();
  Event e = event();
  e.plugin_id = 0;
  e.plugin_sid = 0;
  EXPECT_TRUE(matches(r, e));  // empty subcategory list: anything
  e.product = "IDS";
  EXPECT_TRUE(matches(r, e));
  e.product = "firewall";
  EXPECT_FALSE(matches(r, e));
  e.product = "Firewall";
  e.category = "packet processing";
  EXPECT_FALSE(matches(r, e));
  e.category = "Packet processing";

  r.subcategory = {"Drop"};
  EXPECT_TRUE(matches(r, e));
  e.subcategory = "Allow";
  EXPECT_FALSE(matches(r, e));
  r.subcategory = {"ANY"};
  EXPECT_TRUE(matches(r, e));
  r.subcategory = {"Reject", "ANY"};
  EXPECT_TRUE(matches(r, e));
  r.subcategory = {"Reject", "Allow"};
  EXPECT_TRUE(matches(r, e));
  e.subcategory = "";
  EXPECT_FALSE(matches(r, e));
}

TEST(TaxonomyRule, IgnoresCustomDataAndPluginFields) {
  Rule r = taxonomy_rule();
  r.custom_data1 = "deny";
  Event e = event();
  e.custom_data1 = "allow";
  e.plugin_id = 77;
  EXPECT_TRUE(matches(r, e));
  r.from = "HOME_NET";
  r.port_to = "443";
  EXPECT_FALSE(matches(r, e));  // the address/port check still applies
  r.port_to = "80";
  EXPECT_TRUE(matches(r, e));
}

TEST(OtherRuleType, NeverMatches) {
  Rule r = plugin_rule();
  r.type = "pluginrule";
  r.kind = RuleType::kOther;
  EXPECT_FALSE(matches(r, event()));
}

TEST(Sticky, ParseSticky) {
  EXPECT_EQ(parse_sticky(""), StickyField::kNone);
  EXPECT_EQ(parse_sticky("PLUGIN_SID"), StickyField::kPluginSid);
  EXPECT_EQ(parse_sticky("SRC_IP"), StickyField::kSrcIp);
  EXPECT_EQ(parse_sticky("DST_IP"), StickyField::kDstIp);
  EXPECT_EQ(parse_sticky("SRC_PORT"), StickyField::kSrcPort);
  EXPECT_EQ(parse_sticky("DST_PORT"), StickyField::kDstPort);
  EXPECT_EQ(parse_sticky("CUSTOM_DATA1"), StickyField::kCustomData1);
  EXPECT_EQ(parse_sticky("CUSTOM_DATA2"), StickyField::kCustomData2);
  EXPECT_EQ(parse_sticky("CUSTOM_DATA3"), StickyField::kCustomData3);
  EXPECT_EQ(parse_sticky("src_ip"), StickyField::kUnrecognised);
  EXPECT_EQ(parse_sticky("SRC_ADDR"), StickyField::kUnrecognised);
  EXPECT_EQ(parse_sticky("ANY"), StickyField::kUnrecognised);
}

TEST(Sticky, RecordsEachFieldOnce) {
  Rule r = plugin_rule();
  r.sticky_different = "DST_IP";
  StickySet set;
  EXPECT_TRUE(matches(r, event("10.0.0.1", "1.1.1.1"), &set));
  EXPECT_TRUE(matches(r, event("10.0.0.1", "1.1.1.1"), &set));
  EXPECT_EQ(set.size(), 1u);
  EXPECT_TRUE(matches(r, event("10.0.0.1", "2.2.2.2"), &set));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.strings.count("2.2.2.2"), 1u);

  r.sticky_different = "SRC_PORT";
  StickySet ports;
  EXPECT_TRUE(matches(r, event(), &ports));
  EXPECT_EQ(ports.ints.count(40000), 1u);
  EXPECT_EQ(ports.size(), 1u);

  r.sticky_different = "DST_PORT";
  StickySet dports;
  EXPECT_TRUE(matches(r, event(), &dports));
  EXPECT_EQ(dports.ints.count(80), 1u);

  r.sticky_different = "SRC_IP";
  StickySet srcs;
  EXPECT_TRUE(matches(r, event("10.0.0.9"), &srcs));
  EXPECT_EQ(srcs.strings.count("10.0.0.9"), 1u);

  r.sticky_different = "CUSTOM_DATA2";
  StickySet cds;
  Event e = event();
  e.custom_data2 = "x";
  EXPECT_TRUE(matches(r, e, &cds));
  EXPECT_EQ(cds.strings.count("x"), 1u);

  r.sticky_different = "PLUGIN_SID";
  StickySet sids;
  e.plugin_sid = 2;
  EXPECT_TRUE(matches(r, e, &sids));
  EXPECT_EQ(sids.ints.count(2), 1u);

  // No set given (first-rule check): nothing to record, matching still works.
  EXPECT_TRUE(matches(r, e, nullptr));
}

// correlation.md §5.1 "Poisoning": values are recorded before later checks fail.
TEST(Sticky, PoisoningDstIpBeforeCustomData) {
  Rule r = plugin_rule();
  r.sticky_different = "DST_IP";
  r.custom_data1 = "deny";
  StickySet set;
  Event allow = event("10.0.0.1", "2.2.2.2");
  allow.custom_data1 = "allow";
  EXPECT_FALSE(matches(r, allow, &set));
  EXPECT_EQ(set.strings.count("2.2.2.2"), 1u);  // recorded although the event did not match
  Event deny = allow;
  deny.custom_data1 = "deny";
  const std::size_t before = set.size();
  EXPECT_TRUE(matches(r, deny, &set));
  EXPECT_EQ(set.size(), before);  // matched, but nothing new: the engine discards it
}

TEST(Sticky, PluginSidRecordedBeforeAddressCheck) {
  Rule r = plugin_rule();
  r.sticky_different = "PLUGIN_SID";
  r.from = "192.168.0.0/16";
  StickySet set;
  EXPECT_FALSE(matches(r, event("10.0.0.1"), &set));
  EXPECT_EQ(set.ints.count(1), 1u);
  // Not recorded when the plugin id/sid check itself fails.
  Event other = event();
  other.plugin_sid = 9;
  EXPECT_FALSE(matches(r, other, &set));
  EXPECT_EQ(set.ints.count(9), 0u);
}

TEST(Sticky, IpNotRecordedWhenAddressCheckFails) {
  Rule r = plugin_rule();
  r.sticky_different = "SRC_IP";
  r.port_to = "443";
  StickySet set;
  EXPECT_FALSE(matches(r, event("10.0.0.1"), &set));
  EXPECT_EQ(set.size(), 0u);
}

TEST(Sticky, CustomDataRecordedWhateverTheResult) {
  Rule r = plugin_rule();
  r.sticky_different = "CUSTOM_DATA1";
  r.custom_data1 = "deny";
  StickySet set;
  Event e = event();
  e.custom_data1 = "allow";
  EXPECT_FALSE(matches(r, e, &set));
  EXPECT_EQ(set.strings.count("allow"), 1u);
}

TEST(Sticky, TaxonomyRuleRecordsOnlyIpsAndPorts) {
  Rule r = taxonomy_rule();
  Event e = event();
  e.custom_data1 = "x";
  for (const char* field : {"PLUGIN_SID", "CUSTOM_DATA1", "src_ip", "ANY"}) {
    r.sticky_different = field;
    StickySet set;
    EXPECT_TRUE(matches(r, e, &set)) << field;
    EXPECT_EQ(set.size(), 0u) << field;
  }
  r.sticky_different = "SRC_IP";
  StickySet set;
  EXPECT_TRUE(matches(r, e, &set));
  EXPECT_EQ(set.strings.count("10.0.0.1"), 1u);
}

TEST(Sticky, UnrecognisedFieldNeverRecordsForPluginRule) {
  Rule r = plugin_rule();
  r.sticky_different = "SRC_ADDR";
  StickySet set;
  EXPECT_TRUE(matches(r, event(), &set));
  EXPECT_EQ(set.size(), 0u);
}

TEST(PrepareInput, DerivesTermsOnce) {
  Event e = event("192.168.0.10", "not-an-ip");
  e.src_port = 123;
  e.dst_port = -1;
  const auto in = prepare_input(e, home());
  EXPECT_EQ(in.event, &e);
  EXPECT_TRUE(in.src_home());
  EXPECT_FALSE(in.dst_home());
  ASSERT_TRUE(in.src_term.has_value());
  EXPECT_EQ(dsiem::to_string(*in.src_term), "192.168.0.10");
  EXPECT_FALSE(in.dst_term.has_value());
}

TEST(Conditions, CompileWithResolvedValues) {
  Rule r = plugin_rule();
  r.from = ":1";
  r.custom_data1 = ":1";
  // The resolved values replace the rule's own text.
  const auto cond = Conditions::compile(r, "10.0.0.1", "ANY", "ANY", "80", {"deny", "", ""});
  const Event e = event("10.0.0.1");
  Event wrong_cd = e;
  wrong_cd.custom_data1 = "allow";
  Event deny = e;
  deny.custom_data1 = "deny";
  const auto in_deny = prepare_input(deny, home());
  const auto in_allow = prepare_input(wrong_cd, home());
  EXPECT_TRUE(dsiem::correlate::match(r, cond, in_deny, nullptr));
  EXPECT_FALSE(dsiem::correlate::match(r, cond, in_allow, nullptr));
  // Unresolved, ":1" never matches as an address.
  EXPECT_FALSE(matches(r, deny));
}

}  // namespace
