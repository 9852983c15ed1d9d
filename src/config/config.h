#pragma once
// The configuration of `sluiced --config FILE`: everything a control centre operator
// sets, parsed from TOML and validated strictly before anything starts.
//
// Strictness is the point. A typo in a config file must never be silently ignored (a
// misspelled `prority` would quietly change which database becomes active), so unknown
// keys and tables are errors with a did-you-mean suggestion, every value is type checked,
// and the sections are cross-checked against each other. Every error names the file, the
// line and column, and the key:
//
//   sluiced.toml:12:1: target 'pg-b': unknown key 'prority' (did you mean 'priority'?)
//   sluiced.toml:7:11: stream 'samples': 'ordered' must be a boolean, not a string
//   sluiced.toml:20:1: duplicate target name 'pg-a' (first defined at line 14)
//
// All errors found are reported at once (one per line, in file order), so an operator
// fixes a file in one pass. Conditions that concern the whole file (no [node] table, no
// [[target]]) name the file only, as there is no line to point at.
//
// Values:
//   sizes      an integer (bytes) or a string: "64MiB", "1.5GiB", "20GB", "4096";
//              binary units B KiB MiB GiB TiB, decimal units KB MB GB TB.
//   durations  a string: "250us", "5ms", "2s", "1min", "1h", "30d", "1h30min"; "0".
//   timestamps an RFC 3339 string with offset ("2000-01-01T00:00:00Z"), a TOML
//              offset date-time, or an integer of microseconds since the Unix epoch.
//
// Relative paths (data_dir, log_file, tls files, token_file, oneway `dir` destination)
// are resolved against the directory of the config file; a relative SQLite target file is
// resolved against node.data_dir, so targets can live "under the data dir".
//
// Every struct compares field by field, line numbers included (config_diff.h compares
// two configs without them).
//
// Thread safety: the functions are pure (apart from reading the files named) and may be
// called from any thread; a Config is a plain value.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/values.h"

namespace sluice::config {

struct NodeConfig {
  std::string id;        // required; part of every watermark key
  std::string data_dir;  // required; resolved against the config file's directory
  std::vector<ListenAddress> listen = {{"127.0.0.1", 7400}};
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off
  std::string log_file;            // empty: stderr only

  bool operator==(const NodeConfig&) const = default;
};

enum class AckMode { kDurable, kWritten };

struct JournalConfig {
  uint64_t segment_size = 64 * kMiB;
  uint64_t max_record_size = 16 * kMiB;  // fits in 32 bits, <= segment_size
  uint64_t budget = 0;                   // 0: no total budget
  uint64_t free_space_floor = 1 * kGiB;  // 0: no floor
  AckMode ack = AckMode::kDurable;
  Duration retention_interval = std::chrono::seconds(1);

  bool operator==(const JournalConfig&) const = default;
};

enum class OnError { kSkip, kBlock };

// A stream of the journal. Defaults depend on the stream: the standard streams (model,
// events, sql, samples) take their standard `ordered` and `priority` when not given; any
// other stream must say whether it is ordered (order is never guessed) and has priority 0
// unless given. Batch defaults depend on `ordered`: ordered streams keep batches small so
// a standby primary stays nearly caught up; unordered streams batch much larger.
struct StreamConfig {
  std::string name;
  bool ordered = true;
  int priority = 0;  // higher first: model changes before samples
  uint64_t reserved = 256 * kMiB;
  OnError on_error = OnError::kSkip;
  uint64_t batch_records = 0;
  uint64_t batch_bytes = 0;
  Duration batch_delay{0};
  int line = 0;  // where it is defined in the config file (0: a default stream)

  bool operator==(const StreamConfig&) const = default;
};

// Batch defaults for an ordered or unordered stream.
inline constexpr uint64_t kOrderedBatchRecords = 1000;
inline constexpr uint64_t kOrderedBatchBytes = 4 * kMiB;
inline constexpr Duration kOrderedBatchDelay = std::chrono::milliseconds(5);
inline constexpr uint64_t kUnorderedBatchRecords = 10000;
inline constexpr uint64_t kUnorderedBatchBytes = 32 * kMiB;
inline constexpr Duration kUnorderedBatchDelay = std::chrono::milliseconds(20);

// The streams used when the config has no [[stream]]: model (ordered, 100), events
// (ordered, 50), sql (ordered, 40), samples (unordered, 10), each reserving 256MiB.
std::vector<StreamConfig> DefaultStreams();

enum class TargetRole { kPrimary, kReplica, kOneway };
enum class Dialect { kSqlite, kPostgres };
enum class RetentionPolicy { kHold, kDetach };
enum class OnewayTransport { kDir, kUdp };

struct TargetConfig {
  std::string name;
  TargetRole role = TargetRole::kPrimary;
  int priority = 0;  // primaries only: higher is preferred; distinct among primaries
  Dialect dialect = Dialect::kSqlite;  // key `driver` in the file
  // Primary and replica: SQLite file path (resolved against data_dir) or libpq conninfo.
  std::string connection;
  // Oneway only: how sealed bundles leave this node. `dir`: a directory (resolved against
  // the config file's directory); `udp`: host:port of the receiver side.
  OnewayTransport transport = OnewayTransport::kDir;
  std::string destination;
  uint64_t retention_budget = 0;  // 0: no budget of its own
  RetentionPolicy retention_policy = RetentionPolicy::kHold;  // default: primary hold, else detach
  bool enabled = true;
  int line = 0;  // where it is defined in the config file

