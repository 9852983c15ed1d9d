#include "sampling/recall_validate.h"

#include <cmath>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

namespace sluice::sampling {
namespace {

std::string Named(const RecallDefinition& d) {
  return d.name.empty() ? fmt::format("recall definition {}", d.id)
                        : fmt::format("recall definition {} ('{}')", d.id, d.name);
}

Status CheckLimits(const RecallDefinition& d, int64_t point_id, const PointLimits& l) {
  const std::pair<const char*, const std::optional<double>*> ordered[] = {
      {"lolo", &l.lolo}, {"lo", &l.lo}, {"hi", &l.hi}, {"hihi", &l.hihi}};
  const char* previous_name = nullptr;
  double previous = 0;
  for (const auto& [name, limit] : ordered) {
    if (!limit->has_value()) continue;
    const double v = **limit;
    if (!std::isfinite(v)) {
      return Status::InvalidArgument(fmt::format(
          "{}: point {}: limit '{}' is {}, not a finite number", Named(d), point_id, name, v));
    }
    if (previous_name != nullptr && v < previous) {
      return Status::InvalidArgument(
          fmt::format("{}: point {}: limit '{}' ({}) is below limit '{}' ({}); the limits "
                      "must be ordered lolo <= lo <= hi <= hihi",
                      Named(d), point_id, name, v, previous_name, previous));
    }
    previous_name = name;
    previous = v;
  }
  return Status::OK();
}

Status CheckOne(const RecallDefinition& d, const LimitsByPoint& limits) {
  if (d.point_ids.empty()) {
    return Status::InvalidArgument(fmt::format("{}: field 'point_ids' is empty", Named(d)));
  }
  if (d.point_ids.size() > kMaxRecallPoints) {
    return Status::InvalidArgument(fmt::format("{}: field 'point_ids' has {} points, more than {}",
                                               Named(d), d.point_ids.size(), kMaxRecallPoints));
  }
  std::unordered_set<int64_t> seen;
  for (size_t i = 0; i < d.point_ids.size(); ++i) {
    const int64_t p = d.point_ids[i];
    if (p <= 0) {
      return Status::InvalidArgument(
          fmt::format("{}: field 'point_ids'[{}] is {}, not > 0", Named(d), i, p));
    }
    if (!seen.insert(p).second) {
      return Status::InvalidArgument(
          fmt::format("{}: field 'point_ids'[{}]: point {} is listed twice", Named(d), i, p));
    }
  }
  if (d.period_us < kMinRecallPeriodUs || d.period_us > kMaxRecallPeriodUs) {
    return Status::InvalidArgument(
        fmt::format("{}: field 'period_us' is {} µs, not within [{}, {}] µs (10 ms to 1 h)",
                    Named(d), d.period_us, kMinRecallPeriodUs, kMaxRecallPeriodUs));
  }
  const std::pair<const char*, int64_t> sides[] = {{"before_us", d.before_us},
                                                   {"after_us", d.after_us}};
  for (const auto& [field, us] : sides) {
    if (us < 0 || us > kMaxRecallWindowUs) {
      return Status::InvalidArgument(
          fmt::format("{}: field '{}' is {} µs, not within [0, {}] µs (1 h)", Named(d), field, us,
                      kMaxRecallWindowUs));
    }
    if (us / d.period_us > kMaxRecallWindowSamples) {
      return Status::InvalidArgument(
          fmt::format("{}: field '{}' is {} samples of period_us {} µs per point, more than {}",
                      Named(d), field, us / d.period_us, d.period_us, kMaxRecallWindowSamples));
    }
  }
  if (d.on_limit) {
    for (int64_t p : d.point_ids) {
      auto it = limits.find(p);
      if (it != limits.end()) SLUICE_RETURN_IF_ERROR(CheckLimits(d, p, it->second));
    }
  }
  return Status::OK();
}

}  // namespace

Status ValidateRecallDefinitions(const std::vector<RecallDefinition>& definitions,
                                 const LimitsByPoint& limits) {
  std::unordered_set<int64_t> ids;
  for (size_t i = 0; i < definitions.size(); ++i) {
    const RecallDefinition& d = definitions[i];
    if (d.id <= 0) {
      return Status::InvalidArgument(
          fmt::format("recall definition [{}] ('{}'): field 'id' is {}, not > 0", i, d.name, d.id));
    }
    if (!ids.insert(d.id).second) {
      return Status::InvalidArgument(
          fmt::format("recall definition [{}] ('{}'): field 'id' {} is used by another definition",
                      i, d.name, d.id));
    }
    SLUICE_RETURN_IF_ERROR(CheckOne(d, limits));
  }
  return Status::OK();
}

int64_t RecallRingSamples(const RecallDefinition& definition) {
  return definition.before_us / definition.period_us + 1;
}

}  // namespace sluice::sampling
