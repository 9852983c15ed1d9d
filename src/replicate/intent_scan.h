#pragma once
// What a model stream's journal says about synchronous-write intents: which intents have
// no outcome yet. Kept up to date incrementally by a follower thread that reads each
// durable record once, so that a decider change (failover) or a reconnect finds the
// undecided intents by reading only what was journaled since the last look, not the
// whole retained stream (issue #9, item 14).
//
// One per journal, shared by all its appliers and by GetOutcome: IntentScan::For(j).
// It lives as the journal's attachment and stops before the journal closes; callers
// hold the pointer only for the duration of a call.
//
// Thread safety: all methods may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/status.h"
#include "journal/journal.h"

namespace sluice::replicate {

class IntentScan {
 public:
  // The scan of `journal`, created (and its follower started) on first use.
  static std::shared_ptr<IntentScan> For(const journal::Journal* journal);

  explicit IntentScan(const journal::Journal* journal);
  ~IntentScan();
  IntentScan(const IntentScan&) = delete;
  IntentScan& operator=(const IntentScan&) = delete;

  // Reads the records made durable since the last call (the first time: from the first
  // retained LSN). When it returns OK, everything up to the durable LSN at the time of
  // the call has been read.
  Status CatchUp();
  // Intents read so far without an outcome read so far, in LSN order.
  std::vector<journal::Lsn> Undecided() const;
  // `lsn` was read as an intent and no outcome for it has been read.
  bool IsUndecided(journal::Lsn lsn) const;
  journal::Lsn scanned_to() const;

 private:
  void Follow();

  const journal::Journal* const journal_;
  std::mutex scan_mu_;  // one CatchUp at a time
  mutable std::mutex mu_;
  journal::Lsn scanned_to_ = 0;           // guarded by mu_
  std::set<journal::Lsn> undecided_;      // guarded by mu_
  bool stop_ = false;                     // guarded by mu_
  std::condition_variable stop_cv_;
  std::thread follower_;
};

}  // namespace sluice::replicate
