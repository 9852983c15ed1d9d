// ReadLimitStats (query.h): the limit-statistics engine fed point by point.

#include <fmt/format.h>

#include "history/limit_stats.h"
#include "history/point_feed.h"
#include "history/query.h"
#include "history/query_validate.h"

namespace sluice::history {
namespace {

void ToProto(const ExcursionStats& stats, v1::ExcursionStatsProto* out) {
  out->set_count(stats.count);
  out->set_total_us(stats.total_us);
  out->set_longest_us(stats.longest_us);
  out->set_longest_start_us(stats.longest_start_us);
}

}  // namespace

Status ReadLimitStats(store::Backend& backend, const v1::ReadLimitStatsRequest& request,
                      std::span<const PointInfo> points, const PendingSamples* pending,
                      const QueryLimits& limits, v1::ReadLimitStatsResponse* response) {
  response->Clear();
  SLUICE_ASSIGN_OR_RETURN(CheckedRange range, CheckRange(request.range(), limits));
  SLUICE_ASSIGN_OR_RETURN(TimeGrid grid, CheckStep(range, request.step_us(), limits));
  SLUICE_RETURN_IF_ERROR(CheckPoints(range, points));
  SLUICE_RETURN_IF_ERROR(CheckPending(pending, range));
  // The request's limits, when it gives any, stand for every point; else each point's own.
  const bool from_request = request.has_high() || request.has_low();
  std::vector<LimitConfig> configs;
  for (size_t p = 0; p < points.size(); ++p) {
    SLUICE_ASSIGN_OR_RETURN(AggregateConfig settings,
                            ToAggregateConfig(request.settings(), points[p].stepped));
    LimitConfig config;
    config.treat_uncertain_as_bad = settings.treat_uncertain_as_bad;
    if (from_request) {
      if (request.has_high()) config.high = request.high();
      if (request.has_low()) config.low = request.low();
    } else {
      config.high = points[p].high;
      config.low = points[p].low;
    }
    Status st = ValidateLimitConfig(config);
    if (!st.ok()) {
      return Status::InvalidArgument(
          fmt::format("point {} (range.point_ids[{}]): limits {}: {}", points[p].point_id, p,
                      from_request ? "of the request" : "of the point table", st.message()));
    }
    configs.push_back(config);
  }

  for (size_t p = 0; p < points.size(); ++p) {
    const PointRows point{range.table, points[p].point_id,
                          PendingOf(pending, range.include_pending, points[p].point_id)};
    v1::LimitSeries* series = response->add_series();
    series->set_point_id(point.point_id);
    if (configs[p].high) series->set_high(*configs[p].high);
    if (configs[p].low) series->set_low(*configs[p].low);
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<LimitStatsEngine> engine,
                            LimitStatsEngine::Create(configs[p], grid, limits.max_intervals));
    const auto drain = [&] {
      for (const LimitIntervalResult& interval : engine->TakeClosed()) {
        v1::LimitIntervalProto* out = series->add_intervals();
        out->set_start_us(interval.span.start_us);
        out->set_end_us(interval.span.end_us);
        out->set_partial(interval.span.partial);
        ToProto(interval.above, out->mutable_above());
        ToProto(interval.below, out->mutable_below());
        out->set_usable_us(interval.usable_us);
        if (interval.pass_rate) out->set_pass_rate(*interval.pass_rate);
      }
    };
    SLUICE_RETURN_IF_ERROR(FeedPoint(backend, point, grid, limits.batch_rows, *engine, drain));
  }
  return Status::OK();
}

}  // namespace sluice::history
