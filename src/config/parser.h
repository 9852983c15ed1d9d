#pragma once
// The parser behind ParseConfig: reads each section into a Config, reporting every problem
// through Diagnostics, then cross-checks the sections. Its methods are spread by section:
//   parser.cc          the file as a whole: top-level tables, section lookup, paths
//   parse_sections.cc  [node] [journal] [[stream]] [limits] [tls] [health] [client_dedup]
//   parse_targets.cc   [[target]]
//   parse_auth.cc      [auth] and [[auth.token]]
//   parse_sampling.cc  [sampling]
//   parse_http.cc      [http], and its checks against [node] and [auth]
//   cross_check.cc     the checks between sections
// Internal to sluice_config.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/status.h"
#include "config/config.h"
#include "config/diagnostics.h"
#include "config/table_reader.h"

namespace sluice::config::internal {

// The valid keys of each section (CheckUnknownKeys suggests among them).
inline const std::vector<std::string_view> kNodeKeys = {"id", "data_dir", "listen", "log_level",
                                                        "log_file"};
inline const std::vector<std::string_view> kJournalKeys = {
    "segment_size", "max_record_size", "budget", "free_space_floor", "ack", "retention_interval"};
inline const std::vector<std::string_view> kStreamKeys = {
    "name",     "ordered",       "priority",    "reserved",
    "on_error", "batch_records", "batch_bytes", "batch_delay"};
inline const std::vector<std::string_view> kTargetKeys = {
    "name",      "role",        "priority", "driver",           "connection",
    "transport", "destination", "enabled",  "retention_budget", "retention_policy"};
inline const std::vector<std::string_view> kLimitsKeys = {
    "max_message_size",  "max_records_per_request", "max_lob_size",
    "max_string_length", "timestamp_min",           "timestamp_max_ahead"};
inline const std::vector<std::string_view> kAuthKeys = {"required", "token"};
inline const std::vector<std::string_view> kTokenKeys = {"name", "token", "token_file", "roles"};
inline const std::vector<std::string_view> kTlsKeys = {"cert_file", "key_file", "ca_file"};
inline const std::vector<std::string_view> kHealthKeys = {
    "probe_interval", "probe_timeout", "reconnect_probe_delay", "switch_deadline"};
inline const std::vector<std::string_view> kClientDedupKeys = {"idle_forget"};
inline const std::vector<std::string_view> kSamplingKeys = {
    "enabled", "utc_offset", "day_start", "old_after_intervals", "late_tolerance_ms", "max_points", "stream"};
inline const std::vector<std::string_view> kHttpKeys = {"enabled", "listen", "web_root"};

inline const std::vector<std::string_view> kAlarmsKeys = {
    "interval", "history", "probe_timeout", "disk_free", "journal_budget", "time_to_loss", "target_lag_records",
    "target_lag_bytes", "target_lag_age", "target_state", "error_log", "database_size",
    "table_rows", "sampling_missed"};

// What names of nodes, streams, targets and tokens may hold (IsValidName).
inline constexpr std::string_view kNameRules = "use 1 to 64 characters of A-Z a-z 0-9 _ . -";

// Where a target's keys are, for the cross-checks made once every target is read.
struct TargetSource {
  toml::source_region table;
  toml::source_region name;
  toml::source_region priority;
  toml::source_region connection;
  toml::source_region retention_budget;
};
// One use: Parser(name, dir).Parse(text).
class Parser {
 public:
  Parser(std::string_view source_name, std::string_view base_dir);

  Result<Config> Parse(std::string_view text);

 private:
  // parser.cc
  // Sections are optional tables; an array or scalar under a section name is an error.
  const toml::table* SectionTable(const toml::table& root, std::string_view name);
  static bool IsEmptyArray(const toml::table& parent, std::string_view name);
  // Arrays of tables ([[stream]], [[target]], [[auth.token]]).
  std::vector<const toml::table*> SectionArray(const toml::table& parent, std::string_view name,
                                               std::string_view spelled);
  void CheckTopLevel(const toml::table& root);
  // A relative path resolved against the config file's directory.
  std::string Resolve(const std::string& path) const;
  // A file named by the config that must exist and be readable now.
  void CheckReadableFile(TableReader& r, std::string_view key, const std::string& path);

  // parse_sections.cc
  void ReadNode(const toml::table& root);
  void ReadJournal(const toml::table& root);
  void ReadStreams(const toml::table& root);
  void ReadLimits(const toml::table& root);
  void ReadTls(const toml::table& root);
  void ReadHealth(const toml::table& root);
  void ReadClientDedup(const toml::table& root);

  // parse_sampling.cc
  void ReadSampling(const toml::table& root);

  // parse_http.cc
  void ReadHttp(const toml::table& root);
  void CheckHttp();
  // parse_alarms.cc
  void ReadAlarms(const toml::table& root);
  void ReadDatabaseSize(TableReader& check, AlarmsConfig* alarms);
  void ReadTableRows(TableReader& check, AlarmsConfig* alarms);

  // parse_targets.cc
  void ReadTargets(const toml::table& root);
  // The keys whose meaning depends on the role: priority, connection, transport and
  // destination.
  void ReadTargetRoleKeys(TableReader& r, TargetConfig& t, TargetSource& src);

  // parse_auth.cc
  void ReadAuth(const toml::table& root);
  void ReadTokenFile(TableReader& t, TokenConfig* token);
  void CheckSecret(TableReader& t, std::string_view key, const TokenConfig& token,
                   std::map<std::string, std::string, std::less<>>* secrets);

  // cross_check.cc
  void CrossCheck();
  void CheckJournalSizes();
  void CheckStreams();
  void CheckTargets();
  void CheckAuth();
  void CheckSampling();

  Diagnostics diag_;
  const std::string base_dir_;
  Config config_;

  // Places remembered for the cross-checks.
  std::vector<toml::source_region> listen_at_;
  toml::source_region segment_size_at_;
  std::optional<toml::source_region> max_record_size_at_;
  std::optional<toml::source_region> budget_at_;
  std::optional<toml::source_region> max_message_size_at_;
  std::optional<toml::source_region> max_lob_size_at_;
  std::optional<toml::source_region> max_string_length_at_;
  std::optional<toml::source_region> first_stream_at_;
  std::optional<toml::source_region> auth_at_;
  std::optional<toml::source_region> auth_required_at_;
  std::vector<TargetSource> target_src_;
  std::optional<toml::source_region> sampling_stream_at_;
  std::optional<toml::source_region> sampling_at_;
  std::optional<toml::source_region> http_at_;
  std::optional<toml::source_region> http_listen_at_;
};

}  // namespace sluice::config::internal
