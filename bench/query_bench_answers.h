#pragma once
// The answers of `sluice-bench query`'s cases in one plain form, whoever computed them
// (the history library, the hand-written SQL baseline, or the history engines fed from
// the generated series in memory), and their comparison: a ratio against a baseline only
// means something when both sides answered the same question with the same result.
//
// Plain data and pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "history/aggregates.h"
#include "history/limit_stats.h"

namespace sluice::bench {

// A raw read of one point, folded as it streams in (the rows are not kept: raw_all is
// 8.6 million of them). The sums are over the rows in time order, so two readers of the
// same rows get bit-identical sums.
struct RawDigest {
  int64_t point_id = 0;
  int64_t rows = 0;
  int64_t first_ts_us = 0;
  int64_t last_ts_us = 0;
  int64_t quality_sum = 0;
  double value_sum = 0;
  int64_t ts_offset_sum_s = 0;  // sum of (ts - first_ts) in seconds: catches shifted rows

  void Add(int64_t ts_us, double value, uint32_t quality);
};

// The four aggregates of the agg15m cases for one interval of one point.
struct AggRow {
  int64_t point_id = 0;
  int64_t start_us = 0;
  bool partial = false;
  history::AggregateValue average, minimum, maximum, count;
};
// The aggregates the agg15m cases ask for, in the order of AggRow's members.
inline constexpr history::Aggregate kAggCaseAggregates[] = {
    history::Aggregate::kAverage, history::Aggregate::kMinimum, history::Aggregate::kMaximum,
    history::Aggregate::kCount};

struct LimitRow {
  int64_t point_id = 0;
  history::LimitIntervalResult interval;
};

// An empty string when equal, else the first difference, naming the point, the interval
// and the field. Averages may differ by `relative_tolerance` (PostgreSQL's avg sums, the
// engine keeps a running mean); everything else must be equal.
std::string CompareRaw(std::span<const RawDigest> ours, std::span<const RawDigest> baseline);
std::string CompareAgg(std::span<const AggRow> ours, std::span<const AggRow> baseline,
                       double relative_tolerance = 1e-9);
std::string CompareLimits(std::span<const LimitRow> ours, std::span<const LimitRow> baseline);

// Part 13's count based status (aggregates.h) from the counts of raw samples in an
// interval, with the defaults the cases use (TreatUncertainAsBad, 100/100).
history::Severity CountBasedStatus(int64_t raw, int64_t good, int64_t bad_or_uncertain);

// The reference: the history engines fed the generated series (query_bench_data.h) of
// `point_ids` over `grid` in memory, with no database between.
Result<std::vector<AggRow>> ReferenceAggregates(std::span<const int64_t> point_ids,
                                                const history::TimeGrid& grid);
Result<std::vector<LimitRow>> ReferenceLimits(std::span<const int64_t> point_ids,
                                              const history::TimeGrid& grid);
std::vector<RawDigest> ReferenceRaw(std::span<const int64_t> point_ids,
                                    const history::TimeGrid& grid);

}  // namespace sluice::bench
