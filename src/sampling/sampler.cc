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
      active_(std::make_unique<DefinitionSet>()) {}

Sampler::~Sampler() { Stop(); }

Status Sampler::SetDefinitions(const std::vector<Definition>& definitions) {
  auto set = std::make_unique<DefinitionSet>();
  for (const Definition& d : definitions) {
    if (d.interval < v1::SAMPLE_INTERVAL_1S || d.interval > v1::SAMPLE_INTERVAL_1D) {
      return Status::InvalidArgument(
          fmt::format("sample definition of point {}: interval {} is not one of the ten",
                      d.point_id, static_cast<int>(d.interval)));
    }
    set->intervals[IntervalIndex(d.interval)].ids.push_back(d.point_id);
  }
  // Read before the lookups: a point added during them is looked up again at the next
  // boundary (ResolveNewPoints), so none is left without a slot for good.
  set->resolved_at = points_->points_added();
  for (IntervalPoints& p : set->intervals) {
    std::sort(p.ids.begin(), p.ids.end());
    p.ids.erase(std::unique(p.ids.begin(), p.ids.end()), p.ids.end());
    p.slots.resize(p.ids.size());
    points_->FindSlots(p.ids, p.slots);
    for (size_t i = 0; i < p.slots.size(); ++i) {
      if (p.slots[i] == kNoSlot) p.unresolved.push_back(static_cast<uint32_t>(i));
    }
  }
  size_t largest = 0;
  for (const IntervalPoints& p : set->intervals) largest = std::max(largest, p.ids.size());
  const int n = static_cast<int>(largest);
  v1::SampleBatch* batch = set->record.mutable_samples();
  batch->mutable_point_id()->Resize(n, 0);
  batch->mutable_ts_us()->Resize(n, 0);
  batch->mutable_value()->Resize(n, 0.0);
  batch->mutable_quality()->Resize(n, 0u);
  std::lock_guard lock(mu_);
  pending_ = std::move(set);
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
    {
      std::lock_guard lock(mu_);
      if (pending_) {
        active_ = std::move(pending_);
        record_.Swap(&active_->record);  // O(1): takes the prepared arrays
        v1::Record().Swap(&active_->record);  // frees the previous arrays
      }
    }
    ResolveNewPoints(*active_);
    for (const IntervalInfo& info : AllIntervals()) {
      if (next_boundary_us_[IntervalIndex(info.interval)] <= now) {
        RunCycle(info, now, active_->intervals[IntervalIndex(info.interval)]);
      }
    }
  }
}

void Sampler::ResolveNewPoints(DefinitionSet& set) const {
  const uint64_t added = points_->points_added();
  if (added == set.resolved_at) return;
  set.resolved_at = added;
  std::vector<int64_t> ids;
  std::vector<PointSlot> slots;
  for (IntervalPoints& p : set.intervals) {
    if (p.unresolved.empty()) continue;
    ids.clear();
    for (uint32_t i : p.unresolved) ids.push_back(p.ids[i]);
    slots.resize(ids.size());
    points_->FindSlots(ids, slots);
    size_t still = 0;
    for (size_t k = 0; k < ids.size(); ++k) {
      const uint32_t i = p.unresolved[k];
      p.slots[i] = slots[k];
      if (slots[k] == kNoSlot) p.unresolved[still++] = i;
    }
    p.unresolved.resize(still);
  }
}

void Sampler::RunCycle(const IntervalInfo& info, int64_t now_us, const IntervalPoints& points) {
  int64_t& next = next_boundary_us_[IntervalIndex(info.interval)];
  // Boundaries between `next` and the latest one passed can no longer be sampled with the
  // values they had: the table holds only current values. They are reported, not faked.
  const int64_t latest = BoundaryAtOrBefore(info.interval, now_us, options_.day_rule);
  const int64_t skipped = (latest - next) / info.length_us;
  const int64_t first_skipped = next;
  next = latest + info.length_us;
  if (points.ids.empty()) return;

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
  Sample(info, latest, points);
  if (observer_) observer_(info.interval, latest, clock_->NowUs() - started);
}

void Sampler::Sample(const IntervalInfo& info, int64_t boundary_us, const IntervalPoints& points) {
  constexpr uint32_t kOldData = v1::QUALITY_OLD_DATA;
  const int64_t old_before_us = boundary_us - options_.old_after_intervals * info.length_us;
  const int n = static_cast<int>(points.ids.size());
  v1::SampleBatch* batch = record_.mutable_samples();
  batch->set_interval(info.interval);
  // Clear keeps each array's capacity; AddNAlreadyReserved hands out the elements without
  // writing them, since the loop below writes every one.
  batch->mutable_point_id()->Assign(points.ids.begin(), points.ids.end());
  batch->mutable_ts_us()->Clear();
  batch->mutable_ts_us()->Resize(n, boundary_us);
  batch->mutable_value()->Clear();
  batch->mutable_value()->Reserve(n);
  double* values = batch->mutable_value()->AddNAlreadyReserved(n);
  batch->mutable_quality()->Clear();
  batch->mutable_quality()->Reserve(n);
  uint32_t* qualities = batch->mutable_quality()->AddNAlreadyReserved(n);
  const PointSlot* slots = points.slots.data();
  for (int i = 0; i < n; ++i) {
    const std::optional<PointValue> v =
        slots[i] == kNoSlot ? std::nullopt : points_->Load(slots[i]);
    if (!v) {
      values[i] = std::numeric_limits<double>::quiet_NaN();
      qualities[i] = v1::QUALITY_INVALID | v1::QUALITY_OLD_DATA;
      continue;
    }
    values[i] = v->value;
    qualities[i] = v->quality | (v->updated_us < old_before_us ? kOldData : 0u);
  }
  Status st = records_(record_);
  if (!st.ok()) {
    issues_({info.interval, boundary_us, CycleIssue::Kind::kMissed, 1,
             fmt::format("the {} cycle of {} µs ({} points) was not stored: {}", info.name,
                         boundary_us, n, st.ToString())});
  }
}

}  // namespace sluice::sampling
