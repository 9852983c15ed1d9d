#pragma once
// What the targets of one stream did with its records, to tell when a target has
// diverged: it rejected a record that another target applied, or it committed a
// synchronous write that the journaled outcome says was rejected (an orphaned decision).
// A diverged target cannot be trusted to hold the same rows as its peers and cannot
// become active until an operator clears it.
//
// The ledger itself is memory; the Replicator rebuilds it at start from what is durable
// (the error logs, the cursors and DATA_DIR/state/divergence.json) and persists every
// change of verdict through the change callback.
//
// Thread safety: safe from any thread. The change callback runs outside the ledger's lock.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace sluice::replicate {

class StreamLedger {
 public:
  // Called after a target became diverged or stopped being so. REQUIRES: set before the
  // appliers start.
  void SetOnChange(std::function<void()> on_change) { on_change_ = std::move(on_change); }

  // `target` committed everything up to `lsn` (rejections included).
  void NoteApplied(const std::string& target, uint64_t lsn);
  // `target` rejected the record at `lsn`.
  void NoteRejected(const std::string& target, uint64_t lsn);
  // `target` later applied the record at `lsn` after all (operator retry).
  void NoteRetried(const std::string& target, uint64_t lsn);
  // `target` diverged for a reason the ledger cannot see from applies and rejections (an
  // orphaned decision, or a verdict persisted before a restart).
  void NoteDiverged(const std::string& target, const std::string& reason);
  // `target` was rebuilt from a copy of `source` that holds `source`'s rows up to
  // `watermark`: it now rejected what `source` rejected up to there, and nothing else; its
  // verdict goes (a copy of a diverged source is refused before).
  void Adopt(const std::string& target, const std::string& source, uint64_t watermark);
  // The operator accepts that `target` differs: its rejections of records another target
  // applied stop counting as evidence, and its verdict goes. Rejections its peers share
  // stay (dropping them would make the target look as if it had applied those records,
  // and its peers diverged). Returns the LSNs whose rejection no longer counts.
  std::vector<uint64_t> Accept(const std::string& target);
  bool diverged(const std::string& target) const;
  // Why `target` is diverged ("" when it is not).
  std::string divergence(const std::string& target) const;
  // Every diverged target and why.
  std::map<std::string, std::string> Diverged() const;

 private:
  // True when a verdict changed.
  bool EvaluateLocked();
  void Changed(bool changed) const {
    if (changed && on_change_) on_change_();
  }

  std::function<void()> on_change_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> applied_;              // target -> watermark
  std::map<uint64_t, std::set<std::string>> rejected_;   // lsn -> targets that rejected it
  std::map<std::string, std::string> diverged_;          // target -> reason
};

}  // namespace sluice::replicate
