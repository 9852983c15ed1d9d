#pragma once
// One applier per (target, stream): reads the stream's journal from just after the
// target's watermark and applies it in batches, each batch in one transaction together
// with the watermark row, so a replay after any crash neither loses nor repeats a record.
//
//  - Transient errors (retryable Status): reconnect with backoff, re-read the watermark
//    and retry the same records, forever.
//  - Permanent errors: the offending record is isolated by bisecting the batch; it goes
//    to the error log (the target's sluice_error table in the same transaction as the
//    watermark moving past it, and DATA_DIR/errors/TARGET.log). With on_error = skip the
//    stream goes on; with block it stops at that record until the operator retries or
//    discards it (a reconnect keeps it blocked; after a restart the record is tried in
//    its order again). A rejected record that is applied in its order after all (its
//    cause was fixed before a restart) is resolved as "applied", in the target in the
//    same transaction, so no later retry applies it a second time.
//  - An intent the deciding target applied but this one cannot apply (a permanent
//    error) is a rejection like any other: logged, handled by on_error, and this target
//    diverges. It is never retried forever.
//  - A watermark above the journal head (the journal was wiped and recreated) or below
//    the oldest retained record stops this applier with "needs resync": never a guess.
//  - Priority: the appliers of one target share a PriorityGate (priority_gate.h). Before
//    each batch an applier enters it with its stream's priority, so a lower stream does
//    not start a batch while a higher one has a backlog; it holds its place between
//    batches for as long as its reads come back full.
//  - batch_delay: when a read comes back short (the stream is at its head), the applier
//    waits up to batch_delay for more records before applying, so a trickle goes in
//    fewer, larger transactions. A full batch is never delayed, nor a batch holding an
//    intent this applier decides (its caller is waiting).
//  - Sync-write intents are applied only once their outcome marker has been read, and
//    skipped when the outcome was "rejected". The applier of the active target's model
//    stream *decides* them instead (SetDecidesIntents): it applies each one alone, in
//    its own transaction with the watermark, and reports the outcome to an OutcomeSink,
//    which journals the outcome marker and answers the caller. A rejection is reported
//    (journaled) before the watermark moves past the intent; so after a crash, an intent
//    at or below the watermark without an outcome was applied, and is reported so.
//
// Thread safety: public methods are safe from any thread; the work runs on the applier's
// own thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "journal/journal_set.h"
#include "journal/reader.h"
#include "replicate/error_log.h"
#include "replicate/ledger.h"
#include "replicate/priority_gate.h"
#include "store/backend.h"

#include <functional>

namespace sluice::replicate {

using journal::Lsn;

enum class OnError { kSkip, kBlock };

struct ApplierOptions {
  std::string node_id;
  std::string stream;
  bool ordered = true;
  OnError on_error = OnError::kSkip;
  size_t batch_records = 1000;
  size_t batch_bytes = 4 << 20;
  // When a read returns less than a full batch, wait up to this long for more records
  // before applying (0: apply at once). Waits are at millisecond granularity.
  std::chrono::microseconds batch_delay{0};
  // The target's gate, shared by its appliers, and this stream's priority in it (higher
  // first). No gate: the applier runs independently.
  std::shared_ptr<PriorityGate> gate;
  int priority = 0;
  // How long a reader waits for new records before checking for commands and stop.
  std::chrono::milliseconds idle_wait{100};
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5000};
  // This target decides sync-write intents from the start (see SetDecidesIntents).
  bool decides_intents = false;
  // RETURNING rows kept for the caller of a synchronous write.
  size_t intent_max_rows = 10000;
};

// How the deciding target handled one sync-write intent.
struct IntentDecision {
  Lsn intent_lsn = 0;
  bool applied = false;
  std::string message;  // the target's error when rejected
  std::string target;
  store::StatementResult result;
  bool result_known = true;  // false: applied before a crash, its result is lost
};
// Journals the outcome marker durably and wakes whoever waits for it. Runs on the
// applier's thread; an error stops the applier's progress and is retried.
using OutcomeSink = std::function<Status(const IntentDecision&)>;

