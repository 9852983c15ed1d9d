#pragma once
// Synchronous writes (SQL service, model update, sample modify), as DESIGN's data flow
// describes them: the caller's statement is journaled as an **intent** in the ordered
// model stream; the active target's applier decides it (applies it alone, in its own
// transaction with its watermark) and reports the outcome here; the outcome is journaled
// as a marker right after, so every other target applies the intent only if it was
// applied; and the caller gets the result. A caller whose outcome is not known within
// its deadline gets OUTCOME_UNKNOWN with the LSN and asks GetOutcome(lsn) later.
//
// Every answer is true: a journal failure before the intent was queued is an error
// (nothing was journaled); one after it was queued is OUTCOME_UNKNOWN with the LSN (the
// intent may be on disk and be decided after a restart), never a definite failure.
// Outcome markers are synced before the caller or the decider hears of them, whatever
// the journal's ack mode, so a decision once answered survives a power loss.
//
// Each intent carries the caller's request id (ExecuteRequest.request_id), so a caller
// cut off before it learnt the LSN (sluiced crashed) asks GetOutcomeByRequestId. The ids
// of this run's intents are remembered; an id not among them is looked for in the model
// journal, scanned once up to its head and remembered from then on.
//
// The check that a target is active, before anything is journaled, is the service's
// (a refused call must journal nothing).
//
// Thread safety: safe from any thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "admission/admitter.h"
#include "journal/journal_set.h"
#include "replicate/applier.h"
#include "sluice/v1/service.pb.h"

namespace sluice::sync {

class SyncWriter {
 public:
  SyncWriter(journal::JournalSet* journals, admission::Admitter* admitter,
             std::string model_stream = "model")
      : journals_(journals), admitter_(admitter), model_stream_(std::move(model_stream)) {}

  // Journals `intent` and waits up to `wait` for its outcome. The response's outcome is
  // APPLIED, REJECTED or UNKNOWN (with the LSN and the intent's request id either way).
  // An error means nothing was journaled. kInvalidArgument for a bad request id.
  Result<v1::ExecuteResponse> Execute(const v1::SyncIntent& intent, std::chrono::milliseconds wait,
                                      size_t max_rows);
  // The outcome (as GetOutcome) of the latest intent journaled with `request_id`;
  // NOT_FOUND when no retained intent carries it (it never reached the journal, or
  // retention deleted it).
  Result<v1::ExecuteResponse> GetOutcomeByRequestId(const std::string& request_id);
  // OK, or kInvalidArgument saying what is wrong with a request id (at most 128 bytes,
  // no control characters; empty is allowed: no id).
  static Status CheckRequestId(std::string_view request_id);
  // APPLIED / REJECTED once decided, PENDING while journaled and undecided; NOT_FOUND when
  // `lsn` is not a sync write; OUT_OF_RANGE when it is no longer in the journal.
  Result<v1::ExecuteResponse> GetOutcome(journal::Lsn lsn);

  // The deciding applier's OutcomeSink: journals the outcome marker (durably) and wakes
  // the caller. kFailedPrecondition when decision.target is not the decider (any more):
  // after a switch, only the new active target answers for an intent, so one intent
  // never gets two outcome markers.
  Status Decided(const replicate::IntentDecision& decision);
  // The target whose decisions are accepted from now on ("" for none). Waits for a
  // decision being journaled to finish first.
  void SetDecider(const std::string& target);
  // Told when a target committed a synchronous write after it stopped deciding (its
  // decision was refused) and the journaled outcome is "rejected": that target holds rows
  // no other target holds (it has diverged). REQUIRES: before decisions arrive.
  using OrphanSink = std::function<void(const std::string& target, journal::Lsn intent_lsn, const std::string& why)>;
  void SetOrphanSink(OrphanSink sink) { orphan_sink_ = std::move(sink); }
  // The node is stopping and nothing decides any more: callers waiting for an outcome,
  // and later ones, get UNKNOWN with the LSN at once (the next start decides it).
  void Stop();

 private:
  void Remember(journal::Lsn lsn, v1::ExecuteResponse response);
  // REQUIRES: index_mu_ held. Remembers that `request_id` was journaled at `lsn`.
  void IndexRequestLocked(const std::string& request_id, journal::Lsn lsn);
  // Calls `fn` with every intent of the model journal from `from` to its durable head
  // (retained ones only); returns the last LSN read.
  Result<journal::Lsn> ScanIntents(journal::Lsn from,
                                   const std::function<void(journal::Lsn, const v1::SyncIntent&)>& fn);
  // A refused decision that committed: diverged if the journaled outcome is "rejected".
  void NoteOrphan(const replicate::IntentDecision& d);
  void ReportOrphan(const std::string& target, journal::Lsn lsn, const std::string& rejected_by);

  journal::JournalSet* journals_;
  admission::Admitter* admitter_;
  const std::string model_stream_;

  std::mutex decide_mu_;  // one decision at a time, and none while the decider changes
  std::string decider_;   // guarded by decide_mu_
  bool decider_set_ = false;  // guarded by decide_mu_; false: any target (tools, tests)

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<journal::Lsn, v1::ExecuteResponse> outcomes_;  // guarded by mu_; recent ones
  // Intents a former decider committed after it stopped deciding, until their outcome is
  // journaled: intent LSN -> that target.
  std::map<journal::Lsn, std::string> orphans_;  // guarded by mu_
  OrphanSink orphan_sink_;
  std::deque<journal::Lsn> order_;                        // guarded by mu_; for eviction

  std::mutex index_mu_;  // request ids; taken before mu_ when both are
  std::unordered_map<std::string, journal::Lsn> request_lsns_;  // guarded by index_mu_
  std::deque<std::string> request_order_;                       // guarded by index_mu_
  journal::Lsn request_scanned_ = 0;  // guarded by index_mu_; journal indexed up to here
  bool request_evicted_ = false;      // guarded by index_mu_; some ids were forgotten
  bool stopped_ = false;                                  // guarded by mu_
};

// Converts a backend result into the API's response fields.
void FillResult(const store::StatementResult& result, size_t max_rows, v1::ExecuteResponse* out);

}  // namespace sluice::sync
