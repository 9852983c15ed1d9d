// ApplyBatch and ApplyRetry: the records of a batch in one transaction with the watermark
// and the rejections; every record kind's statements (see sqlite_backend.h).
#include "store/sqlite/sqlite_backend.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "common/log.h"
#include "record/record_codec.h"
#include "store/schema.h"
#include "store/sqlite/sqlite_backend_sql.h"
#include "store/sqlite/sqlite_statement.h"
#include "store/sqlite/sqlite_writer.h"

namespace sluice::store::sqlite {
namespace {

struct UserSqlScope {
  Writer* writer;
  explicit UserSqlScope(Writer* w) : writer(w) { writer->SetUserSql(true); }
  ~UserSqlScope() { writer->SetUserSql(false); }
};

}  // namespace

Status SqliteBackend::ApplyBatch(const WatermarkKey& key, std::span<const ApplyItem> items,
                                 std::span<const ErrorEntry> errors, Lsn watermark) {
  SLUICE_RETURN_IF_ERROR(CheckConnected());
  if (watermark > static_cast<Lsn>(INT64_MAX)) {
    return Status::InvalidArgument(
        fmt::format("{}: watermark {} does not fit a signed 64-bit column", Where(), watermark));
  }
  std::lock_guard<std::mutex> lock(writer_->mu());
  Writer& w = *writer_;
  if (w.broken()) {
    return Status::Unavailable(fmt::format("{}: connection needs reopening", Where()));
  }
  SLUICE_RETURN_IF_ERROR(TargetLevel(w.Begin(Where())));
  // What an earlier attempt committed is skipped, as the PostgreSQL backend does: a commit
  // the applier could not confirm (an error reported after the commit point) must not run
  // its statements twice, and the watermark never moves back.
  auto stored = ReadWatermarkLocked(key);
  if (!stored.ok()) {
    w.Rollback();
    return stored.status();
  }
  // A blocked record's rejection is written without moving the watermark: not a replay.
  const bool errors_only = items.empty() && !errors.empty() && *stored == watermark;
  if (*stored >= watermark && watermark > 0 && !errors_only) {
    SLUICE_LOG_INFO("{}: stream '{}' is already applied up to lsn {} (batch up to {}); nothing to do",
                    Where(), key.stream, *stored, watermark);
    w.Rollback();
    return Status::OK();
  }
  auto first = std::find_if(items.begin(), items.end(),
                            [&](const ApplyItem& i) { return i.lsn > *stored; });
  if (first != items.begin()) {
    SLUICE_LOG_INFO("{}: skipping {} record(s) of stream '{}' already applied (lsn <= {})", Where(),
                    first - items.begin(), key.stream, *stored);
    items = items.subspan(static_cast<size_t>(first - items.begin()));
  }
  std::vector<ErrorEntry> new_errors;
  for (const ErrorEntry& e : errors) {
    // Errors alone are never a replay (see errors_only): each counts an attempt.
    if (errors_only || e.lsn > *stored) new_errors.push_back(e);
  }
  Status s;
  for (const ApplyItem& item : items) {
    s = ApplyItemLocked(item);
    if (!s.ok()) break;
  }
  if (s.ok() && !items.empty()) {
    s = TargetLevel(ResolveAppliedLocked(key, items.front().lsn, items.back().lsn));
  }
  if (s.ok()) s = TargetLevel(WriteErrorsLocked(key, new_errors));
  if (s.ok()) s = TargetLevel(WriteWatermarkLocked(key, watermark));
  if (s.ok()) s = TargetLevel(w.Commit(Where()));
  if (!s.ok()) w.Rollback();
  return s;
}

Status SqliteBackend::ResolveAppliedLocked(const WatermarkKey& key, Lsn first, Lsn last) {
  Writer& w = *writer_;
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, w.Cached(Sql().error_resolve_range));
  StatementUse use{stmt, false};
  BindKey(stmt, key);
  sqlite3_bind_int64(stmt, 4, static_cast<int64_t>(std::min<Lsn>(first, INT64_MAX)));
  sqlite3_bind_int64(stmt, 5, static_cast<int64_t>(std::min<Lsn>(last, INT64_MAX)));
  sqlite3_bind_int64(stmt, 6, NowMicros());
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    return w.LastError(rc, fmt::format("{}: resolving rejections of lsn {}..{} applied in order",
                                       Where(), first, last));
  }
  return Status::OK();
}

