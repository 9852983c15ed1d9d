#include "store/schema.h"

#include <array>
#include <iterator>

#include <fmt/format.h>

namespace sluice::store::schema {
namespace {

constexpr std::array<v1::SampleInterval, 10> kIntervals = {
    v1::SAMPLE_INTERVAL_1S,    v1::SAMPLE_INTERVAL_5S,    v1::SAMPLE_INTERVAL_1MIN,
    v1::SAMPLE_INTERVAL_5MIN,  v1::SAMPLE_INTERVAL_10MIN, v1::SAMPLE_INTERVAL_15MIN,
    v1::SAMPLE_INTERVAL_30MIN, v1::SAMPLE_INTERVAL_1H,    v1::SAMPLE_INTERVAL_8H,
    v1::SAMPLE_INTERVAL_1D,
};

constexpr std::array<std::string_view, 22> kTableNames = {
    "sluice_schema_version", "point",        "sample_define",    "sample_1s",
    "sample_5s",             "sample_1min",  "sample_5min",      "sample_10min",
    "sample_15min",          "sample_30min", "sample_1h",        "sample_8h",
    "sample_1d",             "burst_type",   "burst_sample",     "recall_sample",
    "event_log",             "sample_edit_log", "sluice_watermark", "sluice_error",
    "sluice_node_lock",      "recall_define",
};

// Column types that differ between dialects.
struct Types {
  std::string_view integer;   // 64-bit integer
  std::string_view real;      // IEEE double
  std::string_view text;
  std::string_view boolean;   // format: {col}, {dflt}; with a CHECK where needed
  std::string_view bool_false;
  std::string_view bool_true;
  std::string_view identity;  // target-local surrogate key column
  std::string_view table_suffix;         // after ")" of an ordinary table
  std::string_view keyed_table_suffix;   // of a table whose rows are found by their key
  std::string_view sample_table_suffix;  // of a sample table
};

// SQLite: STRICT tables so a value of the wrong type is rejected as it is on PostgreSQL
// (the targets must accept and reject the same records); WITHOUT ROWID where the primary
// key is the way rows are found, which keeps one B-tree instead of two.
constexpr Types kSqliteTypes = {
    .integer = "INTEGER",
    .real = "REAL",
    .text = "TEXT",
    .boolean = "INTEGER NOT NULL DEFAULT {dflt} CHECK ({col} IN (0, 1))",
    .bool_false = "0",
    .bool_true = "1",
    .identity = "INTEGER PRIMARY KEY",
    .table_suffix = " STRICT",
    .keyed_table_suffix = " WITHOUT ROWID, STRICT",
    .sample_table_suffix = " WITHOUT ROWID, STRICT",
};

constexpr Types kPostgresTypes = {
    .integer = "BIGINT",
    .real = "DOUBLE PRECISION",
    .text = "TEXT",
    .boolean = "BOOLEAN NOT NULL DEFAULT {dflt}",
    .bool_false = "false",
    .bool_true = "true",
    .identity = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    .table_suffix = "",
    .keyed_table_suffix = "",
    .sample_table_suffix = " PARTITION BY RANGE (ts)",
};

std::string Bool(const Types& t, std::string_view col, bool dflt = false) {
  return fmt::format(fmt::runtime(t.boolean), fmt::arg("col", col),
                     fmt::arg("dflt", dflt ? t.bool_true : t.bool_false));
}

// Step 1 of every dialect: the whole schema of DESIGN.md.
std::vector<std::string> InitialSchema(const Types& t) {
  std::vector<std::string> s;
  s.push_back(fmt::format(
      "CREATE TABLE point (\n"
      "  point_id {0} NOT NULL PRIMARY KEY,\n"
      "  name {2} NOT NULL UNIQUE,\n"
      "  description {2} NOT NULL DEFAULT '',\n"
      "  unit {2} NOT NULL DEFAULT '',\n"
      "  lower_limit {1},\n"
      "  upper_limit {1},\n"
      "  updated_at {0} NOT NULL DEFAULT 0\n"
      "){3}",
      t.integer, t.real, t.text, t.table_suffix));
  s.push_back(fmt::format(
      "CREATE TABLE sample_define (\n"
      "  point_id {0} NOT NULL,\n"
      "  sample_interval {0} NOT NULL,\n"
      "  mode {0} NOT NULL DEFAULT 0,\n"
      "  enabled {2},\n"
      "  description {1} NOT NULL DEFAULT '',\n"
      "  updated_at {0} NOT NULL DEFAULT 0,\n"
      "  PRIMARY KEY (point_id, sample_interval)\n"
      "){3}",
      t.integer, t.text, Bool(t, "enabled", true), t.keyed_table_suffix));
  for (v1::SampleInterval interval : kIntervals) {
    s.push_back(fmt::format(
        "CREATE TABLE {0} (\n"
        "  point_id {1} NOT NULL,\n"
        "  ts {1} NOT NULL,\n"
        "  value {2},\n"
        "  quality {1} NOT NULL,\n"
        "  ver {1} NOT NULL,\n"
        "  manual {3},\n"
        "  PRIMARY KEY (point_id, ts)\n"
        "){4}",
        SampleTableName(interval), t.integer, t.real, Bool(t, "manual"),
        t.sample_table_suffix));
  }
  s.push_back(fmt::format(
      "CREATE TABLE burst_type (\n"
      "  trigger_type {0} NOT NULL PRIMARY KEY,\n"
      "  name {1} NOT NULL DEFAULT '',\n"
      "  description {1} NOT NULL DEFAULT '',\n"
      "  int_count {0} NOT NULL DEFAULT 0,\n"
      "  float_count {0} NOT NULL DEFAULT 0,\n"
      "  string_count {0} NOT NULL DEFAULT 0\n"
      "){2}",
      t.integer, t.text, t.table_suffix));
  {
    std::string burst = fmt::format(
        "CREATE TABLE burst_sample (\n"
        "  trigger_type {0} NOT NULL,\n"
        "  occur_time {0} NOT NULL,\n"
        "  ver {0} NOT NULL,\n",
        t.integer);
    for (int i = 1; i <= kBurstColumns; ++i) fmt::format_to(std::back_inserter(burst), "  int_{} {},\n", i, t.integer);
    for (int i = 1; i <= kBurstColumns; ++i) fmt::format_to(std::back_inserter(burst), "  float_{} {},\n", i, t.real);
    for (int i = 1; i <= kBurstColumns; ++i) fmt::format_to(std::back_inserter(burst), "  str_{} {},\n", i, t.text);
    fmt::format_to(std::back_inserter(burst), "  PRIMARY KEY (trigger_type, occur_time)\n){}",
                   t.keyed_table_suffix);
    s.push_back(std::move(burst));
  }
  s.push_back(fmt::format(
      "CREATE TABLE recall_sample (\n"
      "  point_id {0} NOT NULL,\n"
      "  event_ts {0} NOT NULL,\n"
      "  ts {0} NOT NULL,\n"
      "  value {1},\n"
      "  quality {0} NOT NULL,\n"
      "  ver {0} NOT NULL,\n"
      "  PRIMARY KEY (point_id, event_ts, ts)\n"
      "){2}",
      t.integer, t.real, t.keyed_table_suffix));
  s.push_back(fmt::format(
      "CREATE TABLE event_log (\n"
      "  id {0},\n"
      "  ver {1} NOT NULL,\n"
      "  seq {1} NOT NULL,\n"
      "  ts {1} NOT NULL,\n"
      "  point_id {1} NOT NULL DEFAULT 0,\n"
      "  kind {2} NOT NULL,\n"
      "  severity {1} NOT NULL DEFAULT 0,\n"
      "  source {2} NOT NULL DEFAULT '',\n"
      "  text {2} NOT NULL DEFAULT ''\n"
      "){3}",
      t.identity, t.integer, t.text, t.table_suffix));
  s.push_back("CREATE INDEX event_log_ts ON event_log (ts)");
  s.push_back("CREATE INDEX event_log_point_ts ON event_log (point_id, ts)");
  s.push_back(fmt::format(
      "CREATE TABLE sample_edit_log (\n"
      "  id {0},\n"
      "  ver {1} NOT NULL,\n"
      "  sample_table {2} NOT NULL,\n"
      "  point_id {1} NOT NULL,\n"
      "  ts {1} NOT NULL,\n"
      "  value {3},\n"
      "  quality {1} NOT NULL,\n"
      "  manual {4},\n"
      "  who {2} NOT NULL DEFAULT '',\n"
      "  why {2} NOT NULL DEFAULT '',\n"
      "  edited_at {1} NOT NULL\n"
      "){5}",
      t.identity, t.integer, t.text, t.real, Bool(t, "manual"), t.table_suffix));
  s.push_back("CREATE INDEX sample_edit_log_point_ts ON sample_edit_log (point_id, ts)");
  s.push_back(fmt::format(
      "CREATE TABLE sluice_watermark (\n"
      "  node {1} NOT NULL,\n"
      "  epoch {1} NOT NULL,\n"
      "  stream {1} NOT NULL,\n"
      "  lsn {0} NOT NULL,\n"
      "  updated_at {0} NOT NULL,\n"
      "  PRIMARY KEY (node, epoch, stream)\n"
      "){2}",
      t.integer, t.text, t.keyed_table_suffix));
  s.push_back(fmt::format(
      "CREATE TABLE sluice_error (\n"
      "  node {1} NOT NULL,\n"
      "  epoch {1} NOT NULL,\n"
      "  stream {1} NOT NULL,\n"
      "  lsn {0} NOT NULL,\n"
      "  target {1} NOT NULL,\n"
      "  record_kind {1} NOT NULL,\n"
      "  message {1} NOT NULL,\n"
      "  payload {1} NOT NULL,\n"
      "  failed_at {0} NOT NULL,\n"
      "  attempts {0} NOT NULL DEFAULT 1,\n"
      "  PRIMARY KEY (node, epoch, stream, lsn)\n"
      "){2}",
      t.integer, t.text, t.keyed_table_suffix));
  s.push_back("CREATE INDEX sluice_error_failed_at ON sluice_error (failed_at)");
  s.push_back(fmt::format(
      "CREATE TABLE sluice_node_lock (\n"
      "  node {1} NOT NULL PRIMARY KEY,\n"
      "  pid {0} NOT NULL,\n"
      "  host {1} NOT NULL,\n"
      "  claimed_at {0} NOT NULL\n"
      "){2}",
      t.integer, t.text, t.keyed_table_suffix));
  return s;
}

// Step 2: what became of a rejection (see schema.h, sluice_error).
std::vector<std::string> ErrorResolution(const Types& t) {
  return {fmt::format("ALTER TABLE sluice_error ADD COLUMN resolution {}", t.text),
          fmt::format("ALTER TABLE sluice_error ADD COLUMN resolved_at {}", t.integer)};
}

// Step 3: the sampling catalog (sampling/catalog_types.h). A point's kind, its lolo/hihi
// limits (lower_limit/upper_limit are lo/hi), deadband and hydrology codes; the names of a
// trigger type's columns; recall windows. List columns are comma-separated text, so one
// row holds one catalog entry on every dialect.
std::vector<std::string> SamplingCatalog(const Types& t) {
  return {
      fmt::format("ALTER TABLE point ADD COLUMN kind {} NOT NULL DEFAULT 0", t.integer),
      fmt::format("ALTER TABLE point ADD COLUMN lolo_limit {}", t.real),
      fmt::format("ALTER TABLE point ADD COLUMN hihi_limit {}", t.real),
      fmt::format("ALTER TABLE point ADD COLUMN deadband {} NOT NULL DEFAULT 0", t.real),
      fmt::format("ALTER TABLE point ADD COLUMN station {} NOT NULL DEFAULT ''", t.text),
      fmt::format("ALTER TABLE point ADD COLUMN element {} NOT NULL DEFAULT ''", t.text),
      fmt::format("ALTER TABLE burst_type ADD COLUMN int_columns {} NOT NULL DEFAULT ''", t.text),
      fmt::format("ALTER TABLE burst_type ADD COLUMN float_columns {} NOT NULL DEFAULT ''", t.text),
      fmt::format("ALTER TABLE burst_type ADD COLUMN string_columns {} NOT NULL DEFAULT ''", t.text),
      fmt::format("CREATE TABLE recall_define (\n"
                  "  recall_id {0} NOT NULL PRIMARY KEY,\n"
                  "  name {2} NOT NULL DEFAULT '',\n"
                  "  point_ids {2} NOT NULL DEFAULT '',\n"
                  "  period_us {0} NOT NULL,\n"
                  "  before_us {0} NOT NULL DEFAULT 0,\n"
                  "  after_us {0} NOT NULL DEFAULT 0,\n"
                  "  on_limit {3},\n"
                  "  updated_at {0} NOT NULL DEFAULT 0\n"
                  "){4}",
                  t.integer, t.real, t.text, Bool(t, "on_limit", true), t.table_suffix),
  };
}

// Step 4: what a manual correction replaced (History.ModifySamples reads it when it admits
// the edit and journals it, so every target logs the same); NULL for a sample the edit
// inserted, for a correction record written without it, and for a NaN value.
std::vector<std::string> EditLogOldValue(const Types& t) {
  return {fmt::format("ALTER TABLE sample_edit_log ADD COLUMN old_value {}", t.real),
          fmt::format("ALTER TABLE sample_edit_log ADD COLUMN old_quality {}", t.integer)};
}

}  // namespace

std::string_view BootstrapStatement() {
  return "CREATE TABLE IF NOT EXISTS sluice_schema_version (\n"
         "  version INTEGER NOT NULL PRIMARY KEY,\n"
         "  description TEXT NOT NULL,\n"
         "  applied_at BIGINT NOT NULL\n"
         ")";
}

std::span<const MigrationStep> SqliteSchemaSteps() {
  static const std::vector<MigrationStep> steps = {
      {1, "initial schema", InitialSchema(kSqliteTypes)},
      {2, "sluice_error resolution", ErrorResolution(kSqliteTypes)},
      {3, "sampling catalog", SamplingCatalog(kSqliteTypes)},
      {4, "sample_edit_log old value", EditLogOldValue(kSqliteTypes)},
  };
  return steps;
}

// PostgreSQL: owned by the PostgreSQL backend; edit here.
std::span<const MigrationStep> PostgresSchemaSteps() {
  static const std::vector<MigrationStep> steps = {
      {1, "initial schema", InitialSchema(kPostgresTypes)},
      {2, "sluice_error resolution", ErrorResolution(kPostgresTypes)},
      {3, "sampling catalog", SamplingCatalog(kPostgresTypes)},
      {4, "sample_edit_log old value", EditLogOldValue(kPostgresTypes)},
  };
  return steps;
}

std::span<const MigrationStep> SchemaSteps(std::string_view dialect) {
  if (dialect == "sqlite") return SqliteSchemaSteps();
  if (dialect == "postgres") return PostgresSchemaSteps();
  return {};
}

int LatestSchemaVersion(std::string_view dialect) {
  std::span<const MigrationStep> steps = SchemaSteps(dialect);
  return steps.empty() ? 0 : steps.back().version;
}

std::span<const v1::SampleInterval> SampleIntervals() { return kIntervals; }

std::string_view SampleTableName(v1::SampleInterval interval) {
  switch (interval) {
    case v1::SAMPLE_INTERVAL_1S: return "sample_1s";
    case v1::SAMPLE_INTERVAL_5S: return "sample_5s";
    case v1::SAMPLE_INTERVAL_1MIN: return "sample_1min";
    case v1::SAMPLE_INTERVAL_5MIN: return "sample_5min";
    case v1::SAMPLE_INTERVAL_10MIN: return "sample_10min";
    case v1::SAMPLE_INTERVAL_15MIN: return "sample_15min";
    case v1::SAMPLE_INTERVAL_30MIN: return "sample_30min";
    case v1::SAMPLE_INTERVAL_1H: return "sample_1h";
    case v1::SAMPLE_INTERVAL_8H: return "sample_8h";
    case v1::SAMPLE_INTERVAL_1D: return "sample_1d";
    default: return {};
  }
}

Result<std::string_view> SampleTable(v1::SampleInterval interval) {
  std::string_view name = SampleTableName(interval);
  if (name.empty()) {
    return Status::InvalidArgument(
        fmt::format("no sample table for interval {} ({})", static_cast<int>(interval),
                    v1::SampleInterval_IsValid(interval) ? v1::SampleInterval_Name(interval)
                                                         : std::string("unknown")));
  }
  return name;
}

std::span<const std::string_view> TableNames() { return kTableNames; }

}  // namespace sluice::store::schema
