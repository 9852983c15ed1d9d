#pragma once
// Reading one point's rows of a sample table through store::Backend::Query, with the
// pending samples (pending.h) merged in: the bound before / after a range, and the rows
// of a range in time order, handed over in batches so that memory stays one batch.
//
// Thread safety: as store::Backend, one thread per backend; no state of its own.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "history/interval_walker.h"
#include "history/pending.h"
#include "sluice/v1/service.pb.h"
#include "store/backend.h"

namespace sluice::history {

// One row of sample_<interval> (or a pending sample).
struct SampleRow {
  int64_t ts_us = 0;
  std::optional<double> value;  // NULL: absent
  uint32_t quality = 0;
  bool manual = false;
  bool pending = false;
};

v1::HistorySample ToHistorySample(const SampleRow& row);
SampleRow FromHistorySample(const v1::HistorySample& sample);
// For the engines: a row without a finite value is Bad (QUALITY_INVALID added), value 0.
RawSample ToRawSample(const SampleRow& row);

// What to read: one point of one table; `pending` (may be null) that point's pending
// samples in time order.
struct PointRows {
  std::string_view table;
  int64_t point_id = 0;
  const std::vector<v1::HistorySample>* pending = nullptr;
};

struct Bounds {
  std::optional<SampleRow> before;  // last row with ts < start
  std::optional<SampleRow> after;   // first row with ts >= end
};
// One query for both; a pending sample wins when it is nearer the range (or at the same ts).
Result<Bounds> ReadBounds(store::Backend& backend, const PointRows& point, int64_t start_us,
                          int64_t end_us);

// Rows with from_us <= ts < end_us in time order, pending merged, in batches of at most
// `batch_rows` (pending samples may make a batch a little larger). `stored_limit` > 0
// reads at most that many stored rows; then only the merged rows up to the last stored
// row's ts are complete (pending samples after it are handed over too, at the end: a
// caller that limits takes only the first stored_limit rows).
using RowBatchSink = std::function<Status(std::span<const SampleRow> rows)>;
Status StreamRows(store::Backend& backend, const PointRows& point, int64_t from_us, int64_t end_us,
                  size_t stored_limit, size_t batch_rows, const RowBatchSink& sink);

// The point's pending samples when the range includes them, else null.
const std::vector<v1::HistorySample>* PendingOf(const PendingSamples* pending, bool include,
                                                int64_t point_id);

// The pending samples with from_us <= ts < end_us ([first, last) of `pending`).
std::span<const v1::HistorySample> PendingWithin(const std::vector<v1::HistorySample>* pending,
                                                 int64_t from_us, int64_t end_us);

}  // namespace sluice::history