enum class ApplierState { kConnecting, kRunning, kDown, kBlocked, kNeedsResync, kStopped };
std::string_view ApplierStateName(ApplierState state);

struct ApplierStatus {
  std::string target;
  std::string stream;
  ApplierState state = ApplierState::kConnecting;
  Lsn applied_lsn = 0;   // the target's watermark as this applier last committed/read it
  Lsn blocked_lsn = 0;   // kBlocked: the record it stopped at
  std::string last_error;
  uint64_t records_applied = 0;
  uint64_t batches_applied = 0;
  uint64_t rejected = 0;
  bool diverged = false;
};

class Applier {
 public:
  // `journals` and `error_log` and `ledger` must outlive the applier. The target's name
  // is backend->name(); its cursor on the stream must be registered already.
  Applier(journal::JournalSet* journals, std::unique_ptr<store::Backend> backend,
          ErrorLog* error_log, StreamLedger* ledger, ApplierOptions options);
  ~Applier();

  // REQUIRES: before Start().
  void SetOutcomeSink(OutcomeSink sink) { outcome_sink_ = std::move(sink); }
  void Start();
  void Stop();

  // This target becomes (true) or stops being (false) the one that decides sync-write
  // intents. Safe to call at any time from any thread.
  void SetDecidesIntents(bool on);

  // Cuts a reconnection backoff short: the target answers again (its health probe
  // says so), so waiting out a backoff of seconds only delays the catch-up.
  void RetryNow();

  ApplierStatus status() const;
  // Waits until the target has applied everything up to `lsn`, the applier stops making
  // progress for good (blocked, needs resync) or the timeout passes.
  bool WaitApplied(Lsn lsn, std::chrono::milliseconds timeout) const;

