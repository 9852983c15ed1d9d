#pragma once
// The checks of [alarms] (docs/alarms.md): their specs from the config, and what each
// measures from one AlarmInputs (what the node knows at one moment: disk, journal,
// targets). Subjects: "journal" for the journal's checks, "target 'NAME'" per target,
// "target 'NAME' table 'TABLE'" for table_rows.
//
// Thread safety: CheckSet is not thread safe (it keeps the journal's growth window and the
// missed cycles' window); the
// alarm engine's thread owns it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alarm/alarm.h"
#include "alarm/counter_window.h"
#include "alarm/growth_rate.h"
#include "config/config.h"

namespace sluice::alarm {

struct TargetInputs {
  std::string name;
  uint64_t lag_records = 0;             // over every stream
  uint64_t lag_bytes = 0;               // journal bytes not applied, over every stream
  int64_t oldest_unapplied_age_us = 0;  // 0: nothing waits
  // Empty when the target is fine; else what is wrong ("down: ...", "diverged on stream
  // 'model'", "needs resync on stream 'samples': ...", "blocked on stream 'sql'").
  std::string trouble;
  std::optional<uint64_t> open_errors;  // nullopt: the error log could not be read
  // The last measure of the target's database (nullopt: none yet, or it failed).
  std::optional<uint64_t> database_bytes;
  std::string database_detail;
  // The last row count of each table of [alarms.table_rows] max that was measured.
  std::map<std::string, uint64_t> table_rows;
};

struct AlarmInputs {
  // statvfs of the journal directory (nullopt: it failed; the disk checks skip the pass).
  std::optional<uint64_t> disk_free_bytes;
  std::optional<uint64_t> disk_total_bytes;
  uint64_t journal_bytes = 0;
  uint64_t journal_budget_bytes = 0;    // 0: no budget
  uint64_t free_space_floor_bytes = 0;  // the journal stops taking records there
  std::vector<TargetInputs> targets;
  // The sampler's missed cycles since sluiced started (nullopt: sampling is off).
  std::optional<uint64_t> sampling_missed_total;
};

// Check names, as in [alarms.NAME] and in every alarm.
inline constexpr char kDiskFree[] = "disk_free";
inline constexpr char kJournalBudget[] = "journal_budget";
inline constexpr char kTimeToLoss[] = "time_to_loss";
inline constexpr char kLagRecords[] = "target_lag_records";
inline constexpr char kLagBytes[] = "target_lag_bytes";
inline constexpr char kLagAge[] = "target_lag_age";
inline constexpr char kTargetState[] = "target_state";
inline constexpr char kErrorLog[] = "error_log";
inline constexpr char kDatabaseSize[] = "database_size";
inline constexpr char kTableRows[] = "table_rows";
inline constexpr char kSamplingMissed[] = "sampling_missed";

// The enabled checks of the config.
std::vector<CheckSpec> SpecsFromConfig(const config::AlarmsConfig& config);

// "target 'a'"
std::string TargetSubject(const std::string& target);
// "target 'a' table 'samples_1min'"
std::string TableSubject(const std::string& target, const std::string& table);

class CheckSet {
 public:
  explicit CheckSet(const config::AlarmsConfig& config)
      : config_(config),
        growth_(config.time_to_loss_window),
        missed_(config.sampling_missed_window) {}

  // Every enabled check's observations at `now_us`. Also feeds the growth window.
  std::vector<Observation> Measure(int64_t now_us, const AlarmInputs& in);

 private:
  const config::AlarmsConfig config_;
  GrowthRate growth_;
  CounterWindow missed_;
};

}  // namespace sluice::alarm
