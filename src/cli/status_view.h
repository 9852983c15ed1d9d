#pragma once
// What `sluice status` and `sluice switch --wait` print, made from an Admin.Status answer.
// Pure functions of the answer and the current time (no I/O), so that they are tested on
// made-up answers (status_view_test.cc).
//
// Thread safety: pure functions.

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/v1/service.pb.h"

namespace sluice::cli {

// A plain-text table whose columns are as wide as their widest cell, two spaces apart.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "0 B", "512 B", "1.5 KiB", "12.0 MiB", ...
std::string HumanBytes(uint64_t bytes);
// "850ms", "12.3s", "4min 10s", "3h 5min", "2d 4h".
std::string HumanAge(int64_t us);
// A wall-clock time in UTC to the millisecond: "12:00:01.234 UTC" when it is on the same
// UTC day as `now_us`, "2024-05-01 12:00:01.234 UTC" otherwise.
std::string HumanTime(int64_t us, int64_t now_us);

// The state as the service names it in its log and its "sluice.state" events:
// "active(a)", "switching(a -> b)" ("none" when nothing was active), "isolated",
// "starting".
std::string DescribeState(const v1::StatusResponse& s);
// "state: switching(a -> b) since 12:00:01.234 UTC (2.1s): 'a' is down: ..."; the
// isolated state is spelled out ("isolated (1+N: ...)").
std::string StateLine(const v1::StatusResponse& s, int64_t now_us);
// A target's catch-up: "caught up", or "lag 12000 records, 3400/s, ETA 3.5s" (the ETA
// is "not shrinking" when the lag does not shrink at the current pace).
std::string CatchUpText(const v1::TargetStatus& t);
// The whole `sluice status` page: node, state line, journal, targets (role, priority,
// driver, enabled, health, applier state, catch-up), why a primary cannot be active or
// is down, then the stream x target table, then the cursors that hold journal segments
// (and every cursor of a target that is no longer configured).
std::string RenderStatus(const v1::StatusResponse& s, int64_t now_us);
// The "sampling: ..." lines of RenderStatus ("" when the status has no sampling part).
std::string SamplingLine(const v1::SamplingStatus& s, int64_t now_us);

// Where a switch to `target` stands, judged from one status answer (`sluice switch
// --wait`).
enum class SwitchVerdict {
  kDone,       // `target` is active
  kUnderWay,   // switching to `target` (or still starting)
  kElsewhere,  // the service went another way: another target is active or taking over,
               // or it is isolated
};
struct SwitchProgress {
  SwitchVerdict verdict = SwitchVerdict::kUnderWay;
  // kUnderWay: "switching(a -> b): 'b' is catching up: lag 120 records, 3400/s, ETA
  // 0.1s"; kDone: "active(b): why"; kElsewhere: what happened instead and why.
  std::string message;
};
SwitchProgress JudgeSwitch(const v1::StatusResponse& s, const std::string& target);

}  // namespace sluice::cli
