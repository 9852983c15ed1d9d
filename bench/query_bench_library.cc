#include "bench/query_bench_library.h"

#include <fmt/format.h>

#include <cmath>
#include <unordered_map>

#include "bench/query_bench_data.h"
#include "history/query.h"

namespace sluice::bench {
namespace {

// What the service would resolve from the catalog: analog points (sloped) with the
// limits the point table holds.
std::vector<history::PointInfo> PointInfos(std::span<const int64_t> point_ids) {
  std::vector<history::PointInfo> out;
  for (int64_t id : point_ids) {
    const BenchPoint p = MakeBenchPoint(id);
    out.push_back({.point_id = id, .stepped = false, .high = p.high, .low = p.low});
  }
  return out;
}

void SetRange(std::span<const int64_t> point_ids, int64_t start_us, int64_t end_us,
              v1::HistoryRange* range) {
  for (int64_t id : point_ids) range->add_point_ids(id);
  range->set_interval(v1::SAMPLE_INTERVAL_1S);
  range->set_start_us(start_us);
  range->set_end_us(end_us);
}

history::Severity FromProto(v1::ValueStatus status) {
  switch (status) {
    case v1::VALUE_STATUS_GOOD: return history::Severity::kGood;
    case v1::VALUE_STATUS_UNCERTAIN: return history::Severity::kUncertain;
    default: return history::Severity::kBad;
  }
}

history::AggregateValue FromProto(const v1::AggregateValueProto& v) {
  history::AggregateValue out;
  if (v.has_value()) out.value = v.value();
  out.ts_us = v.ts_us();
  out.status = FromProto(v.status());
  return out;
}

history::ExcursionStats FromProto(const v1::ExcursionStatsProto& e) {
  return {.count = e.count(),
          .total_us = e.total_us(),
          .longest_us = e.longest_us(),
          .longest_start_us = e.longest_start_us()};
}

}  // namespace

Result<std::vector<RawDigest>> LibraryReader::Raw(std::span<const int64_t> point_ids,
                                                  int64_t start_us, int64_t end_us,
                                                  uint32_t page_values) {
  std::vector<RawDigest> out(point_ids.size());
  std::unordered_map<int64_t, RawDigest*> by_id;
  for (size_t i = 0; i < point_ids.size(); ++i) {
    out[i].point_id = point_ids[i];
    by_id[point_ids[i]] = &out[i];
  }
  v1::ReadRawRequest request;
  SetRange(point_ids, start_us, end_us, request.mutable_range());
  request.set_max_values(page_values);
  const history::QueryLimits limits;
  v1::ReadRawResponse response;
  for (;;) {
    response.Clear();
    SLUICE_RETURN_IF_ERROR(history::ReadRaw(*backend_, request, nullptr, limits, &response));
    for (const v1::PointRawSamples& point : response.points()) {
      auto it = by_id.find(point.point_id());
      if (it == by_id.end()) {
        return Status::Internal(fmt::format("ReadRaw answered point {}, not asked for",
                                            point.point_id()));
      }
      for (const v1::HistorySample& s : point.samples()) {
        it->second->Add(s.ts_us(), s.has_value() ? s.value() : std::nan(""), s.quality());
      }
    }
    if (response.continuation().empty()) return out;
    request.set_continuation(response.continuation());
  }
}

Result<std::vector<AggRow>> LibraryReader::Aggregates(std::span<const int64_t> point_ids,
                                                      const history::TimeGrid& grid,
                                                      size_t* response_bytes) {
  v1::ReadAggregatesRequest request;
  SetRange(point_ids, grid.start_us, grid.end_us, request.mutable_range());
  request.set_step_us(grid.step_us);
  for (v1::AggregateType a : {v1::AGGREGATE_AVERAGE, v1::AGGREGATE_MINIMUM,
                              v1::AGGREGATE_MAXIMUM, v1::AGGREGATE_COUNT}) {
    request.add_aggregates(a);
  }
  const std::vector<history::PointInfo> points = PointInfos(point_ids);
  v1::ReadAggregatesResponse response;
  SLUICE_RETURN_IF_ERROR(history::ReadAggregates(*backend_, request, points, nullptr,
                                                 history::QueryLimits{}, &response));
  if (response_bytes != nullptr) *response_bytes = response.ByteSizeLong();
  // Series come point after point, aggregate after aggregate (the request's order).
  constexpr int kPerPoint = 4;
  if (response.series_size() != kPerPoint * static_cast<int>(point_ids.size())) {
    return Status::Internal(fmt::format("ReadAggregates answered {} series for {} points",
                                        response.series_size(), point_ids.size()));
  }
  std::vector<AggRow> out;
  for (int p = 0; p < static_cast<int>(point_ids.size()); ++p) {
    const auto& average = response.series(kPerPoint * p);
    const auto& minimum = response.series(kPerPoint * p + 1);
    const auto& maximum = response.series(kPerPoint * p + 2);
    const auto& count = response.series(kPerPoint * p + 3);
    for (int i = 0; i < average.values_size(); ++i) {
      if (i >= minimum.values_size() || i >= maximum.values_size() || i >= count.values_size()) {
        return Status::Internal(fmt::format("point {}: series of different lengths",
                                            average.point_id()));
      }
      out.push_back(AggRow{.point_id = average.point_id(),
                           .start_us = average.values(i).ts_us(),
                           .partial = average.values(i).partial(),
                           .average = FromProto(average.values(i)),
                           .minimum = FromProto(minimum.values(i)),
                           .maximum = FromProto(maximum.values(i)),
                           .count = FromProto(count.values(i))});
    }
  }
  return out;
}

Result<std::vector<LimitRow>> LibraryReader::Limits(std::span<const int64_t> point_ids,
                                                    const history::TimeGrid& grid) {
  v1::ReadLimitStatsRequest request;
  SetRange(point_ids, grid.start_us, grid.end_us, request.mutable_range());
  request.set_step_us(grid.step_us);
  const std::vector<history::PointInfo> points = PointInfos(point_ids);
  v1::ReadLimitStatsResponse response;
  SLUICE_RETURN_IF_ERROR(history::ReadLimitStats(*backend_, request, points, nullptr,
                                                 history::QueryLimits{}, &response));
  std::vector<LimitRow> out;
  for (const v1::LimitSeries& series : response.series()) {
    for (const v1::LimitIntervalProto& x : series.intervals()) {
      LimitRow row;
      row.point_id = series.point_id();
      row.interval.span.start_us = x.start_us();
      row.interval.span.end_us = x.end_us();
      row.interval.span.partial = x.partial();
      row.interval.span.index = (x.start_us() - grid.start_us) / grid.step_us;
      row.interval.usable_us = x.usable_us();
      row.interval.above = FromProto(x.above());
      row.interval.below = FromProto(x.below());
      if (x.has_pass_rate()) row.interval.pass_rate = x.pass_rate();
      out.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace sluice::bench
