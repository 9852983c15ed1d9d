#include "sampling/intervals.h"

#include <gtest/gtest.h>

namespace sluice::sampling {
namespace {

// 2024-05-01T00:00:00Z.
constexpr int64_t kMay1 = 1714521600 * kSecondUs;

TEST(IntervalsTest, TheTenNamesMatchTheSampleTables) {
  const char* tables[] = {"sample_1s",    "sample_5s",    "sample_1min",  "sample_5min",
                          "sample_10min", "sample_15min", "sample_30min", "sample_1h",
                          "sample_8h",    "sample_1d"};
  ASSERT_EQ(AllIntervals().size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    const IntervalInfo& info = AllIntervals()[i];
    EXPECT_EQ(SampleTableName(info.interval), tables[i]);
    EXPECT_EQ(IntervalIndex(info.interval), static_cast<int>(i));
    auto parsed = ParseInterval(info.name);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, info.interval);
  }
  EXPECT_EQ(Info(v1::SAMPLE_INTERVAL_5MIN).length_us, 5 * kMinuteUs);
  EXPECT_EQ(Info(v1::SAMPLE_INTERVAL_8H).length_us, 8 * kHourUs);
}

TEST(IntervalsTest, ParseErrorNamesTheAllowedIntervals) {
  auto r = ParseInterval("7min");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'7min'"), std::string::npos);
  EXPECT_NE(r.status().message().find("1s, 5s, 1min, 5min, 10min, 15min, 30min, 1h, 8h, 1d"),
            std::string::npos)
      << r.status().message();
  EXPECT_FALSE(ParseInterval("").ok());
  EXPECT_FALSE(ParseInterval("5MIN").ok());
}

TEST(IntervalsTest, ParseUtcOffset) {
  EXPECT_EQ(*ParseUtcOffset("+08:00"), 8 * kHourUs);
  EXPECT_EQ(*ParseUtcOffset("-05:30"), -(5 * kHourUs + 30 * kMinuteUs));
  EXPECT_EQ(*ParseUtcOffset("Z"), 0);
  EXPECT_EQ(*ParseUtcOffset("+14:00"), 14 * kHourUs);
  for (const char* bad : {"+8", "08:00", "+08:60", "+14:01", "+0800", "UTC+8", ""}) {
    auto r = ParseUtcOffset(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_TRUE(ValidateDayRule({8 * kHourUs, 8 * kHourUs}).ok());
  EXPECT_FALSE(ValidateDayRule({15 * kHourUs, 0}).ok());
  EXPECT_FALSE(ValidateDayRule({0, kDayUs}).ok());
  EXPECT_FALSE(ValidateDayRule({0, -1}).ok());
}

TEST(IntervalsTest, ExactBoundaryIsItsOwnBoundaryBothWays) {
  const DayRule utc;
  for (const IntervalInfo& info : AllIntervals()) {
    EXPECT_EQ(BoundaryAtOrBefore(info.interval, kMay1, utc), kMay1) << info.name;
    EXPECT_EQ(BoundaryAtOrAfter(info.interval, kMay1, utc), kMay1) << info.name;
    EXPECT_EQ(BoundaryAtOrBefore(info.interval, kMay1 - 1, utc), kMay1 - info.length_us)
        << info.name;
    EXPECT_EQ(BoundaryAtOrAfter(info.interval, kMay1 + 1, utc), kMay1 + info.length_us)
        << info.name;
  }
}

TEST(IntervalsTest, ShortIntervalsIgnoreTheDayRule) {
  const DayRule china{8 * kHourUs, 8 * kHourUs};
  const int64_t t = kMay1 + 7 * kMinuteUs + 3 * kSecondUs + 5;
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_5MIN, t, china), kMay1 + 5 * kMinuteUs);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_5MIN, t, china), kMay1 + 10 * kMinuteUs);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_1S, t, china),
            kMay1 + 7 * kMinuteUs + 4 * kSecondUs);
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1H, t, china), kMay1);
}

TEST(IntervalsTest, DayFollowsThePositiveUtcOffset) {
  const DayRule china{8 * kHourUs, 0};
  // Local midnight of 2024-05-01 in UTC+8 is 2024-04-30T16:00Z.
  const int64_t local_midnight = kMay1 - 8 * kHourUs;
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1D, kMay1, china), local_midnight);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_1D, kMay1, china), local_midnight + kDayUs);
  // 8 h: local 00:00, 08:00, 16:00 = 16:00Z, 00:00Z, 08:00Z.
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_8H, kMay1 + kHourUs, china), kMay1);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_8H, kMay1 + kHourUs, china), kMay1 + 8 * kHourUs);
}

TEST(IntervalsTest, DayFollowsANegativeUtcOffset) {
  const DayRule new_york{-5 * kHourUs, 0};
  // Local midnight in UTC-5 is 05:00Z.
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1D, kMay1, new_york),
            kMay1 - kDayUs + 5 * kHourUs);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_1D, kMay1, new_york), kMay1 + 5 * kHourUs);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_1D, kMay1 + 5 * kHourUs, new_york),
            kMay1 + 5 * kHourUs);
  const DayRule half{-(9 * kHourUs + 30 * kMinuteUs), 0};
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_8H, kMay1, half),
            kMay1 + 1 * kHourUs + 30 * kMinuteUs);
}

TEST(IntervalsTest, HydrologicalDayStartsAt0800InUtcPlus8) {
  const DayRule hydro{8 * kHourUs, 8 * kHourUs};
  // 08:00 local in UTC+8 is 00:00Z: the hydrological day of 2024-05-01 starts at kMay1.
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1D, kMay1, hydro), kMay1);
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1D, kMay1 - 1, hydro), kMay1 - kDayUs);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_1D, kMay1 + 1, hydro), kMay1 + kDayUs);
  // 8 h boundaries: local 08:00, 16:00, 00:00 = 00:00Z, 08:00Z, 16:00Z.
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_8H, kMay1 + 1, hydro), kMay1 + 8 * kHourUs);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_8H, kMay1 + 9 * kHourUs, hydro),
            kMay1 + 16 * kHourUs);
  // Day start 08:00 in UTC: 08:00Z.
  const DayRule utc_hydro{0, 8 * kHourUs};
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1D, kMay1 + 7 * kHourUs, utc_hydro),
            kMay1 - 16 * kHourUs);
}

TEST(IntervalsTest, LeapOverMidnight) {
  const DayRule utc;
  const int64_t before_midnight = kMay1 - kSecondUs / 2;  // 2024-04-30T23:59:59.5Z
  for (const IntervalInfo& info : AllIntervals()) {
    EXPECT_EQ(BoundaryAtOrAfter(info.interval, before_midnight, utc), kMay1) << info.name;
  }
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1D, before_midnight, utc), kMay1 - kDayUs);
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_8H, before_midnight, utc), kMay1 - 8 * kHourUs);
}

TEST(IntervalsTest, TimesBeforeTheEpochFloor) {
  const DayRule utc;
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1S, -1, utc), -kSecondUs);
  EXPECT_EQ(BoundaryAtOrAfter(v1::SAMPLE_INTERVAL_1S, -1, utc), 0);
  EXPECT_EQ(BoundaryAtOrBefore(v1::SAMPLE_INTERVAL_1D, -kHourUs, DayRule{8 * kHourUs, 0}),
            -8 * kHourUs);
}

}  // namespace
}  // namespace sluice::sampling
