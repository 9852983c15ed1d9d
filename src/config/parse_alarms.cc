// [alarms]: the alarm engine's interval and its checks, one sub-table each
// ([alarms.disk_free], ...). Every threshold pair is checked for its direction (a clear
// threshold on the wrong side of the raise threshold would make the alarm flap), and every
// error names the file, the line and the key. Internal to sluice_config.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "config/parser.h"

namespace sluice::config::internal {
namespace {

// The keys of each check's table.
const std::vector<std::string_view> kSeverityKeys = {"enabled", "severity"};
const std::vector<std::string_view> kBelowKeys = {"enabled", "severity", "raise_below",
                                                  "clear_above"};
const std::vector<std::string_view> kAboveKeys = {"enabled", "severity", "raise_above",
                                                  "clear_below"};
const std::vector<std::string_view> kDatabaseSizeKeys = {"enabled", "severity", "raise_above",
                                                         "clear_below", "interval"};
const std::vector<std::string_view> kTableRowsKeys = {"enabled", "severity", "max", "clear_ratio",
                                                      "interval"};
const std::vector<std::string_view> kSamplingMissedKeys = {"enabled", "severity", "raise_above",
                                                           "clear_below", "window"};
const std::vector<std::string_view> kTimeToLossKeys = {"enabled", "severity", "raise_below",
                                                       "clear_above", "window"};

// kBytes: a percentage or a size (disk_free); kSize: a size only.
enum class Unit { kShare, kBytes, kSize, kRecords, kSeconds };

// "15%" -> 0.15; nullopt when the text is not a percentage in [0, 100].
std::optional<double> ParsePercent(std::string_view text) {
  if (text.size() < 2 || text.back() != '%') return std::nullopt;
  std::string number(text.substr(0, text.size() - 1));
  char* end = nullptr;
  const double v = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(v) || v < 0 || v > 100) {
    return std::nullopt;
  }
  return v / 100.0;
}

std::string Shown(double v, Unit unit) {
  switch (unit) {
    case Unit::kShare:
      return fmt::format("{:g}%", v * 100);
    case Unit::kBytes:
    case Unit::kSize:
      return FormatSize(static_cast<uint64_t>(v));
    case Unit::kSeconds:
      return FormatDuration(Duration(static_cast<int64_t>(v * 1e6)));
    case Unit::kRecords:
      break;
  }
  return fmt::format("{:g}", v);
}

// One threshold key: its value and unit. `unit` is what the check measures in; for
// disk_free (kShare) a size is accepted as well, and the unit found is returned.
std::optional<std::pair<double, Unit>> Threshold(TableReader& r, std::string_view key, Unit unit) {
  if (!r.Has(key)) return std::nullopt;
  switch (unit) {
    case Unit::kShare:
    case Unit::kBytes: {
      const bool size_allowed = unit == Unit::kBytes;
      auto s = r.String(key);
      if (!s) return std::nullopt;
      if (auto share = ParsePercent(*s)) return std::pair{*share, Unit::kShare};
      if (!size_allowed) {
        r.ErrorAtValue(
            key, fmt::format("'{}' must be a percentage like \"80%\" (0% to 100%), not \"{}\"", key,
                             *s));
        return std::nullopt;
      }
      auto bytes = ParseSize(*s);
      if (!bytes.ok()) {
        r.ErrorAtValue(
            key, fmt::format(
                     "'{}' must be a percentage like \"10%\" or a size like \"2GiB\", not \"{}\"",
                     key, *s));
        return std::nullopt;
      }
      return std::pair{static_cast<double>(*bytes), Unit::kBytes};
    }
    case Unit::kSize:
      if (auto v = r.Size(key)) return std::pair{static_cast<double>(*v), unit};
      return std::nullopt;
    case Unit::kRecords:
      if (auto v = r.Integer(key, 0, std::numeric_limits<int64_t>::max())) {
        return std::pair{static_cast<double>(*v), unit};
      }
      return std::nullopt;
    case Unit::kSeconds:
      if (auto v = r.Dur(key, /*allow_zero=*/true)) {
        return std::pair{static_cast<double>(v->count()) / 1e6, unit};
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

void Parser::ReadAlarms(const toml::table& root) {
  const toml::table* table = SectionTable(root, "alarms");
  if (table == nullptr) return;
  TableReader r(&diag_, *table, "[alarms]", kAlarmsKeys);
  AlarmsConfig& a = config_.alarms;
  a.line = static_cast<int>(table->source().begin.line);
  if (auto v = r.Dur("interval")) a.interval = *v;
  if (auto v = r.Integer("history", 1, 100'000)) a.history = static_cast<uint64_t>(*v);
  if (auto v = r.Dur("probe_timeout")) a.probe_timeout = *v;

  // One check's table: enabled, severity, and its thresholds (raise_KEY / clear_KEY in
  // `unit`; `below`: raised when the value falls below the raise threshold).
  auto read_check = [&](std::string_view name, const std::vector<std::string_view>& keys,
                        AlarmCheckConfig* check, bool below, Unit unit,
                        bool share_or_bytes) -> std::optional<TableReader> {
    const toml::node* node = table->get(name);
    if (node == nullptr) return std::nullopt;
    const toml::table* sub = node->as_table();
    if (sub == nullptr) {
      r.ErrorAtValue(name, fmt::format("'{}' must be a table [alarms.{}], not {}", name, name,
                                       TypeName(*node)));
      return std::nullopt;
    }
    TableReader c(&diag_, *sub, fmt::format("[alarms.{}]", name), keys);
    check->line = static_cast<int>(sub->source().begin.line);
    if (auto v = c.Bool("enabled")) check->enabled = *v;
    if (auto v = c.Enum<AlarmSeverity>("severity", {{"info", AlarmSeverity::kInfo},
                                                    {"warning", AlarmSeverity::kWarning},
                                                    {"critical", AlarmSeverity::kCritical}})) {
      check->severity = *v;
    }
    if (keys.size() > 2) {
      const std::string raise_key = below ? "raise_below" : "raise_above";
      const std::string clear_key = below ? "clear_above" : "clear_below";
      // disk_free takes a share or a size: kBytes asks Threshold to accept both.
      const Unit asked = share_or_bytes ? Unit::kBytes : unit;
      auto raise = Threshold(c, raise_key, asked);
      auto clear = Threshold(c, clear_key, asked);
      Unit u = unit;
      if (raise && clear && raise->second != clear->second) {
        c.ErrorAtValue(clear_key,
                       fmt::format("'{}' and '{}' must both be percentages or both sizes",
                                   raise_key, clear_key));
        return c;
      }
      if (raise || clear) u = (raise ? raise : clear)->second;
      if (u != unit && !(raise && clear)) {
        const std::string& given = raise ? raise_key : clear_key;
        const std::string& other = raise ? clear_key : raise_key;
        c.ErrorAtValue(
            given,
            fmt::format("'{}' is a size: give '{}' as a size too (its default is a percentage)",
                        given, other));
        return c;
      }
      if (raise) check->raise = raise->first;
      if (clear) check->clear = clear->first;
      if (share_or_bytes) a.disk_free_share = u == Unit::kShare;
      if ((raise || clear) && (below ? check->clear < check->raise : check->clear > check->raise)) {
        c.ErrorAtValue(
            clear ? clear_key : raise_key,
            fmt::format("'{}' ({}) must be {} '{}' ({}), or the alarm would flap{}", clear_key,
                        Shown(check->clear, u), below ? "at or above" : "at or below", raise_key,
                        Shown(check->raise, u),
                        clear ? "" : fmt::format(" ('{}' is its default: set it too)", clear_key)));
      }
    }
    return c;
  };

  if (auto c = read_check("disk_free", kBelowKeys, &a.disk_free, true, Unit::kShare, true))
    c->CheckUnknownKeys();
  if (auto c =
          read_check("journal_budget", kAboveKeys, &a.journal_budget, false, Unit::kShare, false))
    c->CheckUnknownKeys();
  if (auto c = read_check("time_to_loss", kTimeToLossKeys, &a.time_to_loss, true, Unit::kSeconds,
                          false)) {
    if (auto v = c->Dur("window")) a.time_to_loss_window = *v;
    c->CheckUnknownKeys();
  }
  if (auto c = read_check("target_lag_records", kAboveKeys, &a.lag_records, false, Unit::kRecords,
                          false))
    c->CheckUnknownKeys();
  if (auto c = read_check("target_lag_bytes", kAboveKeys, &a.lag_bytes, false, Unit::kSize, false))
    c->CheckUnknownKeys();
  if (auto c = read_check("target_lag_age", kAboveKeys, &a.lag_age, false, Unit::kSeconds, false))
    c->CheckUnknownKeys();
  if (auto c =
          read_check("target_state", kSeverityKeys, &a.target_state, false, Unit::kRecords, false))
    c->CheckUnknownKeys();
  if (auto c = read_check("error_log", kSeverityKeys, &a.error_log, false, Unit::kRecords, false))
    c->CheckUnknownKeys();
  if (auto c = read_check("database_size", kDatabaseSizeKeys, &a.database_size, false, Unit::kSize,
                          false)) {
    ReadDatabaseSize(*c, &a);
    c->CheckUnknownKeys();
  }
  if (auto c =
          read_check("table_rows", kTableRowsKeys, &a.table_rows, false, Unit::kRecords, false)) {
    ReadTableRows(*c, &a);
    c->CheckUnknownKeys();
  }
  if (auto c = read_check("sampling_missed", kSamplingMissedKeys, &a.sampling_missed, false,
                          Unit::kRecords, false)) {
    if (auto v = c->Dur("window")) a.sampling_missed_window = *v;
    c->CheckUnknownKeys();
  }
  r.CheckUnknownKeys();
}

// No default limit: raise_above turns the check on (unless `enabled = false`), and
// clear_below defaults to 90% of it.
void Parser::ReadDatabaseSize(TableReader& c, AlarmsConfig* a) {
  if (auto v = c.Dur("interval")) a->database_size_interval = *v;
  const bool has_raise = c.Has("raise_above");
  if (has_raise && !c.Has("enabled")) a->database_size.enabled = true;
  if (has_raise && !c.Has("clear_below")) a->database_size.clear = 0.9 * a->database_size.raise;
  if (a->database_size.enabled && !has_raise) {
    c.ErrorAtValue("enabled",
                   "'raise_above' is needed: a database has no default size limit (e.g. "
                   "raise_above = \"500GiB\")");
  }
}

// `max = { TABLE = ROWS, ... }` turns the check on (unless `enabled = false`); the alarm
// clears below clear_ratio of the maximum.
void Parser::ReadTableRows(TableReader& c, AlarmsConfig* a) {
  if (auto v = c.Dur("interval")) a->table_rows_interval = *v;
  if (c.Has("clear_ratio")) {
    const toml::node* node = c.Node("clear_ratio");
    std::optional<double> ratio;
    if (node->is_floating_point()) ratio = node->as_floating_point()->get();
    if (node->is_integer()) ratio = static_cast<double>(node->as_integer()->get());
    if (!ratio || !(*ratio > 0 && *ratio <= 1)) {
      c.ErrorAtValue("clear_ratio",
                     "'clear_ratio' must be a number above 0 and at most 1 (the share of a "
                     "table's maximum below which its alarm clears), e.g. 0.9");
    } else {
      a->table_rows.clear = *ratio;
    }
  }
  if (c.Has("max")) {
    const toml::table* max = c.Node("max")->as_table();
    if (max == nullptr) {
      c.ErrorAtValue("max",
                     fmt::format("'max' must be a table of row counts by table name, e.g. max = {{ "
                                 "samples_1min = 50000000 }}, not {}",
                                 TypeName(*c.Node("max"))));
      return;
    }
    TableReader m(&diag_, *max, "[alarms.table_rows] max", {});
    for (const auto& [key, node] : *max) {
      const std::string table(key.str());
      if (!IsValidName(table)) {
        m.Error(key.source(), fmt::format("'{}' is not a table name", table));
        continue;
      }
      if (auto rows = m.Integer(table, 1, std::numeric_limits<int64_t>::max())) {
        a->table_rows_max[table] = static_cast<uint64_t>(*rows);
      }
    }
    if (!c.Has("enabled")) a->table_rows.enabled = !a->table_rows_max.empty();
  }
  if (a->table_rows.enabled && a->table_rows_max.empty()) {
    c.ErrorAtValue("enabled",
                   "'max' is needed: give each table's maximum, e.g. max = { samples_1min = "
                   "50000000 }");
  }
}

}  // namespace sluice::config::internal
