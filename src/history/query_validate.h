#pragma once
// The checks of a history read request (query.h), made before any row is read: every
// refusal is kInvalidArgument naming the request's field and the value that was wrong.
// Also the mapping of the request's settings and enums to the engines' types.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "history/aggregates.h"
#include "history/interval_walker.h"
#include "history/pending.h"
#include "history/query.h"
#include "sluice/v1/service.pb.h"

namespace sluice::history {

// A HistoryRange that passed the checks.
struct CheckedRange {
  std::string table;               // sample_<interval>
  std::vector<int64_t> point_ids;  // in request order, no duplicates
  int64_t start_us = 0;
  int64_t end_us = 0;  // exclusive, > start_us
  bool include_pending = false;
};

// At least one point and at most limits.max_points, no point twice, a known interval,
// start < end.
Result<CheckedRange> CheckRange(const v1::HistoryRange& range, const QueryLimits& limits);
// step > 0 and at most limits.max_intervals intervals over the range.
Result<TimeGrid> CheckStep(const CheckedRange& range, int64_t step_us, const QueryLimits& limits);
// `points` matches range.point_ids one to one, in order.
Status CheckPoints(const CheckedRange& range, std::span<const PointInfo> points);
// The pending samples of the range's points, when it includes them: each point's in
// strictly increasing time (pending.h), else a refusal naming the point and the index.
Status CheckPending(const PendingSamples* pending, const CheckedRange& range);
// ReadRaw's page size: 0 -> default_page; more than max_page is refused.
Result<uint32_t> CheckPageSize(uint32_t max_values, const QueryLimits& limits);
// Known aggregates, at least one, none twice.
Result<std::vector<Aggregate>> CheckAggregates(std::span<const int> aggregates);
// Part 13's configuration from the request's settings and the point's kind.
Result<AggregateConfig> ToAggregateConfig(const v1::AggregateSettings& settings,
                                          bool point_stepped);

v1::AggregateType ToProtoAggregate(Aggregate aggregate);
v1::ValueStatus ToProtoStatus(Severity severity);

}  // namespace sluice::history
