#pragma once
// Internal to the SQLite backend (sqlite_backend.cc, sqlite_apply.cc, sqlite_sync.cc): the
// texts of the backend's own statements, built once, and the helpers that bind them.

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sluice/v1/records.pb.h"
#include "store/backend.h"

namespace sluice::store::sqlite {

inline constexpr int kIntervalSlots = v1::SampleInterval_ARRAYSIZE;

int64_t NowMicros();

// Statement texts. Sample statements are indexed by SampleInterval number.
struct Statements {
  std::array<std::string, kIntervalSlots> sample_upsert;
  std::array<std::string, kIntervalSlots> correction_upsert;
  std::string burst_upsert;
  std::string recall_upsert =
      "INSERT INTO recall_sample (point_id, event_ts, ts, value, quality, ver) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT (point_id, event_ts, ts) DO UPDATE SET value = excluded.value, "
      "quality = excluded.quality, ver = excluded.ver "
      "WHERE excluded.ver > recall_sample.ver";
  std::string event_insert =
      "INSERT INTO event_log (ver, seq, ts, point_id, kind, severity, source, text) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
  std::string edit_log_insert =
      "INSERT INTO sample_edit_log (ver, sample_table, point_id, ts, value, quality, manual, "
      "who, why, edited_at, old_value, old_quality) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
  // A correction with correct_recall: the recall rows of its point and time.
  std::string recall_correct =
      "UPDATE recall_sample SET value = ?3, quality = ?4 WHERE point_id = ?1 AND ts = ?2";
  std::string error_upsert =
      "INSERT INTO sluice_error (node, epoch, stream, lsn, target, record_kind, message, "
      "payload, failed_at, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1) "
      "ON CONFLICT (node, epoch, stream, lsn) DO UPDATE SET target = excluded.target, "
      "record_kind = excluded.record_kind, message = excluded.message, "
      "payload = excluded.payload, failed_at = excluded.failed_at, "
      "attempts = sluice_error.attempts + 1";
  std::string watermark_upsert =
      "INSERT INTO sluice_watermark (node, epoch, stream, lsn, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (node, epoch, stream) DO UPDATE SET lsn = excluded.lsn, "
      "updated_at = excluded.updated_at";
  std::string watermark_read =
      "SELECT lsn FROM sluice_watermark WHERE node = ?1 AND epoch = ?2 AND stream = ?3";
  // Records applied in their order resolve their open rejections (see backend.h).
  std::string error_resolve_range =
      "UPDATE sluice_error SET resolution = 'applied', resolved_at = ?6 WHERE node = ?1 AND "
      "epoch = ?2 AND stream = ?3 AND lsn BETWEEN ?4 AND ?5 AND resolution IS NULL";
  std::string error_resolution_read =
      "SELECT resolution FROM sluice_error WHERE node = ?1 AND epoch = ?2 AND stream = ?3 AND "
      "lsn = ?4";
  std::string error_mark_retried =
      "UPDATE sluice_error SET resolution = 'retried', resolved_at = ?5 WHERE node = ?1 AND "
      "epoch = ?2 AND stream = ?3 AND lsn = ?4";
  std::string version_read = "SELECT COALESCE(MAX(version), 0) FROM sluice_schema_version";
  std::string version_insert =
      "INSERT INTO sluice_schema_version (version, description, applied_at) "
      "VALUES (?1, ?2, ?3)";
  std::string node_lock_upsert =
      "INSERT INTO sluice_node_lock (node, pid, host, claimed_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (node) DO UPDATE SET pid = excluded.pid, host = excluded.host, "
      "claimed_at = excluded.claimed_at";
  std::string node_lock_read =
      "SELECT pid, host, claimed_at FROM sluice_node_lock WHERE node = ?1";


  Statements();
};

// The one set of statement texts of this process.
const Statements& Sql();

// A failure of the service's own statements concerns the target, never a record: retry.
inline Status TargetLevel(Status s) { return s.ok() ? s : s.WithRetryable(true); }

inline int BindText(sqlite3_stmt* stmt, int index, const std::string& text) {
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// Binds a watermark key to parameters ?1 (node), ?2 (epoch) and ?3 (stream).
inline void BindKey(sqlite3_stmt* stmt, const WatermarkKey& key) {
  BindText(stmt, 1, key.node);
  BindText(stmt, 2, key.epoch);
  BindText(stmt, 3, key.stream);
}

// Resets a statement and drops its bindings (which may point into a record) on scope exit.
struct StatementUse {
  sqlite3_stmt* stmt;
  bool finalize;
  ~StatementUse() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (finalize) sqlite3_finalize(stmt);
  }
};

}  // namespace sluice::store::sqlite
