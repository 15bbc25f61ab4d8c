#include "dsiem/config/assets.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "dsiem/config/directive.h"
#include "unit/test_support.h"

namespace {

using dsiem::Cidr;
using dsiem::config::Asset;
using dsiem::config::Assets;
using dsiem::config::ConfigError;
using dsiem::test::TempDir;
using Views = std::vector<std::string_view>;

Asset asset(std::string name, std::string_view cidr, int64_t value, bool whitelisted = false) {
  auto parsed = Cidr::parse(cidr);
  EXPECT_TRUE(parsed.has_value()) << cidr;
  return Asset{std::move(name), parsed.value_or(Cidr{}), value, whitelisted};
}

std::string add_error(std::string_view json) {
  Assets a;
  try {
    a.add_from_json(json);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string load_error(const std::filesystem::path& dir) {
  try {
    Assets::load(dir);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Assets, AddFromJsonErrors) {
  EXPECT_EQ(add_error(R"({"assets":[{"name":"a","cidr":"10.0.","value":1}]})"),
            "invalid CIDR address: 10.0.");
  EXPECT_EQ(add_error(R"({"assets":[{"name":"a","cidr":"10.0.0.1","value":1}]})"),
            "invalid CIDR address: 10.0.0.1");
  EXPECT_EQ(add_error(R"({"assets":[{"name":"a","cidr":"10.0.0.0/33","value":1}]})"),
            "invalid CIDR address: 10.0.0.0/33");
  EXPECT_EQ(add_error(R"({"assets":[{"name":"a","cidr":"10.0.0.0/8","value":0}]})"),
            "value cannot be 0 and name cannot be empty for 10.0.0.0/8");
  EXPECT_EQ(add_error(R"({"assets":[{"name":"a","cidr":"10.0.0.0/8"}]})"),
            "value cannot be 0 and name cannot be empty for 10.0.0.0/8");
  EXPECT_EQ(add_error(R"({"assets":[{"name":"","cidr":"10.1.2.3/8","value":2}]})"),
            "value cannot be 0 and name cannot be empty for 10.1.2.3/8");
  // Checked per asset in load order: the first error wins.
  EXPECT_EQ(add_error(R"({"assets":[{"name":"","cidr":"10.0.0.0/8","value":1},
                                    {"name":"b","cidr":"bad","value":1}]})"),
            "value cannot be 0 and name cannot be empty for 10.0.0.0/8");
  // The CIDR check comes before the value/name check within one asset.
  EXPECT_EQ(add_error(R"({"assets":[{"name":"","cidr":"bad","value":0}]})"),
            "invalid CIDR address: bad");
  // Decode errors.
  EXPECT_NE(add_error(R"({"assets":[{"name":"a","cidr":"10.0.0.0/8","value":"2"}]})"), "");
  EXPECT_NE(add_error(R"({"assets":{}})"), "");
  EXPECT_NE(add_error("{"), "");
}

TEST(Assets, NullOrMissingKeyMeansNoAssets) {
  Assets a;
  a.add_from_json(R"({"assets":null})");
  a.add_from_json("{}");
  a.add_from_json(R"({"assets":[]})");
  EXPECT_EQ(a.asset_count(), 0u);
  EXPECT_FALSE(a.in_home_net("10.0.0.1"));
}

TEST(Assets, AnyNonZeroValueIsAccepted) {
  Assets a;
  a.add_from_json(R"({"assets":[{"name":"neg","cidr":"10.0.0.0/8","value":-3},
                                {"name":"big","cidr":"11.0.0.0/8","value":99}]})");
  EXPECT_EQ(a.value("10.0.0.1"), -3);
  EXPECT_EQ(a.value("11.0.0.1"), 99);
}

TEST(Assets, LoadErrorsAreFatalWithTheirMessage) {
  TempDir dir;
  const std::string d = dir.path().string();
  EXPECT_EQ(load_error(dir.path()), "Cannot initialize assets from " + d +
                                        ": Cannot find asset files in " + d + "/assets_*.json");

  // A trailing slash on the directory is not repeated in the message.
  EXPECT_EQ(load_error(dir.path() / ""), "Cannot initialize assets from " + d +
                                             ": Cannot find asset files in " + d +
                                             "/assets_*.json");

  dir.write("assets_a.json", R"({"assets":[{"name":"a","cidr":"10.0.0.0/8","value":1}]})");
  dir.write("assets_b.json", R"({"assets":[{"name":"b","cidr":"10.0.","value":1}]})");
  EXPECT_EQ(load_error(dir.path()),
            "Cannot initialize assets from " + d + ": invalid CIDR address: 10.0.");

  dir.write("assets_b.json", R"({"assets":[{"name":"b","cidr":"10.0.0.0/8","value":0}]})");
  EXPECT_EQ(load_error(dir.path()), "Cannot initialize assets from " + d +
                                        ": value cannot be 0 and name cannot be empty for "
                                        "10.0.0.0/8");

  dir.write("assets_b.json", "{ not json");
  const std::string err = load_error(dir.path());
  EXPECT_EQ(err.rfind("Cannot initialize assets from " + d + ": ", 0), 0u) << err;
  EXPECT_GT(err.size(), ("Cannot initialize assets from " + d + ": ").size());
}

