// Limit statistics (limit_stats.h) on crafted series: excursions crossing interval
// boundaries, bad and uncertain data, values on the limit, an excursion under way before
// the range, a partial last interval, and bad limits.

#include "history/limit_stats.h"

#include <cmath>

#include <gtest/gtest.h>

#include "sluice/v1/records.pb.h"

namespace sluice::history {
namespace {

constexpr int64_t kT0 = 1714521600LL * 1'000'000;  // 2024-05-01T00:00:00Z
constexpr int64_t kSecond = 1'000'000;
constexpr int64_t S(double seconds) { return kT0 + static_cast<int64_t>(seconds * 1e6); }

RawSample At(double seconds, double value, uint32_t quality = v1::QUALITY_GOOD) {
  return RawSample{S(seconds), value, quality};
}

std::vector<LimitIntervalResult> Compute(const LimitConfig& config, const TimeGrid& grid,
                                         const std::optional<RawSample>& before,
                                         const std::vector<RawSample>& samples,
                                         const std::optional<RawSample>& after) {
  auto engine = LimitStatsEngine::Create(config, grid, 1000);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  std::vector<LimitIntervalResult> out;
  if (before) {
    EXPECT_TRUE((*engine)->SetBoundBefore(*before).ok());
  }
  for (const RawSample& sample : samples) {
    EXPECT_TRUE((*engine)->Add(sample).ok());
    for (auto& result : (*engine)->TakeClosed()) {
      EXPECT_LE(result.span.end_us, sample.ts_us);  // out as soon as it closed
      out.push_back(std::move(result));
    }
  }
  EXPECT_TRUE((*engine)->Finish(after).ok());
  for (auto& result : (*engine)->TakeClosed()) out.push_back(std::move(result));
  EXPECT_EQ(static_cast<int64_t>(out.size()), IntervalCount(grid));
  return out;
}

void ExpectStats(const ExcursionStats& got, int64_t count, double total_s, double longest_s,
                 double longest_start_s) {
  EXPECT_EQ(got.count, count);
  EXPECT_EQ(got.total_us, static_cast<int64_t>(total_s * kSecond));
  EXPECT_EQ(got.longest_us, static_cast<int64_t>(longest_s * kSecond));
  if (longest_s > 0) {
    EXPECT_EQ(got.longest_start_us, S(longest_start_s));
  }
}

// low 0, high 10, intervals of 10 s. Above over [4,16) (two samples, one excursion),
// below over [18,22), above again over [25,30) (held to the end: no bound after).
TEST(LimitStatsTest, ExcursionsCrossingBoundariesAreSplitAndCountedWhereTheyStart) {
  LimitConfig config{10.0, 0.0};
  const auto results = Compute(
      config, {S(0), S(30), 10 * kSecond}, std::nullopt,
      {At(0, 5), At(4, 12), At(13, 11), At(16, 5), At(18, -1), At(19, -2), At(22, 5), At(25, 15)},
      std::nullopt);
  ASSERT_EQ(results.size(), 3u);
  // [0,10): above from 4: 6 s. Pass rate 1 - 6/10.
  ExpectStats(results[0].above, 1, 6, 6, 4);
  ExpectStats(results[0].below, 0, 0, 0, 0);
  EXPECT_DOUBLE_EQ(*results[0].pass_rate, 1 - 6.0 / 10);
  // [10,20): the same excursion goes on to 16 (6 s here, not counted again); below from 18.
  ExpectStats(results[1].above, 0, 6, 6, 4);
  ExpectStats(results[1].below, 1, 2, 2, 18);
  EXPECT_DOUBLE_EQ(*results[1].pass_rate, 1 - 8.0 / 10);
  // [20,30): below to 22; above from 25 to the end.
  ExpectStats(results[2].below, 0, 2, 2, 18);
  ExpectStats(results[2].above, 1, 5, 5, 25);
  EXPECT_DOUBLE_EQ(*results[2].pass_rate, 1 - 7.0 / 10);
  // Invariants over the whole range: 3 excursions, each counted once; the split totals
  // add up to the excursions' full lengths (12 s + 5 s above, 4 s below).
  int64_t count = 0, above = 0, below = 0;
  for (const auto& result : results) {
    count += result.above.count + result.below.count;
    above += result.above.total_us;
    below += result.below.total_us;
    EXPECT_EQ(result.usable_us, result.span.length_us());
  }
  EXPECT_EQ(count, 3);
  EXPECT_EQ(above, (12 + 5) * kSecond);
  EXPECT_EQ(below, 4 * kSecond);
}

// A bad sample breaks an excursion and its time leaves the denominator; an uncertain one
// does the same unless uncertain data is usable.
TEST(LimitStatsTest, BadDataBreaksExcursionsAndLeavesTheDenominator) {
  LimitConfig config{10.0, std::nullopt};
  const auto bad =
      Compute(config, {S(0), S(10), 10 * kSecond}, std::nullopt,
              {At(0, 20), At(3, 20, v1::QUALITY_INVALID), At(5, 20), At(8, 5)}, At(10, 5));
  // Above [0,3) and [5,8): two of 3 s (the first stays longest); usable 8 s.
  ExpectStats(bad[0].above, 2, 6, 3, 0);
  EXPECT_EQ(bad[0].usable_us, 8 * kSecond);
  EXPECT_DOUBLE_EQ(*bad[0].pass_rate, 1 - 6.0 / 8);

  const std::vector<RawSample> uncertain = {At(0, 20), At(3, 20, v1::QUALITY_QUESTIONABLE),
                                            At(5, 20), At(8, 5)};
  const auto as_bad =
      Compute(config, {S(0), S(10), 10 * kSecond}, std::nullopt, uncertain, At(10, 5));
  ExpectStats(as_bad[0].above, 2, 6, 3, 0);
  config.treat_uncertain_as_bad = false;
  const auto as_good =
      Compute(config, {S(0), S(10), 10 * kSecond}, std::nullopt, uncertain, At(10, 5));
  // One unbroken excursion [0,8) over 10 usable seconds.
  ExpectStats(as_good[0].above, 1, 8, 8, 0);
  EXPECT_DOUBLE_EQ(*as_good[0].pass_rate, 1 - 8.0 / 10);
}

TEST(LimitStatsTest, ValuesOnTheLimitAreWithin) {
  const auto results = Compute(LimitConfig{10.0, 0.0}, {S(0), S(10), 10 * kSecond}, std::nullopt,
                               {At(0, 10), At(5, 0)}, std::nullopt);
  ExpectStats(results[0].above, 0, 0, 0, 0);
  ExpectStats(results[0].below, 0, 0, 0, 0);
  EXPECT_DOUBLE_EQ(*results[0].pass_rate, 1.0);
}

// The bound before is already above: the excursion began before the range, so no
// interval counts it, and its start is the bound's time.
TEST(LimitStatsTest, ExcursionUnderWayBeforeTheRangeIsNotCounted) {
  const auto results = Compute(LimitConfig{10.0, std::nullopt}, {S(0), S(20), 10 * kSecond},
                               At(-7, 50), {At(12, 5), At(15, 30)}, std::nullopt);
  ExpectStats(results[0].above, 0, 10, 10, -7);
  // [10,20): the old one to 12, then a new one from 15.
  ExpectStats(results[1].above, 1, 2 + 5, 5, 15);
}

// No data before the first sample: no pass rate for an interval without usable time; a
// partial last interval uses its own length.
TEST(LimitStatsTest, NoDataAndPartialLastInterval) {
  const auto results = Compute(LimitConfig{std::nullopt, 1.0}, {S(0), S(25), 10 * kSecond},
                               std::nullopt, {At(12, 0.5), At(16, 2)}, std::nullopt);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].usable_us, 0);
  EXPECT_FALSE(results[0].pass_rate.has_value());
  ExpectStats(results[1].below, 1, 4, 4, 12);
  EXPECT_EQ(results[1].usable_us, 8 * kSecond);
  EXPECT_DOUBLE_EQ(*results[1].pass_rate, 1 - 4.0 / 8);
  EXPECT_TRUE(results[2].span.partial);
  EXPECT_EQ(results[2].usable_us, 5 * kSecond);
  EXPECT_DOUBLE_EQ(*results[2].pass_rate, 1.0);
}

TEST(LimitStatsTest, BadLimitsAreRefusedNamingThem) {
  const TimeGrid grid{S(0), S(10), kSecond};
  auto message = [&](const LimitConfig& config) {
    return std::string(LimitStatsEngine::Create(config, grid, 100).status().message());
  };
  EXPECT_NE(message(LimitConfig{}).find("neither a high nor a low"), std::string::npos);
  EXPECT_NE(message(LimitConfig{std::nan(""), std::nullopt}).find("high limit is not a finite"),
            std::string::npos);
  EXPECT_NE(message(LimitConfig{1.0, 5.0}).find("low limit 5 is above the high limit 1"),
            std::string::npos);
  EXPECT_NE(std::string(LimitStatsEngine::Create(LimitConfig{1.0, 0.0}, grid, 5).status().message())
                .find("more than the limit of 5"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::history
