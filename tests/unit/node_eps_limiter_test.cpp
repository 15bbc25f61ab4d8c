#include "dsiem/node/eps_limiter.h"

#include <gtest/gtest.h>

#include <utility>

#include "dsiem/common/clock.h"

namespace {

using dsiem::ManualClock;
using dsiem::node::EpsLimiter;

constexpr int64_t kSecond = 1'000'000'000;

TEST(EpsLimiter, InitialRateIsHalfwayBetweenMinAndMax) {
  ManualClock clock(1000);
  EXPECT_EQ(EpsLimiter(1000, 100, clock).limit(), 550);
  EXPECT_EQ(EpsLimiter(1000, 1000, clock).limit(), 1000);
  EXPECT_EQ(EpsLimiter(101, 100, clock).limit(), 101);   // (101-100)/2 == 0
  EXPECT_EQ(EpsLimiter(1001, 100, clock).limit(), 551);  // integer division
}

TEST(EpsLimiter, DisabledUnlessBothLimitsArePositive) {
  ManualClock clock(1000);
  EXPECT_TRUE(EpsLimiter(1000, 100, clock).enabled());
  for (auto [max, min] : {std::pair<int64_t, int64_t>{0, 100}, {1000, 0}, {0, 0}}) {
    EpsLimiter l(max, min, clock);
    EXPECT_FALSE(l.enabled()) << max << "/" << min;
    for (int i = 0; i < 5000; ++i) ASSERT_EQ(l.reserve(), 0);
  }
}

TEST(EpsLimiter, StartsFullWithBurstOfMaxEps) {
  ManualClock clock(1000);
  EpsLimiter l(1000, 100, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(l.reserve(), 0) << i;
  // The bucket is empty: the next token is 1/550 s away.
  EXPECT_EQ(l.reserve(), (kSecond + 549) / 550);
  EXPECT_EQ(l.reserve(), (2 * kSecond + 549) / 550);
}

TEST(EpsLimiter, WaitBeyondThreeSecondsIsRefusedWithoutReserving) {
  ManualClock clock(1000);
  EpsLimiter l(1000, 100, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(l.reserve(), 0);
  // 550 tokens/s: 1650 reservations take the wait up to exactly 3 s.
  int64_t last = 0;
  for (int i = 1; i <= 1650; ++i) {
    const int64_t wait = l.reserve();
    ASSERT_GT(wait, last) << i;
    last = wait;
  }
  EXPECT_EQ(last, 3 * kSecond);
  EXPECT_EQ(l.reserve(), -1);
  EXPECT_EQ(l.reserve(), -1);  // nothing was reserved by the refusal
  // Half a second later 275 tokens have arrived: the next one waits 3 s - 0.5 s + 1/550 s.
  clock.set_ns(clock.now_ns() + kSecond / 2);
  const int64_t wait = l.reserve();
  EXPECT_GT(wait, 2 * kSecond + kSecond / 2);
  EXPECT_LE(wait, 2 * kSecond + kSecond / 2 + kSecond / 550 + 1);
}

TEST(EpsLimiter, BatchTakesAllItsTokensButWaitsOnlyForABurst) {
  ManualClock clock(1000);
  EpsLimiter l(1000, 100, clock);
  EXPECT_EQ(l.reserve(400), 0);  // 600 left
  EXPECT_EQ(l.reserve(600), 0);  // empty
  // 550 tokens/s: 550 more are one second away.
  EXPECT_EQ(l.reserve(550), kSecond);
  // A batch larger than the burst waits as for a burst (1000 tokens past the 550 owed:
  // 1550/550 s), then owes all 5000: the next single token is 6551/550 s away, refused.
  EXPECT_NEAR(l.reserve(5000), 1550 * kSecond / 550, 1);
  EXPECT_EQ(l.reserve(1), -1);
  clock.set_ns(clock.now_ns() + 9 * kSecond);  // 4950 tokens paid back: 600 still owed
  EXPECT_NEAR(l.reserve(1), 601 * kSecond / 550, 1);
}

TEST(EpsLimiter, RefillsAtTheCurrentRateUpToTheBurst) {
  ManualClock clock(1000);
  EpsLimiter l(1000, 100, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(l.reserve(), 0);
  clock.advance_seconds(1);
  for (int i = 0; i < 550; ++i) ASSERT_EQ(l.reserve(), 0) << i;
  EXPECT_GT(l.reserve(), 0);

  // A long pause refills to maxEPS, not beyond.
  clock.advance_seconds(100);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(l.reserve(), 0) << i;
  EXPECT_GT(l.reserve(), 0);
}

TEST(EpsLimiter, AdjustSteps) {
  ManualClock clock(1000);
  EpsLimiter l(1000, 100, clock);
  EXPECT_EQ(l.adjust(false), 559);
  EXPECT_EQ(l.limit(), 559);
  EXPECT_EQ(l.adjust(true), 469);
  EXPECT_EQ(l.limit(), 469);
}

TEST(EpsLimiter, AdjustClimbsToMaxAndFallsToMin) {
  ManualClock clock(1000);
  EpsLimiter l(1000, 100, clock);
  int rounds = 0;
  while (l.limit() < 1000) {
    l.adjust(false);
    ++rounds;
    ASSERT_LE(rounds, 100);
  }
  EXPECT_EQ(rounds, 50);             // 550 + 50 * 9 = 1000
  EXPECT_EQ(l.adjust(false), 1000);  // clamped
  rounds = 0;
  while (l.limit() > 100) {
    l.adjust(true);
    ++rounds;
    ASSERT_LE(rounds, 100);
  }
  EXPECT_EQ(rounds, 10);           // 1000 - 10 * 90 = 100
  EXPECT_EQ(l.adjust(true), 100);  // clamped
}

TEST(EpsLimiter, AdjustClampsPartialSteps) {
  ManualClock clock(1000);
  EpsLimiter l(2000, 100, clock);  // initial 1050, steps +19 / -190
  EXPECT_EQ(l.limit(), 1050);
  for (int i = 0; i < 49; ++i) l.adjust(false);
  EXPECT_EQ(l.limit(), 1981);
  EXPECT_EQ(l.adjust(false), 2000);  // 1981 + 19 = 2000
  EXPECT_EQ(l.adjust(false), 2000);
  for (int i = 0; i < 9; ++i) l.adjust(true);
  EXPECT_EQ(l.limit(), 290);
  EXPECT_EQ(l.adjust(true), 100);    // 290 - 190 = 100
  EpsLimiter odd(1000, 150, clock);  // initial 575, step +8 / -85
  for (int i = 0; i < 53; ++i) odd.adjust(false);
  EXPECT_EQ(odd.limit(), 999);
  EXPECT_EQ(odd.adjust(false), 1000);  // 999 + 8 clamped to 1000
  for (int i = 0; i < 9; ++i) odd.adjust(true);
  EXPECT_EQ(odd.limit(), 235);
  EXPECT_EQ(odd.adjust(true), 150);  // 235 - 85 = 150
  EXPECT_EQ(odd.adjust(true), 150);  // clamped
}

TEST(EpsLimiter, ZeroStepsWhenTheRangeIsSmall) {
  ManualClock clock(1000);
  // max - min < 100: raising never moves; lowering still does (step 5).
  EpsLimiter narrow(150, 100, clock);
  EXPECT_EQ(narrow.limit(), 125);
  EXPECT_EQ(narrow.adjust(false), 125);
  EXPECT_EQ(narrow.adjust(true), 120);
  // max - min < 10: both steps are 0, the limit stays at its initial value for ever.
  EpsLimiter tiny(105, 100, clock);
  EXPECT_EQ(tiny.limit(), 103);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(tiny.adjust(i % 2 == 0), 103);
  }
}

TEST(EpsLimiter, NewRateAppliesToTheWait) {
  ManualClock clock(1000);
  EpsLimiter l(1000, 100, clock);
  for (int i = 0; i < 10; ++i) l.adjust(true);
  ASSERT_EQ(l.limit(), 100);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(l.reserve(), 0);
  EXPECT_EQ(l.reserve(), kSecond / 100);
  // At 100 tokens/s, 300 reservations reach the 3 s limit.
  for (int i = 2; i <= 300; ++i) ASSERT_GE(l.reserve(), 0) << i;
  EXPECT_EQ(l.reserve(), -1);
}

}  // namespace
