#include "config/config_diff.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sluice::config {
namespace {

// A copy without line numbers: where a table sits in the file is not a setting.
Config WithoutLines(Config c) {
  for (auto& s : c.streams) s.line = 0;
  for (auto& t : c.targets) t.line = 0;
  for (auto& t : c.auth.tokens) t.line = 0;
  c.sampling.line = 0;
  c.http.line = 0;
  c.alarms.line = 0;
  for (AlarmCheckConfig* check : {&c.alarms.disk_free, &c.alarms.journal_budget, &c.alarms.time_to_loss,
                                  &c.alarms.lag_records, &c.alarms.lag_bytes, &c.alarms.lag_age,
                                  &c.alarms.target_state, &c.alarms.error_log, &c.alarms.database_size,
                                  &c.alarms.table_rows, &c.alarms.sampling_missed}) {
    check->line = 0;
  }
  return c;
}

// The keys of a target that differ, by name ("" when none does).
std::string TargetChanges(const TargetConfig& a, const TargetConfig& b) {
  std::vector<std::string> keys;
  if (a.role != b.role) keys.push_back("role");
  if (a.priority != b.priority) keys.push_back("priority");
  if (a.dialect != b.dialect) keys.push_back("driver");
  if (a.connection != b.connection) keys.push_back("connection");
  if (a.transport != b.transport) keys.push_back("transport");
  if (a.destination != b.destination) keys.push_back("destination");
  if (a.retention_budget != b.retention_budget) keys.push_back("retention_budget");
  if (a.retention_policy != b.retention_policy) keys.push_back("retention_policy");
  if (a.enabled != b.enabled) keys.push_back("enabled");
  return fmt::format("{}", fmt::join(keys, ", "));
}

}  // namespace

ConfigDiff DiffConfigs(const Config& running_in, const Config& next_in) {
  const Config running = WithoutLines(running_in);
  const Config next = WithoutLines(next_in);
  ConfigDiff d;
  if (running.node.id != next.node.id) {
    d.refused.push_back(fmt::format(
        "node.id changed from '{}' to '{}': the id is part of every watermark in the targets, so a node "
        "changes it only with a restart (and its targets' watermarks with it)",
        running.node.id, next.node.id));
  }
  if (running.node.data_dir != next.node.data_dir) {
    d.refused.push_back(fmt::format(
        "node.data_dir changed from {} to {}: the journal and the state live there; stop sluiced, move "
        "the directory and start it again",
        running.node.data_dir, next.node.data_dir));
  }
  if (running.node.listen != next.node.listen) d.changed_settings.push_back("node.listen");
  if (running.node.log_level != next.node.log_level) d.changed_settings.push_back("node.log_level");
  if (running.node.log_file != next.node.log_file) d.changed_settings.push_back("node.log_file");

  for (const auto& t : next.targets) {
    const TargetConfig* old = running.FindTarget(t.name);
    if (old == nullptr) {
      d.added_targets.push_back(t.name);
    } else if (std::string keys = TargetChanges(*old, t); !keys.empty()) {
      d.changed_targets.push_back(fmt::format("{} ({})", t.name, keys));
    }
  }
  for (const auto& t : running.targets) {
    if (next.FindTarget(t.name) == nullptr) d.removed_targets.push_back(t.name);
  }

  auto section = [&](bool same, const char* name) {
    if (!same) d.changed_settings.push_back(name);
  };
  section(running.journal == next.journal, "[journal]");
  section(running.streams == next.streams, "[[stream]]");
  section(running.limits == next.limits, "[limits]");
  section(running.auth == next.auth, "[auth]");
  section(running.tls == next.tls, "[tls]");
  section(running.health == next.health, "[health]");
  section(running.client_dedup == next.client_dedup, "[client_dedup]");
  section(running.sampling == next.sampling, "[sampling]");
  section(running.http == next.http, "[http]");
  section(running.alarms == next.alarms, "[alarms]");
  return d;
}

}  // namespace sluice::config
