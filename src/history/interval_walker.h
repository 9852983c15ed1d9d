#pragma once
// The time grid of a history query and a walker that cuts a time-ordered stream of raw
// samples into the grid's intervals, for the aggregate and limit-statistics engines.
//
// Intervals are [start + k*step, start + (k+1)*step), the last one cut at the range's end
// (OPC UA Part 13: a shorter last interval is "partial"). Between two raw samples the
// series is governed by the earlier one (`left`) heading for the later one (`right`): the
// walker hands each stretch of time to the sink as Pieces that never cross an interval
// boundary, each raw sample as it comes, and closes an interval as soon as time has
// passed its end. Before the first sample (and without a bound before the range) there is
// no data: pieces with no `left`. After the last sample, without a bound after the range,
// pieces have no `right`. Memory is constant: the walker keeps one sample and one
// interval.
//
// Not thread-safe: one walker per query, used by one thread.

#include <cstdint>
#include <optional>
#include <span>

#include "common/status.h"

namespace sluice::history {

// One raw sample of one point: µs since 1970 UTC, value, v1::QualityBit bits.
struct RawSample {
  int64_t ts_us = 0;
  double value = 0;
  uint32_t quality = 0;
};

struct TimeGrid {
  int64_t start_us = 0;
  int64_t end_us = 0;  // exclusive
  int64_t step_us = 0;
};
// Refuses end <= start, step <= 0, and more than `max_intervals` intervals, naming them.
Status ValidateGrid(const TimeGrid& grid, int64_t max_intervals);
// REQUIRES: ValidateGrid(grid) is OK.
int64_t IntervalCount(const TimeGrid& grid);

struct IntervalSpan {
  int64_t index = 0;
  int64_t start_us = 0;
  int64_t end_us = 0;    // exclusive; start + step, or the range's end when partial
  bool partial = false;  // the last interval, shorter than the step
  int64_t length_us() const { return end_us - start_us; }
};

// [from_us, to_us), inside one interval. `left`: the last raw sample at or before from_us
// (nullptr: no data); `right`: the next raw sample after to_us - 1 (nullptr: none known).
// The pointers are valid during the call only.
struct Piece {
  int64_t from_us = 0;
  int64_t to_us = 0;
  const RawSample* left = nullptr;
  const RawSample* right = nullptr;
};

class IntervalSink {
 public:
  virtual ~IntervalSink() = default;
  // Calls come in time order: for each interval its pieces and raw samples interleaved,
  // then OnClose. The pieces of an interval cover it exactly, without overlap.
  virtual void OnPiece(const IntervalSpan& span, const Piece& piece) = 0;
  virtual void OnRaw(const IntervalSpan& span, const RawSample& sample) = 0;
  virtual void OnClose(const IntervalSpan& span) = 0;
};

class IntervalWalker {
 public:
  // REQUIRES: ValidateGrid(grid) is OK; `sink` outlives the walker.
  IntervalWalker(const TimeGrid& grid, IntervalSink* sink);

  // The last raw sample before the range's start, when known. Only before the first Add.
  Status SetBoundBefore(const RawSample& sample);
  // The next raw sample: ts strictly after the previous one, within [start, end), value
  // finite. The error names the sample and what was wrong; nothing is fed then.
  Status Add(const RawSample& sample);
  // The samples of a batch (a page of rows) in order. On an error the samples before the
  // refused one are fed, the rest not; the error names the refused sample's index.
  Status AddBatch(std::span<const RawSample> samples);
  // No more samples: closes the remaining intervals. `bound_after`: the first raw sample
  // at or after the range's end, when known. Only once.
  Status Finish(const std::optional<RawSample>& bound_after);

 private:
  IntervalSpan SpanAt(int64_t index) const;
  // Hands [now_, t) to the sink, closing each interval whose end it reaches.
  void AdvanceTo(int64_t t, const RawSample* right);

  TimeGrid grid_;
  IntervalSink* sink_;
  int64_t count_;
  IntervalSpan span_;
  int64_t now_;  // time handed to the sink so far: [start, now_)
  std::optional<RawSample> last_;
  bool added_ = false;
  bool finished_ = false;
};

}  // namespace sluice::history
