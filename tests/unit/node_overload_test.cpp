#include "dsiem/node/overload.h"

#include <gtest/gtest.h>

#include <vector>

#include "dsiem/common/clock.h"

namespace {

using dsiem::ManualClock;
using dsiem::node::OverloadFlag;
using dsiem::node::OverloadHysteresis;

class OverloadHysteresisTest : public ::testing::Test {
 protected:
  ManualClock clock_{1000};
  std::vector<bool> sent_;
  OverloadHysteresis h_{10, clock_, [this](bool v) { sent_.push_back(v); }};
};

TEST_F(OverloadHysteresisTest, StartSendsFalse) {
  EXPECT_TRUE(sent_.empty());
  h_.start();
  EXPECT_EQ(sent_, std::vector<bool>{false});
  EXPECT_FALSE(h_.state());
  // Nothing more without reports, however long it runs.
  for (int i = 0; i < 10; ++i) {
    clock_.advance_seconds(10);
    h_.poll();
  }
  EXPECT_EQ(sent_, std::vector<bool>{false});
}

TEST_F(OverloadHysteresisTest, TrueOncePerEpisode) {
  h_.start();
  h_.report();
  EXPECT_TRUE(h_.state());
  h_.report();
  clock_.advance_seconds(3);
  h_.report();
  EXPECT_EQ(sent_, (std::vector<bool>{false, true}));
}

TEST_F(OverloadHysteresisTest, FalseAfterHoldDurationWithoutReports) {
  h_.start();
  clock_.advance_seconds(5);
  h_.report();  // deadline now +10 s
  clock_.advance_seconds(9);
  h_.poll();
  EXPECT_TRUE(h_.state());
  h_.report();  // restarts the timer
  clock_.advance_seconds(9);
  h_.poll();
  EXPECT_TRUE(h_.state());
  EXPECT_EQ(sent_, (std::vector<bool>{false, true}));
  clock_.advance_seconds(1);
  h_.poll();
  EXPECT_FALSE(h_.state());
  EXPECT_EQ(sent_, (std::vector<bool>{false, true, false}));
  // Further polls send nothing.
  clock_.advance_seconds(30);
  h_.poll();
  h_.poll();
  EXPECT_EQ(sent_, (std::vector<bool>{false, true, false}));

  // A new episode sends true again.
  h_.report();
  EXPECT_EQ(sent_, (std::vector<bool>{false, true, false, true}));
  clock_.advance_seconds(10);
  h_.poll();
  EXPECT_EQ(sent_, (std::vector<bool>{false, true, false, true, false}));
}

TEST_F(OverloadHysteresisTest, TimerIsRearmedOnEveryFiring) {
  h_.start();  // deadline 1010
  clock_.set_seconds(1010);
  h_.poll();  // fires, re-armed for 1020
  clock_.set_seconds(1015);
  h_.report();  // deadline 1025
  clock_.set_seconds(1024);
  h_.poll();
  EXPECT_TRUE(h_.state());
  clock_.set_seconds(1025);
  h_.poll();
  EXPECT_FALSE(h_.state());
}

TEST(OverloadHysteresis, NonPositiveHoldIsOneSecond) {
  ManualClock clock(0);
  std::vector<bool> sent;
  OverloadHysteresis h(0, clock, [&](bool v) { sent.push_back(v); });
  h.start();
  h.report();
  clock.set_ns(999'999'999);
  h.poll();
  EXPECT_TRUE(h.state());
  clock.set_seconds(1);
  h.poll();
  EXPECT_FALSE(h.state());
  EXPECT_EQ(sent, (std::vector<bool>{false, true, false}));
}

TEST(OverloadFlag, KeepsTheLastValueReceived) {
  OverloadFlag f;
  EXPECT_FALSE(f.get());
  f.receive(true);
  EXPECT_TRUE(f.get());
  f.receive(true);
  EXPECT_TRUE(f.get());
  f.receive(false);
  EXPECT_FALSE(f.get());
}

}  // namespace
