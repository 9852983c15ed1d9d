// ReadRaw (query.h): raw rows, paged over all points with a continuation token.

#include <algorithm>

#include <fmt/format.h>

#include "history/continuation.h"
#include "history/query.h"
#include "history/query_validate.h"
#include "history/sample_rows.h"

namespace sluice::history {

Status ReadRaw(store::Backend& backend, const v1::ReadRawRequest& request,
               const PendingSamples* pending, const QueryLimits& limits,
               v1::ReadRawResponse* response) {
  response->Clear();
  SLUICE_ASSIGN_OR_RETURN(CheckedRange range, CheckRange(request.range(), limits));
  SLUICE_ASSIGN_OR_RETURN(uint32_t page, CheckPageSize(request.max_values(), limits));
  const uint64_t hash = RawRequestHash(request);
  RawPosition position;
  if (!request.continuation().empty()) {
    SLUICE_ASSIGN_OR_RETURN(
        position, DecodeContinuation(request.continuation(), hash, range.point_ids.size()));
    // The hash is no secret: a forged token must still not make us read outside the range.
    if (position.has_last &&
        (position.last_ts_us < range.start_us || position.last_ts_us >= range.end_us)) {
      return Status::InvalidArgument(
          fmt::format("continuation: last ts {} is outside the range [{}, {})", position.last_ts_us,
                      range.start_us, range.end_us));
    }
  }
  SLUICE_RETURN_IF_ERROR(CheckPending(pending, range));

  size_t remaining = page;
  for (size_t i = position.point_index; i < range.point_ids.size(); ++i) {
    const bool resumed = i == position.point_index && position.has_last;
    if (remaining == 0) {
      // The page is full exactly at a point's end: the next page starts the next point.
      response->set_continuation(
          EncodeContinuation(RawPosition{static_cast<uint32_t>(i), false, 0}, hash));
      return Status::OK();
    }
    const PointRows point{range.table, range.point_ids[i],
                          PendingOf(pending, range.include_pending, range.point_ids[i])};
    const int64_t from_us = resumed ? position.last_ts_us + 1 : range.start_us;
    // One row more than the page takes tells whether the point goes on.
    std::vector<SampleRow> rows;
    SLUICE_RETURN_IF_ERROR(StreamRows(backend, point, from_us, range.end_us, remaining + 1,
                                      std::min(remaining + 1, limits.batch_rows),
                                      [&](std::span<const SampleRow> batch) {
                                        rows.insert(rows.end(), batch.begin(), batch.end());
                                        return Status::OK();
                                      }));
    const bool more = rows.size() > remaining;
    if (more) rows.resize(remaining);

    v1::PointRawSamples* out = response->add_points();
    out->set_point_id(point.point_id);
    for (const SampleRow& row : rows) *out->add_samples() = ToHistorySample(row);
    if (request.bounds() && (!resumed || !more)) {
      SLUICE_ASSIGN_OR_RETURN(Bounds bounds,
                              ReadBounds(backend, point, range.start_us, range.end_us));
      if (!resumed && bounds.before) *out->mutable_bound_before() = ToHistorySample(*bounds.before);
      if (!more && bounds.after) *out->mutable_bound_after() = ToHistorySample(*bounds.after);
    }
    if (more) {
      response->set_continuation(
          EncodeContinuation(RawPosition{static_cast<uint32_t>(i), true, rows.back().ts_us}, hash));
      return Status::OK();
    }
    remaining -= rows.size();
  }
  return Status::OK();
}

}  // namespace sluice::history
