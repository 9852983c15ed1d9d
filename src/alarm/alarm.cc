#include "alarm/alarm.h"

#include <cmath>

#include <fmt/format.h>

namespace sluice::alarm {

bool NextActive(const CheckSpec& spec, bool active, double value) {
  if (std::isnan(value)) return active;  // nothing measured: nothing changes
  if (spec.direction == Direction::kAbove)
    return active ? !(value < spec.clear) : value > spec.raise;
  return active ? !(value > spec.clear) : value < spec.raise;
}

std::string FormatValue(double value, Unit unit) {
  switch (unit) {
    case Unit::kShare:
      return fmt::format("{:.1f}%", value * 100);
    case Unit::kBytes: {
      const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
      int i = 0;
      double v = value;
      while (std::fabs(v) >= 1024 && i < 4) {
        v /= 1024;
        ++i;
      }
      return i == 0 ? fmt::format("{:.0f}B", v) : fmt::format("{:.1f}{}", v, units[i]);
    }
    case Unit::kSeconds:
      if (std::isinf(value)) return "never";
      if (value < 120) return fmt::format("{:.1f}s", value);
      if (value < 7200) return fmt::format("{:.1f}min", value / 60);
      return fmt::format("{:.1f}h", value / 3600);
    case Unit::kCount:
      break;
  }
  return fmt::format("{:g}", value);
}

std::string Describe(const AlarmEvent& e) {
  return fmt::format("alarm {}: {} on {}: value {}{} ({} {}) [{}]", e.raised ? "raised" : "cleared",
                     e.check, e.subject, FormatValue(e.value, e.unit),
                     e.detail.empty() ? "" : " (" + e.detail + ")",
                     e.raised ? "raise threshold" : "clear threshold",
                     FormatValue(e.threshold, e.unit), config::AlarmSeverityName(e.severity));
}

}  // namespace sluice::alarm
