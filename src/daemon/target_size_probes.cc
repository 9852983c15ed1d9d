#include "daemon/target_size_probes.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"

namespace sluice::daemon {

TargetSizeProbes::TargetSizeProbes(const config::Config& config) : alarms_(config.alarms) {
  for (const auto& t : config.targets) {
    // sluiced serves no one-way target (no database of its own here).
    if (t.role == config::TargetRole::kOneway) continue;
    targets_.push_back(Probed{
        t.name, std::string(config::DialectName(t.dialect)), t.connection, nullptr, false, {}});
  }
}

void TargetSizeProbes::Start() {
  if (!alarms_.database_size.enabled && !alarms_.table_rows.enabled) return;
  thread_ = std::thread([this] { Loop(); });
}

void TargetSizeProbes::Stop() {
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TargetSizeProbes::Loop() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_size = Clock::now();
  Clock::time_point next_rows = Clock::now();
  std::unique_lock lk(mu_);
  while (!stopped_) {
    const Clock::time_point now = Clock::now();
    const bool size_due = alarms_.database_size.enabled && now >= next_size;
    const bool rows_due = alarms_.table_rows.enabled && now >= next_rows;
    lk.unlock();
    if (size_due) {
      MeasureDatabases();
      next_size = Clock::now() + alarms_.database_size_interval;
    }
    if (rows_due) {
      CountRows();
      next_rows = Clock::now() + alarms_.table_rows_interval;
    }
    lk.lock();
    Clock::time_point wake = Clock::time_point::max();
    if (alarms_.database_size.enabled) wake = std::min(wake, next_size);
    if (alarms_.table_rows.enabled) wake = std::min(wake, next_rows);
    cv_.wait_until(lk, wake, [&] { return stopped_; });
  }
}

store::SizeProbe* TargetSizeProbes::ProbeOf(Probed& t) {
  if (t.probe == nullptr) {
    auto probe = store::NewSizeProbe(t.dialect, t.name, t.connection);
    if (!probe.ok()) {
      NoteFailure(t, probe.status(), "measuring its size");
      return nullptr;
    }
    t.probe = std::move(probe).value();
  }
  return t.probe.get();
}

void TargetSizeProbes::NoteFailure(Probed& t, const Status& status, std::string_view what) {
  if (t.failing) return;
  t.failing = true;
  SLUICE_LOG_WARN("alarms: target '{}' skipped while {} fails (logged once until it works): {}",
                  t.name, what, status.ToString());
}

void TargetSizeProbes::NoteSuccess(Probed& t) {
  if (!t.failing) return;
  t.failing = false;
  SLUICE_LOG_INFO("alarms: target '{}' is measured again", t.name);
}

void TargetSizeProbes::MeasureDatabases() {
  for (Probed& t : targets_) {
    store::SizeProbe* probe = ProbeOf(t);
    if (probe == nullptr) continue;
    auto size = probe->MeasureDatabase(ProbeTimeout());
    if (!size.ok()) {
      // The last value stays out of the checks: an unreachable target is target_state's.
      NoteFailure(t, size.status(), "measuring its database size");
      std::lock_guard lk(mu_);
      measures_[t.name].database_bytes.reset();
      continue;
    }
    NoteSuccess(t);
    std::lock_guard lk(mu_);
    Measures& m = measures_[t.name];
    m.database_bytes = size->bytes;
    m.database_detail = std::move(size->detail);
  }
}

void TargetSizeProbes::CountRows() {
  for (Probed& t : targets_) {
    store::SizeProbe* probe = ProbeOf(t);
    if (probe == nullptr) continue;
    std::map<std::string, uint64_t> rows;
    bool reached = true;
    for (const auto& [table, max] : alarms_.table_rows_max) {
      auto count = probe->CountRows(table, ProbeTimeout());
      if (count.ok()) {
        rows[table] = *count;
      } else if (count.status().code() == Code::kNotFound) {
        // A table the target does not have (yet: created by the first record of its
        // kind) has no rows to count; said once, in case the name is wrong.
        rows[table] = 0;
        if (t.missing_tables.insert(table).second) {
          SLUICE_LOG_WARN(
              "alarms: [alarms.table_rows] max names table '{}', which target '{}' "
              "does not have (yet): counted as 0 rows",
              table, t.name);
        }
      } else {
        NoteFailure(t, count.status(), fmt::format("counting the rows of '{}'", table));
        reached = false;
        break;
      }
    }
    if (reached) NoteSuccess(t);
    std::lock_guard lk(mu_);
    // Unreached: the last counts stay out of the checks until it answers again.
    measures_[t.name].table_rows = reached ? std::move(rows) : std::map<std::string, uint64_t>{};
  }
}

void TargetSizeProbes::Fill(alarm::TargetInputs* in) const {
  std::lock_guard lk(mu_);
  auto it = measures_.find(in->name);
  if (it == measures_.end()) return;
  in->database_bytes = it->second.database_bytes;
  in->database_detail = it->second.database_detail;
  in->table_rows = it->second.table_rows;
}

}  // namespace sluice::daemon