  bool operator==(const TargetConfig&) const = default;
};

struct LimitsConfig {
  uint64_t max_message_size = 64 * kMiB;  // gRPC, both directions; < 2GiB
  uint64_t max_records_per_request = 10000;
  uint64_t max_lob_size = 16 * kMiB;  // <= journal.max_record_size
  uint64_t max_string_length = 65536;
  int64_t timestamp_min = 946'684'800'000'000;  // 2000-01-01T00:00:00Z, µs
  Duration timestamp_max_ahead = std::chrono::hours(24);

  bool operator==(const LimitsConfig&) const = default;
};

enum class TokenRole { kIngest, kRead, kSql, kAdmin };

struct TokenConfig {
  std::string name;
  // The secret (read from token_file when that was given). Never printed in messages.
  std::string token;
  std::string token_file;  // empty when the token was given inline
  std::vector<TokenRole> roles;
  int line = 0;

  bool HasRole(TokenRole role) const;

  bool operator==(const TokenConfig&) const = default;
};

struct AuthConfig {
  bool required = true;  // false only when every listen address is loopback
  std::vector<TokenConfig> tokens;

  bool operator==(const AuthConfig&) const = default;
};

struct TlsConfig {
  std::string cert_file;  // both cert and key, or neither
  std::string key_file;
  std::string ca_file;  // optional: verify client certificates against it

  bool enabled() const { return !cert_file.empty(); }

  bool operator==(const TlsConfig&) const = default;
};

struct HealthConfig {
  Duration probe_interval = std::chrono::milliseconds(200);
  Duration probe_timeout = std::chrono::milliseconds(500);
  // After a broken connection, the reconnect-and-probe waits this long first (0: at once).
  Duration reconnect_probe_delay{0};
  Duration switch_deadline = std::chrono::seconds(2);

  bool operator==(const HealthConfig&) const = default;
};

// [sampling]: the periodic sampler of the daemon (docs/sampling.md).
struct SamplingConfig {
  bool enabled = true;
  std::string utc_offset = "+00:00";  // of the local day (8 h and 1 d boundaries)
  int64_t utc_offset_us = 0;
  std::string day_start = "00:00";    // after local midnight
  int64_t day_start_us = 0;
  int old_after_intervals = 3;        // a value older than this many intervals is old data
  int64_t late_tolerance_ms = 500;    // a cycle later than this is reported late
  uint64_t max_points = 2'000'000;    // of the real-time point table
  std::string stream = "samples";     // where sampled records are journaled
  int line = 0;                       // of [sampling] (0: not in the file)

  bool operator==(const SamplingConfig&) const = default;
};

// [http]: the HTTP endpoint of the daemon (/metrics, /api/status, /healthz; docs/http.md).
// Off unless the file has an [http] table: a node opens no port it was not asked to, and
// two nodes on one host cannot collide on a default. With the table it is on, on loopback
// at kDefaultHttpPort unless `listen` says otherwise, so enabling it never exposes it to the
// network by accident.
inline constexpr uint16_t kDefaultHttpPort = 7480;
struct HttpConfig {
  bool enabled = false;
  ListenAddress listen = {"127.0.0.1", kDefaultHttpPort};
  // The dashboard's files (docs/dashboard.md), resolved against the config file's
  // directory; "" (not set): the installed share directory, when it is there.
  std::string web_root;
  int line = 0;  // of [http] (0: not in the file)

  bool operator==(const HttpConfig&) const = default;
};
// [alarms]: the alarm engine's checks (docs/alarms.md). Each check compares one value
// with a raise and a clear threshold (hysteresis): raised when the value crosses `raise`,
// cleared only once it is back past `clear`.
enum class AlarmSeverity { kInfo, kWarning, kCritical };
struct AlarmCheckConfig {
  bool enabled = true;
  AlarmSeverity severity = AlarmSeverity::kWarning;
  // In the check's unit: a share (0..1), bytes, records, microseconds or a count.
  double raise = 0;
  double clear = 0;
  int line = 0;  // of the check's table (0: not in the file)

