#pragma once
// How `sluice alarms` shows Admin.ListAlarms and Admin.WatchAlarms: a table of the active
// alarms, the recent raises and clears, one line per event while watching, and the exit
// code the active set gives (0 none, 1 a warning at most, 2 any critical).
//
// Thread safety: pure functions.

#include <cstdint>
#include <string>

#include "sluice/v1/service.pb.h"

namespace sluice::cli {

// Exit codes of `sluice alarms` (scripts use them): none active / any warning / any critical
// (info alarms count as none).
inline constexpr int kAlarmsNone = 0;
inline constexpr int kAlarmsWarning = 1;
inline constexpr int kAlarmsCritical = 2;

template <typename Alarms>
int AlarmsExitCode(const Alarms& active) {
  int code = kAlarmsNone;
  for (const v1::Alarm& a : active) {
    if (a.severity() == "critical") return kAlarmsCritical;
    if (a.severity() == "warning") code = kAlarmsWarning;
  }
  return code;
}

// The active alarms as a table (or "no active alarms"), then up to `recent` of the last
// raises and clears.
std::string RenderAlarms(const v1::ListAlarmsResponse& r, int64_t now_us, int recent = 10);
// One line: "12:00:01.234 UTC  RAISED   critical  disk_free  journal  8.0% (raise threshold 10.0%)
// detail"
std::string RenderAlarmEvent(const v1::AlarmEvent& e, int64_t now_us);

}  // namespace sluice::cli
