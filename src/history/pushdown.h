#pragma once
// SQL push-down of the count based aggregates that need no order among an interval's
// rows (issue #12, item 8): Minimum, Maximum, Range and Count. The database groups the
// rows of the range by interval with integer arithmetic, (ts - start) / step, and returns
// per interval the number of rows of each severity (quality.h, a row without a finite
// value being Bad as for the engines), the minimum and maximum usable value, and the
// quality of its last row (which governs the following intervals when they have no row:
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

// True when every aggregate of the list can be pushed down and the grid's arithmetic fits
// in int64 on the database (end - start does not overflow).
bool CanPushDown(std::span<const Aggregate> aggregates, const TimeGrid& grid);

// The point's series, one per aggregate in `aggregates`' order, appended to `series`
// (whose point_id and aggregate are set by the caller).
// REQUIRES: CanPushDown(aggregates, grid); `point` has no pending samples.
Status PushDownAggregates(store::Backend& backend, const PointRows& point, const TimeGrid& grid,
                          std::span<const Aggregate> aggregates, const AggregateConfig& config,
                          std::span<v1::AggregateSeries* const> series);

}  // namespace sluice::history
