// Hand-computed expectations for the Part 13 aggregates (aggregates.h): sloped and
// stepped series, bad and uncertain samples, gaps, bounds, a partial last interval, an
// interval with no data, streaming, and bad input.

#include "history/aggregates.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "sluice/v1/records.pb.h"

namespace sluice::history {
namespace {

// 2024-05-01T00:00:00Z: realistic timestamps, so that µs arithmetic is exercised at scale.
constexpr int64_t kT0 = 1714521600LL * 1'000'000;
constexpr int64_t S(double seconds) { return kT0 + static_cast<int64_t>(seconds * 1e6); }

constexpr uint32_t kGood = v1::QUALITY_GOOD;
constexpr uint32_t kBad = v1::QUALITY_INVALID;
constexpr uint32_t kUncertain = v1::QUALITY_QUESTIONABLE;

RawSample At(double seconds, double value, uint32_t quality = kGood) {
  return RawSample{S(seconds), value, quality};
}

// The results of one run, by aggregate, one entry per interval.
struct Results {
  std::vector<IntervalSpan> spans;
  std::map<Aggregate, std::vector<AggregateValue>> by_aggregate;
  const AggregateValue& operator()(Aggregate aggregate, size_t interval) const {
    return by_aggregate.at(aggregate).at(interval);
  }
};

Results Compute(const TimeGrid& grid, const AggregateConfig& config,
                const std::optional<RawSample>& before, const std::vector<RawSample>& samples,
                const std::optional<RawSample>& after) {
  std::vector<Aggregate> all(AllAggregates().begin(), AllAggregates().end());
  auto engine = AggregateEngine::Create(all, grid, config);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  Results run;
  auto collect = [&](std::vector<IntervalResult> closed) {
    for (auto& result : closed) {
      run.spans.push_back(result.span);
      for (size_t i = 0; i < all.size(); ++i) run.by_aggregate[all[i]].push_back(result.values[i]);
    }
  };
  if (before) {
    EXPECT_TRUE((*engine)->SetBoundBefore(*before).ok());
  }
  for (const RawSample& sample : samples) {
    Status status = (*engine)->Add(sample);
    EXPECT_TRUE(status.ok()) << status.ToString();
    collect((*engine)->TakeClosed());
  }
  EXPECT_TRUE((*engine)->Finish(after).ok());
  collect((*engine)->TakeClosed());
  EXPECT_EQ(static_cast<int64_t>(run.spans.size()), IntervalCount(grid));
  return run;
}

void ExpectValue(const AggregateValue& got, double value, Severity status) {
  ASSERT_TRUE(got.value.has_value()) << "expected " << value;
  EXPECT_NEAR(*got.value, value, 1e-9 * std::max(1.0, std::abs(value)));
  EXPECT_EQ(got.status, status) << SeverityName(got.status);
}
void ExpectAbsent(const AggregateValue& got, Severity status) {
  EXPECT_FALSE(got.value.has_value()) << *got.value;
  EXPECT_EQ(got.status, status) << SeverityName(got.status);
}

TEST(QualityTest, BitsMapToSeverities) {
  EXPECT_EQ(ClassifyQuality(v1::QUALITY_GOOD), Severity::kGood);
  EXPECT_EQ(ClassifyQuality(v1::QUALITY_SUBSTITUTED), Severity::kGood);
  EXPECT_EQ(ClassifyQuality(v1::QUALITY_QUESTIONABLE), Severity::kUncertain);
  EXPECT_EQ(ClassifyQuality(v1::QUALITY_OLD_DATA | v1::QUALITY_SUBSTITUTED), Severity::kUncertain);
  EXPECT_EQ(ClassifyQuality(v1::QUALITY_OVERFLOW), Severity::kUncertain);
  EXPECT_EQ(ClassifyQuality(v1::QUALITY_INVALID | v1::QUALITY_QUESTIONABLE), Severity::kBad);
  EXPECT_EQ(ClassifyQuality(1u << 12), Severity::kUncertain);
}

TEST(AggregatesTest, NamesParseBack) {
  EXPECT_EQ(AllAggregates().size(), 25u);
  for (Aggregate aggregate : AllAggregates()) {
    auto parsed = ParseAggregate(AggregateName(aggregate));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, aggregate);
  }
  auto lower = ParseAggregate("timeaverage");
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(*lower, Aggregate::kTimeAverage);
  auto unknown = ParseAggregate("Median");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'Median'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("NumberOfTransitions"), std::string::npos);
}

