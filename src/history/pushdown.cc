// SQL push-down of Minimum, Maximum, Range and Count (pushdown.h).

#include "history/pushdown.h"

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "history/query_validate.h"

namespace sluice::history {
namespace {

// A row's severity as quality.h's ClassifyQuality, with a row lacking a finite value Bad
// (sample_rows.h's ToRawSample): 0 Good, 1 Uncertain, 2 Bad. `{finite}` is the dialect's
// test, as PostgreSQL has NaN and both have infinities.
constexpr std::string_view kSeverity =
    "CASE WHEN value IS NULL OR NOT ({finite}) OR (quality & 1) <> 0 THEN 2 "
    "WHEN quality = 0 OR quality = 4 THEN 0 ELSE 1 END";
constexpr std::string_view kPostgresFinite =
    "value <> 'Infinity'::float8 AND value <> '-Infinity'::float8 AND value <> 'NaN'::float8";

// One statement: per interval with rows, the counts by severity, the usable extremes and
// the severity of its last row, as max((ts - start) * 4 + severity) % 4 (ts is unique
// per point, so the largest of these belongs to the last row; CanPushDown keeps
// (end - start) * 4 within int64). No join, no second read.
//
// The intervals are walked by generate_series and each is aggregated by its own index
// range scan (LATERAL): grouping by (ts - start) / step instead makes PostgreSQL sort or
// hash the whole range, as it cannot know that the buckets follow the index's order
// (measured: the sort costs more than streaming every row to the client).
std::string PushDownSql(std::string_view table) {
  const std::string severity =
      fmt::format(fmt::runtime(kSeverity), fmt::arg("finite", kPostgresFinite));
  return fmt::format(
      "SELECT k, a.n, a.n_good, a.n_uncertain, a.lo, a.hi, a.last_sev "
      "FROM generate_series(0::bigint, $6::bigint) AS k CROSS JOIN LATERAL ("
      "SELECT count(*) AS n, sum(CASE WHEN sev = 0 THEN 1 ELSE 0 END) AS n_good, "
      "sum(CASE WHEN sev = 1 THEN 1 ELSE 0 END) AS n_uncertain, "
      "min(CASE WHEN sev <= $5 THEN value END) AS lo, "
      "max(CASE WHEN sev <= $5 THEN value END) AS hi, "
      "max(offset_us * 4 + sev) % 4 AS last_sev "
      "FROM (SELECT ts - $2 AS offset_us, value, {1} AS sev FROM {0} "
      "WHERE point_id = $1 AND ts >= $2 + k * $4 AND ts < LEAST($2 + (k + 1) * $4, $3)) AS r"
      ") AS a WHERE a.n > 0 ORDER BY k",
      table, severity);
}

v1::SqlValue IntParam(int64_t v) {
  v1::SqlValue value;
  value.set_int_value(v);
  return value;
}

Result<int64_t> IntAt(const std::vector<v1::SqlValue>& row, size_t i) {
  if (row[i].kind_case() == v1::SqlValue::kIntValue) return row[i].int_value();
  return Status::Internal(fmt::format("push-down row: column {} is not an integer", i));
}
Result<std::optional<double>> NumberAt(const std::vector<v1::SqlValue>& row, size_t i) {
  switch (row[i].kind_case()) {
    case v1::SqlValue::kDoubleValue:
      return std::optional<double>(row[i].double_value());
    case v1::SqlValue::kIntValue:
      return std::optional<double>(static_cast<double>(row[i].int_value()));
    case v1::SqlValue::kNullValue:
      return std::optional<double>();
    default:
      return Status::Internal(fmt::format("push-down row: column {} is not a number", i));
  }
}

struct Bucket {
  int64_t n = 0;  // rows
  int64_t good = 0;
  int64_t uncertain = 0;
  std::optional<double> lo, hi;    // over the usable rows
  Severity last = Severity::kBad;  // the last row's
};

// The engine's count based status.
Severity CountStatus(const Bucket& b, const AggregateConfig& config) {
  if (b.n == 0) return Severity::kBad;
  const int64_t bad =
      (b.n - b.good - b.uncertain) + (config.treat_uncertain_as_bad ? b.uncertain : 0);
  if (ShareAtLeast(bad, b.n, config.percent_data_bad)) return Severity::kBad;
  if (ShareAtLeast(b.good, b.n, config.percent_data_good)) return Severity::kGood;
  return Severity::kUncertain;
}

// The engine's time based status of an interval without rows: all of it is governed by
// the last row before it (none: no data).
Severity EmptyTimeStatus(std::optional<Severity> governing, int64_t length_us,
                         const AggregateConfig& config) {
  const int64_t good = governing == Severity::kGood ? length_us : 0;
  const int64_t uncertain = governing == Severity::kUncertain ? length_us : 0;
  const int64_t bad = (!governing || governing == Severity::kBad) ? length_us : 0;
  const int64_t bad_share = bad + (config.treat_uncertain_as_bad ? uncertain : 0);
  if (ShareAtLeast(bad_share, length_us, config.percent_data_bad)) return Severity::kBad;
  if (ShareAtLeast(good, length_us, config.percent_data_good)) return Severity::kGood;
  return Severity::kUncertain;
}

bool PushedDown(Aggregate aggregate) {
  return aggregate == Aggregate::kMinimum || aggregate == Aggregate::kMaximum ||
         aggregate == Aggregate::kRange || aggregate == Aggregate::kCount;
}

}  // namespace

bool CanPushDown(std::string_view dialect, std::span<const Aggregate> aggregates,
                 const TimeGrid& grid, int64_t max_intervals) {
  if (dialect != "postgres") return false;
  if (IntervalCount(grid) > max_intervals) return false;
  // (ts - start) * 4 + severity must not overflow on the database.
  int64_t distance = 0;
  if (__builtin_sub_overflow(grid.end_us, grid.start_us, &distance)) return false;
  if (distance > INT64_MAX / 4 - 4) return false;
  // start + (k + 1) * step for the last interval.
  if (grid.step_us > INT64_MAX - grid.end_us) return false;
  return !aggregates.empty() && std::all_of(aggregates.begin(), aggregates.end(), PushedDown);
}

Status PushDownAggregates(store::Backend& backend, const PointRows& point, const TimeGrid& grid,
                          std::span<const Aggregate> aggregates, const AggregateConfig& config,
                          std::span<v1::AggregateSeries* const> series) {
  v1::SqlStatement statement;
  statement.set_text(PushDownSql(point.table));
  *statement.add_params() = IntParam(point.point_id);
  *statement.add_params() = IntParam(grid.start_us);
  *statement.add_params() = IntParam(grid.end_us);
  *statement.add_params() = IntParam(grid.step_us);
  *statement.add_params() = IntParam(config.treat_uncertain_as_bad ? 0 : 1);  // worst usable severity
  const int64_t count = IntervalCount(grid);
  *statement.add_params() = IntParam(count - 1);
  // The intervals with rows, collected first (one per interval at most, as the response
  // holds anyway): the bound before may have to be read, and not inside this read.
  std::vector<std::pair<int64_t, Bucket>> buckets;
  Status st = backend.Query(
      statement, 1000, 0,
      [&](const std::vector<std::string>&, std::vector<std::vector<v1::SqlValue>>& rows) -> Status {
        for (const auto& row : rows) {
          if (row.size() != 7) {
            return Status::Internal(
                fmt::format("push-down row: {} columns, expected 7", row.size()));
          }
          SLUICE_ASSIGN_OR_RETURN(int64_t k, IntAt(row, 0));
          if (k < 0 || k >= count || (!buckets.empty() && k <= buckets.back().first)) {
            return Status::Internal(fmt::format("push-down row: interval {} out of order", k));
          }
          Bucket b;
          SLUICE_ASSIGN_OR_RETURN(b.n, IntAt(row, 1));
          SLUICE_ASSIGN_OR_RETURN(b.good, IntAt(row, 2));
          SLUICE_ASSIGN_OR_RETURN(b.uncertain, IntAt(row, 3));
          SLUICE_ASSIGN_OR_RETURN(b.lo, NumberAt(row, 4));
          SLUICE_ASSIGN_OR_RETURN(b.hi, NumberAt(row, 5));
          SLUICE_ASSIGN_OR_RETURN(int64_t last, IntAt(row, 6));
          if (last < 0 || last > 2) {
            return Status::Internal(
                fmt::format("push-down row: severity {} of interval {}", last, k));
          }
          b.last = static_cast<Severity>(last);
          buckets.emplace_back(k, b);
        }
        return Status::OK();
      });
  if (!st.ok())
    return st.Annotate(fmt::format("aggregates of {} point {}", point.table, point.point_id));

  // The governing row of an interval without rows: the last row of the interval before
  // with rows, else the bound before, read only when an empty first interval needs it.
  std::optional<Severity> governing;
  const bool counts =
      std::find(aggregates.begin(), aggregates.end(), Aggregate::kCount) != aggregates.end();
  if (counts && (buckets.empty() || buckets.front().first != 0)) {
    SLUICE_ASSIGN_OR_RETURN(Bounds bounds, ReadBounds(backend, point, grid.start_us, grid.end_us));
    if (bounds.before) governing = ClassifyQuality(ToRawSample(*bounds.before).quality);
  }
  size_t at = 0;
  const Bucket empty;
  for (int64_t k = 0; k < count; ++k) {
    const Bucket* bucket =
        at < buckets.size() && buckets[at].first == k ? &buckets[at++].second : nullptr;
    const int64_t start = grid.start_us + k * grid.step_us;
    const int64_t end = grid.end_us - start > grid.step_us ? start + grid.step_us : grid.end_us;
    const bool partial = end - start < grid.step_us;
    const Bucket& b = bucket != nullptr ? *bucket : empty;
    const int64_t usable = b.good + (config.treat_uncertain_as_bad ? 0 : b.uncertain);
    const Severity counted = CountStatus(b, config);
    for (size_t a = 0; a < aggregates.size(); ++a) {
      v1::AggregateValueProto* v = series[a]->add_values();
      v->set_ts_us(start);
      v->set_partial(partial);
      Severity status = counted;
      switch (aggregates[a]) {
        case Aggregate::kMinimum:
          if (b.lo) v->set_value(*b.lo);
          break;
        case Aggregate::kMaximum:
          if (b.hi) v->set_value(*b.hi);
          break;
        case Aggregate::kRange:
          if (b.lo && b.hi) v->set_value(*b.hi - *b.lo);
          break;
        case Aggregate::kCount:
          v->set_value(static_cast<double>(usable));
          // Without rows, Count takes the time based status (aggregates.h).
          if (bucket == nullptr) status = EmptyTimeStatus(governing, end - start, config);
          break;
        default:
          return Status::Internal(
              fmt::format("aggregate {} is not pushed down", AggregateName(aggregates[a])));
      }
      v->set_status(ToProtoStatus(status));
    }
    if (bucket != nullptr) governing = bucket->last;
  }
  return Status::OK();
}

}  // namespace sluice::history
