// PostgresBackend: the synchronous calls. ApplyIntent applies one intent in a transaction
// of its own with its watermark; Query runs a read in a READ ONLY transaction.

#include <fmt/format.h>

#include <algorithm>
#include <climits>

#include "common/log.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_sql.h"
#include "store/postgres/pg_values.h"
#include "store/postgres/postgres_backend.h"

namespace sluice::store::postgres {
namespace {

constexpr size_t kDefaultBatchRows = 1000;
constexpr const char* kCursor = "sluice_read";

// A query streams through a cursor; any other statement (SHOW, EXPLAIN, CALL, or a write
// the READ ONLY transaction refuses) runs as it is and its result is read whole.
bool IsQuery(std::string_view sql) {
  const std::string word = FirstKeyword(sql);
  return word == "SELECT" || word == "WITH" || word == "VALUES" || word == "TABLE";
}

}  // namespace

Result<StatementResult> PostgresBackend::ApplyIntent(const WatermarkKey& key,
                                                     const ApplyItem& item, size_t max_rows) {
  if (!connected()) return NotConnected();
  if (item.record == nullptr || !item.record->has_intent()) {
    return Status::InvalidArgument(
        fmt::format("target '{}': lsn {}: ApplyIntent takes an intent record", options_.name,
                    item.lsn));
  }
  if (item.lsn == 0 || item.lsn > static_cast<Lsn>(INT64_MAX)) {
    return Status::InvalidArgument(
        fmt::format("target '{}': intent lsn {} is out of range", options_.name, item.lsn));
  }
  Status st = TrimStatementCache();
  // A sample modification may insert samples: their partitions first, as for samples.
  if (st.ok() && item.record->intent().kind() == v1::SyncIntent::KIND_SAMPLE_MODIFY) {
    st = EnsurePartitionsFor(std::span<const ApplyItem>(&item, 1));
  }
  if (!st.ok()) return Check(st);
  StatementResult result;
  st = ApplyIntentOnce(key, item, max_rows, &result);
  if (!st.ok()) {
    Rollback();
    // A row with no partition rejects the intent like any other error of its data: the
    // flag must not leak into the next batch.
    if (conn_) conn_->TakeMissingPartition();
    return Check(ReadOnlyServer(st));
  }
  return result;
}

Status PostgresBackend::ApplyIntentOnce(const WatermarkKey& key, const ApplyItem& item,
                                        size_t max_rows, StatementResult* result) {
  savepoint_open_ = false;
  Params key_params;
  for (const std::string* v : {&key.node, &key.epoch, &key.stream}) key_params.Add(kTextOid, *v);
  // As ApplyBatch: the watermark row locked first, so an intent whose commit was lost is
  // recognised and a concurrent applier of the key waits.
  const PipelineStep begin[] = {{"BEGIN"}, {"sluice_wm_get", &key_params, true}};
  SLUICE_ASSIGN_OR_RETURN(std::vector<PgResult> started,
                          conn_->RunPipeline(begin, fmt::format("lsn {} (intent)", item.lsn)));
  Lsn stored = 0;
  if (started.size() == 2 && started[1] && PQntuples(started[1].get()) > 0) {
    stored = static_cast<Lsn>(std::stoll(PQgetvalue(started[1].get(), 0, 0)));
  }
  if (stored >= item.lsn) {
    SLUICE_LOG_INFO("target '{}': intent at lsn {} of stream '{}' is already applied (lsn <= {})",
                    options_.name, item.lsn, key.stream, stored);
    result->already_applied = true;
    return conn_->Exec("ROLLBACK", "ending an intent already applied").status();
  }
  if (item.record->intent().kind() == v1::SyncIntent::KIND_SAMPLE_MODIFY) {
    SLUICE_RETURN_IF_ERROR(ApplySampleModify(item, result));
  } else {
    // The statement goes the way of SQL records: same refusals, parameters and cache.
    SLUICE_RETURN_IF_ERROR(ApplySqlRun(std::span<const ApplyItem>(&item, 1), result, max_rows));
  }

  const std::string wm = std::to_string(item.lsn);
  const std::string now = std::to_string(
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  Params put = key_params;
  for (const std::string* v : {&wm, &now}) put.Add(kInt8Oid, *v);
  const PipelineStep finish[] = {{"sluice_wm_put", &put, true}, {"COMMIT"}};
  auto commit = conn_->RunPipeline(finish, fmt::format("committing intent lsn {}", item.lsn));
  if (!commit.ok()) {
    if (conn_->broken()) {
      return Status::Unavailable(commit.status().message() +
                                 " (the commit may or may not have happened; the next attempt "
                                 "finds out from the watermark)");
    }
    return commit.status();
  }
  if (commit->empty() || !commit->back() ||
      std::string_view(PQcmdStatus(commit->back().get())) != "COMMIT") {
    return Status::Aborted(fmt::format("target '{}': the intent's transaction was rolled back",
                                       options_.name));
  }
  return Status::OK();
}

Status PostgresBackend::Query(const v1::SqlStatement& statement, size_t batch_rows,
                              size_t max_rows, const RowSink& sink) {
  if (!connected()) return NotConnected();
  const std::string& text = PostgresText(statement);
  if (text.empty()) {
    return Status::InvalidArgument(
        fmt::format("target '{}': read: no SQL text for dialect postgres", options_.name));
  }
  if (std::string why = RefusedStatement(text); !why.empty()) {
    return Status::InvalidArgument(fmt::format("target '{}': read: {}", options_.name, why));
  }
  bool from_sink = false;
  Status st = QueryInTransaction(statement, text, batch_rows == 0 ? kDefaultBatchRows : batch_rows,
                                 max_rows, sink, &from_sink);
  // A read has nothing to keep. ROLLBACK also undoes whatever it changed in the session
  // (set_config() is transactional), and closes the cursor.
  Rollback();
  if (from_sink) return st;
  return Check(st);
}

Status PostgresBackend::QueryInTransaction(const v1::SqlStatement& statement,
                                           const std::string& text, size_t batch_rows,
                                           size_t max_rows, const RowSink& sink,
                                           bool* from_sink) {
  const std::string context = "read";
  const auto where = [&](const Status& s) {
    return s.Annotate(fmt::format("target '{}': {}", options_.name, context));
  };
  BoundParams bound;
  Bind(statement, &bound);
  std::vector<std::string> columns;
  std::vector<std::vector<v1::SqlValue>> rows;
  bool called = false;
  const auto deliver = [&]() -> Status {
    called = true;
    Status s = sink(columns, rows);
    if (!s.ok()) *from_sink = true;
    rows.clear();
    return s;
  };

  if (!IsQuery(text)) {
    const PipelineStep steps[] = {{"BEGIN READ ONLY"}, {text.c_str(), &bound.params}};
    SLUICE_ASSIGN_OR_RETURN(std::vector<PgResult> results, conn_->RunPipeline(steps, context));
    const PGresult* res = results.size() == 2 ? results[1].get() : nullptr;
    const bool tuples = res != nullptr && PQresultStatus(res) == PGRES_TUPLES_OK;
    if (tuples) columns = ColumnNames(res);
    size_t take = tuples ? static_cast<size_t>(PQntuples(res)) : 0;
    if (max_rows != 0) take = std::min(take, max_rows);
    for (size_t first = 0; first < take;) {
      const size_t count = std::min(batch_rows, take - first);
      SLUICE_RETURN_IF_ERROR(
          where(AppendRows(res, static_cast<int>(first), static_cast<int>(count), &rows)));
      SLUICE_RETURN_IF_ERROR(deliver());
      first += count;
    }
    if (!called) return deliver();
    return Status::OK();
  }

  // A query: a cursor in the READ ONLY transaction, fetched batch by batch, so a table of
  // any size streams in bounded memory and max_rows stops the server too.
  const std::string declare = fmt::format("DECLARE {} NO SCROLL CURSOR FOR {}", kCursor, text);
  const PipelineStep steps[] = {{"BEGIN READ ONLY"}, {declare.c_str(), &bound.params}};
  SLUICE_RETURN_IF_ERROR(conn_->RunPipeline(steps, context).status());
  size_t delivered = 0;
  for (;;) {
    size_t want = batch_rows;
    if (max_rows != 0) want = std::min(want, max_rows - delivered);
    if (want == 0) break;
    SLUICE_ASSIGN_OR_RETURN(
        PgResult res, conn_->Exec(fmt::format("FETCH FORWARD {} FROM {}", want, kCursor), context));
    if (!called) columns = ColumnNames(res.get());
    const int n = PQntuples(res.get());
    SLUICE_RETURN_IF_ERROR(where(AppendRows(res.get(), 0, n, &rows)));
    res.reset();  // the batch lives on as values only
    delivered += static_cast<size_t>(n);
    if (n > 0 || !called) SLUICE_RETURN_IF_ERROR(deliver());
    if (static_cast<size_t>(n) < want) break;
  }
  return Status::OK();
}

}  // namespace sluice::store::postgres
