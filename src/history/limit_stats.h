#pragma once
// Limit statistics over the intervals of a history query (issue #12, item 4): per
// interval, the excursions above the high limit and below the low limit (how many, how
// long in all, the longest) and the pass rate (合格率) the control room reports:
//
//   pass rate = 1 - (time above + time below) / time with usable data
//
// The series is stepped: a sample's value holds until the next sample (the moment a
// sampled or reported-by-exception value crossed a limit between two samples is not
// known, so no crossing time is invented by interpolation). A value strictly above
// `high` is above, strictly below `low` is below; a value equal to a limit is within.
// Only usable data counts (Good, or Uncertain when treat_uncertain_as_bad is false, as
// for the aggregates, quality.h): time with bad, uncertain-as-bad or no data is neither
// within nor out of limits, is left out of the pass rate's denominator, and ends an
// excursion (what happened meanwhile is not known). Before the first sample without a
// bound before, and after the last without a bound after, as in aggregates.h: no data
// before, the last sample holds after.
//
// An excursion that crosses interval boundaries is split: each interval's total and
// longest count only the time inside that interval, and it is counted (`count`) once,
// in the interval where it starts. `longest_start_us` is the start of the excursion the
// longest stretch belongs to, so it may lie in an earlier interval. An excursion already
// under way at the range's start (the bound before is out of limits) started before the
// range: no interval of the range counts it, and its start is given as the bound's time
// (it may have begun earlier still).
//
// Not thread-safe: one engine per query and point, used by one thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/status.h"
#include "history/interval_walker.h"

namespace sluice::history {

struct LimitConfig {
  std::optional<double> high;  // at least one of the two; finite; low <= high
  std::optional<double> low;
  bool treat_uncertain_as_bad = true;
};
Status ValidateLimitConfig(const LimitConfig& config);

struct ExcursionStats {
  int64_t count = 0;             // excursions that start in this interval
  int64_t total_us = 0;          // time out of this limit inside this interval
  int64_t longest_us = 0;        // longest unbroken stretch inside this interval (0: none)
  int64_t longest_start_us = 0;  // start of that stretch's excursion; meaningful if longest_us > 0
};

struct LimitIntervalResult {
  IntervalSpan span;
  int64_t usable_us = 0;  // time with usable data: the pass rate's denominator
  ExcursionStats above;
  ExcursionStats below;
  std::optional<double> pass_rate;  // 0..1; absent when usable_us is 0
};

class LimitStatsEngine {
 public:
  // The error names what was wrong: the limits, the grid.
  static Result<std::unique_ptr<LimitStatsEngine>> Create(const LimitConfig& config,
                                                          const TimeGrid& grid,
                                                          int64_t max_intervals);
  ~LimitStatsEngine();

  // As IntervalWalker (interval_walker.h).
  Status SetBoundBefore(const RawSample& sample);
  Status Add(const RawSample& sample);
  Status AddBatch(std::span<const RawSample> samples);
  Status Finish(const std::optional<RawSample>& bound_after);
  // The intervals closed since the last call, oldest first.
  std::vector<LimitIntervalResult> TakeClosed();

 private:
  class Accumulator;
  LimitStatsEngine(const LimitConfig& config, const TimeGrid& grid);

  std::unique_ptr<Accumulator> accumulator_;
  std::unique_ptr<IntervalWalker> walker_;
};

}  // namespace sluice::history