TEST(Assets, LoadReadsEveryAssetsFileInOrder) {
  TempDir dir;
  dir.write("assets_b.json", R"({"assets":[{"name":"later","cidr":"10.0.0.0/8","value":3}]})");
  dir.write("assets_a.json", R"({"assets":[{"name":"first","cidr":"10.0.0.0/8","value":1},
                                            {"name":"h","cidr":"10.0.0.1/32","value":1}]})");
  dir.write("other.json", R"({"assets":[{"name":"x","cidr":"11.0.0.0/8","value":1}]})");
  const Assets a = Assets::load(dir.path());
  EXPECT_EQ(a.asset_count(), 2u);
  EXPECT_EQ(a.value("10.9.9.9"), 3);  // assets_b.json replaced assets_a.json's /8
  EXPECT_FALSE(a.in_home_net("11.0.0.1"));
  EXPECT_EQ(a.name("10.0.0.1"), "h");
}

TEST(Assets, TestingAssetsExample) {
  const auto a = dsiem::test::testing_assets();
  EXPECT_EQ(a->asset_count(), 4u);
  EXPECT_EQ(a->whitelist_count(), 1u);
  EXPECT_TRUE(a->in_home_net("192.168.0.10"));
  EXPECT_TRUE(a->in_home_net("10.0.0.7"));
  EXPECT_TRUE(a->in_home_net("172.31.0.1"));
  EXPECT_FALSE(a->in_home_net("172.32.0.1"));
  EXPECT_FALSE(a->in_home_net("8.8.8.8"));
  EXPECT_EQ(a->value("192.168.0.1"), 5);
  EXPECT_EQ(a->value("192.168.0.10"), 2);
  EXPECT_EQ(a->value("8.8.8.8"), 0);
  EXPECT_EQ(a->name("192.168.0.1"), "Firewall");
  EXPECT_EQ(a->name("192.168.0.10"), "");
  EXPECT_EQ(a->networks("192.168.0.1"), Views{"192.168.0.0/16"});
  EXPECT_EQ(a->networks("8.8.8.8"), Views{});
}

TEST(Assets, WhitelistIsSeparateFromHomeNet) {
  const auto a = dsiem::test::testing_assets();
  EXPECT_TRUE(a->is_whitelisted("192.168.0.2"));
  EXPECT_FALSE(a->is_whitelisted("192.168.0.3"));
  EXPECT_FALSE(a->is_whitelisted("not-an-ip"));
  // 192.168.0.2 is in HOME_NET only through 192.168.0.0/16: value 2, no name.
  EXPECT_TRUE(a->in_home_net("192.168.0.2"));
  EXPECT_EQ(a->value("192.168.0.2"), 2);
  EXPECT_EQ(a->name("192.168.0.2"), "");
  EXPECT_EQ(a->networks("192.168.0.2"), Views{"192.168.0.0/16"});

  Assets only_whitelist;
  only_whitelist.add(asset("scanner", "10.0.0.0/8", 5, true));
  EXPECT_TRUE(only_whitelist.is_whitelisted("10.1.1.1"));
  EXPECT_FALSE(only_whitelist.in_home_net("10.1.1.1"));
  EXPECT_EQ(only_whitelist.value("10.1.1.1"), 0);
  EXPECT_EQ(only_whitelist.networks("10.1.1.1"), Views{});
  EXPECT_EQ(only_whitelist.asset_count(), 0u);
  EXPECT_EQ(only_whitelist.whitelist_count(), 1u);
}

TEST(Assets, ValueIsTheMaximumNotTheLongestPrefix) {
  Assets a;
  a.add(asset("net", "10.0.0.0/8", 4));
  a.add(asset("host", "10.1.1.1/32", 1));
  EXPECT_EQ(a.value("10.1.1.1"), 4);
  EXPECT_EQ(a.value("10.2.2.2"), 4);
  a.add(asset("big", "10.1.0.0/16", 7));
  EXPECT_EQ(a.value("10.1.1.1"), 7);
  EXPECT_EQ(a.value("10.2.2.2"), 4);
}

TEST(Assets, NameComesOnlyFromSingleHostAssets) {
  Assets a;
  a.add(asset("10-Net", "10.0.0.0/8", 2));
  a.add(asset("v6host", "2001:db8::1/128", 2));
  a.add(asset("v6net", "2001:db8::/32", 2));
  EXPECT_EQ(a.name("10.9.9.9"), "");
  EXPECT_EQ(a.name("2001:db8::1"), "v6host");
  EXPECT_EQ(a.name("2001:db8::2"), "");
  a.add(asset("host", "10.9.9.9/32", 1));
  EXPECT_EQ(a.name("10.9.9.9"), "host");
}

