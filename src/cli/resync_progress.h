#pragma once
// A resync's progress on stderr while `sluice` follows it (`target resync`, `config
// reload`): on a terminal one line redrawn in place; otherwise (a log, a pipe) a line at
// most every few seconds, so a long copy does not flood the log.
//
// Thread safety: one follower, one thread.

#include <chrono>

#include "sluice/v1/service.pb.h"

namespace sluice::cli {

class ResyncProgressPrinter {
 public:
  ResyncProgressPrinter();
  // Shows `p` (without a terminal: only a running resync, and not more often than every
  // few seconds).
  void Show(const v1::ResyncProgress& p);
  // Wipes the redrawn line before the final word goes to stdout.
  void Clear();

 private:
  const bool terminal_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_line_;
};

}  // namespace sluice::cli
