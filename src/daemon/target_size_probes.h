#pragma once
// The alarms' measures of every target's database (docs/alarms.md: database_size,
// table_rows): each target gets a size probe of its own (store/size_probe.h, never an
// applier's connection), run on a thread of its own every [alarms.database_size]
// `interval` and every [alarms.table_rows] `interval`, so that a slow or hanging database
// never delays the journal's checks on the alarm engine's thread. That thread only copies
// the last measures (Fill). A target that cannot be reached is skipped for the pass (the
// target_state check covers it) and logged once, until it answers again.
//
// Thread safety: Start/Stop from the node's thread; Fill from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alarm/checks.h"
#include "config/config.h"
#include "store/size_probe.h"

namespace sluice::daemon {

class TargetSizeProbes {
 public:
  explicit TargetSizeProbes(const config::Config& config);
  ~TargetSizeProbes() { Stop(); }
  TargetSizeProbes(const TargetSizeProbes&) = delete;
  TargetSizeProbes& operator=(const TargetSizeProbes&) = delete;

  // Measures at once, then at each check's interval. No thread when neither check is on.
  void Start();
  // Ends the thread; a probe in progress finishes (bounded by [alarms] probe_timeout). Idempotent.
  void Stop();

  // The last measures of `in->name` (none yet: left unset, so the checks skip it).
  void Fill(alarm::TargetInputs* in) const;

  // One pass of the database sizes and of the row counts (the thread's work; also for
  // tests without a thread).
  void MeasureDatabases();
  void CountRows();

 private:
  struct Probed {
    std::string name;
    std::string dialect;
    std::string connection;
    std::unique_ptr<store::SizeProbe> probe;  // the probing thread's only
    bool failing = false;                     // logged, until it answers again
    std::set<std::string> missing_tables;     // logged once each
  };
  struct Measures {
    std::optional<uint64_t> database_bytes;
    std::string database_detail;
    std::map<std::string, uint64_t> table_rows;
  };

  void Loop();
  // The target's probe, made on first use; nullptr (logged once) when it cannot be.
  store::SizeProbe* ProbeOf(Probed& t);
  // Logs the first failure of a run of them and the recovery after it.
  static void NoteFailure(Probed& t, const Status& status, std::string_view what);
  static void NoteSuccess(Probed& t);

  std::chrono::milliseconds ProbeTimeout() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(alarms_.probe_timeout);
  }

  const config::AlarmsConfig alarms_;
  std::vector<Probed> targets_;  // the probing thread's only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Measures> measures_;  // guarded by mu_
  bool stopped_ = false;                      // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::daemon
