#pragma once
// `sluice target resync NAME --from OTHER` inside sluiced (docs/resync.md): a background
// job per target that stops the target's appliers, copies every Sluice-managed table
// from a healthy target into it (CopyTables), and starts its appliers again from the
// copied watermarks.
//
// What keeps it safe across a crash of sluiced:
//  - The resync is recorded in the target state store (DATA_DIR/state/targets.json)
//    before the appliers stop and is removed only once the copy is complete. A target
//    recorded there holds an incomplete copy: the daemon creates it stopped, and
//    ResumePending() continues the copy from its resume mark
//    (DATA_DIR/state/resync/NAME.mark).
//  - Before the snapshot is read, the target's journal cursors are set where the
//    source's are. The source has applied everything up to its cursors, so the copied
//    watermarks are at or past them, and the journal keeps every record the target will
//    need after the copy.
//
// The job outlives the call that started it: an operator whose session drops finds it
// in `sluice status` and can follow it again with the same command.
//
// Thread safety: safe from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/target_state.h"
#include "common/status.h"
#include "config/config.h"
#include "journal/journal_set.h"
#include "replicate/replicator.h"
#include "resync/table_copy.h"

namespace sluice::resync {

// kInterrupted: sluiced stopped during the copy; its next start continues it.
enum class JobState { kRunning, kDone, kFailed, kInterrupted };
std::string_view JobStateName(JobState state);

struct JobStatus {
  std::string target;
  std::string from;
  JobState state = JobState::kRunning;
  CopyProgress progress;
  int64_t started_us = 0;
  int64_t finished_us = 0;     // 0 while running
  double rows_per_s = 0;       // of this run so far
  int64_t eta_s = -1;          // -1: not known (rows not counted, or nothing copied yet)
  bool resumed = false;        // continued an interrupted copy
  std::string restart_reason;  // why an interrupted copy was started over
  std::string error;           // kFailed: what went wrong
  uint64_t version = 0;        // grows with every change, for WaitChange
  bool snapshot_open = false;  // the source's snapshot is taken
};

struct ResyncOptions {
  const config::Config* config = nullptr;
  journal::JournalSet* journals = nullptr;
  replicate::Replicator* replicator = nullptr;
  cluster::TargetStateStore* states = nullptr;
  std::string state_dir;  // DATA_DIR/state: the resume marks go to its resync/
  // Journals an operator-visible event into `events_stream` (every target's event_log):
  // severity 0 info, 1 warning, 2 error. Returns its LSN once durable.
  std::function<Result<journal::Lsn>(int severity, const std::string& text)> journal_event;
  std::string events_stream;
  // How long a resync waits for its source to apply the "begun" event before it takes
  // the snapshot (so that the copy holds the event and an interrupted copy of an
  // otherwise idle source can continue after a restart).
  std::chrono::milliseconds begun_event_wait{10'000};
  size_t batch_rows = CopyOptions{}.batch_rows;  // per batch of the copy, at most
};

class TargetResync {
 public:
  explicit TargetResync(ResyncOptions options) : options_(std::move(options)) {}
  ~TargetResync() { Stop(); }

  // Starts a resync of `target` from `from`. OK as well when that very resync runs
  // already (the caller follows it). kNotFound for a target that is not configured;
  // kInvalidArgument (the same target, a oneway one); kFailedPrecondition when the source
  // cannot be trusted (disabled, needs resync, diverged, being resynced itself) or
  // `target` is being resynced from another source.
  Status Start(const std::string& target, const std::string& from);
  // Continues every resync the state store records (sluiced stopped during them), and
  // waits (up to `snapshot_wait`) until each has its source's snapshot open. Called
  // before the appliers start: a source that has not moved since the interrupted copy's
  // mark lets the copy continue where it was, while the source's first records after a
  // restart (the service's own state events) would make it start over.
  void ResumePending(std::chrono::milliseconds snapshot_wait = std::chrono::seconds(30));
  // Stops the running copies (their marks stay: a restart continues them) and waits.
  void Stop();

  // OK when `from` can be copied from now: running, not being resynced itself, not in
  // need of a resync, not diverged; kFailedPrecondition saying why otherwise.
  Status CheckSource(const std::string& from) const;

  // Waits until the job's version is past `after` (or `timeout`); the job as it is then,
  // or nullopt when there is none or Stop() was called.
  std::optional<JobStatus> WaitChange(const std::string& target, uint64_t after,
                                      std::chrono::milliseconds timeout) const;
  std::vector<JobStatus> List() const;

 private:
  struct Job {
    JobStatus status;
    std::thread thread;
  };
  Status HoldJournal(const std::string& target, const std::string& from);
  void Launch(const std::string& target, const std::string& from, journal::Lsn begun_lsn = 0);
  void Run(const std::string& target, const std::string& from, journal::Lsn begun_lsn);
  // The copy; the copied watermarks of this node and journal epoch, per stream.
  Result<std::map<std::string, uint64_t>> Copy(const std::string& target, const std::string& from,
                                               journal::Lsn begun_lsn);
  void Update(const std::string& target, const std::function<void(JobStatus&)>& change);
  std::string MarkPath(const std::string& target) const;
  // Logs and journals; the event's LSN (0 when it was not journaled).
  journal::Lsn Event(int severity, const std::string& text) const;

  const ResyncOptions options_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Job> jobs_;  // by target; guarded by mu_
  bool stop_ = false;                // guarded by mu_
};

}  // namespace sluice::resync
