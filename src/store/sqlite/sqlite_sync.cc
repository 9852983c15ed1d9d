// The synchronous path: ApplyIntent (one intent with its watermark) and Query (reads on
// this backend's own read connection), see sqlite_backend.h.
#include "store/sqlite/sqlite_backend.h"

#include <climits>

#include <fmt/format.h>

#include "record/record_codec.h"
#include "store/sqlite/sqlite_backend_sql.h"
#include "store/sqlite/sqlite_statement.h"
#include "store/sqlite/sqlite_writer.h"

namespace sluice::store::sqlite {

Result<StatementResult> SqliteBackend::ApplyIntent(const WatermarkKey& key,
                                                   const ApplyItem& item, size_t max_rows) {
  SLUICE_RETURN_IF_ERROR(CheckConnected());
  if (item.record == nullptr || !item.record->has_intent()) {
    return Status::InvalidArgument(fmt::format(
        "{}: ApplyIntent takes an intent record; lsn {} holds {}", Where(), item.lsn,
        item.record != nullptr ? record::RecordKind(*item.record) : "no record"));
  }
  if (item.lsn == 0 || item.lsn > static_cast<Lsn>(INT64_MAX)) {
    return Status::InvalidArgument(
        fmt::format("{}: intent lsn {} is out of range", Where(), item.lsn));
  }
  std::lock_guard<std::mutex> lock(writer_->mu());
  Writer& w = *writer_;
  if (w.broken()) {
    return Status::Unavailable(fmt::format("{}: connection needs reopening", Where()));
  }
  SLUICE_RETURN_IF_ERROR(TargetLevel(w.Begin(Where())));
  // Read under BEGIN IMMEDIATE: no other writer can move the watermark before COMMIT.
  auto stored = ReadWatermarkLocked(key);
  if (!stored.ok() || *stored >= item.lsn) {
    w.Rollback();
    if (!stored.ok()) return stored.status();
    StatementResult replay;  // applied before (its answer was lost): nothing to do
    replay.already_applied = true;
    return replay;
  }
  StatementResult result;
  Status s = ApplyIntentLocked(*item.record, item.lsn, &result, max_rows);
  if (s.ok()) s = TargetLevel(WriteWatermarkLocked(key, item.lsn));
  if (s.ok()) s = TargetLevel(w.Commit(Where()));
  if (!s.ok()) {
    w.Rollback();
    return s;
  }
  return result;
}

Status SqliteBackend::Query(const v1::SqlStatement& statement, size_t batch_rows,
                            size_t max_rows, const RowSink& sink) {
  SLUICE_RETURN_IF_ERROR(CheckConnected());
  if (writer_->path() == ":memory:") {
    return Status::FailedPrecondition(fmt::format(
        "{}: reads need a database file; an in-memory database has no second connection",
        Where()));
  }
  if (reader_ == nullptr || reader_->broken()) {
    reader_.reset();
    auto reader = ReadConnection::Open(writer_->path(), sqlite_options_.busy_timeout_ms);
    if (!reader.ok()) return reader.status().Annotate(Where());
    reader_ = std::move(reader).value();
  }
  return reader_->Run(statement, batch_rows, max_rows, sink, Where() + ": read");
}

}  // namespace sluice::store::sqlite
