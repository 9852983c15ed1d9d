#include "bench/query_bench_sql.h"

#include <endian.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string_view>
#include <unordered_map>

namespace sluice::bench {
namespace {

// Binary result values (resultFormat 1): big-endian int8 and float8.
int64_t Int64At(const PGresult* res, int row, int col) {
  uint64_t v;
  std::memcpy(&v, PQgetvalue(res, row, col), 8);
  return static_cast<int64_t>(be64toh(v));
}
double DoubleAt(const PGresult* res, int row, int col) {
  uint64_t v;
  std::memcpy(&v, PQgetvalue(res, row, col), 8);
  return std::bit_cast<double>(be64toh(v));
}
std::optional<double> OptionalDoubleAt(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return std::nullopt;
  return DoubleAt(res, row, col);
}

// A Good row (history/quality.h: no quality bit, or QUALITY_SUBSTITUTED alone) with a
// finite value: the library counts a row without one as Bad (history/query.h). NaN sorts
// above Infinity in PostgreSQL, so the two comparisons leave out NULL, both infinities and
// NaN.
constexpr std::string_view kGood =
    "quality IN (0, 4) AND value > '-Infinity'::float8 AND value < 'Infinity'::float8";
constexpr std::string_view kGoodRow =
    "r.quality IN (0, 4) AND r.value > '-Infinity'::float8 AND r.value < 'Infinity'::float8";

// '{1,2,3}': the points as an array literal (integers only, so nothing to quote).
std::string IdArray(std::span<const int64_t> ids) {
  return fmt::format("'{{{}}}'::bigint[]", fmt::join(ids, ","));
}

// The grid's interval k (the bucket the SQL computed).
history::IntervalSpan SpanOf(const history::TimeGrid& grid, int64_t k) {
  history::IntervalSpan span;
  span.index = k;
  span.start_us = grid.start_us + k * grid.step_us;
  span.end_us = std::min(span.start_us + grid.step_us, grid.end_us);
  span.partial = span.end_us - span.start_us < grid.step_us;
  return span;
}

}  // namespace

Result<PGresult*> BaselineSql::Exec(const std::string& sql, const char* what,
                                    ExecStatusType expected) {
  PGresult* res = PQexecParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr,
                               /*resultFormat=*/1);
  if (PQresultStatus(res) != expected) {
    std::string message = PQresultErrorMessage(res);
    PQclear(res);
    return Status::Internal(fmt::format("baseline {}: {}", what, message));
  }
  return res;
}

Result<std::vector<RawDigest>> BaselineSql::Raw(std::span<const int64_t> point_ids,
                                                int64_t start_us, int64_t end_us,
                                                int fetch_rows) {
  std::vector<RawDigest> out(point_ids.size());
  std::unordered_map<int64_t, RawDigest*> by_id;
  for (size_t i = 0; i < point_ids.size(); ++i) {
    out[i].point_id = point_ids[i];
    by_id[point_ids[i]] = &out[i];
  }
  SLUICE_ASSIGN_OR_RETURN(PGresult * begin, Exec("BEGIN READ ONLY", "raw", PGRES_COMMAND_OK));
  PQclear(begin);
  const std::string declare = fmt::format(
      "DECLARE raw_rows NO SCROLL CURSOR FOR SELECT point_id, ts, value, quality FROM sample_1s "
      "WHERE point_id = ANY({}) AND ts >= {} AND ts < {} ORDER BY point_id, ts",
      IdArray(point_ids), start_us, end_us);
  Status status = [&]() -> Status {
    SLUICE_ASSIGN_OR_RETURN(PGresult * declared, Exec(declare, "raw", PGRES_COMMAND_OK));
    PQclear(declared);
    const std::string fetch = fmt::format("FETCH FORWARD {} FROM raw_rows", fetch_rows);
    for (;;) {
      SLUICE_ASSIGN_OR_RETURN(PGresult * res, Exec(fetch, "raw", PGRES_TUPLES_OK));
      const int n = PQntuples(res);
      RawDigest* digest = nullptr;
      for (int r = 0; r < n; ++r) {
        const int64_t id = Int64At(res, r, 0);
        if (digest == nullptr || digest->point_id != id) digest = by_id.at(id);
        // A NULL value reads as NaN, as the library's absent value would be counted.
        const double value = PQgetisnull(res, r, 2) ? std::nan("") : DoubleAt(res, r, 2);
        digest->Add(Int64At(res, r, 1), value, static_cast<uint32_t>(Int64At(res, r, 3)));
      }
      PQclear(res);
      if (n < fetch_rows) return Status::OK();
    }
  }();
  PGresult* end = PQexec(conn_, "ROLLBACK");
  PQclear(end);
  if (!status.ok()) return status;
  return out;
}

