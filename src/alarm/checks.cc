#include "alarm/checks.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace sluice::alarm {
namespace {

CheckSpec Spec(std::string name, const config::AlarmCheckConfig& c, Direction d, Unit unit) {
  return CheckSpec{std::move(name), c.severity, d, c.raise, c.clear, unit};
}

}  // namespace

std::string TargetSubject(const std::string& target) { return fmt::format("target '{}'", target); }

std::string TableSubject(const std::string& target, const std::string& table) {
  return fmt::format("target '{}' table '{}'", target, table);
}

std::vector<CheckSpec> SpecsFromConfig(const config::AlarmsConfig& c) {
  std::vector<CheckSpec> specs;
  if (c.disk_free.enabled) {
    specs.push_back(Spec(kDiskFree, c.disk_free, Direction::kBelow,
                         c.disk_free_share ? Unit::kShare : Unit::kBytes));
  }
  if (c.journal_budget.enabled)
    specs.push_back(Spec(kJournalBudget, c.journal_budget, Direction::kAbove, Unit::kShare));
  if (c.time_to_loss.enabled)
    specs.push_back(Spec(kTimeToLoss, c.time_to_loss, Direction::kBelow, Unit::kSeconds));
  if (c.lag_records.enabled)
    specs.push_back(Spec(kLagRecords, c.lag_records, Direction::kAbove, Unit::kCount));
  if (c.lag_bytes.enabled)
    specs.push_back(Spec(kLagBytes, c.lag_bytes, Direction::kAbove, Unit::kBytes));
  if (c.lag_age.enabled)
    specs.push_back(Spec(kLagAge, c.lag_age, Direction::kAbove, Unit::kSeconds));
  // A state and a count of open errors: raised at 1, cleared at 0.
  if (c.target_state.enabled)
    specs.push_back(Spec(kTargetState, c.target_state, Direction::kAbove, Unit::kCount));
  if (c.error_log.enabled)
    specs.push_back(Spec(kErrorLog, c.error_log, Direction::kAbove, Unit::kCount));
  if (c.database_size.enabled)
    specs.push_back(Spec(kDatabaseSize, c.database_size, Direction::kAbove, Unit::kBytes));
  // Each table has its own maximum: the value is rows / maximum, raised above 1.
  if (c.table_rows.enabled)
    specs.push_back(Spec(kTableRows, c.table_rows, Direction::kAbove, Unit::kShare));
  if (c.sampling_missed.enabled)
    specs.push_back(Spec(kSamplingMissed, c.sampling_missed, Direction::kAbove, Unit::kCount));
  return specs;
}

std::vector<Observation> CheckSet::Measure(int64_t now_us, const AlarmInputs& in) {
  std::vector<Observation> out;
  const std::string journal = "journal";
  growth_.Add(now_us, in.journal_bytes);
  if (config_.disk_free.enabled && in.disk_free_bytes && in.disk_total_bytes) {
    const double free = static_cast<double>(*in.disk_free_bytes);
    const double value =
        config_.disk_free_share
            ? (*in.disk_total_bytes == 0 ? 0 : free / static_cast<double>(*in.disk_total_bytes))
            : free;
    out.push_back(
        {kDiskFree, journal, value,
         fmt::format("{} free of {}", FormatValue(free, Unit::kBytes),
                     FormatValue(static_cast<double>(*in.disk_total_bytes), Unit::kBytes))});
  }
  if (config_.journal_budget.enabled && in.journal_budget_bytes > 0) {
    out.push_back(
        {kJournalBudget, journal,
         static_cast<double>(in.journal_bytes) / static_cast<double>(in.journal_budget_bytes),
         fmt::format("{} of {}", FormatValue(static_cast<double>(in.journal_bytes), Unit::kBytes),
                     FormatValue(static_cast<double>(in.journal_budget_bytes), Unit::kBytes))});
  }
  if (config_.time_to_loss.enabled && in.disk_free_bytes) {
    // What the journal may still take: the disk down to the floor, and the budget.
    double room = static_cast<double>(*in.disk_free_bytes > in.free_space_floor_bytes
                                          ? *in.disk_free_bytes - in.free_space_floor_bytes
                                          : 0);
    if (in.journal_budget_bytes > 0) {
      const uint64_t left = in.journal_budget_bytes > in.journal_bytes
                                ? in.journal_budget_bytes - in.journal_bytes
                                : 0;
      room = std::min(room, static_cast<double>(left));
    }
    std::optional<double> rate = growth_.BytesPerSecond();
    if (rate) {
      // Not growing: nothing will be lost at this pace.
      const double seconds = *rate > 0 ? room / *rate : std::numeric_limits<double>::infinity();
      out.push_back({kTimeToLoss, journal, seconds,
                     *rate > 0
                         ? fmt::format("{} left, growing {}/s", FormatValue(room, Unit::kBytes),
                                       FormatValue(*rate, Unit::kBytes))
                         : fmt::format("{} left, not growing", FormatValue(room, Unit::kBytes))});
    }
  }
  if (config_.sampling_missed.enabled && in.sampling_missed_total) {
    missed_.Add(now_us, *in.sampling_missed_total);
    out.push_back({kSamplingMissed, "sampling", static_cast<double>(missed_.Increase()),
                   fmt::format("{} missed since sluiced started", *in.sampling_missed_total)});
  }
  for (const TargetInputs& t : in.targets) {
    const std::string subject = TargetSubject(t.name);
    if (config_.lag_records.enabled) {
      out.push_back({kLagRecords, subject, static_cast<double>(t.lag_records), ""});
    }
    if (config_.lag_bytes.enabled) {
      out.push_back({kLagBytes, subject, static_cast<double>(t.lag_bytes),
                     t.lag_records > 0 ? fmt::format("{} records waiting", t.lag_records) : ""});
    }
    if (config_.lag_age.enabled) {
      out.push_back({kLagAge, subject, static_cast<double>(t.oldest_unapplied_age_us) / 1e6,
                     t.lag_records > 0 ? fmt::format("{} records waiting", t.lag_records) : ""});
    }
    if (config_.target_state.enabled) {
      out.push_back({kTargetState, subject, t.trouble.empty() ? 0.0 : 1.0,
                     t.trouble.empty() ? "ok" : t.trouble});
    }
    if (config_.error_log.enabled && t.open_errors) {
      out.push_back({kErrorLog, subject, static_cast<double>(*t.open_errors),
                     fmt::format("{} open error(s)", *t.open_errors)});
    }
    if (config_.database_size.enabled && t.database_bytes) {
      out.push_back(
          {kDatabaseSize, subject, static_cast<double>(*t.database_bytes), t.database_detail});
    }
    if (config_.table_rows.enabled) {
      for (const auto& [table, rows] : t.table_rows) {
        auto max = config_.table_rows_max.find(table);
        if (max == config_.table_rows_max.end() || max->second == 0) continue;
        out.push_back({kTableRows, TableSubject(t.name, table),
                       static_cast<double>(rows) / static_cast<double>(max->second),
                       fmt::format("{} rows, maximum {}", rows, max->second)});
      }
    }
  }
  return out;
}

}  // namespace sluice::alarm
