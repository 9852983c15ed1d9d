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

// The width `sluice status` keeps to: every line of RenderStatus fits in it, unless a
// name (a target's, a stream's) is longer than names usually are.
inline constexpr size_t kPageWidth = 80;

// Breaks each line of `text` longer than `width` into lines of at most `width` (a word
// longer than that stays whole), continued lines indented by two spaces. Breaks after
// "; " or ": " when one is far enough along the line, else at a space, so that a clause
// such as "'a' is down: connection refused" stays on one line when it can.
std::string WrapLines(const std::string& text, size_t width = kPageWidth);

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
// The ETA of a lag: "-" when there is none, "not shrinking" when `eta_s` < 0 (the lag does
// not shrink at the current pace), else the time ("3.5s", "4min 10s").
std::string EtaText(uint64_t lag_records, double eta_s);
// One resync job (Admin.ResyncTarget, Admin.Status): "resync of b from a: running
// [####......] 40%, 400000 of 1000000 rows, table sample_1min (3 of 18 tables), 52000/s,
// ETA 11.5s"; a failed one says why, an interrupted one how to continue it.
std::string ResyncLine(const v1::ResyncProgress& p);
// The whole `sluice status` page, at most kPageWidth wide: node, state line, journal; the
// streams (priority, ordered, head LSN, journal bytes); the targets (role, priority,
// driver, enabled, health, applier state) and why a primary cannot be active or is down;
// then per target its catch-up and, per stream by priority, what waits for it (records,
// bytes, the oldest waiting record's commit time and age, rate, ETA) and what stops an
// applier; then every cursor that holds journal segments, has been detached (needs a
// resync) or belongs to a target no longer configured.
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
