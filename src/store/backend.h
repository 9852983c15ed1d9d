#pragma once
// A target database behind one interface. Each backend writes typed records in its own
// SQL dialect and applies a batch of records in ONE transaction together with the
// watermark row that says how far this (node, epoch, stream) has been applied; that is
// what makes replay after a crash exactly-once.
//
// Errors: a Status with retryable() == true is transient (connection lost, server
// shutting down, serialization failure, deadlock, disk full on the server, out of
// memory, SQLite busy): the applier reconnects and retries the same batch. retryable()
// == false is permanent (syntax, undefined table/column, constraint, data/type error):
// the applier isolates the offending record by retrying smaller batches.
//
// Thread safety: a Backend object is used by one thread at a time. Backends of the same
// SQLite file share one writer connection internally (see sqlite/sqlite_backend.h).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/v1/records.pb.h"

namespace sluice::store {

using Lsn = uint64_t;

// Key of a watermark row: one per (node, epoch, stream) in every target.
struct WatermarkKey {
  std::string node;
  std::string epoch;
  std::string stream;
};

struct ApplyItem {
  Lsn lsn = 0;
  const v1::Record* record = nullptr;  // not owned; outlives the ApplyBatch call
};

// A record a target rejected permanently, written to its sluice_error table in the same
// transaction as the watermark moving past it.
struct ErrorEntry {
  std::string stream;
  Lsn lsn = 0;
  std::string record_kind;  // "samples", "sql", ...
  std::string message;      // the target's own message
  std::string payload_json; // the record, readable, for the operator
  int64_t failed_at_us = 0;
};

struct BackendOptions {
  std::string name;        // the target's name in the config
  std::string connection;  // SQLite: file path; PostgreSQL: libpq conninfo
  // PostgreSQL: partitions of sample tables are created this far ahead of the data.
  int64_t partition_span_us = 86'400'000'000;  // one day per partition
};

// What a synchronous statement returned.
struct StatementResult {
  int64_t rows_affected = 0;
  std::vector<std::string> columns;
  std::vector<std::vector<v1::SqlValue>> rows;  // RETURNING rows of a write; rows of a read
  bool truncated = false;                         // more rows than max_rows existed
  // ApplyIntent only: the watermark was at or past the intent already (an earlier attempt
  // committed, its answer was lost). Nothing ran now, so what it returned is not known.
  bool already_applied = false;
};

// What an operator's retry (ApplyRetry) found in the target.
enum class RetryResult {
  kApplied,         // applied now; its sluice_error row is marked 'retried'
  kAlreadyRetried,  // an earlier retry committed (its answer was lost): nothing done
  kAppliedInOrder,  // the record was applied in its order after its rejection: nothing done
  kNoRejection,     // the target holds no rejection of this record: nothing done
};

// Receives rows of a read in batches. `columns` is the same on every call. Returning an
// error stops the read and is returned by Query().
using RowSink = std::function<Status(const std::vector<std::string>& columns,
                                     std::vector<std::vector<v1::SqlValue>>& rows)>;

class Backend {
 public:
  virtual ~Backend() = default;

  // "sqlite" or "postgres".
  virtual std::string_view dialect() const = 0;
  virtual const std::string& name() const = 0;

  // Connects (or reconnects) and creates or migrates the schema. Idempotent.
  virtual Status Connect() = 0;
  // Cheap liveness check on the current connection (SELECT 1).
  virtual Status Ping() = 0;
  // From any thread, once the backend's user is stopping: a call in progress that waits
  // on the server (connect, I/O) returns soon with a retryable error instead of waiting
  // out its timeout, and so does every later call. Default: nothing to cut short.
  virtual void Interrupt() {}

  // Claims `node_id` on this target for this process (PostgreSQL: advisory lock held by
  // the session; SQLite: a lock row plus a file lock). A second claimant gets
  // kFailedPrecondition naming the node. Must be called after each Connect().
  virtual Status ClaimNode(const std::string& node_id) = 0;

  // The last applied LSN for `key`, 0 when none was ever applied.
  virtual Result<Lsn> ReadWatermark(const WatermarkKey& key) = 0;

  // In one transaction: applies `items` in order, records `errors` in sluice_error, and
  // sets the watermark of `key` to `watermark`. Commits durably. On any error nothing of
  // it is applied. Rows of sluice_error for (key, LSN in [first item, last item]) that
  // are still open get resolution 'applied' in the same transaction: a record rejected
  // before (blocked) and now applied in its order must never be retried on top.
  // `items` empty and `watermark` equal to the stored one writes `errors` alone (a
  // blocked record: shown in the table, the watermark unmoved).
  virtual Status ApplyBatch(const WatermarkKey& key, std::span<const ApplyItem> items,
                            std::span<const ErrorEntry> errors, Lsn watermark) = 0;

  // An operator's retry of a record this target rejected and the watermark of `key` has
  // passed (it was skipped): applies `item` out of its order, in one transaction with
  // its sluice_error row (key, item.lsn) set to resolution 'retried'. The watermark is
  // neither read nor moved. That row is the retry's idempotence key: a row resolved
  // already, or no row at all, means nothing is applied (see RetryResult). A permanent
  // error of the record leaves nothing applied and the row open.
  virtual Result<RetryResult> ApplyRetry(const WatermarkKey& key, const ApplyItem& item) = 0;

  // Applies ONE synchronous-write intent (item.record->intent()) alone, in one
  // transaction with the watermark of `key` set to item.lsn, and returns what it did
  // (rows affected, up to `max_rows` RETURNING rows). A permanent error means the target
  // rejects the intent: nothing of it is applied and the watermark has not moved (the
  // caller records the rejection with ApplyBatch). Like ApplyBatch, a replay whose
  // watermark is already at or past item.lsn applies nothing and returns an empty result
  // with already_applied set.
  virtual Result<StatementResult> ApplyIntent(const WatermarkKey& key, const ApplyItem& item,
                                              size_t max_rows) = 0;

  // Runs a read (`statement`, parameters bound like SQL records) in a READ ONLY
  // transaction, so a write hidden in it fails clearly, and hands its rows to `sink` in
  // batches of `batch_rows`, at most `max_rows` in all (0: no limit). Not journaled.
  virtual Status Query(const v1::SqlStatement& statement, size_t batch_rows, size_t max_rows,
                       const RowSink& sink) = 0;
};

// Creates a backend for `dialect` ("sqlite" or "postgres"); does not connect.
Result<std::unique_ptr<Backend>> NewBackend(std::string_view dialect, const BackendOptions& options);

}  // namespace sluice::store