Result<std::vector<AggRow>> BaselineSql::Aggregates(std::span<const int64_t> point_ids,
                                                    const history::TimeGrid& grid) {
  // With TreatUncertainAsBad only Good samples are usable.
  const std::string sql = fmt::format(
      "SELECT point_id, (ts - {1}) / {3} AS k, count(*),"
      " count(*) FILTER (WHERE {4}),"
      " avg(value) FILTER (WHERE {4}),"
      " min(value) FILTER (WHERE {4}),"
      " max(value) FILTER (WHERE {4})"
      " FROM sample_1s WHERE point_id = ANY({0}) AND ts >= {1} AND ts < {2}"
      " GROUP BY 1, 2 ORDER BY 1, 2",
      IdArray(point_ids), grid.start_us, grid.end_us, grid.step_us, kGood);
  SLUICE_ASSIGN_OR_RETURN(PGresult * res, Exec(sql, "aggregates", PGRES_TUPLES_OK));
  const int n = PQntuples(res);
  std::vector<AggRow> out;
  out.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    const history::IntervalSpan span = SpanOf(grid, Int64At(res, r, 1));
    const int64_t raw = Int64At(res, r, 2);
    const int64_t good = Int64At(res, r, 3);
    const history::Severity status = CountBasedStatus(raw, good, raw - good);
    auto value = [&](std::optional<double> v) {
      return history::AggregateValue{.value = v, .ts_us = span.start_us, .status = status};
    };
    out.push_back(AggRow{.point_id = Int64At(res, r, 0),
                         .start_us = span.start_us,
                         .partial = span.partial,
                         .average = value(OptionalDoubleAt(res, r, 4)),
                         .minimum = value(OptionalDoubleAt(res, r, 5)),
                         .maximum = value(OptionalDoubleAt(res, r, 6)),
                         .count = value(static_cast<double>(good))});
  }
  PQclear(res);
  return out;
}

