#pragma once
// Chooses the active target and moves the service between its states (cluster_state.h),
// the old platform's db_monitor and its switching rules:
//
//  - First start: the highest-priority primary that is up, enabled, not diverged and not
//    in need of a resync becomes active once it has applied the switch markers appended
//    to every ordered stream (so it holds every time-ordered write acknowledged before).
//  - The active target fails (down, disabled, needs resync, diverged): switching to the
//    next eligible primary by priority, with markers as above; the new target decides
//    the sync-write intents its predecessor left undecided. No eligible primary:
//    isolated, until one is eligible again.
//  - No automatic switch-back: a recovered target catches up and stays standby. An
//    operator may switch (RequestSwitch); the old active target first finishes the sync
//    writes journaled before the request and those whose callers were already admitted
//    (SyncWritePass).
//  - The state is persisted (DATA_DIR/state/cluster.json) before it takes effect, so a
//    restart resumes it: a change that cannot be saved does not happen (fail-closed; it
//    is tried again, and synchronous calls are refused meanwhile). Every change is logged
//    and journaled durably as an event (kind "sluice.state") on the events stream before
//    it takes effect, so every target's event_log records it.
//
// Synchronous services ask WaitActive(): the active target, or, while switching, a wait
// of up to the switch deadline; refused with the state in the message otherwise.
//
// Thread safety: safe from any thread after Start().

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "admission/admitter.h"
#include "cluster/catch_up.h"
#include "cluster/cluster_state.h"
#include "cluster/health_monitor.h"
#include "config/config.h"
#include "journal/journal_set.h"
#include "replicate/replicator.h"

namespace sluice::cluster {

struct ControllerOptions {
  FileSystem* fs = FileSystem::Default();
  std::string state_path;  // DATA_DIR/state/cluster.json
  std::string node_id;
  // Streams whose order matters (they get switch markers), and where state changes are
  // journaled as events.
  std::vector<std::string> ordered_streams;
  std::string events_stream;
  std::chrono::milliseconds switch_deadline{2000};
  // How long the first start waits for every primary's first probe.
  std::chrono::milliseconds first_probe_wait{1500};
  // How long a manual switchover lets the old target finish its sync writes.
  std::chrono::milliseconds drain_wait{2000};
};

// Who decides sync-write intents changed ("" for nobody).
using DeciderCallback = std::function<void(const std::string& target)>;

struct TargetView {
  std::string name;
  TargetHealth health;
  std::string ineligible;  // why it cannot be active ("" when it can)
  CatchUp catch_up;                          // over every stream
  std::map<std::string, CatchUp> by_stream;  // stream -> the same, on that stream alone
};

class Controller;

// Held by a synchronous write from the moment WaitActive() hands it the active target
// until its call is over (intent journaled and decided, or given up on): a manual
// switchover lets the old target decide the intents of every call holding one, so that
// an intent journaled just after the switch began is not left to a target that never
// decides it, nor decided by two. Movable, not copyable.
class SyncWritePass {
 public:
  SyncWritePass() = default;
  SyncWritePass(SyncWritePass&& o) noexcept : controller_(std::exchange(o.controller_, nullptr)) {}
  SyncWritePass& operator=(SyncWritePass&& o) noexcept;
  SyncWritePass(const SyncWritePass&) = delete;
  SyncWritePass& operator=(const SyncWritePass&) = delete;
  ~SyncWritePass() { Release(); }
  void Release();

 private:
  friend class Controller;
  Controller* controller_ = nullptr;
};

class Controller {
 public:
  // Reads the persisted state (kCorruption naming the file when damaged).
  static Result<std::unique_ptr<Controller>> Create(const config::Config* config, journal::JournalSet* journals,
                                                    admission::Admitter* admitter, replicate::Replicator* replicator,
                                                    HealthMonitor* health, ControllerOptions options,
                                                    DeciderCallback on_decider);
  ~Controller();

  void Start();
  void Stop();

