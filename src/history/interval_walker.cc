// Cutting a sample stream into the intervals of a time grid (see interval_walker.h).

#include "history/interval_walker.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace sluice::history {

namespace {

// Unsigned: end - start may not fit an int64 (a range from before 1970 to far ahead).
uint64_t Distance(int64_t from, int64_t to) {
  return static_cast<uint64_t>(to) - static_cast<uint64_t>(from);
}

uint64_t CountIntervals(const TimeGrid& grid) {
  const uint64_t span = Distance(grid.start_us, grid.end_us);
  const uint64_t step = static_cast<uint64_t>(grid.step_us);
  return span / step + (span % step != 0 ? 1 : 0);
}

}  // namespace

Status ValidateGrid(const TimeGrid& grid, int64_t max_intervals) {
  if (grid.end_us <= grid.start_us) {
    return Status::InvalidArgument(
        fmt::format("time range: end {} us is not after start {} us", grid.end_us, grid.start_us));
  }
  if (grid.step_us <= 0) {
    return Status::InvalidArgument(
        fmt::format("time range: step {} us is not positive", grid.step_us));
  }
  const uint64_t count = CountIntervals(grid);
  if (max_intervals < 0 || count > static_cast<uint64_t>(max_intervals)) {
    return Status::InvalidArgument(fmt::format(
        "time range: {} us in steps of {} us gives {} intervals, more than the limit of {}",
        Distance(grid.start_us, grid.end_us), grid.step_us, count, max_intervals));
  }
  return Status::OK();
}

int64_t IntervalCount(const TimeGrid& grid) { return static_cast<int64_t>(CountIntervals(grid)); }

IntervalWalker::IntervalWalker(const TimeGrid& grid, IntervalSink* sink)
    : grid_(grid), sink_(sink), count_(IntervalCount(grid)), now_(grid.start_us) {
  span_ = SpanAt(0);
}

IntervalSpan IntervalWalker::SpanAt(int64_t index) const {
  IntervalSpan span;
  span.index = index;
  // In unsigned arithmetic: index * step stays below end - start, which may not fit an
  // int64, while the sum lands inside [start, end).
  const uint64_t offset = static_cast<uint64_t>(index) * static_cast<uint64_t>(grid_.step_us);
  span.start_us = static_cast<int64_t>(static_cast<uint64_t>(grid_.start_us) + offset);
  const bool last = Distance(span.start_us, grid_.end_us) <= static_cast<uint64_t>(grid_.step_us);
  span.end_us = last ? grid_.end_us : span.start_us + grid_.step_us;
  span.partial = Distance(span.start_us, span.end_us) < static_cast<uint64_t>(grid_.step_us);
  return span;
}

Status IntervalWalker::SetBoundBefore(const RawSample& sample) {
  if (added_ || finished_ || last_) {
    return Status::FailedPrecondition(
        "history: the bound before the range is set once, before any sample");
  }
  if (sample.ts_us >= grid_.start_us) {
    return Status::InvalidArgument(
        fmt::format("history: bound before the range at {} us is not before the start {} us",
                    sample.ts_us, grid_.start_us));
  }
  if (!std::isfinite(sample.value)) {
    return Status::InvalidArgument(fmt::format(
        "history: bound before the range at {} us has a value that is not finite", sample.ts_us));
  }
  last_ = sample;
  return Status::OK();
}

Status IntervalWalker::Add(const RawSample& sample) {
  if (finished_) return Status::FailedPrecondition("history: sample added after Finish");
  if (sample.ts_us < grid_.start_us || sample.ts_us >= grid_.end_us) {
    return Status::InvalidArgument(
        fmt::format("history: sample at {} us is outside the range [{}, {}) us", sample.ts_us,
                    grid_.start_us, grid_.end_us));
  }
  if (last_ && sample.ts_us <= last_->ts_us) {
    return Status::InvalidArgument(
        fmt::format("history: sample at {} us does not come after the previous one at {} us",
                    sample.ts_us, last_->ts_us));
  }
  if (!std::isfinite(sample.value)) {
    return Status::InvalidArgument(
        fmt::format("history: sample at {} us has a value that is not finite", sample.ts_us));
  }
  AdvanceTo(sample.ts_us, &sample);
  sink_->OnRaw(span_, sample);
  last_ = sample;
  added_ = true;
  return Status::OK();
}

Status IntervalWalker::AddBatch(std::span<const RawSample> samples) {
  for (size_t i = 0; i < samples.size(); ++i) {
    Status status = Add(samples[i]);
    if (!status.ok()) {
      return Status(status.code(),
                    fmt::format("batch sample {} of {}: {}", i, samples.size(), status.message()));
    }
  }
  return Status::OK();
}

Status IntervalWalker::Finish(const std::optional<RawSample>& bound_after) {
  if (finished_) return Status::FailedPrecondition("history: Finish called twice");
  if (bound_after) {
    if (bound_after->ts_us < grid_.end_us || (last_ && bound_after->ts_us <= last_->ts_us)) {
      return Status::InvalidArgument(fmt::format(
          "history: bound after the range at {} us is not at or after the end {} us and after "
          "the last sample",
          bound_after->ts_us, grid_.end_us));
    }
    if (!std::isfinite(bound_after->value)) {
      return Status::InvalidArgument(
          fmt::format("history: bound after the range at {} us has a value that is not finite",
                      bound_after->ts_us));
    }
  }
  finished_ = true;
  AdvanceTo(grid_.end_us, bound_after ? &*bound_after : nullptr);
  return Status::OK();
}

void IntervalWalker::AdvanceTo(int64_t t, const RawSample* right) {
  const RawSample* left = last_ ? &*last_ : nullptr;
  while (now_ < t) {
    const int64_t to = std::min(t, span_.end_us);
    sink_->OnPiece(span_, Piece{now_, to, left, right});
    now_ = to;
    if (now_ == span_.end_us) {
      sink_->OnClose(span_);
      if (span_.index + 1 < count_) span_ = SpanAt(span_.index + 1);
    }
  }
}

}  // namespace sluice::history
