#pragma once
// Feeds every target from every stream: one Applier per (target, stream), each with its
// own Backend (SQLite backends of one file share a writer connection underneath).
// Registers each target's named cursor on each stream, so retention keeps what a target
// has not applied yet (within its budget and policy).
//
// A target can be taken out for maintenance (StopTarget) and brought back (StartTarget):
// its appliers are stopped and destroyed (closing their connections), but its cursors
// stay registered, so retention keeps what it has not applied (within its budget and
// policy) and it catches up from its watermark when started again.
//
// The appliers of one target share a PriorityGate: higher-priority streams (model before
// samples) are applied first when several have a backlog.
//
// Divergence (ledger.h) survives a restart: at Create the ledgers are rebuilt from the
// error logs (what each target rejected) and the cursors (how far each got), and the
// verdicts are kept in DATA_DIR/state/divergence.json, replaced on every change:
//
//   {"format": 1, "diverged": [{"target": "b", "stream": "sql", "reason": "..."}]}
//
// Thread safety: safe from any thread after Create().

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "journal/journal_set.h"
#include "replicate/applier.h"
#include "replicate/error_log.h"
#include "replicate/ledger.h"

namespace sluice::replicate {

struct TargetSpec {
  std::string name;
  std::string dialect;     // "sqlite" | "postgres"
  std::string connection;  // file path or libpq conninfo
  std::string role = "primary";
  int priority = 0;
  journal::CursorOptions retention;
  // false: the target starts stopped (as after StopTarget) until StartTarget.
  bool enabled = true;
};

struct StreamSpec {
  std::string name;
  bool ordered = true;
  OnError on_error = OnError::kSkip;
  size_t batch_records = 0;  // 0: 1,000 for ordered streams, 20,000 for unordered ones
  size_t batch_bytes = 0;    // 0: 4 MiB ordered, 32 MiB unordered
  // Higher first: on each target, a stream's applier does not start a batch while a
  // stream of higher priority has work (see PriorityGate).
  int priority = 0;
  // How long an applier waits for more records when a read returns a short batch.
  std::chrono::microseconds batch_delay{0};
};

struct ReplicatorOptions {
  FileSystem* fs = FileSystem::Default();
  std::string node_id;
  std::string data_dir;
  std::vector<TargetSpec> targets;
  std::vector<StreamSpec> streams;
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5000};
};

class Replicator {
 public:
  static Result<std::unique_ptr<Replicator>> Create(journal::JournalSet* journals,
                                                    const ReplicatorOptions& options);
  ~Replicator();

  void Start();
  void Stop();

  // The appliers of running targets (a stopped target has none).
  std::vector<ApplierStatus> Status() const;
  // Null when there is no such applier or its target is stopped. The pointer is valid
  // until StopTarget(target) or destruction; FindApplier's keeps the applier alive.
  Applier* applier(const std::string& target, const std::string& stream) const;
  std::shared_ptr<Applier> FindApplier(const std::string& target, const std::string& stream) const;
  ErrorLog* error_log(const std::string& target) const;
  // The target's priority gate (null for an unknown target). It lives as long as the
  // replicator, across StopTarget/StartTarget.
  std::shared_ptr<PriorityGate> priority_gate(const std::string& target) const;
  // Waits until every applier has applied its stream's durable head as of the call, or
  // the timeout passes. Returns true when all did.
  bool WaitCaughtUp(std::chrono::milliseconds timeout) const;

  // Stops and destroys the target's appliers; its cursors stay. kNotFound for an unknown
  // target; OK when it is stopped already.
  ::sluice::Status StopTarget(const std::string& target);
  // Creates the target's appliers again and starts them when the replicator is started.
  // kNotFound for an unknown target; OK when it runs already.
  ::sluice::Status StartTarget(const std::string& target);
  // False after StopTarget (or when created disabled) until StartTarget.
  bool target_enabled(const std::string& target) const;

  // `target` diverged on `stream` for a reason its appliers cannot see (an orphaned
  // decision of a synchronous write); persisted like every verdict.
  void NoteDiverged(const std::string& target, const std::string& stream, const std::string& reason);

  // After a resync (REQUIRES: the target stopped): `target` holds `source`'s rows up to
  // `watermarks` (per stream). Its open rejections are withdrawn and `source`'s up to the
  // watermarks become its own, in its error log and in the ledgers, so neither it nor
  // the targets that rejected what `source` rejected count as diverged; its verdicts go.
  ::sluice::Status AdoptResync(const std::string& target, const std::string& source,
                               const std::map<std::string, uint64_t>& watermarks);
  // The operator accepts that `target` differs from its peers: its rejections of records
  // another target applied become "accepted" in its error log (no longer evidence) and
  // its verdicts go. Returns how many rejections were accepted; kFailedPrecondition when
  // it has not diverged.
  Result<size_t> AcceptDifference(const std::string& target);

  // The target answers again: its appliers retry at once instead of waiting out their
  // backoff.
  void RetryTargetNow(const std::string& target);

  // Synchronous writes: the appliers of `stream` report the intents they decide to
  // `sink`, including appliers created later (StartTarget). REQUIRES: before Start().
  void SetOutcomeSink(const std::string& stream, OutcomeSink sink);
  // The target whose applier of the sink's stream decides intents ("" for none); the
  // others wait for the outcome. Kept for appliers created later.
  void SetIntentDecider(const std::string& target);

 private:
  Replicator() = default;
  Result<std::vector<std::shared_ptr<Applier>>> MakeAppliers(const TargetSpec& target);
  // Rebuilds the ledgers from the error logs, the cursors and the verdict file.
  ::sluice::Status RestoreLedgers();
  // Writes every ledger's verdicts to the verdict file (errors are logged: the verdicts
  // still hold in memory).
  void SaveDivergence();

  journal::JournalSet* journals_ = nullptr;
  ReplicatorOptions options_;
  std::map<std::string, std::unique_ptr<StreamLedger>> ledgers_;  // by stream
  std::map<std::string, std::unique_ptr<ErrorLog>> error_logs_;   // by target
  std::map<std::string, std::shared_ptr<PriorityGate>> gates_;    // by target
  std::string divergence_path_;  // "" (no data directory, tools): not persisted
  std::mutex divergence_mu_;     // one save at a time
  std::mutex target_mu_;  // Start/Stop/StopTarget/StartTarget one at a time
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Applier>> appliers_;  // guarded by mu_
  std::set<std::string> stopped_targets_;           // guarded by mu_
  bool started_ = false;                            // guarded by mu_
  std::string outcome_stream_;                      // set before Start()
  OutcomeSink outcome_sink_;                        // set before Start()
  std::string decider_;                             // guarded by mu_
};

}  // namespace sluice::replicate
