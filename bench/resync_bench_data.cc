#include "bench/resync_bench_data.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/query_bench_data.h"
#include "store/copy_io.h"

namespace sluice::bench::resync_bench {
namespace {

constexpr int64_t kMinuteUs = 60 * kSecondUs;
// Rows per COPY while filling: bounds the buffer (about 60 bytes a row).
constexpr int64_t kFillChunkRows = 500'000;

Status Exec(PGconn* conn, const std::string& sql, std::string_view what) {
  PGresult* res = PQexec(conn, sql.c_str());
  const ExecStatusType st = PQresultStatus(res);
  std::string message = PQresultErrorMessage(res);
  PQclear(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return Status::Internal(fmt::format("{}: {}", what, message));
  }
  return Status::OK();
}

Status StartCopy(PGconn* conn, const std::string& sql, ExecStatusType want) {
  PGresult* res = PQexec(conn, sql.c_str());
  const bool started = PQresultStatus(res) == want;
  std::string message = PQresultErrorMessage(res);
  PQclear(res);
  if (!started) return Status::Internal(fmt::format("{}: {}", sql, message));
  return Status::OK();
}

Status FillModel(PGconn* conn, int64_t points) {
  // generate_series: the model is small next to the samples, and its load is untimed.
  return Exec(
      conn,
      fmt::format(
          "INSERT INTO point (point_id, name, description, unit, lower_limit, upper_limit, "
          "kind, deadband, station, element, updated_at) "
          "SELECT i, 'bench.' || i, 'Bench point ' || i || E'\\twith a tab', 'MW', "
          "80 + i * 0.1, 120 + i / 3.0, 0, 0.25, 'ST' || (i % 7), 'E' || i, 0 "
          "FROM generate_series(1, {0}) i; "
          "INSERT INTO sample_define (point_id, sample_interval, mode, enabled) "
          "SELECT i, 3, 1, true FROM generate_series(1, {0}) i; "
          "INSERT INTO burst_type (trigger_type, name, int_count, float_count, string_count) "
          "VALUES (7, 'trip', 2, 1, 1); "
          "INSERT INTO recall_define (recall_id, name, point_ids, period_us, on_limit) "
          "VALUES (1, 'r1', '1,2', 1000, false); "
          "INSERT INTO sluice_watermark (node, epoch, stream, lsn, updated_at) "
          "VALUES ('bench', 'epoch-1', 'samples', 1, 0)",
          points),
      "filling the model tables");
}

}  // namespace

Result<SourceSpan> FillSource(PGconn* conn, const SourceShape& shape) {
  SLUICE_RETURN_IF_ERROR(FillModel(conn, shape.points));
  SourceSpan span;
  span.first_ts = kQueryBenchDayUs;
  span.last_ts = kQueryBenchDayUs + (shape.rows - 1) / shape.points * kMinuteUs;
  SLUICE_RETURN_IF_ERROR(
      CreateSamplePartitions(conn, kSampleTable, span.first_ts, span.last_ts, kDayUs));
  const std::string copy = fmt::format(
      "COPY {} (point_id, ts, value, quality, ver, manual) FROM STDIN (FORMAT binary)", kSampleTable);
  BinaryCopy data;
  int64_t in_chunk = 0;
  const auto flush = [&]() -> Status {
    data.Trailer();
    SLUICE_RETURN_IF_ERROR(StartCopy(conn, copy, PGRES_COPY_IN));
    SLUICE_RETURN_IF_ERROR(SendCopy(conn, data.data()));
    data.Clear();
    in_chunk = 0;
    return Status::OK();
  };
  for (int64_t i = 0; i < shape.rows; ++i) {
    if (in_chunk == 0) data.Header();
    const int64_t point = 1 + i % shape.points;
    const int64_t minute = i / shape.points;
    // The query benchmark's series (a sine with noise and bad stretches), one per minute.
    const history::RawSample s = BenchSample(point, minute * 60);
    data.Row(point, kQueryBenchDayUs + minute * kMinuteUs, s.value, s.quality, 1);
    if (++in_chunk == kFillChunkRows) SLUICE_RETURN_IF_ERROR(flush());
  }
  if (in_chunk > 0) SLUICE_RETURN_IF_ERROR(flush());
  return span;
}

Result<int64_t> RawCopyPipe(PGconn* source, PGconn* destination) {
  std::vector<const store::CopyTableSpec*> tables;
  for (const store::CopyTableSpec& t : store::CopyTables()) tables.push_back(&t);
  tables.push_back(&store::WatermarkTable());
  SLUICE_RETURN_IF_ERROR(
      Exec(source, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "opening the snapshot"));
  int64_t rows = 0;
  for (const store::CopyTableSpec* t : tables) {
    const std::string columns = store::ColumnList(*t);
    SLUICE_RETURN_IF_ERROR(Exec(destination, "BEGIN", "BEGIN"));
    // A partitioned table cannot be COPYed TO directly; a query can, for every table.
    SLUICE_RETURN_IF_ERROR(StartCopy(
        source, fmt::format("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)", columns, t->name),
        PGRES_COPY_OUT));
    SLUICE_RETURN_IF_ERROR(StartCopy(
        destination, fmt::format("COPY {} ({}) FROM STDIN (FORMAT binary)", t->name, columns),
        PGRES_COPY_IN));
    char* chunk = nullptr;
    int n = 0;
    while ((n = PQgetCopyData(source, &chunk, /*async=*/0)) > 0) {
      const int put = PQputCopyData(destination, chunk, n);
      PQfreemem(chunk);
      if (put != 1) return Status::Internal(fmt::format("COPY {}: {}", t->name, PQerrorMessage(destination)));
    }
    if (n != -1) return Status::Internal(fmt::format("COPY {} TO: {}", t->name, PQerrorMessage(source)));
    PGresult* out = PQgetResult(source);
    const bool out_ok = PQresultStatus(out) == PGRES_COMMAND_OK;
    std::string out_message = PQresultErrorMessage(out);
    PQclear(out);
    while ((out = PQgetResult(source)) != nullptr) PQclear(out);
    if (!out_ok) return Status::Internal(fmt::format("COPY {} TO: {}", t->name, out_message));
    if (PQputCopyEnd(destination, nullptr) != 1) {
      return Status::Internal(fmt::format("COPY {}: {}", t->name, PQerrorMessage(destination)));
    }
    PGresult* in = PQgetResult(destination);
    const bool in_ok = PQresultStatus(in) == PGRES_COMMAND_OK;
    std::string in_message = PQresultErrorMessage(in);
    if (in_ok) rows += std::stoll(PQcmdTuples(in));
    PQclear(in);
    while ((in = PQgetResult(destination)) != nullptr) PQclear(in);
    if (!in_ok) return Status::Internal(fmt::format("COPY {} FROM: {}", t->name, in_message));
    SLUICE_RETURN_IF_ERROR(Exec(destination, "COMMIT", "COMMIT"));
  }
  SLUICE_RETURN_IF_ERROR(Exec(source, "COMMIT", "closing the snapshot"));
  return rows;
}

}  // namespace sluice::bench::resync_bench
