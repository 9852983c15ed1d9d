#pragma once
// Streams one point's rows into an interval engine (AggregateEngine or LimitStatsEngine):
// the bound before, the rows of the range batch by batch (sample_rows.h), the bound
// after; `drain` is called after each batch and at the end, so that closed intervals
// leave the engine as soon as they close and memory stays one batch.
//
// Thread safety: as store::Backend, one thread per backend.

#include <functional>
#include <vector>

#include <fmt/format.h>

#include "history/sample_rows.h"

namespace sluice::history {

template <typename Engine>
Status FeedPoint(store::Backend& backend, const PointRows& point, const TimeGrid& grid,
                 size_t batch_rows, Engine& engine, const std::function<void()>& drain) {
  const auto where = [&](const Status& st) {
    return st.Annotate(fmt::format("{} point {}", point.table, point.point_id));
  };
  SLUICE_ASSIGN_OR_RETURN(Bounds bounds, ReadBounds(backend, point, grid.start_us, grid.end_us));
  if (bounds.before)
    SLUICE_RETURN_IF_ERROR(where(engine.SetBoundBefore(ToRawSample(*bounds.before))));
  std::vector<RawSample> raw;
  raw.reserve(batch_rows);
  SLUICE_RETURN_IF_ERROR(StreamRows(backend, point, grid.start_us, grid.end_us, 0, batch_rows,
                                    [&](std::span<const SampleRow> rows) -> Status {
                                      raw.clear();
                                      for (const SampleRow& row : rows)
                                        raw.push_back(ToRawSample(row));
                                      SLUICE_RETURN_IF_ERROR(where(engine.AddBatch(raw)));
                                      drain();
                                      return Status::OK();
                                    }));
  std::optional<RawSample> after;
  if (bounds.after) after = ToRawSample(*bounds.after);
  SLUICE_RETURN_IF_ERROR(where(engine.Finish(after)));
  drain();
  return Status::OK();
}

}  // namespace sluice::history
