#include "bench/query_bench_answers.h"

#include <fmt/format.h>

#include <cmath>

#include "bench/query_bench_data.h"

namespace sluice::bench {
namespace {

std::string Optional(const std::optional<double>& v) {
  return v ? fmt::format("{:.17g}", *v) : std::string("absent");
}

std::string CompareValue(const char* name, const history::AggregateValue& ours,
                         const history::AggregateValue& baseline, double relative_tolerance) {
  if (ours.status != baseline.status) {
    return fmt::format("{} status {} vs {}", name, history::SeverityName(ours.status),
                       history::SeverityName(baseline.status));
  }
  if (ours.value.has_value() != baseline.value.has_value() ||
      (ours.value && std::fabs(*ours.value - *baseline.value) >
                         relative_tolerance * std::max(1.0, std::fabs(*baseline.value)))) {
    return fmt::format("{} {} vs {}", name, Optional(ours.value), Optional(baseline.value));
  }
  return "";
}

std::string CompareExcursions(const char* side, const history::ExcursionStats& ours,
                              const history::ExcursionStats& baseline) {
  if (ours.count != baseline.count || ours.total_us != baseline.total_us ||
      ours.longest_us != baseline.longest_us ||
      (ours.longest_us > 0 && ours.longest_start_us != baseline.longest_start_us)) {
    return fmt::format(
        "{}: count {} vs {}, total_us {} vs {}, longest_us {} vs {}, longest_start_us {} vs {}",
        side, ours.count, baseline.count, ours.total_us, baseline.total_us, ours.longest_us,
        baseline.longest_us, ours.longest_start_us, baseline.longest_start_us);
  }
  return "";
}

// Feeds a generated series into an engine with the interval walker's protocol; the data
// is loaded from second 0, so a range starting later has the sample before as its bound.
template <typename Engine>
Status FeedSeries(Engine& engine, int64_t point_id, const history::TimeGrid& grid) {
  const int64_t first = (grid.start_us - kQueryBenchDayUs) / kSecondUs;
  if (first > 0) SLUICE_RETURN_IF_ERROR(engine.SetBoundBefore(BenchSample(point_id, first - 1)));
  const int64_t end = (grid.end_us - kQueryBenchDayUs + kSecondUs - 1) / kSecondUs;
  for (int64_t s = first; s < end; ++s) SLUICE_RETURN_IF_ERROR(engine.Add(BenchSample(point_id, s)));
  // No bound after: the cases' aggregates count raw samples and limit statistics hold the
  // last value, so what follows the range changes neither.
  return engine.Finish(std::nullopt);
}

}  // namespace

void RawDigest::Add(int64_t ts_us, double value, uint32_t quality) {
  if (rows == 0) first_ts_us = ts_us;
  last_ts_us = ts_us;
  ++rows;
  quality_sum += quality;
  value_sum += value;
  ts_offset_sum_s += (ts_us - first_ts_us) / kSecondUs;
}

std::string CompareRaw(std::span<const RawDigest> ours, std::span<const RawDigest> baseline) {
  if (ours.size() != baseline.size()) {
    return fmt::format("{} points vs {}", ours.size(), baseline.size());
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    const RawDigest& a = ours[i];
    const RawDigest& b = baseline[i];
    if (a.point_id != b.point_id || a.rows != b.rows || a.first_ts_us != b.first_ts_us ||
        a.last_ts_us != b.last_ts_us || a.quality_sum != b.quality_sum ||
        a.value_sum != b.value_sum || a.ts_offset_sum_s != b.ts_offset_sum_s) {
      return fmt::format(
          "point {} (#{}): rows {} vs {}, ts {}..{} vs {}..{}, quality sum {} vs {}, value sum "
          "{:.17g} vs {:.17g}",
          a.point_id, i, a.rows, b.rows, a.first_ts_us, a.last_ts_us, b.first_ts_us,
          b.last_ts_us, a.quality_sum, b.quality_sum, a.value_sum, b.value_sum);
    }
  }
  return "";
}

std::string CompareAgg(std::span<const AggRow> ours, std::span<const AggRow> baseline,
                       double relative_tolerance) {
  if (ours.size() != baseline.size()) {
    return fmt::format("{} intervals vs {}", ours.size(), baseline.size());
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    const AggRow& a = ours[i];
    const AggRow& b = baseline[i];
    std::string diff;
    if (a.point_id != b.point_id || a.start_us != b.start_us || a.partial != b.partial) {
      diff = fmt::format("interval {}@{} (partial {}) vs {}@{} (partial {})", a.point_id,
                         a.start_us, a.partial, b.point_id, b.start_us, b.partial);
    }
    if (diff.empty()) diff = CompareValue("Average", a.average, b.average, relative_tolerance);
    if (diff.empty()) diff = CompareValue("Minimum", a.minimum, b.minimum, 0);
    if (diff.empty()) diff = CompareValue("Maximum", a.maximum, b.maximum, 0);
    if (diff.empty()) diff = CompareValue("Count", a.count, b.count, 0);
    if (!diff.empty()) {
      return fmt::format("point {} interval starting {}: {}", a.point_id, a.start_us, diff);
    }
  }
  return "";
}

std::string CompareLimits(std::span<const LimitRow> ours, std::span<const LimitRow> baseline) {
  if (ours.size() != baseline.size()) {
    return fmt::format("{} intervals vs {}", ours.size(), baseline.size());
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    const LimitRow& a = ours[i];
    const LimitRow& b = baseline[i];
    const auto& x = a.interval;
    const auto& y = b.interval;
    std::string diff;
    if (a.point_id != b.point_id || x.span.start_us != y.span.start_us ||
        x.span.end_us != y.span.end_us || x.span.partial != y.span.partial) {
      diff = fmt::format("interval {}@[{}, {}) vs {}@[{}, {})", a.point_id, x.span.start_us,
                         x.span.end_us, b.point_id, y.span.start_us, y.span.end_us);
    }
    if (diff.empty() && x.usable_us != y.usable_us) {
      diff = fmt::format("usable_us {} vs {}", x.usable_us, y.usable_us);
    }
    if (diff.empty()) diff = CompareExcursions("above", x.above, y.above);
    if (diff.empty()) diff = CompareExcursions("below", x.below, y.below);
    // The pass rate is one division of equal integers on both sides: equal to the bit.
    if (diff.empty() && x.pass_rate != y.pass_rate) {
      diff = fmt::format("pass_rate {} vs {}", Optional(x.pass_rate), Optional(y.pass_rate));
    }
    if (!diff.empty()) {
      return fmt::format("point {} interval starting {}: {}", a.point_id, x.span.start_us, diff);
    }
  }
  return "";
}

history::Severity CountBasedStatus(int64_t raw, int64_t good, int64_t bad_or_uncertain) {
  // percent_data_bad = percent_data_good = 100: Bad when every sample is, Good when every
  // sample is, else Uncertain; no sample: Bad.
  if (raw == 0 || bad_or_uncertain >= raw) return history::Severity::kBad;
  if (good >= raw) return history::Severity::kGood;
  return history::Severity::kUncertain;
}

Result<std::vector<AggRow>> ReferenceAggregates(std::span<const int64_t> point_ids,
                                                const history::TimeGrid& grid) {
  std::vector<AggRow> out;
  for (int64_t id : point_ids) {
    SLUICE_ASSIGN_OR_RETURN(
        auto engine,
        history::AggregateEngine::Create(
            std::vector<history::Aggregate>(std::begin(kAggCaseAggregates),
                                            std::end(kAggCaseAggregates)),
            grid, history::AggregateConfig{}));
    SLUICE_RETURN_IF_ERROR(FeedSeries(*engine, id, grid));
    for (const history::IntervalResult& r : engine->TakeClosed()) {
      out.push_back(AggRow{.point_id = id,
                           .start_us = r.span.start_us,
                           .partial = r.span.partial,
                           .average = r.values[0],
                           .minimum = r.values[1],
                           .maximum = r.values[2],
                           .count = r.values[3]});
    }
  }
  return out;
}

Result<std::vector<LimitRow>> ReferenceLimits(std::span<const int64_t> point_ids,
                                              const history::TimeGrid& grid) {
  std::vector<LimitRow> out;
  for (int64_t id : point_ids) {
    const BenchPoint point = MakeBenchPoint(id);
    history::LimitConfig config;
    config.high = point.high;
    config.low = point.low;
    SLUICE_ASSIGN_OR_RETURN(auto engine, history::LimitStatsEngine::Create(
                                             config, grid, history::kDefaultMaxIntervals));
    SLUICE_RETURN_IF_ERROR(FeedSeries(*engine, id, grid));
    for (history::LimitIntervalResult& r : engine->TakeClosed()) {
      out.push_back(LimitRow{.point_id = id, .interval = std::move(r)});
    }
  }
  return out;
}

std::vector<RawDigest> ReferenceRaw(std::span<const int64_t> point_ids,
                                    const history::TimeGrid& grid) {
  std::vector<RawDigest> out;
  for (int64_t id : point_ids) {
    RawDigest d;
    d.point_id = id;
    for (int64_t ts = grid.start_us; ts < grid.end_us; ts += kSecondUs) {
      const history::RawSample s = BenchSample(id, (ts - kQueryBenchDayUs) / kSecondUs);
      d.Add(s.ts_us, s.value, s.quality);
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace sluice::bench