  bool operator==(const AlarmCheckConfig&) const = default;
};
struct AlarmsConfig {
  Duration interval = std::chrono::seconds(5);  // how often the checks run
  uint64_t history = 200;                       // raises and clears kept for ListAlarms
  // Journal disk free space below a share of the disk (disk_free_share true) or a number
  // of bytes.
  AlarmCheckConfig disk_free{true, AlarmSeverity::kCritical, 0.10, 0.15};
  bool disk_free_share = true;
  // Journal bytes as a share of journal.budget (no check when there is no budget).
  AlarmCheckConfig journal_budget{true, AlarmSeverity::kWarning, 0.90, 0.80};
  // Seconds until the journal fills (free space / net growth rate), measured over
  // `time_to_loss_window`.
  AlarmCheckConfig time_to_loss{true, AlarmSeverity::kCritical, 3600, 7200};
  Duration time_to_loss_window = std::chrono::seconds(60);
  // Per target: records journaled and not applied, summed over the streams.
  AlarmCheckConfig lag_records{true, AlarmSeverity::kWarning, 1'000'000, 100'000};
  // Per target: journal bytes not applied, summed over the streams (Admin.Status's figure).
  AlarmCheckConfig lag_bytes{true, AlarmSeverity::kWarning, 1.0 * kGiB, 256.0 * kMiB};
  // Per target: age in seconds of the oldest record not applied.
  AlarmCheckConfig lag_age{true, AlarmSeverity::kWarning, 300, 60};
  // Per target: down, diverged, detached (needs resync) or blocked.
  AlarmCheckConfig target_state{true, AlarmSeverity::kCritical, 0.5, 0.5};
  // Per target: open entries in its error log.
  AlarmCheckConfig error_log{true, AlarmSeverity::kWarning, 0.5, 0.5};
  // Per target: its database's size on disk, in bytes. No default limit (a database's
  // normal size is the site's): enabled by setting raise_above; clear_below defaults to
  // 90% of it. Measured every database_size_interval on a connection of its own.
  AlarmCheckConfig database_size{false, AlarmSeverity::kWarning, 0, 0};
  Duration database_size_interval = std::chrono::minutes(1);
  // Per target and table: rows as a share of the table's maximum (table_rows_max):
  // raised above 1 (more rows than the maximum), cleared below clear (clear_ratio).
  // Enabled by a non-empty `max`. Measured every table_rows_interval.
  AlarmCheckConfig table_rows{false, AlarmSeverity::kWarning, 1.0, 0.9};
  std::map<std::string, uint64_t> table_rows_max;
  Duration table_rows_interval = std::chrono::minutes(1);
  // The sampler's missed cycles over sampling_missed_window. Default: raised at one
  // (above 0.5), cleared when the window holds none (below 0.5); given thresholds are
  // counts.
  AlarmCheckConfig sampling_missed{true, AlarmSeverity::kWarning, 0.5, 0.5};
  Duration sampling_missed_window = std::chrono::minutes(10);
  // Bounds each database_size and table_rows probe (connect, waits, statement_timeout).
  Duration probe_timeout = std::chrono::seconds(10);
  int line = 0;  // of [alarms] (0: not in the file)

  bool operator==(const AlarmsConfig&) const = default;
};
std::string_view AlarmSeverityName(AlarmSeverity severity);  // "info", "warning", "critical"

struct ClientDedupConfig {
  Duration idle_forget = std::chrono::hours(24 * 30);

  bool operator==(const ClientDedupConfig&) const = default;
};

struct Config {
  std::string source;  // the file (or source name) it was read from
  NodeConfig node;
  JournalConfig journal;
  std::vector<StreamConfig> streams;  // in file order (DefaultStreams() when none given)
  std::vector<TargetConfig> targets;  // in file order
  LimitsConfig limits;
  AuthConfig auth;
  TlsConfig tls;
  HealthConfig health;
  ClientDedupConfig client_dedup;
  SamplingConfig sampling;
  HttpConfig http;
  AlarmsConfig alarms;
  // Valid but risky settings, each "file:line:col: message", for the daemon to log at
  // startup (authentication off, clear text on a network, readable token files, ...).
  std::vector<std::string> warnings;

  const StreamConfig* FindStream(std::string_view name) const;
  const TargetConfig* FindTarget(std::string_view name) const;
  // Primary-role targets, highest priority first.
  std::vector<const TargetConfig*> PrimariesByPriority() const;
  // Streams, highest priority first (ties in file order).
  std::vector<const StreamConfig*> StreamsByPriority() const;
};

// Reads and parses a config file. A file that cannot be read gives
// "cannot read config file PATH: <reason>" (kNotFound, kPermissionDenied or kIOError);
// any problem in it gives kInvalidArgument with every error found.
Result<Config> LoadConfigFile(const std::string& path);

// Parses config text. `source_name` prefixes every message. Relative paths are resolved
// against `base_dir`; when it is empty they are left relative (to the working directory),
// except SQLite files, which are always resolved against data_dir.
Result<Config> ParseConfig(std::string_view text, std::string_view source_name,
                           std::string_view base_dir = {});

// Names as written in the config file.
std::string_view TargetRoleName(TargetRole role);
std::string_view DialectName(Dialect dialect);
std::string_view TokenRoleName(TokenRole role);

}  // namespace sluice::config
