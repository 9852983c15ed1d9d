#pragma once
// The OPC UA Part 13 aggregates over the intervals of a history query, computed from a
// time-ordered stream of one point's raw samples (issue #12, item 3). Pure computation:
// the query layer reads the rows and feeds them; results come out as each interval closes,
// and memory does not grow with the range (a fixed state per requested aggregate).
//
// What we follow (OPC 10000-13, v1.05) and where we chose:
//
// Intervals: [start + k*step, start + (k+1)*step); the last one is cut at the range's
// end and flagged `partial` (its own length is used wherever a length is). Samples are
// governed by quality as quality.h maps it. A sample is *usable* when Good, or Uncertain
// with treat_uncertain_as_bad = false (Part 13's TreatUncertainAsBad, default true).
//
// The series between samples: a sample's quality holds until the next sample. A usable
// sample's value holds (stepped: status points, `stepped = true`) or goes in a straight
// line to the next sample (sloped: analog points) when that next sample is usable too;
// when the next one is not usable or none is known, the value holds (Part 13 turns to
// stepped extrapolation there too). Before the first sample, without a bound before the
// range, there is no data (counted as bad time). After the last sample, without a bound
// after the range, the last sample holds until the end of the range: a point reported by
// exception keeps its last value (Part 13 would say Bad_NoData after the end of data; a
// control centre's question "how long was it in state 0 today" wants the held value).
//
// Status, two ways (Part 13 §5.4.3.2):
//  - time based (Interpolative excepted, see below): over the interval's length, the
//    share of Good time and the share of Bad time (no data and Bad, plus Uncertain when
//    treat_uncertain_as_bad). Bad if bad share >= percent_data_bad, else Good if good
//    share >= percent_data_good, else Uncertain. Uncertain time counts in neither share
//    when it is usable: with the defaults (100/100) an interval with any uncertain time
//    is Uncertain, as Part 13 asks ("still treated as Uncertain when the StatusCode for
//    the result is calculated").
//  - count based (the aggregates of raw values, which Part 13 says are "not time based"):
//    the same rule over the number of raw samples in the interval; no sample: Bad.
// The value is given whenever it can be computed from usable data, whatever the status;
// with no usable data it is absent (Part 13 Bad_NoData).
//
// Each aggregate (units: durations in milliseconds, OPC UA's Duration; Total in value x
// seconds):
//  Interpolative      the series' value at the interval start (sloped or stepped as
//                     above). Good when both neighbours are usable and Good (or the
//                     sample is at the start), Uncertain when a neighbour is Uncertain or
//                     the next one is not usable (stepped extrapolation); Bad and
//                     absent when the sample governing the start is not usable or there
//                     is none (we do not search further back for a usable one).
//  TimeAverage        integral of the usable series / usable time. Time based status.
//  Total              integral of the usable series, value x seconds. Time based.
//  Average            mean of the usable raw samples in the interval. Count based.
//  Minimum, Maximum   of the usable raw samples; *ActualTime: stamped with the first
//                     sample that has it. Count based.
//  Range              Maximum - Minimum. Count based.
//  Count              number of usable raw samples, 0 (not absent) when there are none.
//                     Count based; an interval without any raw sample takes the time
//                     based status instead (a held value may cover it: 0 samples, Good).
//  Start, End         the first / last raw sample of the interval, any quality; status is
//                     that sample's severity. None: absent, Bad.
//  Delta              last usable raw sample - first usable one (0 for a single one).
//                     Count based.
//  StandardDeviation/Variance Sample (n-1, needs 2 samples) and Population (n, needs 1)
//                     over the usable raw samples (Welford's method). Count based.
//  DurationGood       usable time, ms; DurationBad = interval length - DurationGood, so
//                     the two always add up to the length. Always Good.
//  PercentGood/Bad    the same over the interval's length x 100. Always Good.
//  WorstQuality       the quality bits of the first raw sample of the worst severity in
//                     the interval (as a number); no sample: absent, Bad.
//  DurationInStateZero/NonZero  usable time with the held value == 0 / != 0, ms: always
//                     stepped, as a state does not slope. Time based.
//  NumberOfTransitions  usable raw samples in the interval whose value differs from the
//                     previous usable sample's (which may lie before the interval or be
//                     the bound before). Time based.
//
// Not thread-safe: one engine per query and point, used by one thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "history/interval_walker.h"
#include "history/quality.h"

namespace sluice::history {

enum class Aggregate {
  kInterpolative,
  kAverage,
  kTimeAverage,
  kTotal,
  kMinimum,
  kMaximum,
  kMinimumActualTime,
  kMaximumActualTime,
  kRange,
  kCount,
  kStart,
  kEnd,
  kDelta,
  kStandardDeviationSample,
  kStandardDeviationPopulation,
  kVarianceSample,
  kVariancePopulation,
  kDurationGood,
  kDurationBad,
  kPercentGood,
  kPercentBad,
  kWorstQuality,
  kDurationInStateZero,
  kDurationInStateNonZero,
  kNumberOfTransitions,
};

// All of them, in the order above.
std::span<const Aggregate> AllAggregates();
// Part 13's name: "TimeAverage".
std::string_view AggregateName(Aggregate aggregate);
// Case-insensitive; the error names the text and lists the known names.
Result<Aggregate> ParseAggregate(std::string_view text);

struct AggregateConfig {
  bool stepped = false;                // status points; analog points slope
  bool treat_uncertain_as_bad = true;  // Part 13 default
  int percent_data_good = 100;         // 0..100
  int percent_data_bad = 100;          // 0..100
};
// Refuses percentages outside 0..100, naming the key.
Status ValidateConfig(const AggregateConfig& config);
// share/whole >= percent/100, exactly (lengths in µs may be large): the good/bad share
// tests of the status of an interval, raw and pushed down alike.
bool ShareAtLeast(int64_t share, int64_t whole, int percent);

inline constexpr int64_t kDefaultMaxIntervals = 1'000'000;

struct AggregateValue {
  std::optional<double> value;  // absent: no usable data
  int64_t ts_us = 0;            // interval start, or the sample's time for *ActualTime
  Severity status = Severity::kBad;
};

struct IntervalResult {
  IntervalSpan span;
  std::vector<AggregateValue> values;  // one per requested aggregate, in request order
};

class AggregateEngine {
 public:
  // The error names what was wrong: an empty aggregate list, the grid, the config.
  static Result<std::unique_ptr<AggregateEngine>> Create(
      std::vector<Aggregate> aggregates, const TimeGrid& grid, const AggregateConfig& config,
      int64_t max_intervals = kDefaultMaxIntervals);
  ~AggregateEngine();

  // As IntervalWalker (interval_walker.h): the bound before (optional, first), the
  // samples in time order within the range, then Finish with the bound after.
  Status SetBoundBefore(const RawSample& sample);
  Status Add(const RawSample& sample);
  Status AddBatch(std::span<const RawSample> samples);
  Status Finish(const std::optional<RawSample>& bound_after);

  // The intervals closed since the last call, oldest first. Drain after each Add (or
  // batch) to keep memory flat.
  std::vector<IntervalResult> TakeClosed();

 private:
  class Accumulator;
  AggregateEngine(std::vector<Aggregate> aggregates, const TimeGrid& grid,
                  const AggregateConfig& config);

  std::unique_ptr<Accumulator> accumulator_;
  std::unique_ptr<IntervalWalker> walker_;
};

}  // namespace sluice::history
