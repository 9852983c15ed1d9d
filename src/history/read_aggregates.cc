// ReadInterpolated and ReadAggregates (query.h): the aggregate engine fed point by point,
// or the database's push-down (pushdown.h) where it gives the same results.

#include <fmt/format.h>

#include "history/point_feed.h"
#include "history/pushdown.h"
#include "history/query.h"
#include "history/query_validate.h"

namespace sluice::history {
namespace {

// Checks everything, then reads point after point: nothing is read for a bad request.
Status ReadSeries(store::Backend& backend, const v1::HistoryRange& request_range, int64_t step_us,
                  std::span<const int> requested, const v1::AggregateSettings& settings,
                  std::span<const PointInfo> points, const PendingSamples* pending,
                  const QueryLimits& limits, v1::ReadAggregatesResponse* response) {
  response->Clear();
  SLUICE_ASSIGN_OR_RETURN(CheckedRange range, CheckRange(request_range, limits));
  SLUICE_ASSIGN_OR_RETURN(TimeGrid grid, CheckStep(range, step_us, limits));
  SLUICE_ASSIGN_OR_RETURN(std::vector<Aggregate> aggregates, CheckAggregates(requested));
  SLUICE_RETURN_IF_ERROR(CheckPoints(range, points));
  SLUICE_RETURN_IF_ERROR(CheckPending(pending, range));
  std::vector<AggregateConfig> configs;
  for (const PointInfo& point : points) {
    SLUICE_ASSIGN_OR_RETURN(AggregateConfig config, ToAggregateConfig(settings, point.stepped));
    SLUICE_RETURN_IF_ERROR(ValidateConfig(config).Annotate("settings"));
    configs.push_back(config);
  }

  for (size_t p = 0; p < points.size(); ++p) {
    const PointRows point{range.table, points[p].point_id,
                          PendingOf(pending, range.include_pending, points[p].point_id)};
    std::vector<v1::AggregateSeries*> series;
    for (Aggregate aggregate : aggregates) {
      v1::AggregateSeries* s = response->add_series();
      s->set_point_id(point.point_id);
      s->set_aggregate(ToProtoAggregate(aggregate));
      series.push_back(s);
    }
    if (limits.push_down && point.pending == nullptr &&
        CanPushDown(backend.dialect(), aggregates, grid, limits.max_push_down_intervals)) {
      SLUICE_RETURN_IF_ERROR(
          PushDownAggregates(backend, point, grid, aggregates, configs[p], series));
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(
        std::unique_ptr<AggregateEngine> engine,
        AggregateEngine::Create(aggregates, grid, configs[p], limits.max_intervals));
    const auto drain = [&] {
      for (const IntervalResult& interval : engine->TakeClosed()) {
        for (size_t a = 0; a < aggregates.size(); ++a) {
          const AggregateValue& value = interval.values[a];
          v1::AggregateValueProto* v = series[a]->add_values();
          v->set_ts_us(value.ts_us);
          if (value.value) v->set_value(*value.value);
          v->set_status(ToProtoStatus(value.status));
          v->set_partial(interval.span.partial);
        }
      }
    };
    SLUICE_RETURN_IF_ERROR(FeedPoint(backend, point, grid, limits.batch_rows, *engine, drain));
  }
  return Status::OK();
}

}  // namespace

Status ReadInterpolated(store::Backend& backend, const v1::ReadInterpolatedRequest& request,
                        std::span<const PointInfo> points, const PendingSamples* pending,
                        const QueryLimits& limits, v1::ReadAggregatesResponse* response) {
  const int interpolative[] = {v1::AGGREGATE_INTERPOLATIVE};
  return ReadSeries(backend, request.range(), request.step_us(), interpolative, request.settings(),
                    points, pending, limits, response);
}

Status ReadAggregates(store::Backend& backend, const v1::ReadAggregatesRequest& request,
                      std::span<const PointInfo> points, const PendingSamples* pending,
                      const QueryLimits& limits, v1::ReadAggregatesResponse* response) {
  return ReadSeries(backend, request.range(), request.step_us(),
                    std::span<const int>(request.aggregates().data(),
                                         static_cast<size_t>(request.aggregates_size())),
                    request.settings(), points, pending, limits, response);
}

}  // namespace sluice::history
