#pragma once
// The hydrology feed: a station's observation in the ASCII body of an SL 651-2014 style
// message, mapped onto points of the real-time point table through each point's station
// code and element code (catalog_types.h, Point::station / Point::element).
//
// The body is whitespace-separated tokens:
//
//   ST 0012345678 [H] TT 2612060800 Z 12.345 Q 678.9 PJ 1.5 VT 12.6
//
// ST and the station code (the telemetry station's address); optionally the one-letter
// station category (P rainfall, H river, K reservoir, Z gate, D pump, T tide, M soil
// moisture, G groundwater, Q water quality, I intake, O outfall); TT and the observation
// time yyMMddHHmm (years 2000-2099) in the centre's local time; then element identifier /
// value pairs. Any identifier [A-Z][A-Z0-9]* is accepted (Z water level, Q discharge, PJ
// current rainfall, PN05 five-minute rainfall, VT battery voltage, ...): what it means is
// the point table's business. Values are finite decimal numbers.
//
// Thread safety: ParseObservation and ApplyObservation are pure apart from the
// PointTable they update (itself thread-safe); a StationMap is immutable once built and
// may be shared between threads.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sampling/catalog_types.h"
#include "sampling/intervals.h"
#include "sampling/point_table.h"

namespace sluice::sampling {

// One element of an observation, as parsed.
struct ObservedElement {
  std::string code;  // "Z"
  double value = 0;
  int token = 0;     // 1-based position of the code among the body's tokens
};

struct Observation {
  std::string station;   // "0012345678"
  std::string category;  // "H", or "" when the body gives none
  // TT as written, read as a local civil time: µs since 1970-01-01T00:00 *local*. The
  // UTC time is local_time_us - DayRule::utc_offset_us.
  int64_t local_time_us = 0;
  std::vector<ObservedElement> elements;  // in the body's order, codes unique
};

// Parses one body. Errors (InvalidArgument) name the token, its position (1-based token
// number and byte offset) and what was expected: no ST first, no station code, no TT, a
// bad TT (not 10 digits, or no such date / time), an element code that is not
// [A-Z][A-Z0-9]*, an element without value, a value that is not a finite number, an
// element given twice, a second ST or TT. An observation with no element is refused too.
Result<Observation> ParseObservation(std::string_view body);

// (station, element) -> point id, over the points that have both. Immutable.
class StationMap {
 public:
  // Points with neither station nor element are skipped (not hydrology points). Errors
  // (InvalidArgument): a point with only one of the two (it could never be fed), and two
  // points with the same pair (both named).
  static Result<StationMap> Build(const std::vector<Point>& points);

  // The point of `element` at `station`, if one is mapped.
  std::optional<int64_t> Find(std::string_view station, std::string_view element) const;
  // How many (station, element) pairs are mapped.
  size_t size() const { return size_; }

 private:
  // station -> element -> point id.
  std::map<std::string, std::map<std::string, int64_t, std::less<>>, std::less<>> points_;
  size_t size_ = 0;
};

struct AppliedElement {
  std::string code;
  int64_t point_id = 0;
  double value = 0;
};

struct FeedResult {
  std::string station;
  int64_t observed_us = 0;              // TT in µs UTC: every applied point's source_us
  std::vector<AppliedElement> applied;  // in the body's order
  // Elements of the body no point maps: not an error for the message (the mapped ones
  // are applied), listed so that the caller can log them.
  std::vector<std::string> unmapped;
};

// Parses `body`, converts TT from local time (rule.utc_offset_us) to UTC, and updates
// the point of every mapped element: value, quality QUALITY_GOOD, source_us = the
// observation time, updated_us = now_us. Errors: a parse error (nothing applied); an
// invalid rule; a point the table refuses (RESOURCE_EXHAUSTED when it is full): the
// other elements are still applied, and the message names the refused and the applied.
Result<FeedResult> ApplyObservation(std::string_view body, const StationMap& stations,
                                    const DayRule& rule, PointTable* points, int64_t now_us);

}  // namespace sluice::sampling