Result<RetryResult> SqliteBackend::ApplyRetry(const WatermarkKey& key, const ApplyItem& item) {
  SLUICE_RETURN_IF_ERROR(CheckConnected());
  if (item.record == nullptr || item.lsn == 0 || item.lsn > static_cast<Lsn>(INT64_MAX)) {
    return Status::InvalidArgument(
        fmt::format("{}: retry of lsn {}: no record or lsn out of range", Where(), item.lsn));
  }
  std::lock_guard<std::mutex> lock(writer_->mu());
  Writer& w = *writer_;
  if (w.broken()) {
    return Status::Unavailable(fmt::format("{}: connection needs reopening", Where()));
  }
  const std::string context = fmt::format("{}: retry of lsn {} of stream '{}'", Where(), item.lsn, key.stream);
  SLUICE_RETURN_IF_ERROR(TargetLevel(w.Begin(Where())));
  // Read under BEGIN IMMEDIATE: the row cannot change before COMMIT.
  const auto resolution = [&]() -> Result<std::optional<std::string>> {
    SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, w.Cached(Sql().error_resolution_read));
    StatementUse use{stmt, false};
    BindKey(stmt, key);
    sqlite3_bind_int64(stmt, 4, static_cast<int64_t>(item.lsn));
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return w.LastError(rc, context);
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    return std::optional<std::string>(text ? reinterpret_cast<const char*>(text) : "");
  }();
  if (!resolution.ok() || !*resolution || !(*resolution)->empty()) {
    w.Rollback();
    if (!resolution.ok()) return TargetLevel(resolution.status());
    if (!*resolution) return RetryResult::kNoRejection;
    return **resolution == "retried" ? RetryResult::kAlreadyRetried : RetryResult::kAppliedInOrder;
  }
  Status s = ApplyItemLocked(item);
  if (s.ok()) {
    s = [&]() -> Status {
      SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, w.Cached(Sql().error_mark_retried));
      StatementUse use{stmt, false};
      BindKey(stmt, key);
      sqlite3_bind_int64(stmt, 4, static_cast<int64_t>(item.lsn));
      sqlite3_bind_int64(stmt, 5, NowMicros());
      int rc = sqlite3_step(stmt);
      return rc == SQLITE_DONE ? Status::OK() : TargetLevel(w.LastError(rc, context));
    }();
  }
  if (s.ok()) s = TargetLevel(w.Commit(Where()));
  if (!s.ok()) {
    w.Rollback();
    return s;
  }
  return RetryResult::kApplied;
}


Status SqliteBackend::ApplyItemLocked(const ApplyItem& item) {
  if (item.record == nullptr) {
    return Status::InvalidArgument(fmt::format("{}: item at lsn {} has no record", Where(), item.lsn));
  }
  const v1::Record& record = *item.record;
  const auto version = static_cast<int64_t>(record.version());
  switch (record.body_case()) {
    case v1::Record::kSamples:
      return ApplySamplesLocked(record.samples(), version, item.lsn);
    case v1::Record::kCorrection:
      return ApplyCorrectionLocked(record, item.lsn);
    case v1::Record::kEvents:
      return ApplyEventsLocked(record.events(), version, item.lsn);
    case v1::Record::kTriggers:
      return ApplyTriggersLocked(record.triggers(), version, item.lsn);
    case v1::Record::kRecall:
      return ApplyRecallLocked(record.recall(), version, item.lsn);
    case v1::Record::kSql:
      return ApplySqlLocked(record.sql(), "sql", item.lsn);
    case v1::Record::kIntent:
      return ApplyIntentLocked(record, item.lsn, nullptr, 0);
    case v1::Record::kOutcome:
    case v1::Record::kSwitchMarker:
    case v1::Record::BODY_NOT_SET:
      return Status::OK();
  }
  return Status::InvalidArgument(fmt::format("{}: unknown kind {}",
                                             RecordContext(record::RecordKind(record), item.lsn),
                                             static_cast<int>(record.body_case())));
}