  ClusterState state() const;
  // The active target; while starting or switching waits up to the switch deadline for
  // one. kUnavailable "service paused (STATE): WHY" otherwise, also while a change of
  // state waits to be saved. A synchronous write passes `pass` and holds it until its call
  // is over (see SyncWritePass); reads pass nothing.
  Result<std::string> WaitActive(SyncWritePass* pass = nullptr);
  // Manual switchover to `target`. OK once the switch has begun (or when `target` is
  // active already, with a message saying so); kNotFound, kFailedPrecondition (not a
  // primary, disabled, diverged, needs resync, another switch in progress) or
  // kUnavailable (down) otherwise.
  Result<std::string> RequestSwitch(const std::string& target);
  // Health, eligibility and catch-up of every target (primaries and replicas).
  std::vector<TargetView> Targets() const;
  // Wakes the controller to look again now (a target was enabled or disabled, ...).
  void Poke();

 private:
  friend class SyncWritePass;
  Controller(const config::Config* config, journal::JournalSet* journals, admission::Admitter* admitter,
             replicate::Replicator* replicator, HealthMonitor* health, ControllerOptions options,
             DeciderCallback on_decider)
      : config_(config), journals_(journals), admitter_(admitter), replicator_(replicator), health_(health),
        options_(std::move(options)), on_decider_(std::move(on_decider)) {}

  void Run();
  void EvaluateLocked();
  void SampleCatchUpLocked();
  // Why `target` cannot become or stay active ("" when it can).
  std::string IneligibleLocked(const std::string& target) const;
  // The highest-priority eligible primary other than `except`, "" when none; `why`
  // collects each primary's reason.
  std::string BestCandidateLocked(const std::string& except, std::string* why) const;
  Status BeginSwitchLocked(const std::string& from, const std::string& to, const std::string& reason, bool drain);
  // Decider change and markers (after the drain of a manual switchover).
  void CommitSwitchLocked();
  bool MarkersAppliedLocked() const;
  void BecomeActiveLocked(const std::string& target, const std::string& reason);
  void IsolateLocked(const std::string& reason);
  // Persists, logs and journals the change, then makes it take effect. When the state
  // file cannot be replaced nothing changes: the error is returned and kept in
  // persist_error_ until a change is saved or none is wanted any more.
  Status ChangedLocked(ClusterState next);
  Status SaveStateLocked(const ClusterState& next);
  void EndSyncWrite();
  void SetDeciderLocked(const std::string& target);

  const config::Config* config_;
  journal::JournalSet* journals_;
  admission::Admitter* admitter_;
  replicate::Replicator* replicator_;
  HealthMonitor* health_;
  const ControllerOptions options_;
  const DeciderCallback on_decider_;

  mutable std::mutex mu_;
  std::condition_variable cv_;         // wakes the controller's thread
  std::condition_variable active_cv_;  // wakes WaitActive callers
  ClusterState state_;                 // guarded by mu_
  std::optional<ClusterState> resumed_;  // guarded by mu_; persisted state, until the first decision
  std::map<std::string, journal::Lsn> markers_;  // guarded by mu_; switch markers to apply
  bool markers_pending_ = false;       // guarded by mu_; switching, markers not appended yet
  // Manual switch: the old target decides up to drain_lsn_ first, fixed once no call
  // admitted before the switch is still in flight (drain_fixed_).
  bool draining_ = false;              // guarded by mu_
  bool drain_fixed_ = false;           // guarded by mu_
  journal::Lsn drain_lsn_ = 0;         // guarded by mu_
  size_t sync_in_flight_ = 0;          // guarded by mu_; SyncWritePasses held
  std::string persist_error_;          // guarded by mu_; the last change could not be saved
  std::chrono::steady_clock::time_point drain_until_;  // guarded by mu_
  std::string decider_;                // guarded by mu_
  bool decider_known_ = false;         // guarded by mu_
  std::map<std::string, CatchUpMeter> catch_up_;  // guarded by mu_
  // (target, stream) -> its meter: what `sluice status` shows per stream.
  std::map<std::pair<std::string, std::string>, CatchUpMeter> stream_catch_up_;  // guarded by mu_
  std::chrono::steady_clock::time_point last_sample_;  // guarded by mu_
  std::chrono::steady_clock::time_point started_at_;
  bool poked_ = false;  // guarded by mu_
  bool stop_ = false;   // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::cluster