Result<std::vector<LimitRow>> BaselineSql::Limits(std::span<const int64_t> point_ids,
                                                  const history::TimeGrid& grid) {
  // side: 0 unusable (not Good, or no finite value), 1 above, 2 below, 3 within. A run is a stretch
  // of rows of one side; an excursion is a run of side 1 or 2, starting at its first row
  // (run_start, the running max of the rows where the side changed). A row holds until
  // the next one (stepped, limit_stats.h), the last until the range's end; the bound
  // before holds into the range and may carry an excursion under way (started before the
  // range: never counted, its start is the bound's time).
  const std::string sql = fmt::format(
      "WITH raw AS ("
      "  SELECT point_id, ts, value, quality FROM sample_1s"
      "   WHERE point_id = ANY({0}) AND ts >= {1} AND ts < {2}"
      "  UNION ALL"
      "  SELECT b.point_id, b.ts, b.value, b.quality FROM unnest({0}) AS p(id)"
      "   CROSS JOIN LATERAL (SELECT point_id, ts, value, quality FROM sample_1s"
      "    WHERE point_id = p.id AND ts < {1} ORDER BY ts DESC LIMIT 1) b),"
      " held AS ("
      "  SELECT r.point_id, r.ts, coalesce(lead(r.ts) OVER w, {2}) AS until,"
      "   CASE WHEN NOT coalesce({4}, false) THEN 0"
      "        WHEN r.value > pt.upper_limit THEN 1"
      "        WHEN r.value < pt.lower_limit THEN 2 ELSE 3 END AS side"
      "  FROM raw r JOIN point pt USING (point_id)"
      "  WINDOW w AS (PARTITION BY r.point_id ORDER BY r.ts)),"
      " runs AS ("
      "  SELECT point_id, ts, until, side, max(CASE WHEN side IS DISTINCT FROM prev THEN ts END)"
      "   OVER (PARTITION BY point_id ORDER BY ts) AS run_start"
      "  FROM (SELECT *, lag(side) OVER (PARTITION BY point_id ORDER BY ts) AS prev FROM held) h),"
      " pieces AS ("
      "  SELECT point_id, side, run_start, ts, (greatest(ts, {1}) - {1}) / {3} AS k,"
      "   until - greatest(ts, {1}) AS len"
      "  FROM runs WHERE until > greatest(ts, {1})),"
      " stretches AS ("
      "  SELECT point_id, k, side, run_start, sum(len)::bigint AS stretch,"
      "   count(*) FILTER (WHERE ts = run_start AND ts >= {1}) AS started"
      "  FROM pieces WHERE side IN (1, 2) GROUP BY 1, 2, 3, 4),"
      " sides AS ("
      "  SELECT point_id, k, side, sum(started)::bigint AS started, sum(stretch)::bigint AS total,"
      "   max(stretch) AS longest,"
      "   (array_agg(run_start ORDER BY stretch DESC, run_start))[1] AS longest_start"
      "  FROM stretches GROUP BY 1, 2, 3),"
      " intervals AS ("
      "  SELECT point_id, k, coalesce(sum(len) FILTER (WHERE side <> 0), 0)::bigint AS usable"
      "  FROM pieces GROUP BY 1, 2)"
      " SELECT i.point_id, i.k, i.usable,"
      "  coalesce(a.started, 0), coalesce(a.total, 0), coalesce(a.longest, 0),"
      "  coalesce(a.longest_start, 0),"
      "  coalesce(b.started, 0), coalesce(b.total, 0), coalesce(b.longest, 0),"
      "  coalesce(b.longest_start, 0)"
      " FROM intervals i"
      " LEFT JOIN sides a ON a.point_id = i.point_id AND a.k = i.k AND a.side = 1"
      " LEFT JOIN sides b ON b.point_id = i.point_id AND b.k = i.k AND b.side = 2"
      " ORDER BY 1, 2",
      IdArray(point_ids), grid.start_us, grid.end_us, grid.step_us, kGoodRow);
  SLUICE_ASSIGN_OR_RETURN(PGresult * res, Exec(sql, "limit statistics", PGRES_TUPLES_OK));
  const int n = PQntuples(res);
  std::vector<LimitRow> out;
  out.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    LimitRow row;
    row.point_id = Int64At(res, r, 0);
    history::LimitIntervalResult& x = row.interval;
    x.span = SpanOf(grid, Int64At(res, r, 1));
    x.usable_us = Int64At(res, r, 2);
    x.above = {.count = Int64At(res, r, 3),
               .total_us = Int64At(res, r, 4),
               .longest_us = Int64At(res, r, 5),
               .longest_start_us = Int64At(res, r, 6)};
    x.below = {.count = Int64At(res, r, 7),
               .total_us = Int64At(res, r, 8),
               .longest_us = Int64At(res, r, 9),
               .longest_start_us = Int64At(res, r, 10)};
    if (x.usable_us > 0) {
      x.pass_rate = 1.0 - static_cast<double>(x.above.total_us + x.below.total_us) /
                              static_cast<double>(x.usable_us);
    }
    out.push_back(std::move(row));
  }
  PQclear(res);
  return out;
}

}  // namespace sluice::bench
