// Reading one point's rows with pending samples merged (sample_rows.h).

#include "history/sample_rows.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sluice/v1/records.pb.h"

namespace sluice::history {
namespace {

v1::SqlValue Int(int64_t v) {
  v1::SqlValue value;
  value.set_int_value(v);
  return value;
}

Result<int64_t> IntOf(const v1::SqlValue& v, std::string_view column) {
  if (v.kind_case() == v1::SqlValue::kIntValue) return v.int_value();
  return Status::Internal(fmt::format("sample row: column {} is not an integer", column));
}

Result<SampleRow> RowOf(const std::vector<v1::SqlValue>& row) {
  if (row.size() != 4) {
    return Status::Internal(fmt::format("sample row: {} columns, expected 4", row.size()));
  }
  SampleRow out;
  SLUICE_ASSIGN_OR_RETURN(out.ts_us, IntOf(row[0], "ts"));
  switch (row[1].kind_case()) {
    case v1::SqlValue::kDoubleValue:
      out.value = row[1].double_value();
      break;
    case v1::SqlValue::kIntValue:
      out.value = static_cast<double>(row[1].int_value());
      break;
    case v1::SqlValue::kNullValue:
      break;
    default:
      return Status::Internal(fmt::format("sample row at ts {}: value is not a number", out.ts_us));
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t quality, IntOf(row[2], "quality"));
  out.quality = static_cast<uint32_t>(quality);
  SLUICE_ASSIGN_OR_RETURN(int64_t manual, IntOf(row[3], "manual"));
  out.manual = manual != 0;
  return out;
}

// The columns every read selects, in RowOf's order.
constexpr std::string_view kColumns = "ts, value, quality, manual";

std::string PointContext(const PointRows& point) {
  return fmt::format("{} point {}", point.table, point.point_id);
}

}  // namespace

v1::HistorySample ToHistorySample(const SampleRow& row) {
  v1::HistorySample out;
  out.set_ts_us(row.ts_us);
  if (row.value) out.set_value(*row.value);
  out.set_quality(row.quality);
  out.set_manual(row.manual);
  out.set_pending(row.pending);
  return out;
}

SampleRow FromHistorySample(const v1::HistorySample& sample) {
  SampleRow row;
  row.ts_us = sample.ts_us();
  if (sample.has_value()) row.value = sample.value();
  row.quality = sample.quality();
  row.manual = sample.manual();
  row.pending = true;
  return row;
}

RawSample ToRawSample(const SampleRow& row) {
  if (row.value && std::isfinite(*row.value)) return RawSample{row.ts_us, *row.value, row.quality};
  return RawSample{row.ts_us, 0, row.quality | static_cast<uint32_t>(v1::QUALITY_INVALID)};
}

const std::vector<v1::HistorySample>* PendingOf(const PendingSamples* pending, bool include,
                                                int64_t point_id) {
  if (!include || pending == nullptr) return nullptr;
  auto it = pending->find(point_id);
  return it == pending->end() || it->second.empty() ? nullptr : &it->second;
}

std::span<const v1::HistorySample> PendingWithin(const std::vector<v1::HistorySample>* pending,
                                                 int64_t from_us, int64_t end_us) {
  if (pending == nullptr) return {};
  const auto by_ts = [](const v1::HistorySample& s, int64_t t) { return s.ts_us() < t; };
  auto first = std::lower_bound(pending->begin(), pending->end(), from_us, by_ts);
  auto last = std::lower_bound(first, pending->end(), end_us, by_ts);
  return {first, last};
}

Result<Bounds> ReadBounds(store::Backend& backend, const PointRows& point, int64_t start_us,
                          int64_t end_us) {
  v1::SqlStatement statement;
  // Each bound is an index probe on (point_id, ts); the subqueries keep ORDER BY/LIMIT
  // legal inside UNION ALL on both dialects.
  statement.set_text(
      fmt::format("SELECT {0} FROM (SELECT {0} FROM {1} WHERE point_id = $1 AND ts < $2 "
                  "ORDER BY ts DESC LIMIT 1) AS b "
                  "UNION ALL SELECT {0} FROM (SELECT {0} FROM {1} WHERE point_id = $1 AND ts >= $3 "
                  "ORDER BY ts LIMIT 1) AS a",
                  kColumns, point.table));
  *statement.add_params() = Int(point.point_id);
  *statement.add_params() = Int(start_us);
  *statement.add_params() = Int(end_us);
  Bounds bounds;
  Status st = backend.Query(
      statement, 2, 2,
      [&](const std::vector<std::string>&, std::vector<std::vector<v1::SqlValue>>& rows) -> Status {
        for (const auto& row : rows) {
          SLUICE_ASSIGN_OR_RETURN(SampleRow r, RowOf(row));
          (r.ts_us < start_us ? bounds.before : bounds.after) = r;
        }
        return Status::OK();
      });
  if (!st.ok()) return st.Annotate(fmt::format("bounds of {}", PointContext(point)));
  if (point.pending != nullptr && !point.pending->empty()) {
    const auto& p = *point.pending;
    auto first_at_start =
        std::lower_bound(p.begin(), p.end(), start_us,
                         [](const v1::HistorySample& s, int64_t t) { return s.ts_us() < t; });
    if (first_at_start != p.begin()) {
      const v1::HistorySample& before = *std::prev(first_at_start);
      if (!bounds.before || before.ts_us() >= bounds.before->ts_us) {
        bounds.before = FromHistorySample(before);
      }
    }
    auto first_at_end =
        std::lower_bound(first_at_start, p.end(), end_us,
                         [](const v1::HistorySample& s, int64_t t) { return s.ts_us() < t; });
    if (first_at_end != p.end()) {
      if (!bounds.after || first_at_end->ts_us() <= bounds.after->ts_us) {
        bounds.after = FromHistorySample(*first_at_end);
      }
    }
  }
  return bounds;
}

Status StreamRows(store::Backend& backend, const PointRows& point, int64_t from_us, int64_t end_us,
                  size_t stored_limit, size_t batch_rows, const RowBatchSink& sink) {
  v1::SqlStatement statement;
  std::string text =
      fmt::format("SELECT {} FROM {} WHERE point_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
                  kColumns, point.table);
  if (stored_limit > 0) text += fmt::format(" LIMIT {}", stored_limit);
  statement.set_text(std::move(text));
  *statement.add_params() = Int(point.point_id);
  *statement.add_params() = Int(from_us);
  *statement.add_params() = Int(end_us);

  const std::span<const v1::HistorySample> pending = PendingWithin(point.pending, from_us, end_us);
  size_t next_pending = 0;
  std::vector<SampleRow> merged;
  merged.reserve(batch_rows);
  Status st = backend.Query(
      statement, batch_rows, 0,
      [&](const std::vector<std::string>&, std::vector<std::vector<v1::SqlValue>>& rows) -> Status {
        merged.clear();
        for (const auto& row : rows) {
          SLUICE_ASSIGN_OR_RETURN(SampleRow stored, RowOf(row));
          while (next_pending < pending.size() && pending[next_pending].ts_us() < stored.ts_us) {
            merged.push_back(FromHistorySample(pending[next_pending++]));
          }
          // A pending sample replaces the stored one of the same time.
          if (next_pending < pending.size() && pending[next_pending].ts_us() == stored.ts_us) {
            merged.push_back(FromHistorySample(pending[next_pending++]));
            continue;
          }
          merged.push_back(stored);
        }
        if (merged.empty()) return Status::OK();
        return sink(merged);
      });
  if (!st.ok()) return st.Annotate(fmt::format("rows of {}", PointContext(point)));
  merged.clear();
  while (next_pending < pending.size()) {
    merged.push_back(FromHistorySample(pending[next_pending++]));
    if (merged.size() >= batch_rows) {
      SLUICE_RETURN_IF_ERROR(sink(merged));
      merged.clear();
    }
  }
  if (!merged.empty()) SLUICE_RETURN_IF_ERROR(sink(merged));
  return Status::OK();
}

}  // namespace sluice::history
