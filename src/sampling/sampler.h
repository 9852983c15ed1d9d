#pragma once
// The active periodic sampler: at every boundary of an interval (intervals.h) it
// snapshots the points defined at that interval from the point table and hands one
// samples record (v1::SampleBatch, every row's ts = the boundary) to the record sink.
//
// Quality: a row carries the point's quality as last updated, plus QUALITY_OLD_DATA
// (v1::QualityBit, docs/schema.md: 16) when the point was not updated within the last
// `old_after_intervals` intervals before the boundary, i.e. when
//   updated_us < boundary_us - old_after_intervals * interval length.
// A point defined but never updated is sampled as value NaN with QUALITY_INVALID |
// QUALITY_OLD_DATA: its row is not dropped.
//
// Never silent about time: a boundary sampled more than `late_tolerance_us` after it
// passed is reported as kLate (and still sampled); boundaries skipped because the clock
// jumped forward or the thread stalled, or whose record the sink refused, are reported as
// kMissed with their count. A clock stepped backwards produces no duplicate and no
// out-of-order boundary: the sampler keeps the next boundary it has not sampled yet and
// waits until the clock reaches it again (boundaries are never sampled twice).
//
// Definitions may be replaced at any time; the new set applies from the next boundary
// the sampler handles. Intervals without definitions produce no record and no issue.
// SetDefinitions resolves each point id to its table slot once (PointTable::FindSlots), on
// the caller's thread; a cycle then reads slots in order and never looks an id up. A point
// not in the table yet gets its slot lazily: before each wake-up's cycles, when the table
// has added points since, the sampler looks up the points it still has no slot for (it adds
// nothing to the table, so definitions never count against its max_points).
//
// Thread safety: SetDefinitions, Start and Stop may be called from any thread. The sinks
// are called on the sampler's thread, one call at a time, intervals shortest first.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "sampling/clock.h"
#include "sampling/intervals.h"
#include "sampling/point_table.h"
#include "sluice/v1/records.pb.h"

namespace sluice::sampling {

struct Definition {
  int64_t point_id = 0;
  v1::SampleInterval interval = v1::SAMPLE_INTERVAL_UNSPECIFIED;
};

struct CycleIssue {
  enum class Kind { kLate, kMissed };
  v1::SampleInterval interval = v1::SAMPLE_INTERVAL_UNSPECIFIED;
  int64_t boundary_us = 0;  // kLate: the late boundary; kMissed: the first one missed
  Kind kind = Kind::kLate;
  int64_t count = 0;   // kLate: 1; kMissed: how many consecutive boundaries
  std::string detail;  // for a person: how late, or why missed
};
std::string_view CycleIssueKindName(CycleIssue::Kind kind);  // "late", "missed"

struct SamplerOptions {
  DayRule day_rule;
  int old_after_intervals = 3;
  int64_t late_tolerance_us = 500'000;
};

class Sampler {
 public:
  using RecordSink = std::function<Status(const v1::Record&)>;
  using IssueSink = std::function<void(const CycleIssue&)>;
  // Called after each interval's cycle with its duration (snapshot + sink), for metrics.
  using CycleObserver =
      std::function<void(v1::SampleInterval, int64_t boundary_us, int64_t duration_us)>;

  // `clock` and `points` must outlive the sampler.
  Sampler(Clock* clock, const PointTable* points, SamplerOptions options, RecordSink records,
          IssueSink issues, CycleObserver observer = nullptr);
  ~Sampler();  // Stop()
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // REQUIRES: every definition names one of the ten intervals (else InvalidArgument,
  // and the current definitions stay). Duplicates are sampled once.
  Status SetDefinitions(const std::vector<Definition>& definitions);

  // Starts the thread; the first boundary sampled is the first at or after now.
  // REQUIRES: not running; options valid (else InvalidArgument).
  Status Start();
  void Stop();

 private:
  // The points of one interval: ids sorted and unique, and each one's table slot, or
  // kNoSlot for a point not in the table yet (`unresolved` lists their indices).
  struct IntervalPoints {
    std::vector<int64_t> ids;
    std::vector<PointSlot> slots;
    std::vector<uint32_t> unresolved;
  };
  struct DefinitionSet {
    std::array<IntervalPoints, kIntervalCount> intervals;
    uint64_t resolved_at = 0;  // points_->points_added() when the slots were last resolved
    // A record whose arrays already hold as many (written, so paged-in) elements as the
    // largest interval samples: the sampler thread takes it with the set, so that no cycle
    // pays for growing a million-point record (about 28 MB, ~1 s of page faults on a
    // loaded machine). Prepared on SetDefinitions' thread.
    v1::Record record;
  };

  void Run(std::stop_token stop);
  // Gives slots to the definitions of points added to the table since they were resolved.
  void ResolveNewPoints(DefinitionSet& set) const;
  void RunCycle(const IntervalInfo& info, int64_t now_us, const IntervalPoints& points);
  void Sample(const IntervalInfo& info, int64_t boundary_us, const IntervalPoints& points);

  Clock* const clock_;
  const PointTable* const points_;
  const SamplerOptions options_;
  const RecordSink records_;
  const IssueSink issues_;
  const CycleObserver observer_;

  std::mutex mu_;
  // The set SetDefinitions made, resolved on its caller's thread, until the sampler thread
  // takes it.
  std::unique_ptr<DefinitionSet> pending_;  // GUARDED_BY(mu_)

  // Only the sampler thread touches these while it runs.
  std::unique_ptr<DefinitionSet> active_;
  std::array<int64_t, kIntervalCount> next_boundary_us_{};
  // Reused by every cycle, so that its arrays keep their capacity: a million-point record
  // is not reallocated every second.
  v1::Record record_;
  std::jthread thread_;
};

}  // namespace sluice::sampling
