#include "sampling/sampler.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace sluice::sampling {

std::string_view CycleIssueKindName(CycleIssue::Kind kind) {
  return kind == CycleIssue::Kind::kLate ? "late" : "missed";
}

Sampler::Sampler(Clock* clock, const PointTable* points, SamplerOptions options, RecordSink records,
                 IssueSink issues, CycleObserver observer)
    : clock_(clock),
      points_(points),
      options_(options),
      records_(std::move(records)),
      issues_(std::move(issues)),
      observer_(std::move(observer)),
      definitions_(std::make_shared<DefinitionSet>()) {}

Sampler::~Sampler() { Stop(); }

Status Sampler::SetDefinitions(const std::vector<Definition>& definitions) {
  auto set = std::make_shared<DefinitionSet>();
  for (const Definition& d : definitions) {
    if (d.interval < v1::SAMPLE_INTERVAL_1S || d.interval > v1::SAMPLE_INTERVAL_1D) {
      return Status::InvalidArgument(
          fmt::format("sample definition of point {}: interval {} is not one of the ten",
                      d.point_id, static_cast<int>(d.interval)));
    }
    (*set)[IntervalIndex(d.interval)].push_back(d.point_id);
  }
  for (auto& ids : *set) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  std::lock_guard lock(mu_);
  definitions_ = std::move(set);
  return Status::OK();
}

Status Sampler::Start() {
  if (thread_.joinable()) return Status::FailedPrecondition("the sampler is already running");
  SLUICE_RETURN_IF_ERROR(ValidateDayRule(options_.day_rule));
  if (options_.old_after_intervals < 1 || options_.late_tolerance_us < 0) {
    return Status::InvalidArgument(
        "sampler: old_after_intervals must be >= 1 and late_tolerance_us >= 0");
  }
  const int64_t now = clock_->NowUs();
  for (const IntervalInfo& info : AllIntervals()) {
    next_boundary_us_[IntervalIndex(info.interval)] =
        BoundaryAtOrAfter(info.interval, now, options_.day_rule);
  }
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
  return Status::OK();
}

void Sampler::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void Sampler::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const int64_t next = *std::min_element(next_boundary_us_.begin(), next_boundary_us_.end());
    if (!clock_->WaitUntil(next, stop)) return;
    const int64_t now = clock_->NowUs();
    std::shared_ptr<const DefinitionSet> defs;
    {
      std::lock_guard lock(mu_);
      defs = definitions_;
    }
    for (const IntervalInfo& info : AllIntervals()) {
      if (next_boundary_us_[IntervalIndex(info.interval)] <= now) RunCycle(info, now, *defs);
    }
  }
}

void Sampler::RunCycle(const IntervalInfo& info, int64_t now_us, const DefinitionSet& defs) {
  int64_t& next = next_boundary_us_[IntervalIndex(info.interval)];
  // Boundaries between `next` and the latest one passed can no longer be sampled with the
  // values they had: the table holds only current values. They are reported, not faked.
  const int64_t latest = BoundaryAtOrBefore(info.interval, now_us, options_.day_rule);
  const int64_t skipped = (latest - next) / info.length_us;
  const int64_t first_skipped = next;
  next = latest + info.length_us;
  const std::vector<int64_t>& ids = defs[IntervalIndex(info.interval)];
  if (ids.empty()) return;

  if (skipped > 0) {
    issues_({info.interval, first_skipped, CycleIssue::Kind::kMissed, skipped,
             fmt::format("{} boundaries of {} from {} µs not sampled: the clock jumped "
                         "forward or the sampler stalled (now {} µs)",
                         skipped, info.name, first_skipped, now_us)});
  }
  const int64_t lateness = now_us - latest;
  if (lateness > options_.late_tolerance_us) {
    issues_({info.interval, latest, CycleIssue::Kind::kLate, 1,
             fmt::format("the {} cycle of {} µs started {} ms after its boundary (tolerance "
                         "{} ms)",
                         info.name, latest, lateness / 1000, options_.late_tolerance_us / 1000)});
  }
  const int64_t started = clock_->NowUs();
  Sample(info, latest, ids);
  if (observer_) observer_(info.interval, latest, clock_->NowUs() - started);
}

void Sampler::Sample(const IntervalInfo& info, int64_t boundary_us,
                     const std::vector<int64_t>& ids) {
  points_->Snapshot(ids, &snapshot_);
  constexpr uint32_t kOldData = v1::QUALITY_OLD_DATA;
  const int64_t old_before_us = boundary_us - options_.old_after_intervals * info.length_us;
  v1::Record record;
  v1::SampleBatch* batch = record.mutable_samples();
  batch->set_interval(info.interval);
  const int n = static_cast<int>(ids.size());
  batch->mutable_point_id()->Assign(ids.begin(), ids.end());
  batch->mutable_ts_us()->Resize(n, boundary_us);
  batch->mutable_value()->Resize(n, 0.0);
  batch->mutable_quality()->Resize(n, 0u);
  double* values = batch->mutable_value()->mutable_data();
  uint32_t* qualities = batch->mutable_quality()->mutable_data();
  for (int i = 0; i < n; ++i) {
    const std::optional<PointValue>& v = snapshot_[i];
    if (!v) {
      values[i] = std::numeric_limits<double>::quiet_NaN();
      qualities[i] = v1::QUALITY_INVALID | v1::QUALITY_OLD_DATA;
      continue;
    }
    values[i] = v->value;
    qualities[i] = v->quality | (v->updated_us < old_before_us ? kOldData : 0u);
  }
  Status st = records_(record);
  if (!st.ok()) {
    issues_({info.interval, boundary_us, CycleIssue::Kind::kMissed, 1,
             fmt::format("the {} cycle of {} µs ({} points) was not stored: {}", info.name,
                         boundary_us, n, st.ToString())});
  }
}

}  // namespace sluice::sampling
