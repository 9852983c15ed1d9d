#pragma once
// The node's alarms: the alarm engine of [alarms] (src/alarm/), fed every interval with
// what the node knows (the journal directory's free space, Admin.Status's journal and
// target figures, every target's open errors, the last database sizes and row counts of
// TargetSizeProbes), and its raises and clears journaled as
// events (kind "sluice.alarm") so that every target's event_log records them.
//
// Lifecycle: Open() (engine() is usable: no alarm yet) -> Start(status) -> Stop(). Stop
// ends the thread and every Admin.WatchAlarms, so the node stops it before it drains calls.
//
// Thread safety: Open/Start/Stop from the node's thread; engine() from any thread.

#include <functional>
#include <memory>
#include <string>

#include "admission/admitter.h"
#include "alarm/alarm_engine.h"
#include "alarm/checks.h"
#include "config/config.h"
#include "daemon/target_size_probes.h"
#include "replicate/replicator.h"
#include "sluice/v1/service.pb.h"

namespace sluice::daemon {

class NodeAlarms {
 public:
  using StatusFn = std::function<v1::StatusResponse()>;

  NodeAlarms(const config::Config& config, admission::Admitter* admitter,
             replicate::Replicator* replicator, std::string events_stream);
  ~NodeAlarms() { Stop(); }

  alarm::AlarmEngine* engine() { return &engine_; }
  void Start(StatusFn status);
  void Stop() {
    engine_.Stop();
    probes_.Stop();
  }

  // What the checks see, from a status and the error logs.
  alarm::AlarmInputs Inputs(const v1::StatusResponse& status) const;
  // One target's lag and trouble (down, diverged, detached, blocked) from a status; the
  // open errors are left unknown.
  static alarm::TargetInputs TargetFromStatus(const v1::StatusResponse& status,
                                              const v1::TargetStatus& target);

 private:
  void Journal(const alarm::AlarmEvent& event);

  const config::Config& config_;
  admission::Admitter* const admitter_;
  replicate::Replicator* const replicator_;
  const std::string events_stream_;
  const std::string journal_dir_;
  alarm::CheckSet checks_;  // the engine's thread only
  // The databases' sizes and row counts, on a thread of their own (slow queries).
  TargetSizeProbes probes_;
  alarm::AlarmEngine engine_;
};

}  // namespace sluice::daemon