Status SqliteBackend::ApplySamplesLocked(const v1::SampleBatch& batch, int64_t version, Lsn lsn) {
  Writer& w = *writer_;
  const int interval = batch.interval();
  std::string_view table = schema::SampleTableName(interval);
  if (table.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: no sample table for interval {}", RecordContext("samples", lsn), interval));
  }
  const int n = batch.point_id_size();
  if (batch.ts_us_size() != n || batch.value_size() != n || batch.quality_size() != n) {
    return Status::InvalidArgument(fmt::format(
        "{}: columns differ in length (point_id {}, ts_us {}, value {}, quality {})",
        RecordContext("samples", lsn), n, batch.ts_us_size(), batch.value_size(),
        batch.quality_size()));
  }
  if (n == 0) return Status::OK();
  auto prepared = w.Cached(Sql().sample_upsert[interval]);
  if (!prepared.ok()) return TargetLevel(prepared.status().Annotate(RecordContext("samples", lsn)));
  sqlite3_stmt* stmt = *prepared;

  // The hot path: one cached statement, four binds and a step per row, no allocation.
  // Binding an integer or a double cannot fail on a valid index, so only steps are checked;
  // bindings survive sqlite3_reset, so the version is bound once.
  const int64_t* point_id = batch.point_id().data();
  const int64_t* ts = batch.ts_us().data();
  const double* value = batch.value().data();
  const uint32_t* quality = batch.quality().data();
  sqlite3_bind_int64(stmt, 5, version);
  for (int i = 0; i < n; ++i) {
    sqlite3_bind_int64(stmt, 1, point_id[i]);
    sqlite3_bind_int64(stmt, 2, ts[i]);
    sqlite3_bind_double(stmt, 3, value[i]);
    sqlite3_bind_int64(stmt, 4, quality[i]);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
      Status s = w.LastError(rc, fmt::format("{} ({}, row {}: point_id {}, ts {})",
                                             RecordContext("samples", lsn), table, i,
                                             point_id[i], ts[i]));
      sqlite3_reset(stmt);
      return s;
    }
    sqlite3_reset(stmt);
  }
  return Status::OK();
}

Status SqliteBackend::ApplyCorrectionLocked(const v1::Record& record, Lsn lsn) {
  return ApplyOneCorrectionLocked(record.correction(), static_cast<int64_t>(record.version()),
                                  record.admitted_at_us(), RecordContext("correction", lsn));
}

