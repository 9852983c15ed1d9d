#pragma once
// History reads over one target (issue #12, items 1-3 and 8): the library behind the
// History service's ReadRaw, ReadInterpolated, ReadAggregates and ReadLimitStats. Each
// call validates the request, reads the rows of sample_<interval> through
// store::Backend::Query (a READ ONLY transaction, rows in batches), merges the pending
// samples the caller hands over, and computes with the engines of aggregates.h and
// limit_stats.h. docs/history.md ("Reads") describes paging, bounds, pending data and
// what is pushed down to SQL.
//
// Contract common to all four:
//  - Every refusal is kInvalidArgument and names the field and the value ("range.end_us
//    1000 is not after range.start_us 1000"); nothing is read from the target then.
//  - Rows: ts in µs, value NULL -> no value. For the engines a row without a value, or
//    with a value that is not finite, is Bad (QUALITY_INVALID is added to its bits): it
//    has no value to offer, and it is counted rather than dropped.
//  - `pending` (may be null) holds, per point, samples the target does not hold yet, in
//    time order, one per ts; they are used only when range.include_pending is set. A
//    pending sample replaces a stored one of the same ts.
//  - Memory does not grow with the range: rows stream from Query's batches into the
//    engines, point after point; only the response grows (one value per interval).
//  - Errors of the target are returned as the backend gives them (retryable or not),
//    annotated with the point.
//
// Thread safety: the functions keep no state; `backend` is used by the calling thread
// only, as store::Backend requires.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/status.h"
#include "history/pending.h"
#include "sluice/v1/service.pb.h"
#include "store/backend.h"

namespace sluice::history {

// A point as the catalog describes it; the service resolves range.point_ids into these.
struct PointInfo {
  int64_t point_id = 0;
  bool stepped = false;        // status points; analog and counter points slope
  std::optional<double> high;  // the catalog's hi
  std::optional<double> low;   // the catalog's lo
};

struct QueryLimits {
  uint32_t default_page = 10000;             // ReadRaw's page when max_values is 0
  uint32_t max_page = 100000;                // ReadRaw's largest max_values
  size_t max_points = 1000;                  // range.point_ids
  int64_t max_intervals = 1000000;           // (end - start) / step, rounded up
  size_t batch_rows = 10000;                 // rows per batch from the target (memory bound)
  bool push_down = true;                     // let the database compute what it can exactly
  int64_t max_push_down_intervals = 100000;  // more: stream (push-down probes each interval)
};

// Raw rows of range.point_ids, point after point (in their order), each point's rows in
// time order, at most max_values (0: limits.default_page) rows per page over all points.
// `continuation` empty: the first page; else the previous response's, for the same
// request (the token carries a hash of range and bounds, and is refused otherwise).
// With `bounds`, a point's first page carries the last sample before start and its last
// page the first sample at or after end (pending samples count for both).
// The response's continuation is empty on the last page.
Status ReadRaw(store::Backend& backend, const v1::ReadRawRequest& request,
               const PendingSamples* pending, const QueryLimits& limits,
               v1::ReadRawResponse* response);

// The Interpolative aggregate at start, start + step, ...: one AggregateSeries per point.
// `points` has one entry per range.point_ids, in that order (same id); settings.stepped,
// when set, overrides PointInfo::stepped.
Status ReadInterpolated(store::Backend& backend, const v1::ReadInterpolatedRequest& request,
                        std::span<const PointInfo> points, const PendingSamples* pending,
                        const QueryLimits& limits, v1::ReadAggregatesResponse* response);

// The requested aggregates over [start + k*step, start + (k+1)*step): series point after
// point, aggregate after aggregate (request order). Minimum, Maximum, Range and Count
// alone are computed by PostgreSQL when nothing pending is merged and limits.push_down
// is set (pushdown.h); the results are the same either way (docs/history.md).
Status ReadAggregates(store::Backend& backend, const v1::ReadAggregatesRequest& request,
                      std::span<const PointInfo> points, const PendingSamples* pending,
                      const QueryLimits& limits, v1::ReadAggregatesResponse* response);

// Limit statistics per interval; limits from the request (high/low, either or both),
// else the point's (PointInfo::high/low). A point left without a limit is refused.
Status ReadLimitStats(store::Backend& backend, const v1::ReadLimitStatsRequest& request,
                      std::span<const PointInfo> points, const PendingSamples* pending,
                      const QueryLimits& limits, v1::ReadLimitStatsResponse* response);

}  // namespace sluice::history
