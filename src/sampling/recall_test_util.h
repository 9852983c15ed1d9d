#pragma once
// What the recall tests share: a RecallWindows on a DrivenClock over a PointTable the test
// feeds tick by tick with values it can compute again (Value), sinks that keep everything,
// and the rows the test expects of an event, computed from its own feed.
//
// Thread safety: the sinks run on the recall thread (or the test's, in Trigger); the test
// reads what they kept once the recall thread is idle (DrivenClock::AwaitIdleWaiter) or
// stopped, under the same mutex.

#include <algorithm>
#include <atomic>
#include <bit>
#include <compare>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sampling/recall.h"

namespace sluice::sampling::testing {

// 2024-05-01T00:00:00Z, a multiple of every period the tests use.
inline constexpr int64_t kT0 = int64_t{1714521600} * 1'000'000;
inline constexpr int64_t kMs = 1'000;
inline constexpr int64_t kS = 1'000'000;

// The value the test feeds point `id` with for the tick at `ts_us`.
inline double Value(int64_t id, int64_t ts_us) {
  return static_cast<double>(id) * 1000.0 + static_cast<double>((ts_us - kT0) / kMs) / 8.0;
}

// One recall_sample row; values compare by their bits (NaN too).
struct Row {
  int64_t event_ts_us = 0;
  int64_t ts_us = 0;
  int64_t point_id = 0;
  uint64_t value_bits = 0;
  uint32_t quality = 0;
  auto operator<=>(const Row&) const = default;
};
inline std::string Show(const Row& r) {
  return fmt::format("(event {}, ts {}, point {}, value {}, quality {})", r.event_ts_us, r.ts_us,
                     r.point_id, std::bit_cast<double>(r.value_bits), r.quality);
}
inline void PrintTo(const Row& r, std::ostream* os) { *os << Show(r); }
inline Row MakeRow(int64_t event_ts, int64_t ts, int64_t point, double value, uint32_t quality) {
  return {event_ts, ts, point, std::bit_cast<uint64_t>(value), quality};
}

inline RecallDefinition Define(int64_t id, std::vector<int64_t> points, int64_t period_us,
                               int64_t before_us, int64_t after_us, bool on_limit = false) {
  RecallDefinition d;
  d.id = id;
  d.name = fmt::format("window {}", id);
  d.point_ids = std::move(points);
  d.period_us = period_us;
  d.before_us = before_us;
  d.after_us = after_us;
  d.on_limit = on_limit;
  return d;
}

class Harness {
 public:
  explicit Harness(RecallOptions options = {})
      : windows_(
            &clock_, &table_, options,
            [this](const v1::Record& r) {
              std::lock_guard lock(mu_);
              if (refuse_) return Status::Unavailable("the journal is full (test)");
              records_.push_back(r);
              return Status::OK();
            },
            [this](const RecallIssue& i) {
              std::lock_guard lock(mu_);
              issues_.push_back(i);
            }) {}

  DrivenClock& clock() { return clock_; }
  PointTable& table() { return table_; }
  RecallWindows& windows() { return windows_; }

  // Starts at `start_us` (just before the first tick the test feeds).
  void Start(int64_t start_us = kT0 - 1) {
    clock_.Set(start_us);
    ASSERT_TRUE(windows_.Start().ok());
    clock_.AwaitIdleWaiter();
  }
  // Feeds every point of `fed` with Value(id, ts), then moves the clock to `ts` and waits
  // until every tick due has been taken.
  void FeedAndStep(int64_t ts, const std::set<int64_t>& fed) {
    for (int64_t id : fed) SetValue(id, Value(id, ts), ts);
    Step(ts);
  }
  void SetValue(int64_t id, double v, int64_t ts) {
    ASSERT_TRUE(table_.Update(id, {v, v1::QUALITY_GOOD, ts - 2 * kMs, ts - kMs}).ok());
  }
  void Step(int64_t ts) {
    clock_.Set(ts);
    clock_.AwaitIdleWaiter();
  }

  void set_refuse(bool refuse) {
    std::lock_guard lock(mu_);
    refuse_ = refuse;
  }
  std::vector<v1::Record> records() {
    std::lock_guard lock(mu_);
    return records_;
  }
  std::vector<RecallIssue> issues() {
    std::lock_guard lock(mu_);
    return issues_;
  }
  // Every row received (of event `event_ts`, when given), sorted.
  std::vector<Row> Rows(std::optional<int64_t> event_ts = {}) {
    std::vector<Row> out;
    for (const v1::Record& r : records()) {
      EXPECT_TRUE(r.has_recall());
      for (const v1::RecallRow& row : r.recall().rows()) {
        if (event_ts && row.event_ts_us() != *event_ts) continue;
        out.push_back(
            MakeRow(row.event_ts_us(), row.ts_us(), row.point_id(), row.value(), row.quality()));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::set<int64_t> EventTimes() {
    std::set<int64_t> out;
    for (const Row& r : Rows()) out.insert(r.event_ts_us);
    return out;
  }

 private:
  DrivenClock clock_{kT0 - 1};
  PointTable table_{10'000};
  std::mutex mu_;
  bool refuse_ = false;              // GUARDED_BY(mu_)
  std::vector<v1::Record> records_;  // GUARDED_BY(mu_)
  std::vector<RecallIssue> issues_;  // GUARDED_BY(mu_)
  RecallWindows windows_;            // last: its thread uses the members above
};

// The rows of an event of `d` at `event_ts`, for a feed of Value() at every tick from
// `first_tick` to `last_tick` (both taken), sorted as Harness::Rows sorts.
inline std::vector<Row> ExpectedRows(const RecallDefinition& d, int64_t event_ts,
                                     int64_t first_tick, int64_t last_tick) {
  std::vector<Row> out;
  for (int64_t t = first_tick; t <= last_tick; t += d.period_us) {
    if (t < event_ts - d.before_us || t > event_ts + d.after_us) continue;
    for (int64_t p : d.point_ids)
      out.push_back(MakeRow(event_ts, t, p, Value(p, t), v1::QUALITY_GOOD));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::sampling::testing
