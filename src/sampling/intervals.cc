#include "sampling/intervals.h"

#include <array>

#include <fmt/format.h>

namespace sluice::sampling {
namespace {

constexpr std::array<IntervalInfo, kIntervalCount> kIntervals = {{
    {v1::SAMPLE_INTERVAL_1S, "1s", kSecondUs, false},
    {v1::SAMPLE_INTERVAL_5S, "5s", 5 * kSecondUs, false},
    {v1::SAMPLE_INTERVAL_1MIN, "1min", kMinuteUs, false},
    {v1::SAMPLE_INTERVAL_5MIN, "5min", 5 * kMinuteUs, false},
    {v1::SAMPLE_INTERVAL_10MIN, "10min", 10 * kMinuteUs, false},
    {v1::SAMPLE_INTERVAL_15MIN, "15min", 15 * kMinuteUs, false},
    {v1::SAMPLE_INTERVAL_30MIN, "30min", 30 * kMinuteUs, false},
    {v1::SAMPLE_INTERVAL_1H, "1h", kHourUs, false},
    {v1::SAMPLE_INTERVAL_8H, "8h", 8 * kHourUs, true},
    {v1::SAMPLE_INTERVAL_1D, "1d", kDayUs, true},
}};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The UTC time of one boundary: every other lies a whole number of lengths from it.
int64_t Origin(const IntervalInfo& info, const DayRule& rule) {
  // Local midnight of 1970-01-01 is at -offset UTC; the local day starts day_start later.
  return info.follows_local_day ? rule.day_start_us - rule.utc_offset_us : 0;
}

bool TwoDigits(std::string_view s, int* out) {
  if (s.size() != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return false;
  *out = (s[0] - '0') * 10 + (s[1] - '0');
  return true;
}

}  // namespace

std::span<const IntervalInfo> AllIntervals() { return kIntervals; }

int IntervalIndex(v1::SampleInterval interval) { return static_cast<int>(interval) - 1; }

const IntervalInfo& Info(v1::SampleInterval interval) {
  return kIntervals.at(static_cast<size_t>(IntervalIndex(interval)));
}

Result<v1::SampleInterval> ParseInterval(std::string_view text) {
  for (const IntervalInfo& info : kIntervals) {
    if (info.name == text) return info.interval;
  }
  std::string names;
  for (const IntervalInfo& info : kIntervals) {
    names += names.empty() ? "" : ", ";
    names += info.name;
  }
  return Status::InvalidArgument(
      fmt::format("'{}' is not a sampling interval; the intervals are {}", text, names));
}

std::string SampleTableName(v1::SampleInterval interval) {
  return fmt::format("sample_{}", Info(interval).name);
}

Result<int64_t> ParseUtcOffset(std::string_view text) {
  if (text == "Z" || text == "z") return int64_t{0};
  int h = 0, m = 0;
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':' ||
      !TwoDigits(text.substr(1, 2), &h) || !TwoDigits(text.substr(4, 2), &m) || m > 59 ||
      h * 60 + m > 14 * 60) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a UTC offset: write Z or +hh:mm / -hh:mm within +-14:00, e.g. +08:00", text));
  }
  const int64_t us = h * kHourUs + m * kMinuteUs;
  return text[0] == '-' ? -us : us;
}

Status ValidateDayRule(const DayRule& rule) {
  if (rule.utc_offset_us < -14 * kHourUs || rule.utc_offset_us > 14 * kHourUs) {
    return Status::InvalidArgument(
        fmt::format("UTC offset {} µs is outside +-14 h", rule.utc_offset_us));
  }
  if (rule.day_start_us < 0 || rule.day_start_us >= kDayUs) {
    return Status::InvalidArgument(
        fmt::format("day start {} µs after midnight is outside [00:00, 24:00)", rule.day_start_us));
  }
  return Status::OK();
}

int64_t BoundaryAtOrBefore(v1::SampleInterval interval, int64_t t_us, const DayRule& rule) {
  const IntervalInfo& info = Info(interval);
  const int64_t origin = Origin(info, rule);
  return origin + FloorDiv(t_us - origin, info.length_us) * info.length_us;
}

int64_t BoundaryAtOrAfter(v1::SampleInterval interval, int64_t t_us, const DayRule& rule) {
  const int64_t before = BoundaryAtOrBefore(interval, t_us, rule);
  return before == t_us ? before : before + Info(interval).length_us;
}

}  // namespace sluice::sampling
