#pragma once
// Synchronous writes (SQL service, model update, sample modify), as DESIGN's data flow
// describes them: the caller's statement is journaled as an **intent** in the ordered
// model stream; the active target's applier decides it (applies it alone, in its own
// transaction with its watermark) and reports the outcome here; the outcome is journaled
// as a marker right after, so every other target applies the intent only if it was
// applied; and the caller gets the result. A caller whose outcome is not known within
// its deadline gets OUTCOME_UNKNOWN with the LSN and asks GetOutcome(lsn) later.
//
// The check that a target is active, before anything is journaled, is the service's
// (a refused call must journal nothing).
//
// Thread safety: safe from any thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "admission/admitter.h"
#include "journal/journal_set.h"
#include "replicate/applier.h"
#include "sluice/v1/service.pb.h"

namespace sluice::service {

class SyncWriter {
 public:
  SyncWriter(journal::JournalSet* journals, admission::Admitter* admitter,
             std::string model_stream = "model")
      : journals_(journals), admitter_(admitter), model_stream_(std::move(model_stream)) {}

  // Journals `intent` and waits up to `wait` for its outcome. The response's outcome is
  // APPLIED, REJECTED or UNKNOWN (with the LSN either way).
  Result<v1::ExecuteResponse> Execute(const v1::SyncIntent& intent, std::chrono::milliseconds wait,
                                      size_t max_rows);
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
  // The node is stopping and nothing decides any more: callers waiting for an outcome,
  // and later ones, get UNKNOWN with the LSN at once (the next start decides it).
  void Stop();

 private:
  void Remember(journal::Lsn lsn, v1::ExecuteResponse response);

  journal::JournalSet* journals_;
  admission::Admitter* admitter_;
  const std::string model_stream_;

  std::mutex decide_mu_;  // one decision at a time, and none while the decider changes
  std::string decider_;   // GUARDED_BY(decide_mu_)
  bool decider_set_ = false;  // GUARDED_BY(decide_mu_) false: any target (tools, tests)

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<journal::Lsn, v1::ExecuteResponse> outcomes_;  // GUARDED_BY(mu_) recent ones
  std::deque<journal::Lsn> order_;                        // GUARDED_BY(mu_) for eviction
  bool stopped_ = false;                                  // GUARDED_BY(mu_)
};

// Converts a backend result into the API's response fields.
void FillResult(const store::StatementResult& result, size_t max_rows, v1::ExecuteResponse* out);

}  // namespace sluice::service
