#include "sampling/sampler.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include <gtest/gtest.h>

namespace sluice::sampling {
namespace {

// 2024-05-01T00:00:00Z.
constexpr int64_t kT0 = 1714521600 * kSecondUs;

// What the sinks received, filled on the sampler thread, read by the test once the
// sampler is idle (DrivenClock::AwaitIdleWaiter) or stopped.
struct Received {
  std::mutex mu;
  std::vector<v1::Record> records;
  std::vector<CycleIssue> issues;

  Sampler::RecordSink RecordSink() {
    return [this](const v1::Record& r) {
      std::lock_guard lock(mu);
      records.push_back(r);
      return Status::OK();
    };
  }
  Sampler::IssueSink IssueSink() {
    return [this](const CycleIssue& i) {
      std::lock_guard lock(mu);
      issues.push_back(i);
    };
  }
  // (interval, ts of the batch's first row) of every record, in order.
  std::vector<std::pair<v1::SampleInterval, int64_t>> Stamps() {
    std::lock_guard lock(mu);
    std::vector<std::pair<v1::SampleInterval, int64_t>> out;
    for (const auto& r : records) {
      out.emplace_back(r.samples().interval(),
                       r.samples().ts_us_size() ? r.samples().ts_us(0) : -1);
    }
    return out;
  }
};

std::vector<Definition> Define(std::vector<int64_t> ids, v1::SampleInterval interval) {
  std::vector<Definition> defs;
  for (int64_t id : ids) defs.push_back({id, interval});
  return defs;
}

void Step(DrivenClock& clock, int64_t to_us) {
  clock.Set(to_us);
  clock.AwaitIdleWaiter();
}

// The issue's test: 10,000 points at 1 s and 5 min for a simulated hour. The test
// computes every expected row itself: value, quality (with the old-data bit for the
// points it stops updating) and the boundary-aligned timestamp.
TEST(SamplerTest, TenThousandPointsForASimulatedHour) {
  constexpr int64_t kPoints = 10'000;
  constexpr int64_t kFirstId = 5000;
  constexpr int64_t kSeconds = 3600;
  constexpr int64_t kStopAt = 1200;  // stale points get no update after second 1200
  constexpr int kOldAfter = 3;
  auto stale = [](int64_t id) { return id % 50 == 0; };
  auto source_quality = [](int64_t id) -> uint32_t {
    return id % 7 == 0 ? v1::QUALITY_QUESTIONABLE : v1::QUALITY_GOOD;
  };
  // The update made at second s (at s - 0.5 s) of point id.
  auto value_at = [](int64_t id, int64_t s) { return static_cast<double>(id * 10'000 + s); };

  DrivenClock clock(kT0 + kSecondUs / 2);
  PointTable table(kPoints);

  // Checked on the sampler thread as records arrive: 36 million rows are not kept.
  std::atomic<int64_t> records_1s{0}, records_5min{0}, rows{0}, bad_rows{0}, old_rows{0};
  std::atomic<int64_t> last_ts_1s{0}, last_ts_5min{0};
  std::mutex first_bad_mu;
  std::string first_bad;
  auto sink = [&](const v1::Record& r) {
    const v1::SampleBatch& b = r.samples();
    const int64_t len = Info(b.interval()).length_us;
    const int64_t boundary = b.ts_us_size() ? b.ts_us(0) : -1;
    if (b.interval() == v1::SAMPLE_INTERVAL_1S) {
      ++records_1s;
      EXPECT_EQ(boundary, last_ts_1s.exchange(boundary) + len);
    } else {
      ++records_5min;
      EXPECT_EQ(b.interval(), v1::SAMPLE_INTERVAL_5MIN);
      EXPECT_EQ(boundary, last_ts_5min.exchange(boundary) + len);
    }
    EXPECT_EQ(boundary % len, 0);
    EXPECT_EQ(b.point_id_size(), kPoints);
    EXPECT_EQ(b.ts_us_size(), kPoints);
    EXPECT_EQ(b.value_size(), kPoints);
    EXPECT_EQ(b.quality_size(), kPoints);
    const int64_t s = (boundary - kT0) / kSecondUs;
    for (int i = 0; i < b.point_id_size(); ++i) {
      const int64_t id = kFirstId + i;
      const int64_t last_update_s = stale(id) ? std::min(s, kStopAt) : s;
      const int64_t updated_us = kT0 + last_update_s * kSecondUs - kSecondUs / 2;
      const bool old = updated_us < boundary - kOldAfter * len;
      const uint32_t quality = source_quality(id) | (old ? uint32_t{v1::QUALITY_OLD_DATA} : 0u);
      ++rows;
      old_rows += old;
      if (b.point_id(i) != id || b.ts_us(i) != boundary ||
          b.value(i) != value_at(id, last_update_s) || b.quality(i) != quality) {
        if (bad_rows++ == 0) {
          std::lock_guard lock(first_bad_mu);
          first_bad = "boundary " + std::to_string(boundary) + " row " + std::to_string(i) +
                      " point " + std::to_string(b.point_id(i)) + " value " +
                      std::to_string(b.value(i)) + " quality " + std::to_string(b.quality(i)) +
                      " (want point " + std::to_string(id) + " value " +
                      std::to_string(value_at(id, last_update_s)) + " quality " +
                      std::to_string(quality) + ")";
        }
      }
    }
    return Status::OK();
  };
  Received issues;
  SamplerOptions options;
  options.old_after_intervals = kOldAfter;
  Sampler sampler(&clock, &table, options, sink, issues.IssueSink());
  std::vector<Definition> defs;
  for (int64_t id = kFirstId; id < kFirstId + kPoints; ++id) {
    defs.push_back({id, v1::SAMPLE_INTERVAL_1S});
    defs.push_back({id, v1::SAMPLE_INTERVAL_5MIN});
  }
  ASSERT_TRUE(sampler.SetDefinitions(defs).ok());
  last_ts_1s = kT0;
  last_ts_5min = kT0;
  ASSERT_TRUE(sampler.Start().ok());
  clock.AwaitIdleWaiter();

  for (int64_t s = 1; s <= kSeconds; ++s) {
    const int64_t update_us = kT0 + s * kSecondUs - kSecondUs / 2;
    clock.Set(update_us);
    for (int64_t id = kFirstId; id < kFirstId + kPoints; ++id) {
      if (stale(id) && s > kStopAt) continue;
      ASSERT_TRUE(
          table.Update(id, {value_at(id, s), source_quality(id), update_us - 1000, update_us})
              .ok());
    }
    Step(clock, kT0 + s * kSecondUs);
  }
  sampler.Stop();

  EXPECT_EQ(bad_rows.load(), 0) << first_bad;
  EXPECT_EQ(records_1s.load(), kSeconds);
  EXPECT_EQ(records_5min.load(), kSeconds / 300);
  EXPECT_EQ(rows.load(), (kSeconds + kSeconds / 300) * kPoints);
  // 200 stale points: old at 1 s from second 1203 on (2398 boundaries), at 5 min from
  // 2100 s on (2100, 2400, ..., 3600: 6 boundaries).
  EXPECT_EQ(old_rows.load(), 200 * (2398 + 6));
  EXPECT_TRUE(issues.issues.empty());
}

TEST(SamplerTest, NeverUpdatedPointIsSampledAsInvalidOldData) {
  DrivenClock clock(kT0 + 1);
  PointTable table(10);
  Received got;
  Sampler sampler(&clock, &table, {}, got.RecordSink(), got.IssueSink());
  ASSERT_TRUE(sampler.SetDefinitions(Define({1, 2}, v1::SAMPLE_INTERVAL_1S)).ok());
  ASSERT_TRUE(table.Update(1, {4.0, 0, kT0, kT0 + 1}).ok());
  ASSERT_TRUE(sampler.Start().ok());
  Step(clock, kT0 + kSecondUs);
  sampler.Stop();
  ASSERT_EQ(got.records.size(), 1u);
  const v1::SampleBatch& b = got.records[0].samples();
  ASSERT_EQ(b.point_id_size(), 2);
  EXPECT_EQ(b.value(0), 4.0);
  EXPECT_EQ(b.quality(0), 0u);
  EXPECT_TRUE(std::isnan(b.value(1)));
  EXPECT_EQ(b.quality(1), static_cast<uint32_t>(v1::QUALITY_INVALID | v1::QUALITY_OLD_DATA));
}

// A point defined before its first update gets its slot lazily and is sampled with its
// value from the first boundary after that update.
TEST(SamplerTest, PointDefinedBeforeItsFirstUpdateIsSampledOnceUpdated) {
  DrivenClock clock(kT0 + 1);
  PointTable table(10);
  Received got;
  Sampler sampler(&clock, &table, {}, got.RecordSink(), got.IssueSink());
  ASSERT_TRUE(sampler.SetDefinitions(Define({3}, v1::SAMPLE_INTERVAL_1S)).ok());
  ASSERT_TRUE(sampler.Start().ok());
  Step(clock, kT0 + kSecondUs);
  ASSERT_TRUE(table.Update(3, {7.5, 0, kT0 + kSecondUs, kT0 + kSecondUs}).ok());
  Step(clock, kT0 + 2 * kSecondUs);
  sampler.Stop();
  std::lock_guard lock(got.mu);
  ASSERT_EQ(got.records.size(), 2u);
  EXPECT_TRUE(std::isnan(got.records[0].samples().value(0)));
  EXPECT_EQ(got.records[0].samples().quality(0),
            static_cast<uint32_t>(v1::QUALITY_INVALID | v1::QUALITY_OLD_DATA));
  EXPECT_EQ(got.records[1].samples().value(0), 7.5);
  EXPECT_EQ(got.records[1].samples().quality(0), 0u);
}

TEST(SamplerTest, ClockJumpRecordsTheMissedCycles) {
  DrivenClock clock(kT0 + kSecondUs / 2);
  PointTable table(10);
  Received got;
  Sampler sampler(&clock, &table, {}, got.RecordSink(), got.IssueSink());
  auto defs = Define({1}, v1::SAMPLE_INTERVAL_1S);
  auto minute = Define({1}, v1::SAMPLE_INTERVAL_1MIN);
  defs.insert(defs.end(), minute.begin(), minute.end());
  ASSERT_TRUE(sampler.SetDefinitions(defs).ok());
  ASSERT_TRUE(sampler.Start().ok());
  Step(clock, kT0 + 1 * kSecondUs);
  Step(clock, kT0 + 10 * kSecondUs + 200'000);  // 2..9 missed; 10 is 200 ms late: tolerated
  Step(clock, kT0 + 12 * kSecondUs);            // 11 missed
  // 13..184 and minutes 1, 2 missed; minute 3 is sampled 5 s late.
  Step(clock, kT0 + 185 * kSecondUs + 100);
  sampler.Stop();

  using P = std::pair<v1::SampleInterval, int64_t>;
  EXPECT_EQ(got.Stamps(), (std::vector<P>{{v1::SAMPLE_INTERVAL_1S, kT0 + 1 * kSecondUs},
                                          {v1::SAMPLE_INTERVAL_1S, kT0 + 10 * kSecondUs},
                                          {v1::SAMPLE_INTERVAL_1S, kT0 + 12 * kSecondUs},
                                          {v1::SAMPLE_INTERVAL_1S, kT0 + 185 * kSecondUs},
                                          {v1::SAMPLE_INTERVAL_1MIN, kT0 + 180 * kSecondUs}}));
  ASSERT_EQ(got.issues.size(), 5u);
  auto expect_missed = [](const CycleIssue& i, v1::SampleInterval interval, int64_t first,
                          int64_t count) {
    EXPECT_EQ(i.kind, CycleIssue::Kind::kMissed);
    EXPECT_EQ(i.interval, interval);
    EXPECT_EQ(i.boundary_us, first);
    EXPECT_EQ(i.count, count);
    EXPECT_NE(i.detail.find("not sampled"), std::string::npos) << i.detail;
  };
  expect_missed(got.issues[0], v1::SAMPLE_INTERVAL_1S, kT0 + 2 * kSecondUs, 8);
  expect_missed(got.issues[1], v1::SAMPLE_INTERVAL_1S, kT0 + 11 * kSecondUs, 1);
  expect_missed(got.issues[2], v1::SAMPLE_INTERVAL_1S, kT0 + 13 * kSecondUs, 172);
  expect_missed(got.issues[3], v1::SAMPLE_INTERVAL_1MIN, kT0 + 60 * kSecondUs, 2);
  EXPECT_EQ(got.issues[4].kind, CycleIssue::Kind::kLate);
  EXPECT_EQ(got.issues[4].interval, v1::SAMPLE_INTERVAL_1MIN);
  EXPECT_EQ(got.issues[4].boundary_us, kT0 + 180 * kSecondUs);
}

TEST(SamplerTest, LateCycleIsReportedAndStillSampledAtItsBoundary) {
  DrivenClock clock(kT0 + kSecondUs / 2);
  PointTable table(10);
  Received got;
  SamplerOptions options;
  options.late_tolerance_us = 100'000;
  Sampler sampler(&clock, &table, options, got.RecordSink(), got.IssueSink());
  ASSERT_TRUE(sampler.SetDefinitions(Define({1}, v1::SAMPLE_INTERVAL_1S)).ok());
  ASSERT_TRUE(sampler.Start().ok());
  Step(clock, kT0 + kSecondUs + 100'000);  // exactly the tolerance: not late
  Step(clock, kT0 + 2 * kSecondUs + 700'000);
  sampler.Stop();
  using P = std::pair<v1::SampleInterval, int64_t>;
  EXPECT_EQ(got.Stamps(), (std::vector<P>{{v1::SAMPLE_INTERVAL_1S, kT0 + kSecondUs},
                                          {v1::SAMPLE_INTERVAL_1S, kT0 + 2 * kSecondUs}}));
  ASSERT_EQ(got.issues.size(), 1u);
  EXPECT_EQ(got.issues[0].kind, CycleIssue::Kind::kLate);
  EXPECT_EQ(got.issues[0].boundary_us, kT0 + 2 * kSecondUs);
  EXPECT_EQ(got.issues[0].count, 1);
  EXPECT_NE(got.issues[0].detail.find("700 ms"), std::string::npos) << got.issues[0].detail;
  EXPECT_EQ(CycleIssueKindName(got.issues[0].kind), "late");
}

TEST(SamplerTest, ClockStepBackwardsProducesNoDuplicateOrOutOfOrderBoundary) {
  DrivenClock clock(kT0 + kSecondUs / 2);
  PointTable table(10);
  Received got;
  Sampler sampler(&clock, &table, {}, got.RecordSink(), got.IssueSink());
  ASSERT_TRUE(sampler.SetDefinitions(Define({1}, v1::SAMPLE_INTERVAL_1S)).ok());
  ASSERT_TRUE(sampler.Start().ok());
  for (int s = 1; s <= 5; ++s) Step(clock, kT0 + s * kSecondUs);
  Step(clock, kT0 + 2 * kSecondUs + 500'000);  // back 2.5 s
  Step(clock, kT0 + 3 * kSecondUs);            // boundaries already sampled: nothing
  Step(clock, kT0 + 5 * kSecondUs);
  Step(clock, kT0 + 6 * kSecondUs);  // the next one not sampled yet
  sampler.Stop();
  using P = std::pair<v1::SampleInterval, int64_t>;
  std::vector<P> want;
  for (int s = 1; s <= 6; ++s) want.push_back({v1::SAMPLE_INTERVAL_1S, kT0 + s * kSecondUs});
  EXPECT_EQ(got.Stamps(), want);
  EXPECT_TRUE(got.issues.empty());
}

TEST(SamplerTest, DefinitionsChangedWhileRunningTakeEffectAtTheNextBoundary) {
  DrivenClock clock(kT0 + kSecondUs / 2);
  PointTable table(10);
  Received got;
  Sampler sampler(&clock, &table, {}, got.RecordSink(), got.IssueSink());
  ASSERT_TRUE(sampler.SetDefinitions(Define({1, 2}, v1::SAMPLE_INTERVAL_1S)).ok());
  ASSERT_TRUE(sampler.Start().ok());
  Step(clock, kT0 + 1 * kSecondUs);
  Step(clock, kT0 + 1 * kSecondUs + 400'000);
  auto defs = Define({3, 2, 3}, v1::SAMPLE_INTERVAL_1S);
  auto minute = Define({1}, v1::SAMPLE_INTERVAL_1MIN);
  defs.insert(defs.end(), minute.begin(), minute.end());
  ASSERT_TRUE(sampler.SetDefinitions(defs).ok());
  Step(clock, kT0 + 2 * kSecondUs);
  Step(clock, kT0 + 60 * kSecondUs);
  // A bad set is refused whole; the current one stays.
  EXPECT_FALSE(sampler.SetDefinitions({{1, v1::SAMPLE_INTERVAL_UNSPECIFIED}}).ok());
  Step(clock, kT0 + 61 * kSecondUs);
  sampler.Stop();

  std::lock_guard lock(got.mu);
  ASSERT_EQ(got.records.size(), 5u);
  auto ids = [&](size_t i) {
    const auto& p = got.records[i].samples().point_id();
    return std::vector<int64_t>(p.begin(), p.end());
  };
  EXPECT_EQ(ids(0), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ids(1), (std::vector<int64_t>{2, 3}));  // sorted, duplicates once
  // Second 60: 1 s is missed from 3 to 59 and sampled at 60, then the minute.
  EXPECT_EQ(got.records[2].samples().interval(), v1::SAMPLE_INTERVAL_1S);
  EXPECT_EQ(got.records[3].samples().interval(), v1::SAMPLE_INTERVAL_1MIN);
  EXPECT_EQ(ids(3), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids(4), (std::vector<int64_t>{2, 3}));
}

TEST(SamplerTest, RefusedRecordIsReportedAsMissed) {
  DrivenClock clock(kT0 + kSecondUs / 2);
  PointTable table(10);
  Received got;
  Sampler sampler(
      &clock, &table, {}, [](const v1::Record&) { return Status::Unavailable("journal full"); },
      got.IssueSink());
  ASSERT_TRUE(sampler.SetDefinitions(Define({1}, v1::SAMPLE_INTERVAL_1S)).ok());
  ASSERT_TRUE(sampler.Start().ok());
  Step(clock, kT0 + kSecondUs);
  sampler.Stop();
  ASSERT_EQ(got.issues.size(), 1u);
  EXPECT_EQ(got.issues[0].kind, CycleIssue::Kind::kMissed);
  EXPECT_EQ(got.issues[0].count, 1);
  EXPECT_NE(got.issues[0].detail.find("journal full"), std::string::npos) << got.issues[0].detail;
}

TEST(SamplerTest, InvalidOptionsAreRefusedAtStart) {
  DrivenClock clock(kT0);
  PointTable table(10);
  Received got;
  SamplerOptions options;
  options.day_rule.day_start_us = kDayUs;
  Sampler sampler(&clock, &table, options, got.RecordSink(), got.IssueSink());
  EXPECT_FALSE(sampler.Start().ok());
  SamplerOptions zero;
  zero.old_after_intervals = 0;
  Sampler sampler2(&clock, &table, zero, got.RecordSink(), got.IssueSink());
  EXPECT_FALSE(sampler2.Start().ok());
}

// Real time: 1 s sampling for 5 s on the system clock. Timing on a loaded machine is not
// asserted (late cycles are allowed); a missed cycle is not.
TEST(SamplerTest, RealTimeOneSecondSamplingMissesNoCycle) {
  SystemClock clock;
  PointTable table(1000);
  Received got;
  SamplerOptions options;
  options.late_tolerance_us = 900'000;
  Sampler sampler(&clock, &table, options, got.RecordSink(), got.IssueSink());
  std::vector<int64_t> ids;
  for (int64_t id = 1; id <= 1000; ++id) ids.push_back(id);
  ASSERT_TRUE(sampler.SetDefinitions(Define(ids, v1::SAMPLE_INTERVAL_1S)).ok());
  std::atomic<bool> done{false};
  std::thread updater([&] {
    while (!done) {
      const int64_t now = clock.NowUs();
      for (int64_t id : ids) ASSERT_TRUE(table.Update(id, {1.0, 0, now, now}).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  const int64_t start = clock.NowUs();
  ASSERT_TRUE(sampler.Start().ok());
  std::this_thread::sleep_for(std::chrono::seconds(5));
  sampler.Stop();
  const int64_t end = clock.NowUs();
  done = true;
  updater.join();

  std::lock_guard lock(got.mu);
  for (const CycleIssue& i : got.issues) {
    EXPECT_NE(i.kind, CycleIssue::Kind::kMissed) << i.detail;
  }
  ASSERT_FALSE(got.records.empty());
  int64_t prev = 0;
  for (const v1::Record& r : got.records) {
    const int64_t ts = r.samples().ts_us(0);
    EXPECT_EQ(ts % kSecondUs, 0);
    EXPECT_GE(ts, start);
    EXPECT_LE(ts, end);
    if (prev != 0) {
      EXPECT_EQ(ts, prev + kSecondUs);  // consecutive: none skipped
    }
    prev = ts;
  }
}

}  // namespace
}  // namespace sluice::sampling
