#include "dsiem/correlate/directive_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace dsiem::correlate {
namespace {

using Positions = std::vector<uint32_t>;

config::Rule plugin_rule(int64_t plugin_id, std::vector<int64_t> sids) {
  config::Rule r;
  r.plugin_id = plugin_id;
  r.plugin_sid = std::move(sids);
  return r;
}

config::Rule taxonomy_rule(std::vector<std::string> products, std::string category) {
  config::Rule r;
  r.product = std::move(products);
  r.category = std::move(category);
  return r;
}

config::Directive directive(std::vector<config::Rule> rules) {
  config::Directive d;
  d.rules = std::move(rules);
  return d;
}

event::Event event(int64_t plugin_id, int64_t plugin_sid, std::string product = "",
                   std::string category = "") {
  event::Event e;
  e.plugin_id = plugin_id;
  e.plugin_sid = plugin_sid;
  e.product = std::move(product);
  e.category = std::move(category);
  return e;
}

class DirectiveIndexTest : public ::testing::Test {
 protected:
  void build(std::vector<config::Directive> directives) {
    directives_ = std::move(directives);
    std::vector<const config::Directive*> views;
    for (const auto& d : directives_) views.push_back(&d);
    index_.build(views);
  }
  Positions lookup(const event::Event& e) {
    const auto found = index_.lookup(e, scratch_);
    return {found.begin(), found.end()};
  }

  std::vector<config::Directive> directives_;
  DirectiveIndex index_;
  std::vector<uint32_t> scratch_;
};

TEST_F(DirectiveIndexTest, PluginPairsLeadToTheirDirectivesInOrder) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  build({directive({plugin_rule(10, {1, 2}), plugin_rule(10, {2})}),
         directive({plugin_rule(11, {1})}), directive({plugin_rule(10, {2, 3})}),
         directive({plugin_rule(kMax, {-1})})});
  EXPECT_EQ(lookup(event(10, 1)), (Positions{0}));
  EXPECT_EQ(lookup(event(10, 2)), (Positions{0, 2})) << "listed once though two rules match";
  EXPECT_EQ(lookup(event(10, 3)), (Positions{2}));
  EXPECT_EQ(lookup(event(11, 1)), (Positions{1}));
  EXPECT_EQ(lookup(event(kMax, -1)), (Positions{3}));
  EXPECT_EQ(lookup(event(11, 2)), Positions{});
  EXPECT_EQ(lookup(event(12, 1)), Positions{});
  EXPECT_EQ(lookup(event(0, 0)), Positions{});
}

// Taxonomy pairs count only for directives without any plugin pair, and their matches merge
// with plugin matches in ascending order.
TEST_F(DirectiveIndexTest, TaxonomyPairsAndMergedMatches) {
  build({directive({taxonomy_rule({"IDS", "FW"}, "Scan")}),
         directive({plugin_rule(5, {5}), taxonomy_rule({"IDS"}, "Scan")}),
         directive({plugin_rule(5, {5})}), directive({taxonomy_rule({"IDS"}, "Scan")})});
  EXPECT_EQ(lookup(event(0, 0, "IDS", "Scan")), (Positions{0, 3}));
  EXPECT_EQ(lookup(event(0, 0, "FW", "Scan")), (Positions{0}));
  EXPECT_EQ(lookup(event(5, 5)), (Positions{1, 2}));
  EXPECT_EQ(lookup(event(5, 5, "IDS", "Scan")), (Positions{0, 1, 2, 3}));
  EXPECT_EQ(lookup(event(0, 0, "IDS", "scan")), Positions{});
}

// Thousands of keys: every one is found, and nothing else.
TEST_F(DirectiveIndexTest, ManyDirectives) {
  std::vector<config::Directive> ds;
  for (int i = 0; i < 5000; ++i) ds.push_back(directive({plugin_rule(1000 + i, {1, 2, 3})}));
  build(std::move(ds));
  for (uint32_t i = 0; i < 5000; ++i) {
    EXPECT_EQ(lookup(event(1000 + i, 1 + i % 3)), (Positions{i}));
  }
  EXPECT_EQ(lookup(event(999, 1)), Positions{});
  EXPECT_EQ(lookup(event(1000, 4)), Positions{});
}

}  // namespace
}  // namespace dsiem::correlate
