#pragma once
// What the targets of one stream did with its records, to tell when a target has
// diverged: it rejected a record that another target applied. A diverged target cannot
// be trusted to hold the same rows as its peers (and, later, cannot become active until
// an operator clears it).
//
// Thread safety: safe from any thread.

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace sluice::replicate {

class StreamLedger {
 public:
  // `target` committed everything up to `lsn` (rejections included).
  void NoteApplied(const std::string& target, uint64_t lsn);
  // `target` rejected the record at `lsn`.
  void NoteRejected(const std::string& target, uint64_t lsn);
  // `target` later applied the record at `lsn` after all (operator retry).
  void NoteRetried(const std::string& target, uint64_t lsn);
  bool diverged(const std::string& target) const;
  // Why `target` is diverged ("" when it is not).
  std::string divergence(const std::string& target) const;

 private:
  void EvaluateLocked();

  mutable std::mutex mu_;
  std::map<std::string, uint64_t> applied_;              // target -> watermark
  std::map<uint64_t, std::set<std::string>> rejected_;   // lsn -> targets that rejected it
  std::map<std::string, std::string> diverged_;          // target -> reason
};

}  // namespace sluice::replicate
