#pragma once
// The schema Sluice creates in every target, one DDL per dialect (see docs/ and
// ../shared/DESIGN.md "Schema in every target").
//
// Migrations are forward-only: each dialect has a list of numbered steps, applied in
// order. A backend applies every step whose number is above the target's current version,
// each step in its own transaction that also inserts the step's row into
// `sluice_schema_version` (version, description, applied_at). The current version is
// MAX(version) of that table; the table itself is created by BootstrapStatement() before
// any step. A target whose version is above LatestSchemaVersion() was written by a newer
// binary and is refused, never downgraded. A step, once released, is never edited: a
// change is a new step.
//
// Tables (both dialects, same columns; types differ only where the dialect must):
//   point(point_id PK, name UNIQUE (the point's code), description (its name for people),
//         unit, lower_limit (lo), upper_limit (hi), updated_at; step 3: kind (0 analog,
//         1 status, 2 counter), lolo_limit, hihi_limit, deadband, station, element)
//   sample_define(point_id, sample_interval (SampleInterval number), mode (0 active:
//         sampled from the point table, 1 passive: pushed by an application), enabled,
//         updated_at; PK(point_id, sample_interval))
//   sample_1s ... sample_1d(point_id, ts, value, quality, ver, manual;
//         PK(point_id, ts)) -- ts is µs UTC; ver is the record's admission sequence;
//         manual is 1 for a manually corrected row. value is NULL for NaN on SQLite (and -0.0 reads as 0).
//         PostgreSQL: PARTITION BY RANGE (ts), partitions created by the backend.
//   burst_type(trigger_type PK, name, description, int_count, float_count, string_count;
//         step 3: int_columns, float_columns, string_columns -- column names,
//         comma-separated)
//   burst_sample(trigger_type, occur_time, ver, int_1..int_50, float_1..float_50,
//         str_1..str_50; PK(trigger_type, occur_time)) -- one wide table for every
//         trigger type, the old platform's layout; unused columns are NULL.
//   recall_define(recall_id PK, name, point_ids (comma-separated), period_us, before_us,
//         after_us, on_limit, updated_at) -- step 3: recall windows
//   recall_sample(point_id, event_ts, ts, value, quality, ver; PK(point_id, event_ts, ts))
//   event_log(id (target-local), ver, seq (index in its record), ts, point_id, kind,
//         severity, source, text)
//   sample_edit_log(id (target-local), ver, sample_table, point_id, ts, value, quality,
//         manual, who, why, edited_at; step 4: old_value, old_quality) -- what a
//         correction set, and what it replaced as History.ModifySamples read it on the
//         active target when it admitted the edit (carried in the journaled correction, so
//         every target logs the same; a target never logs what it held itself, which
//         depends on the order it applied its streams in). old_* are NULL for an inserted
//         sample and for correction records that do not carry them.
//   sluice_watermark(node, epoch, stream, lsn, updated_at; PK(node, epoch, stream))
//   sluice_error(node, epoch, stream, lsn, target, record_kind, message, payload,
//         failed_at, attempts, resolution, resolved_at; PK(node, epoch, stream, lsn)) --
//         resolution (step 2) is NULL while the rejection is open, 'applied' once the
//         record was applied in its order after all, 'retried' once an operator's retry
//         applied it (the retry's idempotence key, see backend.h).
//   sluice_node_lock(node PK, pid, host, claimed_at)
//
// Thread safety: everything here is immutable after first use and safe to call from any
// thread.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "record/validate.h"
#include "sluice/v1/records.pb.h"

namespace sluice::store::schema {

// Most int/float/string values a trigger sample carries (columns of burst_sample); the
// record contract admits no more.
inline constexpr int kBurstColumns = record::kMaxTriggerValues;

struct MigrationStep {
  int version = 0;           // 1, 2, 3, ... in order, no gaps
  std::string description;   // stored in sluice_schema_version
  std::vector<std::string> statements;  // executed in order, in one transaction
};

// Creates sluice_schema_version if it does not exist (same text for every dialect).
std::string_view BootstrapStatement();

// Steps of each dialect, in order.
std::span<const MigrationStep> SqliteSchemaSteps();
// PostgreSQL DDL; sample tables are partitioned by range of ts (partitions are not
// created here).
std::span<const MigrationStep> PostgresSchemaSteps();
// The steps of `dialect` ("sqlite", "postgres"); empty for an unknown dialect.
std::span<const MigrationStep> SchemaSteps(std::string_view dialect);
// Version after the last step of `dialect`; 0 for an unknown dialect.
int LatestSchemaVersion(std::string_view dialect);

// The ten sample intervals, in order (SAMPLE_INTERVAL_1S ... SAMPLE_INTERVAL_1D).
std::span<const v1::SampleInterval> SampleIntervals();
// "sample_1s", ..., "sample_1d"; empty for SAMPLE_INTERVAL_UNSPECIFIED or an unknown
// value.
std::string_view SampleTableName(v1::SampleInterval interval);
// Same, as a Status naming the value when there is no table for it.
Result<std::string_view> SampleTable(v1::SampleInterval interval);
// Same, from the raw enum number found in a record.
inline std::string_view SampleTableName(int interval) {
  return v1::SampleInterval_IsValid(interval)
             ? SampleTableName(static_cast<v1::SampleInterval>(interval))
             : std::string_view();
}

// Names of every table the schema creates, sluice_schema_version included.
std::span<const std::string_view> TableNames();

}  // namespace sluice::store::schema
