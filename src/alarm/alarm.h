#pragma once
// The alarm model: a check (name, severity, raise and clear thresholds, direction), what a
// check measured for one subject (an Observation), an alarm that is raised (ActiveAlarm)
// and a raise or a clear (AlarmEvent). docs/alarms.md lists the checks.
//
// Hysteresis: a check whose direction is kAbove raises when the value goes above `raise`
// and clears only when it goes below `clear` (clear <= raise); kBelow the other way round.
// Both comparisons are strict, so a value sitting on either line changes nothing: an alarm
// never flaps on a value that stays put.
//
// Thread safety: plain values; NextActive is a pure function.

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"

namespace sluice::alarm {

using Severity = config::AlarmSeverity;

enum class Direction { kAbove, kBelow };

// How a value is shown in messages: "12%", "3.2MiB", "2min", "1500".
enum class Unit { kShare, kBytes, kSeconds, kCount };

struct CheckSpec {
  std::string name;  // "disk_free", "target_lag_records", ...
  Severity severity = Severity::kWarning;
  Direction direction = Direction::kAbove;
  double raise = 0;
  double clear = 0;
  Unit unit = Unit::kCount;
};

// One measurement of one check for one subject ("journal", "target 'a'").
struct Observation {
  std::string check;
  std::string subject;
  double value = 0;
  // Said with the value when set ("down: connection refused"), for states that a number
  // does not tell.
  std::string detail;
};

struct ActiveAlarm {
  std::string check;
  std::string subject;
  Severity severity = Severity::kWarning;
  double value = 0;      // the last value measured
  double threshold = 0;  // the raise threshold
  Unit unit = Unit::kCount;
  std::string detail;
  int64_t raised_at_us = 0;
};

struct AlarmEvent {
  bool raised = false;  // false: cleared
  std::string check;
  std::string subject;
  Severity severity = Severity::kWarning;
  double value = 0;
  double threshold = 0;  // raise threshold for a raise, clear threshold for a clear
  Unit unit = Unit::kCount;
  std::string detail;
  int64_t at_us = 0;
  uint64_t seq = 0;  // 1, 2, ... in the order of the engine's events
};

// Whether the alarm is active after seeing `value`, given whether it was before.
bool NextActive(const CheckSpec& spec, bool active, double value);

// "12.5%", "3MiB", "2min 5s", "1500"; "never" for an infinite number of seconds.
std::string FormatValue(double value, Unit unit);

// One line for logs and event_log:
//   alarm raised: disk_free on journal: free 8% (raise below 10%) [critical]
std::string Describe(const AlarmEvent& event);

}  // namespace sluice::alarm