Status SqliteBackend::ApplyOneCorrectionLocked(const v1::SampleCorrection& c, int64_t version,
                                               int64_t edited_at_us, const std::string& context) {
  Writer& w = *writer_;
  const int interval = c.interval();
  std::string_view table = schema::SampleTableName(interval);
  if (table.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: no sample table for interval {}", context, interval));
  }
  {
    auto stmt = w.Cached(Sql().correction_upsert[interval]);
    if (!stmt.ok()) return TargetLevel(stmt.status().Annotate(context));
    StatementUse use{*stmt, false};
    sqlite3_bind_int64(*stmt, 1, c.point_id());
    sqlite3_bind_int64(*stmt, 2, c.ts_us());
    sqlite3_bind_double(*stmt, 3, c.value());
    sqlite3_bind_int64(*stmt, 4, c.quality());
    sqlite3_bind_int64(*stmt, 5, version);
    sqlite3_bind_int(*stmt, 6, c.manual() ? 1 : 0);
    int rc = sqlite3_step(*stmt);
    if (rc != SQLITE_DONE) {
      return w.LastError(rc, fmt::format("{} ({}: point_id {}, ts {})", context, table,
                                         c.point_id(), c.ts_us()));
    }
  }
  if (c.correct_recall()) {
    auto stmt = w.Cached(Sql().recall_correct);
    if (!stmt.ok()) return TargetLevel(stmt.status().Annotate(context));
    StatementUse use{*stmt, false};
    sqlite3_bind_int64(*stmt, 1, c.point_id());
    sqlite3_bind_int64(*stmt, 2, c.ts_us());
    sqlite3_bind_double(*stmt, 3, c.value());
    sqlite3_bind_int64(*stmt, 4, c.quality());
    int rc = sqlite3_step(*stmt);
    if (rc != SQLITE_DONE) {
      return w.LastError(rc, fmt::format("{} (recall_sample: point_id {}, ts {})", context,
                                         c.point_id(), c.ts_us()));
    }
  }
  auto stmt = w.Cached(Sql().edit_log_insert);
  if (!stmt.ok()) return TargetLevel(stmt.status().Annotate(context));
  StatementUse use{*stmt, false};
  sqlite3_bind_int64(*stmt, 1, version);
  sqlite3_bind_text(*stmt, 2, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
  sqlite3_bind_int64(*stmt, 3, c.point_id());
  sqlite3_bind_int64(*stmt, 4, c.ts_us());
  sqlite3_bind_double(*stmt, 5, c.value());
  sqlite3_bind_int64(*stmt, 6, c.quality());
  sqlite3_bind_int(*stmt, 7, c.manual() ? 1 : 0);
  int rc = BindText(*stmt, 8, c.who());
  if (rc == SQLITE_OK) rc = BindText(*stmt, 9, c.why());
  sqlite3_bind_int64(*stmt, 10, edited_at_us);
  // Unbound parameters are NULL: no old value (an inserted sample, an older record).
  if (c.has_old_value() && !std::isnan(c.old_value())) {
    sqlite3_bind_double(*stmt, 11, c.old_value());
  }
  if (c.has_old_quality()) sqlite3_bind_int64(*stmt, 12, c.old_quality());
  if (rc == SQLITE_OK) rc = sqlite3_step(*stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_OK) {
    return w.LastError(rc, context + " (sample_edit_log)");
  }
  return Status::OK();
}

Status SqliteBackend::ApplySampleModifyLocked(const v1::Record& record, Lsn lsn,
                                              StatementResult* result) {
  const v1::SyncIntent& intent = record.intent();
  const auto version = static_cast<int64_t>(record.version());
  for (int i = 0; i < intent.corrections_size(); ++i) {
    SLUICE_RETURN_IF_ERROR(ApplyOneCorrectionLocked(
        intent.corrections(i), version, record.admitted_at_us(),
        fmt::format("{}, correction {}", RecordContext("sample modify intent", lsn), i)));
  }
  if (result != nullptr) result->rows_affected = intent.corrections_size();
  return Status::OK();
}

Status SqliteBackend::ApplyIntentLocked(const v1::Record& record, Lsn lsn,
                                        StatementResult* result, size_t max_rows) {
  if (record.intent().kind() == v1::SyncIntent::KIND_SAMPLE_MODIFY) {
    return ApplySampleModifyLocked(record, lsn, result);
  }
  return ApplySqlLocked(record.intent().statement(), "intent", lsn, result, max_rows);
}

Status SqliteBackend::ApplyEventsLocked(const v1::EventBatch& batch, int64_t version, Lsn lsn) {
  Writer& w = *writer_;
  if (batch.events_size() == 0) return Status::OK();
  auto prepared = w.Cached(Sql().event_insert);
  if (!prepared.ok()) return TargetLevel(prepared.status().Annotate(RecordContext("events", lsn)));
  sqlite3_stmt* stmt = *prepared;
  StatementUse use{stmt, false};
  sqlite3_bind_int64(stmt, 1, version);
  for (int i = 0; i < batch.events_size(); ++i) {
    const v1::Event& e = batch.events(i);
    sqlite3_bind_int(stmt, 2, i);
    sqlite3_bind_int64(stmt, 3, e.ts_us());
    sqlite3_bind_int64(stmt, 4, e.point_id());
    int rc = BindText(stmt, 5, e.kind());
    sqlite3_bind_int(stmt, 6, e.severity());
    if (rc == SQLITE_OK) rc = BindText(stmt, 7, e.source());
    if (rc == SQLITE_OK) rc = BindText(stmt, 8, e.text());
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
      return w.LastError(rc, fmt::format("{} (event {}, kind '{}')", RecordContext("events", lsn),
                                         i, e.kind()));
    }
    sqlite3_reset(stmt);
  }
  return Status::OK();
}

