#pragma once
// Checks a set of recall definitions (catalog_types.h) and the limits of their points
// before RecallWindows (recall.h) takes them: every refusal names the definition (id and
// name, or its index when the id itself is wrong), the field and the bound.
//
// Thread safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "sampling/catalog_types.h"

namespace sluice::sampling {

// The bounds every definition is held to. The window bounds keep one definition's ring
// (points x before_us / period_us samples) and one event's rows finite; the total over
// all definitions is bounded by RecallOptions::max_ring_values (recall.h).
inline constexpr int64_t kMinRecallPeriodUs = 10'000;         // 10 ms
inline constexpr int64_t kMaxRecallPeriodUs = 3'600'000'000;  // 1 h
inline constexpr int64_t kMaxRecallWindowUs = 3'600'000'000;  // 1 h, before and after each
inline constexpr int64_t kMaxRecallWindowSamples = 100'000;   // per point per window side
inline constexpr size_t kMaxRecallPoints = 10'000;            // per definition

using LimitsByPoint = std::unordered_map<int64_t, PointLimits>;

// OK, or InvalidArgument for the first problem found:
// - id > 0 and unique; point_ids non-empty, at most kMaxRecallPoints, each > 0, unique
//   within the definition;
// - period_us in [kMinRecallPeriodUs, kMaxRecallPeriodUs];
// - before_us and after_us in [0, kMaxRecallWindowUs], and at most kMaxRecallWindowSamples
//   samples each (before_us / period_us, after_us / period_us);
// - for every point of an on_limit definition that has limits: each set limit finite and
//   lolo <= lo <= hi <= hihi among those set.
Status ValidateRecallDefinitions(const std::vector<RecallDefinition>& definitions,
                                 const LimitsByPoint& limits);

// The ring a definition needs: before_us / period_us samples plus the current one.
int64_t RecallRingSamples(const RecallDefinition& definition);

}  // namespace sluice::sampling
