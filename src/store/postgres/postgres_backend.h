#pragma once
// The PostgreSQL target (libpq).
//
// Connection: non-blocking libpq with keepalives and tcp_user_timeout; every wait is
// bounded by PostgresOptions::io_timeout, so a black-holed or frozen server makes a call
// fail with a retryable status (kDeadlineExceeded) instead of hanging the thread. After a
// retryable error the connection is dropped; the caller calls Connect() again.
//
// What each record kind becomes (every row carries the record's version as `ver`):
//   samples     COPY ... (FORMAT binary) into sample_<interval>, inside a savepoint;
//               consecutive sample records of one table go in one COPY. On a duplicate
//               key (23505) that COPY is redone into a temporary staging table and
//               merged with INSERT ... ON CONFLICT (point_id, ts) DO UPDATE ... WHERE
//               (new.manual, new.ver) > (old.manual, old.ver): a row is replaced only by a
//               newer version, and a manually corrected row only by a newer correction,
//               so targets converge whatever order their streams run in. Among rows of
//               one batch with the same key and version, the first wins (as if applied
//               one by one). A NaN value is stored as NULL (as SQLite does).
//   correction  the same upsert for one row (manual = the record's flag), plus a row in
//               sample_edit_log (edited_at = the record's admitted_at_us).
//   events      COPY into event_log (seq = index within the record).
//   recall      COPY into recall_sample; on a duplicate key, upsert where ver is newer.
//   triggers    one upsert per trigger sample into burst_sample (all 150 value columns
//               written, absent ones NULL; replaced only by a newer ver); more than 50
//               values of a kind is a permanent error.
//   intent of KIND_SAMPLE_MODIFY: each correction as a correction record (with its
//               old value and quality in sample_edit_log, and with correct_recall an
//               UPDATE of recall_sample's rows of the point and time); rows_affected = the
//               number of corrections. Its partitions are made first, as for samples.
//   sql, intent one prepared statement each (cached per session), sent in pipeline mode
//               for runs of consecutive statements. Text: dialect_text["postgres"], else
//               text. Parameters: null -> NULL of unspecified type; int64 -> bigint;
//               double -> double precision; text and clob -> text of unspecified type (the
//               server infers it, as for a literal); blob -> bytea (binary); timestamp ->
//               bigint microseconds since the Unix epoch UTC (the schema's time type; a
//               statement that needs timestamptz converts it, e.g. 'epoch'::timestamptz +
//               $1 * interval '1 microsecond'). Refused
//               (permanent): more than one statement, transaction control (BEGIN,
//               COMMIT, SAVEPOINT, ...), SET/RESET/DISCARD, COPY, and any mention of the
//               service's own sluice_* tables.
//   outcome, switch markers: nothing to write.
//
// Synchronous writes (ApplyIntent): BEGIN and the watermark row locked (one round trip;
// at or past the intent's LSN: ROLLBACK and an empty result), the intent's statement
// exactly as an SQL record (same refusals, parameters and statement cache), then the
// watermark set to the intent's LSN and COMMIT (one round trip). rows_affected is
// PQcmdTuples for INSERT/UPDATE/DELETE/MERGE, 0 for other commands (SELECT, DDL, CALL);
// RETURNING rows are converted as Query's rows (pg_values.h), up to max_rows (0: all),
// `truncated` when there were more. Any error rolls the whole intent back. A row that
// finds no partition rejects the intent (no partition is made for user SQL).
//
// Reads (Query), on this backend's session, inside BEGIN READ ONLY ... ROLLBACK (a read
// has nothing to keep; the ROLLBACK also undoes any session setting it changed): a query
// (SELECT, WITH, VALUES, TABLE) runs as DECLARE ... NO SCROLL CURSOR and is fetched
// batch_rows at a time (0: 1000), so a table of any size streams in bounded memory and
// max_rows (0: all) stops the server too; any other statement (SHOW, EXPLAIN, CALL) runs
// as it is and its result is read whole. A write hidden in a read fails with a permanent
// error and changes nothing: "cannot execute DELETE in a read-only transaction"
// (SQLSTATE 25006), or for a data-modifying WITH "DECLARE CURSOR must not contain
// data-modifying statements in WITH" (0A000). Transaction control, SET/RESET, COPY, ...
// are refused before anything is sent, as for SQL records. Values: see pg_values.h
// (timestamps as timestamp_us, numeric as exact text, bytea as blob). Every wait is
// bounded by io_timeout; the sink's own time is not, but a session idle in its
// transaction longer than idle_in_transaction_session_timeout (5 min) is ended by the
// server (the next fetch fails, retryable). The sink is called at least once, with no
// rows for an empty result, so the columns are always known; to learn whether more than
// max_rows rows existed, ask for max_rows + 1.
//
// Sample partitions (see partitions.h) are created before the batch's transaction, each
// in its own transaction, tolerating a concurrent creator; a row that still finds no
// partition (SQLSTATE 23514 without a constraint) makes the batch roll back, reload the
// partitions, create the missing one and run again: never an error-log entry.
//
// Exactly once: ApplyBatch locks the watermark row first. When it is already at or past
// `watermark` (the previous attempt committed but its answer was lost), nothing is done
// and OK is returned; items at or below a stored watermark inside the batch are skipped.
// Exception: no items, rejections to record and `watermark` equal to the stored one is a
// blocked record's rejection (the watermark stays), written as asked. The open
// sluice_error rows of the LSNs a batch's items span are resolved ('applied') in the
// commit's round trip. ApplyRetry (an operator's retry of a skipped record) locks the
// record's sluice_error row instead of the watermark: that row is its idempotence key.
//
// Read-only server: a write that fails with 25006 (read_only_sql_transaction) is checked
// against the server's transaction_read_only; when the server is read-only (a standby, a
// former primary after an external failover) the error is kUnavailable, retryable: the
// target cannot serve, the record is not rejected.
//
// Node claim: pg_try_advisory_lock on a dedicated session per (target, node, owner),
// shared by every PostgresBackend of this process (one per stream), so the appliers of
// one process never conflict and a second process gets kFailedPrecondition. The session
// is re-checked on every ClaimNode(); an abandoned session of this process (after a
// timeout) that still holds the lock is terminated.
//
// Errors are classified by SQLSTATE (pg_conn.h).
//
// Thread safety: as Backend (one thread at a time per object).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/backend.h"
#include "store/postgres/partitions.h"

