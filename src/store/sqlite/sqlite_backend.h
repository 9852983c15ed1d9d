#pragma once
// The SQLite target: the embedded default.
//
// Connection: WAL journal, synchronous=FULL (a commit is on disk when it returns),
// busy_timeout, and ONE writer connection per database file in this process, shared by
// every SqliteBackend of that file (all appliers of the target). Each ApplyBatch is one
// BEGIN IMMEDIATE ... COMMIT while holding the shared writer's mutex: transactions of
// one process are serialized by the mutex, those of other processes by SQLite's lock.
// A lock held elsewhere past busy_timeout (SQLITE_BUSY/LOCKED) is a retryable status.
// Files are matched by canonical path (symlinks resolved); hard links to one file are
// not recognized as the same file.
//
// How each record kind is applied (all in the batch's one transaction):
//   samples     -> sample_<interval>: converging upsert, see below
//   correction  -> sample_<interval>: converging upsert with its manual flag, plus one
//                  row in sample_edit_log (edited_at = the record's admitted_at_us)
//   events      -> event_log, one row per event (ver = record version, seq = index)
//   triggers    -> burst_sample (at most schema::kBurstColumns values of each type;
//                  more is a permanent kOutOfRange), upsert keeping the higher version
//   recall      -> recall_sample, upsert keeping the higher version
//   intent of KIND_SAMPLE_MODIFY -> each of its corrections as a correction record
//                  (version and edited_at the intent record's), sample_edit_log with
//                  the old value and quality it carries, and with correct_recall
//                  recall_sample's rows of the point and time set to the new value and
//                  quality; rows_affected = the number of corrections
//   sql, intent -> the statement: dialect_text["sqlite"], else text. Parameters are
//                  positional, written $1, $2, ... (or ?1, ?NNN, ?); the record must
//                  bind exactly the parameters the statement uses. One statement per
//                  record. Refused (permanent kPermissionDenied): transaction control,
//                  savepoints, ATTACH/DETACH, PRAGMA, writes to the sluice_* tables. The
//                  applier decides whether an intent is passed at all.
//   outcome, switch_marker, unset -> nothing (only the watermark moves past them)
//
// Converging upsert. Each sample row carries (manual, ver). A write replaces the row for
// (point_id, ts) only when its (manual, ver) is greater, compared as a pair: manual
// first, then version. So the final row is the correction with the highest version if
// any correction exists, else the sample with the highest version -- the maximum of a
// total order, hence the same whatever order the writes arrive in. (A correction with
// manual=false ranks like a sample.) Ties (equal version: only rows repeated within one
// record) keep the row written first.
//
// Rejections (sluice_error): ApplyBatch marks the open rows of the LSNs its items span
// resolved ('applied'); ApplyRetry applies a skipped record under BEGIN IMMEDIATE, after
// reading its row (the retry's idempotence key, see backend.h), and marks it 'retried'.
//
// Synchronous writes (ApplyIntent): BEGIN IMMEDIATE on the shared writer, the watermark
// of the key read inside it (at or past the intent's LSN: ROLLBACK, empty result), the
// intent's statement on the same path as SQL records (text, $N parameters, the same
// refusals), the watermark set to the intent's LSN, COMMIT. rows_affected is
// sqlite3_changes() of the statement when it changed rows (triggers' rows not counted),
// else 0 (DDL, SELECT); RETURNING rows are read as Query reads rows, up to max_rows
// (0: all), `truncated` when there were more.
//
// Reads (Query): on a read connection of this backend's own, opened on first use (WAL
// lets it read while the shared writer writes; it never waits for the writer's mutex),
// inside BEGIN DEFERRED ... ROLLBACK, with query_only = ON, an authorizer that admits
// only reads, and a check of sqlite3_stmt_readonly(): a write hidden in a read fails
// before it runs with a permanent kPermissionDenied. Values by each value's storage
// class (SQLite has no column types to go by): NULL -> null_value, INTEGER -> int_value
// (timestamps, stored as µs, included), REAL -> double_value, TEXT -> text_value, BLOB ->
// blob_value. batch_rows 0 means 1000. The sink is called at least once, with no rows
// for an empty result, so the columns are always known. Nothing tells whether more than
// max_rows rows existed: ask for max_rows + 1 to find out. A ":memory:" target cannot be
// read (kFailedPrecondition): it has no second connection.
//
// Doubles: SQLite stores NaN as NULL, and -0.0 as 0 (it writes an integral REAL as an
// integer on disk); every other value reads back bit for bit.
//
// Errors: see SqliteError() in sqlite_writer.h for the classification. A permanent error
// of a record names the target, the file, the record kind, the LSN and SQLite's message.
// Failures of the service's own statements (BEGIN, watermark, sluice_error, COMMIT) are
// retryable whatever their code: they concern the target, not a record, and splitting
// the batch would not help.
//
// Node claim: ClaimNode takes an exclusive flock on "<file>.node-<node>.lock" (node id
// %-encoded) and writes (node, pid, host, claimed_at) into sluice_node_lock. The claim
// belongs to the process: every SqliteBackend of the same file in this process shares it
// (they are the appliers of one daemon) and ClaimNode is idempotent for them. Another
// process gets kFailedPrecondition naming the node, the holder's pid and host. The lock
// is released when the last backend of the file in this process is destroyed (the row is
// deleted then) or when the process dies (the kernel drops the flock; the stale row is
// overwritten by the next claimant). ApplyBatch does not check the claim: the caller
// claims after each Connect().
//
// Thread safety: one thread at a time per SqliteBackend; any number of backends of the
// same file may be used from different threads.