Status SqliteBackend::ApplyTriggersLocked(const v1::TriggerBatch& batch, int64_t version,
                                          Lsn lsn) {
  Writer& w = *writer_;
  if (batch.samples_size() == 0) return Status::OK();
  auto prepared = w.Cached(Sql().burst_upsert);
  if (!prepared.ok()) {
    return TargetLevel(prepared.status().Annotate(RecordContext("triggers", lsn)));
  }
  sqlite3_stmt* stmt = *prepared;
  StatementUse use{stmt, false};
  constexpr int kInts = 4;
  constexpr int kFloats = kInts + schema::kBurstColumns;
  constexpr int kStrings = kFloats + schema::kBurstColumns;
  sqlite3_bind_int64(stmt, 3, version);
  for (int i = 0; i < batch.samples_size(); ++i) {
    const v1::TriggerSample& t = batch.samples(i);
    if (t.int_values_size() > schema::kBurstColumns ||
        t.float_values_size() > schema::kBurstColumns ||
        t.string_values_size() > schema::kBurstColumns) {
      return Status::OutOfRange(fmt::format(
          "{}: trigger sample {} (type {}) has {} int, {} float and {} string values; at most "
          "{} of each fit burst_sample",
          RecordContext("triggers", lsn), i, t.trigger_type(), t.int_values_size(),
          t.float_values_size(), t.string_values_size(), schema::kBurstColumns));
    }
    sqlite3_bind_int64(stmt, 1, t.trigger_type());
    sqlite3_bind_int64(stmt, 2, t.occur_time_us());
    int rc = SQLITE_OK;
    for (int k = 0; k < schema::kBurstColumns; ++k) {
      if (k < t.int_values_size()) {
        sqlite3_bind_int64(stmt, kInts + k, t.int_values(k));
      } else {
        sqlite3_bind_null(stmt, kInts + k);
      }
      if (k < t.float_values_size()) {
        sqlite3_bind_double(stmt, kFloats + k, t.float_values(k));
      } else {
        sqlite3_bind_null(stmt, kFloats + k);
      }
      if (k < t.string_values_size()) {
        if (rc == SQLITE_OK) rc = BindText(stmt, kStrings + k, t.string_values(k));
      } else {
        sqlite3_bind_null(stmt, kStrings + k);
      }
    }
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
      return w.LastError(rc, fmt::format("{} (trigger sample {}, type {}, occur_time {})",
                                         RecordContext("triggers", lsn), i, t.trigger_type(),
                                         t.occur_time_us()));
    }
    sqlite3_reset(stmt);
  }
  return Status::OK();
}

Status SqliteBackend::ApplyRecallLocked(const v1::RecallBatch& batch, int64_t version, Lsn lsn) {
  Writer& w = *writer_;
  if (batch.rows_size() == 0) return Status::OK();
  auto prepared = w.Cached(Sql().recall_upsert);
  if (!prepared.ok()) return TargetLevel(prepared.status().Annotate(RecordContext("recall", lsn)));
  sqlite3_stmt* stmt = *prepared;
  StatementUse use{stmt, false};
  sqlite3_bind_int64(stmt, 6, version);
  for (int i = 0; i < batch.rows_size(); ++i) {
    const v1::RecallRow& r = batch.rows(i);
    sqlite3_bind_int64(stmt, 1, r.point_id());
    sqlite3_bind_int64(stmt, 2, r.event_ts_us());
    sqlite3_bind_int64(stmt, 3, r.ts_us());
    sqlite3_bind_double(stmt, 4, r.value());
    sqlite3_bind_int64(stmt, 5, r.quality());
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
      return w.LastError(rc, fmt::format("{} (row {}: point_id {}, event_ts {}, ts {})",
                                         RecordContext("recall", lsn), i, r.point_id(),
                                         r.event_ts_us(), r.ts_us()));
    }
    sqlite3_reset(stmt);
  }
  return Status::OK();
}

