// The checks of a history read request (query_validate.h).

#include "history/query_validate.h"

#include <unordered_set>

#include <fmt/format.h>

#include "store/schema.h"

namespace sluice::history {

Result<CheckedRange> CheckRange(const v1::HistoryRange& range, const QueryLimits& limits) {
  CheckedRange out;
  if (range.point_ids_size() == 0) {
    return Status::InvalidArgument("range.point_ids is empty: name at least one point");
  }
  if (static_cast<size_t>(range.point_ids_size()) > limits.max_points) {
    return Status::InvalidArgument(
        fmt::format("range.point_ids has {} points, more than the limit of {}",
                    range.point_ids_size(), limits.max_points));
  }
  std::unordered_set<int64_t> seen;
  for (int i = 0; i < range.point_ids_size(); ++i) {
    if (!seen.insert(range.point_ids(i)).second) {
      return Status::InvalidArgument(
          fmt::format("range.point_ids[{}]: point {} is named twice", i, range.point_ids(i)));
    }
    out.point_ids.push_back(range.point_ids(i));
  }
  auto table = store::schema::SampleTable(range.interval());
  if (!table.ok()) {
    return Status::InvalidArgument(fmt::format("range.interval: {}", table.status().message()));
  }
  out.table = std::string(*table);
  if (range.end_us() <= range.start_us()) {
    return Status::InvalidArgument(fmt::format("range.end_us {} is not after range.start_us {}",
                                               range.end_us(), range.start_us()));
  }
  out.start_us = range.start_us();
  out.end_us = range.end_us();
  out.include_pending = range.include_pending();
  return out;
}

Result<TimeGrid> CheckStep(const CheckedRange& range, int64_t step_us, const QueryLimits& limits) {
  if (step_us <= 0) {
    return Status::InvalidArgument(fmt::format("step_us {} is not positive", step_us));
  }
  TimeGrid grid{range.start_us, range.end_us, step_us};
  Status st = ValidateGrid(grid, limits.max_intervals);
  if (!st.ok())
    return Status::InvalidArgument(fmt::format("step_us {}: {}", step_us, st.message()));
  return grid;
}

Status CheckPoints(const CheckedRange& range, std::span<const PointInfo> points) {
  if (points.size() != range.point_ids.size()) {
    return Status::InvalidArgument(
        fmt::format("{} point descriptions for {} points in range.point_ids", points.size(),
                    range.point_ids.size()));
  }
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].point_id != range.point_ids[i]) {
      return Status::InvalidArgument(
          fmt::format("point description {} is of point {}, range.point_ids[{}] is {}", i,
                      points[i].point_id, i, range.point_ids[i]));
    }
  }
  return Status::OK();
}

Status CheckPending(const PendingSamples* pending, const CheckedRange& range) {
  if (pending == nullptr || !range.include_pending) return Status::OK();
  for (int64_t point_id : range.point_ids) {
    auto it = pending->find(point_id);
    if (it == pending->end()) continue;
    const std::vector<v1::HistorySample>& samples = it->second;
    for (size_t i = 1; i < samples.size(); ++i) {
      if (samples[i].ts_us() <= samples[i - 1].ts_us()) {
        return Status::InvalidArgument(
            fmt::format("pending samples of point {}: [{}] at ts {} does not follow [{}] at ts {}",
                        point_id, i, samples[i].ts_us(), i - 1, samples[i - 1].ts_us()));
      }
    }
  }
  return Status::OK();
}

Result<uint32_t> CheckPageSize(uint32_t max_values, const QueryLimits& limits) {
  if (max_values == 0) return limits.default_page;
  if (max_values > limits.max_page) {
    return Status::InvalidArgument(fmt::format(
        "max_values {} is more than the limit of {} rows per page", max_values, limits.max_page));
  }
  return max_values;
}

Result<std::vector<Aggregate>> CheckAggregates(std::span<const int> aggregates) {
  if (aggregates.empty()) {
    return Status::InvalidArgument("aggregates is empty: name at least one aggregate");
  }
  const std::span<const Aggregate> all = AllAggregates();
  std::vector<Aggregate> out;
  for (size_t i = 0; i < aggregates.size(); ++i) {
    const int type = aggregates[i];
    // AggregateType numbers the aggregates from 1 in AllAggregates()'s order.
    if (type < 1 || static_cast<size_t>(type) > all.size()) {
      return Status::InvalidArgument(fmt::format(
          "aggregates[{}]: {} is not a known aggregate", i,
          v1::AggregateType_IsValid(type) ? v1::AggregateType_Name(type) : std::to_string(type)));
    }
    const Aggregate aggregate = all[static_cast<size_t>(type - 1)];
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j] == aggregate) {
        return Status::InvalidArgument(
            fmt::format("aggregates[{}]: {} is named twice (also aggregates[{}])", i,
                        v1::AggregateType_Name(type), j));
      }
    }
    out.push_back(aggregate);
  }
  return out;
}

Result<AggregateConfig> ToAggregateConfig(const v1::AggregateSettings& settings,
                                          bool point_stepped) {
  AggregateConfig config;
  config.stepped = settings.has_stepped() ? settings.stepped() : point_stepped;
  if (settings.has_treat_uncertain_as_bad()) {
    config.treat_uncertain_as_bad = settings.treat_uncertain_as_bad();
  }
  // Checked here, as uint32 values past INT_MAX would wrap in the engine's int.
  if (settings.has_percent_data_good()) {
    if (settings.percent_data_good() > 100) {
      return Status::InvalidArgument(fmt::format(
          "settings.percent_data_good {} is not within 0..100", settings.percent_data_good()));
    }
    config.percent_data_good = static_cast<int>(settings.percent_data_good());
  }
  if (settings.has_percent_data_bad()) {
    if (settings.percent_data_bad() > 100) {
      return Status::InvalidArgument(fmt::format(
          "settings.percent_data_bad {} is not within 0..100", settings.percent_data_bad()));
    }
    config.percent_data_bad = static_cast<int>(settings.percent_data_bad());
  }
  return config;
}

v1::AggregateType ToProtoAggregate(Aggregate aggregate) {
  const std::span<const Aggregate> all = AllAggregates();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == aggregate) return static_cast<v1::AggregateType>(i + 1);
  }
  return v1::AGGREGATE_UNSPECIFIED;
}

v1::ValueStatus ToProtoStatus(Severity severity) {
  switch (severity) {
    case Severity::kGood:
      return v1::VALUE_STATUS_GOOD;
    case Severity::kUncertain:
      return v1::VALUE_STATUS_UNCERTAIN;
    case Severity::kBad:
      return v1::VALUE_STATUS_BAD;
  }
  return v1::VALUE_STATUS_BAD;
}

}  // namespace sluice::history