#include <memory>
#include <string>
#include <vector>

#include "store/backend.h"

namespace sluice::store::sqlite {

class ReadConnection;
class Writer;

struct SqliteOptions {
  int busy_timeout_ms = 5000;
};

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(BackendOptions options, SqliteOptions sqlite_options = {});
  ~SqliteBackend() override;

  std::string_view dialect() const override { return "sqlite"; }
  const std::string& name() const override { return options_.name; }

  Status Connect() override;
  Status Ping() override;
  Status ClaimNode(const std::string& node_id) override;
  Result<Lsn> ReadWatermark(const WatermarkKey& key) override;
  Status ApplyBatch(const WatermarkKey& key, std::span<const ApplyItem> items,
                    std::span<const ErrorEntry> errors, Lsn watermark) override;
  Result<StatementResult> ApplyIntent(const WatermarkKey& key, const ApplyItem& item,
                                      size_t max_rows) override;
  Result<RetryResult> ApplyRetry(const WatermarkKey& key, const ApplyItem& item) override;
  Status Query(const v1::SqlStatement& statement, size_t batch_rows, size_t max_rows,
               const RowSink& sink) override;

  // The schema version of the connected file. REQUIRES: Connect() succeeded.
  Result<int> SchemaVersion();

  // The pragmas every writer connection runs after opening, in order (a baseline that
  // must use "the same pragmas" runs these).
  static std::vector<std::string> ConnectionPragmas(int busy_timeout_ms = 5000);

  // Identity of the shared writer connection; equal for backends that share it, null
  // before Connect(). For tests.
  const void* writer_id() const { return writer_.get(); }

 private:
  Status CheckConnected() const;
  Status MigrateLocked();
  Status ApplyItemLocked(const ApplyItem& item);
  Status ApplySamplesLocked(const v1::SampleBatch& batch, int64_t version, Lsn lsn);
  Status ApplyCorrectionLocked(const v1::Record& record, Lsn lsn);
  // One correction (a correction record's, or one of a sample modification intent's):
  // the sample row, its sample_edit_log row and, with correct_recall, its recall rows.
  Status ApplyOneCorrectionLocked(const v1::SampleCorrection& c, int64_t version,
                                  int64_t edited_at_us, const std::string& context);
  // A KIND_SAMPLE_MODIFY intent: every correction; `result`, when given, counts them.
  Status ApplySampleModifyLocked(const v1::Record& record, Lsn lsn, StatementResult* result);
  // An intent record of any kind (its statement, or its corrections).
  Status ApplyIntentLocked(const v1::Record& record, Lsn lsn, StatementResult* result,
                           size_t max_rows);
  Status ApplyEventsLocked(const v1::EventBatch& batch, int64_t version, Lsn lsn);
  Status ApplyTriggersLocked(const v1::TriggerBatch& batch, int64_t version, Lsn lsn);
  Status ApplyRecallLocked(const v1::RecallBatch& batch, int64_t version, Lsn lsn);
  // Runs one user statement; with `result`, collects what ApplyIntent returns.
  Status ApplySqlLocked(const v1::SqlStatement& statement, std::string_view kind, Lsn lsn,
                        StatementResult* result = nullptr, size_t max_rows = 0);
  Result<Lsn> ReadWatermarkLocked(const WatermarkKey& key);
  Status WriteErrorsLocked(const WatermarkKey& key, std::span<const ErrorEntry> errors);
  Status WriteWatermarkLocked(const WatermarkKey& key, Lsn watermark);
  // Marks the open rejections of (key, first..last) resolved: applied in their order.
  Status ResolveAppliedLocked(const WatermarkKey& key, Lsn first, Lsn last);

  // "target 'NAME' (sqlite FILE)"
  std::string Where() const;
  // "target 'NAME' (sqlite FILE): <kind> record at lsn N"
  std::string RecordContext(std::string_view kind, Lsn lsn) const;

  const BackendOptions options_;
  const SqliteOptions sqlite_options_;
  std::shared_ptr<Writer> writer_;
  std::unique_ptr<ReadConnection> reader_;  // this backend's own, opened by the first Query
};

}  // namespace sluice::store::sqlite
