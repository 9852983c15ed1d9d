#pragma once
// SQL push-down of the count based aggregates that need no order among an interval's
// rows (issue #12, item 8): Minimum, Maximum, Range and Count, on PostgreSQL. The
// database aggregates each interval [start + k*step, start + (k+1)*step) and returns
// per interval the number of rows of each severity (quality.h, a row without a finite
// value being Bad as for the engines), the minimum and maximum usable value, and the
// severity of its last row (which governs the following intervals when they have no row:
// Count's time based status there). The results are those of AggregateEngine on the same
// rows, bit for bit: counts are exact and a minimum or maximum is one of the values.
//
// Not pushed down: everything that depends on order or on the series between rows
// (Average and the deviations, whose floating sums depend on the order of additions;
// *ActualTime, Start, End, Delta, WorstQuality, and the time based aggregates), and any
// read that merges pending samples. Those stream (point_feed.h).
//
// Thread safety: as store::Backend, one thread per backend.

#include <span>
#include <vector>

#include "history/aggregates.h"
#include "history/sample_rows.h"

namespace sluice::history {

// True when the target is PostgreSQL, every aggregate of the list can be pushed down, the
// grid has at most `max_intervals` intervals (one index probe each) and its arithmetic fits
// in int64 on the database. SQLite streams: there grouping the range costs more than
// stepping through its rows in the same process (measured, docs/history.md).
bool CanPushDown(std::string_view dialect, std::span<const Aggregate> aggregates,
                 const TimeGrid& grid, int64_t max_intervals);

// The point's series, one per aggregate in `aggregates`' order, appended to `series`
// (whose point_id and aggregate are set by the caller).
// REQUIRES: CanPushDown(aggregates, grid); `point` has no pending samples.
Status PushDownAggregates(store::Backend& backend, const PointRows& point, const TimeGrid& grid,
                          std::span<const Aggregate> aggregates, const AggregateConfig& config,
                          std::span<v1::AggregateSeries* const> series);

}  // namespace sluice::history