Status SqliteBackend::ApplySqlLocked(const v1::SqlStatement& statement, std::string_view kind,
                                     Lsn lsn, StatementResult* result, size_t max_rows) {
  Writer& w = *writer_;
  const std::string& text = SqliteText(statement);
  if (text.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: no SQL text for dialect sqlite", RecordContext(kind, lsn)));
  }
  UserSqlScope user_sql(&w);
  bool owned = false;
  auto prepared = w.PrepareUser(text, &owned);
  if (!prepared.ok()) return prepared.status().Annotate(RecordContext(kind, lsn));
  sqlite3_stmt* stmt = *prepared;
  StatementUse use{stmt, owned};
  if (Status s = BindParams(stmt, statement); !s.ok()) return s.Annotate(RecordContext(kind, lsn));

  // sqlite3_changes() still holds the count of whichever INSERT/UPDATE/DELETE ran last
  // (DDL and SELECT leave it alone): trust it only when the connection's total moved during
  // this statement. (The total also counts rows changed by triggers; sqlite3_changes() not.)
  const int64_t changes_before = result != nullptr ? sqlite3_total_changes64(w.db()) : 0;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (result == nullptr) continue;
    if (result->columns.empty()) result->columns = ColumnNames(stmt);
    if (max_rows == 0 || result->rows.size() < max_rows) {
      result->rows.push_back(ReadRow(stmt));
    } else {
      result->truncated = true;
    }
  }
  if (rc != SQLITE_DONE) return w.LastError(rc, RecordContext(kind, lsn));
  if (result != nullptr) {
    if (result->columns.empty()) result->columns = ColumnNames(stmt);
    if (sqlite3_total_changes64(w.db()) != changes_before) {
      result->rows_affected = sqlite3_changes64(w.db());
    }
  }
  return Status::OK();
}

Status SqliteBackend::WriteErrorsLocked(const WatermarkKey& key,
                                        std::span<const ErrorEntry> errors) {
  if (errors.empty()) return Status::OK();
  Writer& w = *writer_;
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, w.Cached(Sql().error_upsert));
  StatementUse use{stmt, false};
  BindText(stmt, 1, key.node);
  BindText(stmt, 2, key.epoch);
  BindText(stmt, 5, options_.name);
  for (const ErrorEntry& e : errors) {
    if (e.lsn > static_cast<Lsn>(INT64_MAX)) {
      return Status::InvalidArgument(fmt::format("{}: error entry lsn {} out of range", Where(), e.lsn));
    }
    int rc = BindText(stmt, 3, e.stream.empty() ? key.stream : e.stream);
    sqlite3_bind_int64(stmt, 4, static_cast<int64_t>(e.lsn));
    if (rc == SQLITE_OK) rc = BindText(stmt, 6, e.record_kind);
    if (rc == SQLITE_OK) rc = BindText(stmt, 7, e.message);
    if (rc == SQLITE_OK) rc = BindText(stmt, 8, e.payload_json);
    sqlite3_bind_int64(stmt, 9, e.failed_at_us);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
      return w.LastError(rc, fmt::format("{}: writing error log entry (stream {}, lsn {})",
                                         Where(), e.stream, e.lsn));
    }
    sqlite3_reset(stmt);
  }
  return Status::OK();
}

Status SqliteBackend::WriteWatermarkLocked(const WatermarkKey& key, Lsn watermark) {
  Writer& w = *writer_;
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, w.Cached(Sql().watermark_upsert));
  StatementUse use{stmt, false};
  BindKey(stmt, key);
  sqlite3_bind_int64(stmt, 4, static_cast<int64_t>(watermark));
  sqlite3_bind_int64(stmt, 5, NowMicros());
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    return w.LastError(rc, fmt::format("{}: writing watermark ({}, {}, {}) = {}", Where(),
                                       key.node, key.epoch, key.stream, watermark));
  }
  return Status::OK();
}


}  // namespace sluice::store::sqlite