// Good analog data, sloped, two intervals of 10 s; a sample on the boundary.
TEST(AggregatesTest, SlopedGoodData) {
  const Results run = Compute({S(0), S(20), 10'000'000}, {}, std::nullopt,
                              {At(0, 10), At(5, 20), At(10, 30), At(15, 10)}, At(20, 50));
  ASSERT_EQ(run.spans.size(), 2u);
  EXPECT_FALSE(run.spans[0].partial);
  EXPECT_FALSE(run.spans[1].partial);
  // [0,10): lines 10->20 over [0,5) and 20->30 over [5,10): 15*5 + 25*5 = 200 value.s.
  ExpectValue(run(Aggregate::kTotal, 0), 200, Severity::kGood);
  ExpectValue(run(Aggregate::kTimeAverage, 0), 20, Severity::kGood);
  ExpectValue(run(Aggregate::kInterpolative, 0), 10, Severity::kGood);
  ExpectValue(run(Aggregate::kAverage, 0), 15, Severity::kGood);
  ExpectValue(run(Aggregate::kMinimum, 0), 10, Severity::kGood);
  ExpectValue(run(Aggregate::kMaximum, 0), 20, Severity::kGood);
  ExpectValue(run(Aggregate::kRange, 0), 10, Severity::kGood);
  ExpectValue(run(Aggregate::kCount, 0), 2, Severity::kGood);
  ExpectValue(run(Aggregate::kStart, 0), 10, Severity::kGood);
  ExpectValue(run(Aggregate::kEnd, 0), 20, Severity::kGood);
  ExpectValue(run(Aggregate::kDelta, 0), 10, Severity::kGood);
  // 10 and 20: mean 15, squared deviations 25 + 25.
  ExpectValue(run(Aggregate::kVariancePopulation, 0), 25, Severity::kGood);
  ExpectValue(run(Aggregate::kVarianceSample, 0), 50, Severity::kGood);
  ExpectValue(run(Aggregate::kStandardDeviationPopulation, 0), 5, Severity::kGood);
  ExpectValue(run(Aggregate::kStandardDeviationSample, 0), std::sqrt(50.0), Severity::kGood);
  ExpectValue(run(Aggregate::kDurationGood, 0), 10'000, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationBad, 0), 0, Severity::kGood);
  ExpectValue(run(Aggregate::kPercentGood, 0), 100, Severity::kGood);
  ExpectValue(run(Aggregate::kPercentBad, 0), 0, Severity::kGood);
  ExpectValue(run(Aggregate::kWorstQuality, 0), kGood, Severity::kGood);
  ExpectValue(run(Aggregate::kNumberOfTransitions, 0), 1, Severity::kGood);  // 10 -> 20
  ExpectValue(run(Aggregate::kDurationInStateNonZero, 0), 10'000, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationInStateZero, 0), 0, Severity::kGood);
  for (Aggregate aggregate : AllAggregates()) {
    const AggregateValue& value = run(aggregate, 0);
    if (aggregate == Aggregate::kMinimumActualTime) {
      EXPECT_EQ(value.ts_us, S(0));
    } else if (aggregate == Aggregate::kMaximumActualTime) {
      EXPECT_EQ(value.ts_us, S(5));
    } else {
      EXPECT_EQ(value.ts_us, S(0)) << AggregateName(aggregate);
    }
  }
  // [10,20): 30->10 over [10,15), then 10->50 (the bound after, at 20) over [15,20):
  // 20*5 + 30*5 = 250.
  ExpectValue(run(Aggregate::kTotal, 1), 250, Severity::kGood);
  ExpectValue(run(Aggregate::kTimeAverage, 1), 25, Severity::kGood);
  ExpectValue(run(Aggregate::kInterpolative, 1), 30, Severity::kGood);
  ExpectValue(run(Aggregate::kNumberOfTransitions, 1), 2, Severity::kGood);  // 20->30->10
  ExpectValue(run(Aggregate::kDelta, 1), -20, Severity::kGood);
  EXPECT_EQ(run(Aggregate::kStart, 1).ts_us, S(10));
}

// The same samples stepped (a status point): each value holds until the next.
TEST(AggregatesTest, SteppedHoldsValues) {
  AggregateConfig stepped;
  stepped.stepped = true;
  const Results run = Compute({S(0), S(20), 10'000'000}, stepped, std::nullopt,
                              {At(0, 10), At(5, 20), At(10, 30), At(15, 10)}, At(20, 50));
  ExpectValue(run(Aggregate::kTotal, 0), 10 * 5 + 20 * 5, Severity::kGood);
  ExpectValue(run(Aggregate::kTimeAverage, 0), 15, Severity::kGood);
  ExpectValue(run(Aggregate::kTotal, 1), 30 * 5 + 10 * 5, Severity::kGood);
  ExpectValue(run(Aggregate::kTimeAverage, 1), 20, Severity::kGood);
  // Raw-value aggregates do not depend on the interpolation.
  ExpectValue(run(Aggregate::kAverage, 1), 20, Severity::kGood);
}

// Interpolative between samples: sloped vs stepped, with bounds and stepped extrapolation.
TEST(AggregatesTest, InterpolativeUsesBoundsAndExtrapolates) {
  const TimeGrid grid{S(5), S(25), 10'000'000};
  const std::vector<RawSample> samples = {At(10, 100)};
  // Interval starts 5 and 15. At 5: between the bound 0@0 and 100@10: 50 sloped, 0 stepped.
  // At 15: after the last sample; no bound after: 100 held, Uncertain (extrapolated).
  const Results sloped = Compute(grid, {}, At(0, 0), samples, std::nullopt);
  ExpectValue(sloped(Aggregate::kInterpolative, 0), 50, Severity::kGood);
  ExpectValue(sloped(Aggregate::kInterpolative, 1), 100, Severity::kUncertain);
  EXPECT_EQ(sloped(Aggregate::kInterpolative, 1).ts_us, S(15));
  // With the bound after 200@30: 100 + (200-100) * 5/20 = 125.
  const Results bounded = Compute(grid, {}, At(0, 0), samples, At(30, 200));
  ExpectValue(bounded(Aggregate::kInterpolative, 1), 125, Severity::kGood);
  AggregateConfig stepped;
  stepped.stepped = true;
  const Results held = Compute(grid, stepped, At(0, 0), samples, At(30, 200));
  ExpectValue(held(Aggregate::kInterpolative, 0), 0, Severity::kGood);
  ExpectValue(held(Aggregate::kInterpolative, 1), 100, Severity::kGood);
  // The next sample is Bad: no line towards it, the value holds and is Uncertain.
  const Results bad_next = Compute(grid, {}, At(0, 0), samples, At(30, 200, kBad));
  ExpectValue(bad_next(Aggregate::kInterpolative, 1), 100, Severity::kUncertain);
  // The sample governing the start is Bad: no value.
  const Results bad_before = Compute(grid, {}, At(0, 0, kBad), samples, std::nullopt);
  ExpectAbsent(bad_before(Aggregate::kInterpolative, 0), Severity::kBad);
  // No bound before: no data at the first start.
  const Results unbounded = Compute(grid, {}, std::nullopt, samples, std::nullopt);
  ExpectAbsent(unbounded(Aggregate::kInterpolative, 0), Severity::kBad);
}

// One 40 s interval: good 10@0, bad 1000@10, uncertain 30@20, good 20@30, bound after
// good 20@40.
const std::vector<RawSample> kMixed = {At(0, 10), At(10, 1000, kBad), At(20, 30, kUncertain),
                                       At(30, 20)};

TEST(AggregatesTest, BadAndUncertainTreatedAsBad) {
  const Results run = Compute({S(0), S(40), 40'000'000}, {}, std::nullopt, kMixed, At(40, 20));
  // Usable: [0,10) holds 10 (the next is bad: no slope) = 100, [30,40) 20->20 = 200.
  // Good time 20 s of 40; bad (10 s bad + 10 s uncertain) 50%: neither reaches 100%.
  ExpectValue(run(Aggregate::kTotal, 0), 300, Severity::kUncertain);
  ExpectValue(run(Aggregate::kTimeAverage, 0), 300.0 / 20, Severity::kUncertain);
  ExpectValue(run(Aggregate::kDurationGood, 0), 20'000, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationBad, 0), 20'000, Severity::kGood);
  ExpectValue(run(Aggregate::kPercentGood, 0), 50, Severity::kGood);
  ExpectValue(run(Aggregate::kPercentBad, 0), 50, Severity::kGood);
  // Raw samples: 2 good of 4, 2 bad (1 bad + 1 uncertain): count based Uncertain.
  ExpectValue(run(Aggregate::kCount, 0), 2, Severity::kUncertain);
  ExpectValue(run(Aggregate::kAverage, 0), 15, Severity::kUncertain);
  ExpectValue(run(Aggregate::kMaximum, 0), 20, Severity::kUncertain);
  EXPECT_EQ(run(Aggregate::kMaximumActualTime, 0).ts_us, S(30));
  ExpectValue(run(Aggregate::kWorstQuality, 0), kBad, Severity::kGood);
  ExpectValue(run(Aggregate::kStart, 0), 10, Severity::kGood);
  ExpectValue(run(Aggregate::kEnd, 0), 20, Severity::kGood);
  ExpectValue(run(Aggregate::kNumberOfTransitions, 0), 1, Severity::kUncertain);  // 10 -> 20

  // PercentDataBad 50: 50% bad is enough to be Bad; PercentDataGood 50: 50% good is Good.
  AggregateConfig strict;
  strict.percent_data_bad = 50;
  const Results bad = Compute({S(0), S(40), 40'000'000}, strict, std::nullopt, kMixed, At(40, 20));
  ExpectValue(bad(Aggregate::kTimeAverage, 0), 15, Severity::kBad);
  ExpectValue(bad(Aggregate::kAverage, 0), 15, Severity::kBad);
  AggregateConfig lenient;
  lenient.percent_data_good = 50;
  const Results good =
      Compute({S(0), S(40), 40'000'000}, lenient, std::nullopt, kMixed, At(40, 20));
  ExpectValue(good(Aggregate::kTimeAverage, 0), 15, Severity::kGood);
  ExpectValue(good(Aggregate::kAverage, 0), 15, Severity::kGood);
}

TEST(AggregatesTest, UncertainUsedWhenNotTreatedAsBad) {
  AggregateConfig config;
  config.treat_uncertain_as_bad = false;
  const Results run = Compute({S(0), S(40), 40'000'000}, config, std::nullopt, kMixed, At(40, 20));
  // Usable: [0,10) 10 held = 100; [20,30) 30->20 = 25*10 = 250; [30,40) 20 = 200: 550 over
  // 30 s. Bad share 25%, good share 50% (uncertain counts in neither): Uncertain.
  ExpectValue(run(Aggregate::kTotal, 0), 550, Severity::kUncertain);
  ExpectValue(run(Aggregate::kTimeAverage, 0), 550.0 / 30, Severity::kUncertain);
  ExpectValue(run(Aggregate::kDurationGood, 0), 30'000, Severity::kGood);
  ExpectValue(run(Aggregate::kCount, 0), 3, Severity::kUncertain);
  ExpectValue(run(Aggregate::kAverage, 0), 20, Severity::kUncertain);  // (10+30+20)/3
  ExpectValue(run(Aggregate::kNumberOfTransitions, 0), 2, Severity::kUncertain);
  // Only the bad 25% counts as bad: with PercentDataBad 25 that is Bad.
  config.percent_data_bad = 25;
  const Results bad = Compute({S(0), S(40), 40'000'000}, config, std::nullopt, kMixed, At(40, 20));
  ExpectValue(bad(Aggregate::kTimeAverage, 0), 550.0 / 30, Severity::kBad);
}

// No bound before, a gap with no data, an interval with no samples, no bound after.
TEST(AggregatesTest, GapsAndAnIntervalWithoutSamples) {
  const Results run =
      Compute({S(0), S(30), 10'000'000}, {}, std::nullopt, {At(12, 5), At(18, 7)}, std::nullopt);
  // [0,10): no data at all.
  ExpectAbsent(run(Aggregate::kInterpolative, 0), Severity::kBad);
  ExpectAbsent(run(Aggregate::kTimeAverage, 0), Severity::kBad);
  ExpectAbsent(run(Aggregate::kAverage, 0), Severity::kBad);
  ExpectAbsent(run(Aggregate::kStart, 0), Severity::kBad);
  ExpectAbsent(run(Aggregate::kWorstQuality, 0), Severity::kBad);
  ExpectValue(run(Aggregate::kCount, 0), 0, Severity::kBad);
  ExpectValue(run(Aggregate::kDurationBad, 0), 10'000, Severity::kGood);
  ExpectValue(run(Aggregate::kPercentBad, 0), 100, Severity::kGood);
  // [10,20): no data [10,12); 5->7 over [12,18) = 36; 7 held over [18,20) = 14 (no bound
  // after): 50 over 8 s. Time: 20% bad, 80% good: Uncertain. Samples: 2 good: Good.
  ExpectAbsent(run(Aggregate::kInterpolative, 1), Severity::kBad);
  ExpectValue(run(Aggregate::kTotal, 1), 50, Severity::kUncertain);
  ExpectValue(run(Aggregate::kTimeAverage, 1), 50.0 / 8, Severity::kUncertain);
  ExpectValue(run(Aggregate::kAverage, 1), 6, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationGood, 1), 8'000, Severity::kGood);
  // [20,30): no sample; 7 holds all along: the time based aggregates are Good, the raw
  // ones have nothing.
  ExpectValue(run(Aggregate::kTimeAverage, 2), 7, Severity::kGood);
  ExpectValue(run(Aggregate::kInterpolative, 2), 7, Severity::kUncertain);
  ExpectValue(run(Aggregate::kCount, 2), 0, Severity::kGood);
  ExpectAbsent(run(Aggregate::kAverage, 2), Severity::kBad);
  ExpectAbsent(run(Aggregate::kEnd, 2), Severity::kBad);
  ExpectValue(run(Aggregate::kDurationInStateNonZero, 2), 10'000, Severity::kGood);
  ExpectValue(run(Aggregate::kNumberOfTransitions, 2), 0, Severity::kGood);
}

// 25 s in steps of 10: the last interval [20,25) is partial, and its own length counts.
TEST(AggregatesTest, PartialLastInterval) {
  const Results run =
      Compute({S(0), S(25), 10'000'000}, {}, std::nullopt, {At(0, 0), At(22, 10)}, At(30, 20));
  ASSERT_EQ(run.spans.size(), 3u);
  EXPECT_FALSE(run.spans[1].partial);
  EXPECT_TRUE(run.spans[2].partial);
  EXPECT_EQ(run.spans[2].start_us, S(20));
  EXPECT_EQ(run.spans[2].end_us, S(25));
  // [20,22) on the line 0@0 -> 10@22: from 200/22 to 10; [22,25) on 10@22 -> 20@30: from
  // 10 to 10 + 10*3/8 = 13.75.
  const double at20 = 10.0 * 20 / 22;
  const double total = (at20 + 10) / 2 * 2 + (10 + 13.75) / 2 * 3;
  ExpectValue(run(Aggregate::kTotal, 2), total, Severity::kGood);
  ExpectValue(run(Aggregate::kTimeAverage, 2), total / 5, Severity::kGood);
  ExpectValue(run(Aggregate::kInterpolative, 2), at20, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationGood, 2), 5'000, Severity::kGood);
  ExpectValue(run(Aggregate::kPercentGood, 2), 100, Severity::kGood);
}

// A status point: states and transitions, stepped, across a boundary, from the bound before.
TEST(AggregatesTest, StatesAndTransitions) {
  AggregateConfig stepped;
  stepped.stepped = true;
  const Results run =
      Compute({S(0), S(20), 10'000'000}, stepped, At(-5, 1),
              {At(3, 0), At(8, 0), At(12, 1), At(15, 0, kBad), At(17, 1)}, std::nullopt);
  // [0,10): 1 over [0,3), 0 over [3,10); 1 (bound) -> 0 is one transition, 0 -> 0 none.
  ExpectValue(run(Aggregate::kDurationInStateNonZero, 0), 3'000, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationInStateZero, 0), 7'000, Severity::kGood);
  ExpectValue(run(Aggregate::kNumberOfTransitions, 0), 1, Severity::kGood);
  // [10,20): 0 over [10,12), 1 over [12,15), bad [15,17), 1 over [17,20). 0 -> 1 at 12;
  // the bad 0 at 15 is skipped, so 1 at 17 is no transition. 20% bad time: Uncertain.
  ExpectValue(run(Aggregate::kDurationInStateZero, 1), 2'000, Severity::kUncertain);
  ExpectValue(run(Aggregate::kDurationInStateNonZero, 1), 6'000, Severity::kUncertain);
  ExpectValue(run(Aggregate::kNumberOfTransitions, 1), 1, Severity::kUncertain);
  ExpectValue(run(Aggregate::kWorstQuality, 1), kBad, Severity::kGood);
}

TEST(AggregatesTest, ActualTimeIsTheFirstOccurrence) {
  const Results run = Compute({S(0), S(10), 10'000'000}, {}, std::nullopt,
                              {At(1, 5), At(2, 3), At(4, 3), At(6, 9), At(7, 9)}, std::nullopt);
  ExpectValue(run(Aggregate::kMinimumActualTime, 0), 3, Severity::kGood);
  EXPECT_EQ(run(Aggregate::kMinimumActualTime, 0).ts_us, S(2));
  ExpectValue(run(Aggregate::kMaximumActualTime, 0), 9, Severity::kGood);
  EXPECT_EQ(run(Aggregate::kMaximumActualTime, 0).ts_us, S(6));
  EXPECT_EQ(run(Aggregate::kMaximum, 0).ts_us, S(0));
}

// Streaming: 600 intervals of 1 s, 4 samples each. Each interval comes out as soon as a
// sample at or after its end arrives, and its statistics match a two-pass computation.
TEST(AggregatesTest, StreamsIntervalsAsTheyClose) {
  const TimeGrid grid{S(0), S(600), 1'000'000};
  auto engine =
      AggregateEngine::Create({Aggregate::kCount, Aggregate::kAverage, Aggregate::kVarianceSample,
                               Aggregate::kDurationGood, Aggregate::kDurationBad},
                              grid, {});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto value_at = [](int i) { return std::sin(i * 0.37) * 100 + i % 7; };
  int64_t closed = 0;
  for (int i = 0; i < 2400; ++i) {
    const RawSample sample = At(i * 0.25, value_at(i));
    ASSERT_TRUE((*engine)->Add(sample).ok());
    for (const IntervalResult& result : (*engine)->TakeClosed()) {
      EXPECT_EQ(result.span.index, closed);
      EXPECT_LE(result.span.end_us, sample.ts_us);
      // Two-pass over the interval's 4 samples.
      double mean = 0, squares = 0;
      for (int k = 0; k < 4; ++k) mean += value_at(static_cast<int>(closed) * 4 + k) / 4;
      for (int k = 0; k < 4; ++k) {
        squares += std::pow(value_at(static_cast<int>(closed) * 4 + k) - mean, 2);
      }
      ExpectValue(result.values[0], 4, Severity::kGood);
      ExpectValue(result.values[1], mean, Severity::kGood);
      ExpectValue(result.values[2], squares / 3, Severity::kGood);
      EXPECT_DOUBLE_EQ(*result.values[3].value + *result.values[4].value,
                       static_cast<double>(result.span.length_us()) / 1000);
      ++closed;
    }
    // Everything that ended at or before this sample is out: nothing is held back.
    EXPECT_EQ(closed, (sample.ts_us - grid.start_us) / grid.step_us);
  }
  ASSERT_TRUE((*engine)->Finish(std::nullopt).ok());
  closed += static_cast<int64_t>((*engine)->TakeClosed().size());
  EXPECT_EQ(closed, 600);
}

// OPC UA Part 13 Annex A, "Historian 1" (A.1.1): 12:00:00 point created (no data), then
// 10@12:00:10, 20@:20, 30@:30, 40@:40 Bad, 50@:50, 60@12:01:00, 70@:10 Uncertain,
// 80@:20, 90@:30, nothing after. TreatUncertainAsBad false, sloped, PercentDataGood and
// PercentDataBad 100. Range 12:00:00 to 12:01:40.
const std::vector<RawSample> kHistorian1 = {At(10, 10),
                                            At(20, 20),
                                            At(30, 30),
                                            At(40, 40, kBad),
                                            At(50, 50),
                                            At(60, 60),
                                            At(70, 70, kUncertain),
                                            At(80, 80),
                                            At(90, 90)};

// TimeAverage in 5 s intervals. Where data is usable our values are those of Part 13's
// TimeAverage2 table (A.5): the mean of a line over 5 s is its midpoint. Statuses differ
// where we chose differently (aggregates.h): Part 13 flags an interval Uncertain when its
// end bound comes from a non-Good neighbour (12:00:30, :35, 12:01:00, :05) and after the
// end of data (12:01:30 Uncertain, :35 no data); we look at the data's own quality time
// (Good there) and hold the last value to the end of the range.
TEST(AggregatesTest, Part13Historian1TimeAverage) {
  AggregateConfig config;
  config.treat_uncertain_as_bad = false;
  const Results run =
      Compute({S(0), S(100), 5'000'000}, config, std::nullopt, kHistorian1, std::nullopt);
  ASSERT_EQ(run.spans.size(), 20u);
  struct Expected {
    double start_s;
    std::optional<double> value;
    Severity status;
  };
  const Expected expected[] = {
      {0, std::nullopt, Severity::kBad},  {5, std::nullopt, Severity::kBad},
      {10, 12.5, Severity::kGood},        {15, 17.5, Severity::kGood},  // (10+15)/2, (15+20)/2
      {20, 22.5, Severity::kGood},        {25, 27.5, Severity::kGood},
      {30, 30, Severity::kGood},          {35, 30, Severity::kGood},  // 30 held: 40 is Bad
      {40, std::nullopt, Severity::kBad}, {45, std::nullopt, Severity::kBad},
      {50, 52.5, Severity::kGood},        {55, 57.5, Severity::kGood},
      {60, 62.5, Severity::kGood},        {65, 67.5, Severity::kGood},       // towards 70 (usable)
      {70, 72.5, Severity::kUncertain},   {75, 77.5, Severity::kUncertain},  // from 70 Uncertain
      {80, 82.5, Severity::kGood},        {85, 87.5, Severity::kGood},
      {90, 90, Severity::kGood},          {95, 90, Severity::kGood},  // 90 held to the end
  };
  for (size_t i = 0; i < std::size(expected); ++i) {
    SCOPED_TRACE(expected[i].start_s);
    const AggregateValue& got = run(Aggregate::kTimeAverage, i);
    EXPECT_EQ(got.ts_us, S(expected[i].start_s));
    if (expected[i].value) {
      ExpectValue(got, *expected[i].value, expected[i].status);
    } else {
      ExpectAbsent(got, expected[i].status);
    }
  }
}

// The raw-value aggregates over Historian 1 in Part 13's 16 s intervals (the last one,
// 12:01:36 to 12:01:40, partial).
TEST(AggregatesTest, Part13Historian1RawAggregates) {
  AggregateConfig config;
  config.treat_uncertain_as_bad = false;
  const Results run =
      Compute({S(0), S(100), 16'000'000}, config, std::nullopt, kHistorian1, std::nullopt);
  ASSERT_EQ(run.spans.size(), 7u);
  EXPECT_TRUE(run.spans[6].partial);
  // [0,16): 10. [16,32): 20, 30. [32,48): only 40 Bad. [48,64): 50, 60. [64,80): 70
  // Uncertain (usable, but the status is Uncertain). [80,96): 80, 90. [96,100): none.
  ExpectValue(run(Aggregate::kCount, 0), 1, Severity::kGood);
  ExpectValue(run(Aggregate::kAverage, 1), 25, Severity::kGood);
  ExpectValue(run(Aggregate::kCount, 2), 0, Severity::kBad);
  ExpectAbsent(run(Aggregate::kAverage, 2), Severity::kBad);
  ExpectValue(run(Aggregate::kWorstQuality, 2), kBad, Severity::kGood);
  ExpectValue(run(Aggregate::kMaximum, 3), 60, Severity::kGood);
  EXPECT_EQ(run(Aggregate::kMaximumActualTime, 3).ts_us, S(60));
  ExpectValue(run(Aggregate::kAverage, 4), 70, Severity::kUncertain);
  ExpectValue(run(Aggregate::kRange, 5), 10, Severity::kGood);
  ExpectValue(run(Aggregate::kCount, 6), 0, Severity::kGood);  // 90 held: Good time
  // DurationGood: [0,16) has 6 s of data (from 10); [32,48) 8 s (30 until the Bad 40);
  // [64,80) 16 s (Uncertain is usable here); the partial [96,100) 4 s.
  ExpectValue(run(Aggregate::kDurationGood, 0), 6'000, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationGood, 2), 8'000, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationGood, 4), 16'000, Severity::kGood);
  ExpectValue(run(Aggregate::kDurationGood, 6), 4'000, Severity::kGood);
  ExpectValue(run(Aggregate::kPercentGood, 6), 100, Severity::kGood);
}

// Feeding a page of rows at once gives the same results as one by one; a refused row is
// named by its index in the page, and the rows before it are fed.
TEST(AggregatesTest, BatchesMatchOneByOne) {
  const TimeGrid grid{S(0), S(40), 10'000'000};
  const std::vector<Aggregate> wanted = {Aggregate::kTimeAverage, Aggregate::kCount,
                                         Aggregate::kWorstQuality};
  auto one = AggregateEngine::Create(wanted, grid, {});
  auto batched = AggregateEngine::Create(wanted, grid, {});
  ASSERT_TRUE(one.ok() && batched.ok());
  for (const RawSample& sample : kMixed) ASSERT_TRUE((*one)->Add(sample).ok());
  ASSERT_TRUE((*batched)->AddBatch(kMixed).ok());
  ASSERT_TRUE((*one)->Finish(At(40, 20)).ok());
  ASSERT_TRUE((*batched)->Finish(At(40, 20)).ok());
  const auto a = (*one)->TakeClosed();
  const auto b = (*batched)->TakeClosed();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t k = 0; k < wanted.size(); ++k) {
      EXPECT_EQ(a[i].values[k].value, b[i].values[k].value);
      EXPECT_EQ(a[i].values[k].status, b[i].values[k].status);
    }
  }

  auto refused = AggregateEngine::Create({Aggregate::kCount}, grid, {});
  ASSERT_TRUE(refused.ok());
  const std::vector<RawSample> page = {At(1, 1), At(2, 2), At(2, 3), At(4, 4)};
  const Status status = (*refused)->AddBatch(page);
  EXPECT_NE(status.message().find("batch sample 2 of 4"), std::string::npos) << status.ToString();
  ASSERT_TRUE((*refused)->Finish(std::nullopt).ok());
  EXPECT_EQ(*(*refused)->TakeClosed().at(0).values[0].value, 2);  // the two before it
}

TEST(AggregatesTest, BadInputIsRefusedNamingIt) {
  const TimeGrid grid{S(0), S(10), 1'000'000};
  auto message = [](const Status& status) { return status.message(); };
  EXPECT_NE(message(AggregateEngine::Create({}, grid, {}).status()).find("none requested"),
            std::string::npos);
  EXPECT_NE(message(AggregateEngine::Create({Aggregate::kCount}, {S(5), S(5), 1}, {}).status())
                .find("not after start"),
            std::string::npos);
  EXPECT_NE(message(AggregateEngine::Create({Aggregate::kCount}, {S(0), S(5), 0}, {}).status())
                .find("step 0 us is not positive"),
            std::string::npos);
  // A day in 1 µs steps is far over the limit.
  EXPECT_NE(message(AggregateEngine::Create({Aggregate::kCount}, {S(0), S(86400), 1}, {}).status())
                .find("more than the limit"),
            std::string::npos);
  AggregateConfig config;
  config.percent_data_bad = 101;
  EXPECT_NE(message(AggregateEngine::Create({Aggregate::kCount}, grid, config).status())
                .find("percent_data_bad 101"),
            std::string::npos);

  auto engine = AggregateEngine::Create({Aggregate::kCount}, grid, {});
  ASSERT_TRUE(engine.ok());
  EXPECT_NE(message((*engine)->SetBoundBefore(At(0, 1))).find("not before the start"),
            std::string::npos);
  ASSERT_TRUE((*engine)->Add(At(5, 1)).ok());
  Status backwards = (*engine)->Add(At(4, 1));
  EXPECT_NE(message(backwards).find("does not come after the previous one"), std::string::npos);
  EXPECT_NE(message(backwards).find(std::to_string(S(4))), std::string::npos);
  EXPECT_FALSE((*engine)->Add(At(5, 2)).ok());  // same time twice
  EXPECT_NE(message((*engine)->Add(At(10, 1))).find("outside the range"), std::string::npos);
  EXPECT_NE(message((*engine)->Add(At(6, std::nan("")))).find("not finite"), std::string::npos);
  // A refused sample changed nothing: the count is still the one accepted sample.
  ASSERT_TRUE((*engine)->Finish(std::nullopt).ok());
  auto closed = (*engine)->TakeClosed();
  int64_t count = 0;
  for (const auto& result : closed) count += static_cast<int64_t>(*result.values[0].value);
  EXPECT_EQ(count, 1);
  EXPECT_FALSE((*engine)->Add(At(7, 1)).ok());
  EXPECT_FALSE((*engine)->Finish(std::nullopt).ok());
}

}  // namespace
}  // namespace sluice::history