  // Operator actions, carried out on the applier's thread:
  // Re-applies the rejected record at `lsn` (of the journal's current epoch) on this
  // target only. A blocked record is applied in order and the stream resumes. A record
  // that was skipped arrives out of its original order, through Backend::ApplyRetry,
  // whose idempotence key in the target makes a retry whose answer was lost safe to
  // repeat. A record that was applied in its order after its rejection is not applied
  // again (kFailedPrecondition, the entry is resolved as "applied").
  Status Retry(Lsn lsn, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Gives up on the rejected record at `lsn` (a blocked stream moves past it).
  Status Discard(Lsn lsn, std::chrono::milliseconds timeout = std::chrono::seconds(60));

  const std::string& target() const { return target_; }
  const std::string& stream() const { return options_.stream; }

 private:
  struct Decoded {
    Lsn lsn = 0;
    std::optional<v1::Record> record;  // empty when the payload could not be decoded
    std::string decode_error;
    std::string_view payload;          // raw bytes, valid while the batch is
    bool skip = false;                 // not applied (rejected intent, marker, ...)
  };
  struct Command {
    enum Kind { kRetry, kDiscard } kind;
    Lsn lsn;
    std::promise<Status> done;
  };

  // applier.cc: life, state, connection
  void SetState(ApplierState state, const std::string& error = {});
  // The target (or the journal) failed with `error`: the status shows it, and the next
  // pass reconnects and reads the watermark again (a commit may have happened before the
  // connection broke). GoDown also backs off; MarkDown does not, for when the loop was
  // interrupted (stop, an operator's command) and must not wait.
  void GoDown(const Status& error);
  void MarkDown(const Status& error);
  void Backoff();
  Status ConnectAndPosition();
  Status Reposition(Lsn next);
  void WaitForStop();
  // Stopping, or an operator's command is waiting.
  bool Interrupted() const;

  // applier_loop.cc: the loop
  void Run();
  // Appends the records of `batch` to `out`.
  void Decode(const journal::ReadBatch& batch, std::vector<Decoded>* out) const;
  bool DecidesAnIntentIn(std::span<const Decoded> recs) const;
  // batch_delay: reads what arrives within the delay into `topups` and appends it to
  // `recs` (whose payload bytes are `bytes`) until the batch is full or the delay passes.
  Status FillBatch(std::vector<Decoded>* recs, std::deque<journal::ReadBatch>* topups,
                   size_t* bytes);
  // Waits at the priority gate until this stream may start a batch; false when stopping
  // or an operator's command is waiting (the pass is then released).
  bool EnterGate();
  // How many of the decoded records can be applied now (intents wait for outcomes).
  size_t ApplicablePrefix(std::vector<Decoded>& recs);

  // applier_apply.cc: applying, rejections, the watermark
  // Applies recs (already filtered for intents) with bisection on permanent errors.
  // Returns OK, a retryable error, or kAborted when the stream is now blocked.
  Status ApplyRange(std::span<Decoded> recs);
  store::ErrorEntry MakeEntry(const Decoded& rec, const Status& error) const;
  Status HandleRejected(Decoded& rec, const Status& error);
  Status CommitWatermark(Lsn lsn, std::span<const store::ErrorEntry> errors);
  void Advanced(Lsn lsn, size_t records);
  // Reads this stream's open rejections of the current epoch from the error log.
  void LoadOpenRejections();
  // Records of `recs` (applied in their order just now) with an open rejection: resolved
  // in the local error log as "applied" (the target resolved them in the transaction).
  void ResolveAppliedInOrder(std::span<const Decoded> recs);
  void ResolveAppliedInOrder(Lsn lsn);

  // applier_intents.cc: sync-write intents
  // The active target decides the intent `rec` (or follows an outcome journaled later).
  Status DecideIntent(Decoded& rec);
  // Reports intents at or below the watermark that have no outcome as applied.
  Status RecoverUndecidedIntents();
  // The outcome of the intent at `lsn` journaled after it, if any.
  Result<std::optional<v1::SyncOutcome>> FindOutcome(Lsn lsn);

  // applier_commands.cc: the operator's commands
  Status Enqueue(Command::Kind kind, Lsn lsn, std::chrono::milliseconds timeout);
  void ProcessCommands();
  Status RunCommand(Command& cmd);
  Status RunCommandOnce(Command& cmd);

  journal::JournalSet* journals_;
  journal::Journal* journal_;
  std::unique_ptr<store::Backend> backend_;
  ErrorLog* error_log_;
  StreamLedger* ledger_;
  const ApplierOptions options_;
  const std::string target_;
  store::WatermarkKey key_;

  OutcomeSink outcome_sink_;
  std::atomic<bool> decides_{false};
  std::atomic<bool> recover_intents_{false};

  // Applier thread only.
  std::unique_ptr<journal::Reader> reader_;
  bool connected_ = false;
  std::chrono::milliseconds backoff_{0};
  size_t read_records_ = 0;  // grows when an intent's outcome is beyond one batch
  size_t read_bytes_ = 0;    // likewise, when one batch's bytes hold only up to the intent
  PriorityGate::Pass gate_pass_;  // held while this stream has work (see PriorityGate)
  // on_error = block: the record the stream stopped at (0: none) and why. Kept across
  // reconnects: only the operator moves a blocked stream.
  Lsn blocked_at_ = 0;
  std::string block_message_;
  std::set<Lsn> open_rejections_;  // this stream's open error-log entries (current epoch)

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  ApplierStatus status_;           // guarded by mu_
  ApplierState last_logged_state_ = ApplierState::kConnecting;  // guarded by mu_
  std::string last_logged_error_;                                // guarded by mu_
  std::deque<Command*> commands_;  // guarded by mu_
  bool stop_ = false;              // guarded by mu_
  bool retry_now_ = false;         // guarded by mu_; cut the current backoff short
  std::thread thread_;
};

}  // namespace sluice::replicate
