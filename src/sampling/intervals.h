#pragma once
// The ten sampling intervals and where their boundaries fall.
//
// Every interval is a fixed length. Intervals up to 1 h have boundaries at multiples of
// their length since the epoch (UTC). The 8 h and 1 day intervals follow the local day of
// the control centre: a fixed UTC offset (e.g. +08:00 for China; daylight saving time is
// not modelled, a fixed offset is what the issue asks for) and an optional day start
// (hydrological days begin at 08:00 local), so a day runs from day_start to day_start of
// the next local day, and its 8 h boundaries are day_start, +8 h and +16 h.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sluice/v1/records.pb.h"

namespace sluice::sampling {

inline constexpr int64_t kSecondUs = 1'000'000;
inline constexpr int64_t kMinuteUs = 60 * kSecondUs;
inline constexpr int64_t kHourUs = 60 * kMinuteUs;
inline constexpr int64_t kDayUs = 24 * kHourUs;

struct IntervalInfo {
  v1::SampleInterval interval;
  std::string_view name;  // "5min": the table is "sample_" + name (docs/schema.md)
  int64_t length_us;
  bool follows_local_day;  // 8 h and 1 day
};

// The ten, shortest first (the order of v1::SampleInterval).
std::span<const IntervalInfo> AllIntervals();
// REQUIRES: `interval` is one of the ten (not UNSPECIFIED).
const IntervalInfo& Info(v1::SampleInterval interval);
// 0 for the first (1 s) ... 9 for 1 day: an index into per-interval arrays.
int IntervalIndex(v1::SampleInterval interval);
inline constexpr int kIntervalCount = 10;

// "1s", "5s", "1min", "5min", "10min", "15min", "30min", "1h", "8h" or "1d"; the error
// names the allowed ones.
Result<v1::SampleInterval> ParseInterval(std::string_view text);
// "sample_5min".
std::string SampleTableName(v1::SampleInterval interval);

// Where the local day starts, for 8 h and 1 day boundaries.
struct DayRule {
  int64_t utc_offset_us = 0;  // local time = UTC + offset; within [-14 h, +14 h]
  int64_t day_start_us = 0;   // after local midnight; within [0, 24 h)
};
// "+08:00", "-05:30", "Z" or "+00:00".
Result<int64_t> ParseUtcOffset(std::string_view text);
Status ValidateDayRule(const DayRule& rule);

// The boundary of `interval` at or before / at or after `t_us` (µs UTC, may be negative).
int64_t BoundaryAtOrBefore(v1::SampleInterval interval, int64_t t_us, const DayRule& rule);
int64_t BoundaryAtOrAfter(v1::SampleInterval interval, int64_t t_us, const DayRule& rule);

}  // namespace sluice::sampling