TEST(Assets, NetworksByIncreasingPrefixWithoutHosts) {
  Assets a;
  a.add(asset("c", "10.1.1.0/24", 1));
  a.add(asset("h", "10.1.1.1/32", 1));
  a.add(asset("a", "10.0.0.0/8", 1));
  a.add(asset("b", "10.1.0.0/16", 1));
  a.add(asset("other", "10.2.0.0/16", 1));
  a.add(asset("wl", "10.1.1.0/25", 1, true));
  EXPECT_EQ(a.networks("10.1.1.1"), (Views{"10.0.0.0/8", "10.1.0.0/16", "10.1.1.0/24"}));
  EXPECT_EQ(a.networks("10.2.0.1"), (Views{"10.0.0.0/8", "10.2.0.0/16"}));

  Assets v6;
  v6.add(asset("n", "2002:C0A8:1::/64", 1));
  EXPECT_EQ(v6.networks("2002:c0a8:1::5"), Views{"2002:c0a8:1::/64"});
}

// A network defined again keeps one place in the order; for_each_network visits what
// networks() lists.
TEST(Assets, RedefinedNetworkListedOnceInPlace) {
  Assets a;
  a.add(asset("b", "10.1.0.0/16", 1));
  a.add(asset("a", "10.0.0.0/8", 1));
  a.add(asset("b2", "10.1.0.0/16", 5));
  a.add(asset("c", "10.1.2.0/24", 1));
  a.add(asset("a2", "10.0.0.0/8", 7));
  const Views expected{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"};
  EXPECT_EQ(a.networks("10.1.2.3"), expected);
  Views visited;
  a.for_each_network("10.1.2.3", [&](std::string_view n) { visited.push_back(n); });
  EXPECT_EQ(visited, expected);
  EXPECT_EQ(a.value("10.1.2.3"), 7);
  visited.clear();
  a.for_each_network("not an address", [&](std::string_view n) { visited.push_back(n); });
  EXPECT_TRUE(visited.empty());
}

TEST(Assets, NetworksAreNormalisedMasked) {
  Assets a;
  a.add_from_json(R"({"assets":[{"name":"n","cidr":"192.168.0.1/24","value":2}]})");
  EXPECT_EQ(a.networks("192.168.0.77"), Views{"192.168.0.0/24"});
  EXPECT_TRUE(a.in_home_net("192.168.0.200"));
  EXPECT_FALSE(a.in_home_net("192.168.1.1"));
}

TEST(Assets, LaterDuplicateCidrReplacesEarlier) {
  Assets a;
  a.add(asset("first", "10.0.0.0/8", 2));
  a.add(asset("second", "10.1.2.3/8", 3));  // the same network once masked
  EXPECT_EQ(a.asset_count(), 1u);
  EXPECT_EQ(a.value("10.0.0.1"), 3);

  // Also across documents, and separately in the whitelist.
  Assets b;
  b.add_from_json(R"({"assets":[{"name":"x","cidr":"10.0.0.1/32","value":2},
                                {"name":"y","cidr":"10.0.0.1/32","value":1}]})");
  b.add_from_json(R"({"assets":[{"name":"z","cidr":"10.0.0.1/32","value":4}]})");
  EXPECT_EQ(b.asset_count(), 1u);
  EXPECT_EQ(b.name("10.0.0.1"), "z");
  EXPECT_EQ(b.value("10.0.0.1"), 4);
  b.add(asset("w1", "10.0.0.1/32", 1, true));
  b.add(asset("w2", "10.0.0.1/32", 1, true));
  EXPECT_EQ(b.whitelist_count(), 1u);
  EXPECT_EQ(b.asset_count(), 1u);
}

TEST(Assets, UnparsableIpHasNoValueAndIsNotHome) {
  Assets a;
  a.add(asset("all", "0.0.0.0/0", 3));
  EXPECT_TRUE(a.in_home_net("1.2.3.4"));
  for (std::string_view bad : {"", "foo", "10.0.", "10.0.0.1/8", "999.1.1.1"}) {
    EXPECT_EQ(a.value(bad), 0) << bad;
    EXPECT_FALSE(a.in_home_net(bad)) << bad;
    EXPECT_EQ(a.name(bad), "") << bad;
    EXPECT_TRUE(a.networks(bad).empty()) << bad;
    EXPECT_FALSE(a.is_whitelisted(bad)) << bad;
  }
}

TEST(Assets, Ipv4MappedCountsAsIpv4AndFamiliesDoNotMix) {
  Assets a;
  a.add(asset("10-Net", "10.0.0.0/8", 2));
  a.add(asset("v6", "2001:db8::/32", 3));
  EXPECT_TRUE(a.in_home_net("::ffff:10.1.2.3"));
  EXPECT_EQ(a.value("::ffff:10.1.2.3"), 2);
  EXPECT_TRUE(a.in_home_net("2001:db8::5"));
  EXPECT_EQ(a.value("2001:db8::5"), 3);
  EXPECT_FALSE(a.in_home_net("::1"));
  EXPECT_TRUE(a.in_home_net(*dsiem::IpAddress::parse("10.0.0.1")));
}

}  // namespace
