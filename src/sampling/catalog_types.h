#pragma once
// What the sampling catalog holds: points, sample definitions, trigger types and recall
// definitions. Plain values, shared by the catalog (kept by the daemon, changed through
// the journal), the trigger and recall code, the hydrology feed and the gRPC service.
//
// Columns in every target (store/schema.h): a Point is a row of `point`, whose `name`
// column is the point's unique code ("BUS1.KV") and `description` its name for people;
// a Definition (sampler.h) a row of `sample_define`; a TriggerType a row of `burst_type`;
// a RecallDefinition a row of `recall_define`.
//
// Thread safety: plain values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::sampling {

enum class PointKind { kAnalog = 0, kStatus = 1, kCounter = 2 };
std::string_view PointKindName(PointKind kind);  // "analog", "status", "counter"
// The error names the three.
Result<PointKind> ParsePointKind(std::string_view text);

// Alarm limits of an analog point; an unset limit is not checked.
struct PointLimits {
  std::optional<double> lolo;
  std::optional<double> lo;
  std::optional<double> hi;
  std::optional<double> hihi;
};

struct Point {
  int64_t id = 0;            // > 0; the point_id of every sample row
  std::string name;          // unique code, e.g. "BUS1.KV" or "60105400.Z"
  std::string description;   // for people
  PointKind kind = PointKind::kAnalog;
  std::string unit;
  PointLimits limits;
  double deadband = 0;       // >= 0, in the point's unit
  std::string station;       // hydrology: the station code (SL 651), "" for none
  std::string element;       // hydrology: the element code (Z, Q, P, ...), "" for none
};

// A trigger type: one kind of event sampled into burst_sample, with named columns. A
// trigger of this type carries at most these columns (record::kMaxTriggerValues of each
// kind); column i of int_columns is burst_sample.int_<i+1>, and so on.
struct TriggerType {
  int32_t id = 0;  // > 0; burst_sample.trigger_type
  std::string name;
  std::string description;
  std::vector<std::string> int_columns;
  std::vector<std::string> float_columns;
  std::vector<std::string> string_columns;
};

// A recall window: its points are kept in ring buffers at `period_us`; on a trigger (an
// API call, or one of its points crossing a limit when `on_limit`) the `before_us`
// preceding the trigger and, as they arrive, the `after_us` following it go to
// recall_sample under the trigger's time (recall_sample.event_ts).
struct RecallDefinition {
  int64_t id = 0;  // > 0
  std::string name;
  std::vector<int64_t> point_ids;
  int64_t period_us = 1'000'000;
  int64_t before_us = 0;
  int64_t after_us = 0;
  bool on_limit = true;
};

}  // namespace sluice::sampling