namespace sluice::store::postgres {

class CopyWriter;
class PgConn;
class NodeClaim;

struct PostgresOptions {
  // Bound of every wait on the server without progress; then the call fails (retryable)
  // and the connection is dropped. A statement legitimately running longer than this is
  // treated as hung, so keep it above the slowest statement a record may run.
  std::chrono::milliseconds io_timeout{10'000};
  std::chrono::milliseconds connect_timeout{10'000};
  int keepalives_idle_s = 5;
  int keepalives_interval_s = 2;
  int keepalives_count = 3;
  int tcp_user_timeout_ms = 10'000;
  // Partitions created past the newest data (and past now, on Connect).
  int partitions_ahead = 1;
  // Bytes of COPY data built before they are handed to libpq.
  size_t copy_chunk_bytes = 1 << 20;
  // Prepared statements of replicated SQL kept per session; longer texts are not cached.
  size_t statement_cache_capacity = 256;
  size_t statement_cache_max_text = 64 * 1024;
  // Identity of the claiming process. Empty: a random token made once per process, so
  // every backend of this process shares one claim. Tests set it to act as two daemons.
  std::string claim_owner;
};

class PostgresBackend final : public Backend {
 public:
  explicit PostgresBackend(BackendOptions options, PostgresOptions pg_options = {});
  ~PostgresBackend() override;

  std::string_view dialect() const override { return "postgres"; }
  const std::string& name() const override { return options_.name; }

  Status Connect() override;
  Status Ping() override;
  void Interrupt() override { interrupted_ = true; }
  Status ClaimNode(const std::string& node_id) override;
  Result<Lsn> ReadWatermark(const WatermarkKey& key) override;
  Status ApplyBatch(const WatermarkKey& key, std::span<const ApplyItem> items,
                    std::span<const ErrorEntry> errors, Lsn watermark) override;
  Result<StatementResult> ApplyIntent(const WatermarkKey& key, const ApplyItem& item,
                                      size_t max_rows) override;
  Result<RetryResult> ApplyRetry(const WatermarkKey& key, const ApplyItem& item) override;
  Status Query(const v1::SqlStatement& statement, size_t batch_rows, size_t max_rows,
               const RowSink& sink) override;

  bool connected() const;

  // For a bulk copy (store/copy_io.h): makes sure sample table `table` has a partition
  // for every ts in `ts`, each made in its own transaction. REQUIRES: connected.
  Status EnsurePartitionsOf(const std::string& table, std::span<const int64_t> ts);

 private:
  // --- connection and schema (postgres_backend.cc) ---
  Status Migrate();
  Status LoadPartitions();
  // Makes sure a partition of `table` holds `ts` (own transaction, outside any batch).
  Status EnsurePartition(const std::string& table, int64_t ts);
  // Every partition the batch's samples and corrections need, plus the ones ahead.
  Status EnsurePartitionsFor(std::span<const ApplyItem> items);
  // Drops a broken connection; returns `st`.
  Status Check(Status st);
  Status NotConnected() const;
  void Rollback();
  // Deallocates the session's prepared statements when the cache is full (outside any
  // transaction).
  Status TrimStatementCache();

  // One attempt of ApplyBatch. Sets *missing_partition when a row found no partition.
  Status ApplyOnce(const WatermarkKey& key, std::span<const ApplyItem> items,
                   std::span<const ErrorEntry> errors, Lsn watermark, bool* missing_partition);
  // One attempt of ApplyRetry.
  Status ApplyRetryOnce(const WatermarkKey& key, const ApplyItem& item, RetryResult* result);
  // `st` of a write that failed with SQLSTATE 25006: kUnavailable (retryable) when the
  // server itself is read-only, else `st` as it is. REQUIRES: outside a transaction.
  Status ReadOnlyServer(Status st);

  // --- records (postgres_apply.cc); each runs inside the batch's transaction ---
  Status ApplyItems(std::span<const ApplyItem> items);
  Status ApplySampleRun(std::span<const ApplyItem> run, const std::string& table);
  Status ApplyCorrection(const ApplyItem& item);
  // One correction (a correction record's or one of a sample modification intent's): the
  // sample row upsert, its sample_edit_log row and, with correct_recall, its recall rows.
  Status ApplyOneCorrection(const v1::SampleCorrection& c, int64_t version, int64_t edited_at_us,
                            const std::string& context);
  // A KIND_SAMPLE_MODIFY intent: every correction; `result`, when given, counts them.
  Status ApplySampleModify(const ApplyItem& item, StatementResult* result);
  Status ApplyEvents(const ApplyItem& item);
  Status ApplyRecall(const ApplyItem& item);
  Status ApplyTriggers(const ApplyItem& item);
  // With `result` (a run of one statement), also collects what the statement returned.
  Status ApplySqlRun(std::span<const ApplyItem> run, StatementResult* result = nullptr,
                     size_t max_rows = 0);
  Status WriteErrors(const WatermarkKey& key, std::span<const ErrorEntry> errors);
  // --- synchronous calls (postgres_sync.cc) ---
  Status ApplyIntentOnce(const WatermarkKey& key, const ApplyItem& item, size_t max_rows,
                         StatementResult* result);
  // Sets *from_sink when the sink failed (its status is returned as it is).
  Status QueryInTransaction(const v1::SqlStatement& statement, const std::string& text,
                            size_t batch_rows, size_t max_rows, const RowSink& sink,
                            bool* from_sink);

  // "RELEASE SAVEPOINT ..." while the savepoint guarding the last COPY is open (it is
  // released lazily, with the next COPY or the commit, to save round trips), else "".
  std::string TakeSavepointRelease();

  const BackendOptions options_;
  const PostgresOptions pg_options_;
  // Cuts short the waits of conn_ (not of the node claim's session, which backends share).
  std::atomic<bool> interrupted_{false};
  std::unique_ptr<PgConn> conn_;
  std::shared_ptr<NodeClaim> claim_;
  std::unique_ptr<CopyWriter> copy_writer_;  // its buffer is reused by every COPY
  std::string claimed_node_;

  // Per session state, reset by Connect().
  std::map<std::string, PartitionMap, std::less<>> partitions_;  // sample table -> map
  std::unordered_map<std::string, std::string> statements_;      // cache key -> name
  uint64_t next_statement_ = 0;
  bool savepoint_open_ = false;
};

}  // namespace sluice::store::postgres
