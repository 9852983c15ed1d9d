// History queries through a real sluiced with SQLite targets: three points with an hour
// of 1 s samples pushed through Ingest.Commit, read back through the History service, and
// every answer compared with what the test computes itself from the series it pushed:
// raw rows paged in order with their bounds, interpolated values (sloped for analog,
// stepped for status points), aggregates (Average, Minimum, Maximum, Count, TimeAverage,
// DurationInStateZero, NumberOfTransitions) and limit statistics with the point's own
// limits; the refusals (unknown point, empty range, zero step); and include_pending: a
// sample acknowledged but not yet applied on the active target is read at once, marked
// pending.

#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/daemon.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int kSeconds = 3600;      // one hour of 1 s samples
constexpr int64_t kQuarter = 900;   // 15 minutes, in seconds

// The series, second i of the hour.
//  1 BUS.V  analog, hi 80, lo 20: 90 for the first 100 s of every 600 s, 10 for the next
//           50 s, else 50; invalid (value 50) at second 450 of every 900 s.
//  2 BRK    status: 0 and 1 alternating every 100 s.
//  3 RAMP   analog: i.
double Value(int64_t point, int i) {
  switch (point) {
    case 1: return i % 600 < 100 ? 90 : i % 600 < 150 ? 10 : 50;
    case 2: return (i / 100) % 2;
    default: return i;
  }
}
uint32_t Quality(int64_t point, int i) {
  return point == 1 && i % kQuarter == 450 ? v1::QUALITY_INVALID : v1::QUALITY_GOOD;
}

class HistoryDaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A whole hour, three hours ago: nothing of the daemon's own sampler can touch it.
    t0_ = (NowMicros() / (3600 * kSecond) - 3) * 3600 * kSecond;
  }

  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(dir_, DaemonConfig::NoAuth());
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
    sampling_ = v1::Sampling::NewStub(daemon_->channel());
    history_ = v1::History::NewStub(daemon_->channel());
    v1::PutPointsRequest put;
    for (auto [id, name, kind] : {std::tuple{1, "BUS.V", 0}, {2, "BRK", 1}, {3, "RAMP", 0}}) {
      v1::CatalogPoint* p = put.add_points();
      p->set_id(id);
      p->set_name(name);
      p->set_kind(kind);
      if (id == 1) {
        p->set_hi(80);
        p->set_lo(20);
      }
    }
    v1::ExecuteResponse resp;
    ASSERT_TRUE(sampling_->PutPoints(daemon_->Context("").get(), put, &resp).ok());
    ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
    v1::CommitRequest req;
    req.set_stream("samples");
    for (int64_t point = 1; point <= 3; ++point) {
      for (int first = 0; first < kSeconds; first += 1200) {
        v1::SampleBatch* b = req.add_records()->mutable_samples();
        b->set_interval(v1::SAMPLE_INTERVAL_1S);
        for (int i = first; i < first + 1200; ++i) {
          b->add_point_id(point);
          b->add_ts_us(t0_ + i * kSecond);
          b->add_value(Value(point, i));
          b->add_quality(Quality(point, i));
        }
      }
    }
    v1::CommitResponse committed;
    grpc::Status s = daemon_->Commit(req, &committed);
    ASSERT_TRUE(s.ok()) << s.error_message();
    daemon_->WaitCaughtUp();
  }

  v1::HistoryRange Range(std::vector<int64_t> points, int64_t from_s, int64_t to_s) {
    v1::HistoryRange r;
    for (int64_t p : points) r.add_point_ids(p);
    r.set_interval(v1::SAMPLE_INTERVAL_1S);
    r.set_start_us(t0_ + from_s * kSecond);
    r.set_end_us(t0_ + to_s * kSecond);
    return r;
  }

  v1::ReadAggregatesResponse Aggregates(int64_t point, std::vector<v1::AggregateType> types) {
    v1::ReadAggregatesRequest req;
    *req.mutable_range() = Range({point}, 0, kSeconds);
    req.set_step_us(kQuarter * kSecond);
    for (auto t : types) req.add_aggregates(t);
    v1::ReadAggregatesResponse resp;
    grpc::Status s = history_->ReadAggregates(daemon_->Context("").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  static inline int64_t t0_ = 0;
  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Sampling::Stub> sampling_;
  std::unique_ptr<v1::History::Stub> history_;
};

TEST_F(HistoryDaemonTest, RawReadPagesThroughEveryRowInOrderWithBounds) {
  v1::ReadRawRequest req;
  *req.mutable_range() = Range({3, 1}, 0, kSeconds);
  req.set_max_values(700);  // does not divide 3600: pages straddle the two points
  std::vector<std::tuple<int64_t, int64_t, double, uint32_t>> got;
  int pages = 0;
  do {
    v1::ReadRawResponse resp;
    grpc::Status s = history_->ReadRaw(daemon_->Context("").get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ++pages;
    size_t in_page = 0;
    for (const auto& p : resp.points()) {
      for (const auto& x : p.samples()) {
        ASSERT_TRUE(x.has_value());
        EXPECT_FALSE(x.pending());
        got.emplace_back(p.point_id(), x.ts_us(), x.value(), x.quality());
        ++in_page;
      }
    }
    EXPECT_LE(in_page, 700u);
    req.set_continuation(resp.continuation());
    ASSERT_LT(pages, 100) << "paging does not end";
  } while (!req.continuation().empty());
  ASSERT_EQ(got.size(), 2u * kSeconds);
  size_t k = 0;
  for (int64_t point : {3, 1}) {
    for (int i = 0; i < kSeconds; ++i, ++k) {
      EXPECT_EQ(got[k], std::make_tuple(point, t0_ + i * kSecond, Value(point, i), Quality(point, i)))
          << "row " << k;
    }
  }

  // Bounds: the last sample before the start and the first at or after the end.
  v1::ReadRawRequest bounded;
  *bounded.mutable_range() = Range({3}, 10, 20);
  bounded.set_bounds(true);
  v1::ReadRawResponse resp;
  ASSERT_TRUE(history_->ReadRaw(daemon_->Context("").get(), bounded, &resp).ok());
  ASSERT_EQ(resp.points_size(), 1);
  const auto& p = resp.points(0);
  ASSERT_EQ(p.samples_size(), 10);
  EXPECT_EQ(p.samples(0).ts_us(), t0_ + 10 * kSecond);
  ASSERT_TRUE(p.has_bound_before());
  EXPECT_EQ(p.bound_before().ts_us(), t0_ + 9 * kSecond);
  EXPECT_EQ(p.bound_before().value(), 9);
  ASSERT_TRUE(p.has_bound_after());
  EXPECT_EQ(p.bound_after().ts_us(), t0_ + 20 * kSecond);
  EXPECT_TRUE(resp.continuation().empty());
}

TEST_F(HistoryDaemonTest, InterpolatedSlopesForAnalogAndStepsForStatusPoints) {
  v1::ReadInterpolatedRequest req;
  // Half a second past each whole minute: between two samples.
  *req.mutable_range() = Range({3, 2}, 0, 600);
  req.mutable_range()->set_start_us(t0_ + kSecond / 2);
  req.set_step_us(60 * kSecond);
  v1::ReadAggregatesResponse resp;
  grpc::Status s = history_->ReadInterpolated(daemon_->Context("").get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.series_size(), 2);
  EXPECT_EQ(resp.series(0).point_id(), 3);
  EXPECT_EQ(resp.series(1).point_id(), 2);
  ASSERT_EQ(resp.series(0).values_size(), 10);
  ASSERT_EQ(resp.series(1).values_size(), 10);
  for (int k = 0; k < 10; ++k) {
    const int i = 60 * k;
    const auto& ramp = resp.series(0).values(k);
    EXPECT_EQ(ramp.ts_us(), t0_ + kSecond / 2 + i * kSecond);
    ASSERT_TRUE(ramp.has_value());
    EXPECT_DOUBLE_EQ(ramp.value(), i + 0.5) << "sloped between " << i << " and " << i + 1;
    EXPECT_EQ(ramp.status(), v1::VALUE_STATUS_GOOD);
    const auto& brk = resp.series(1).values(k);
    ASSERT_TRUE(brk.has_value());
    EXPECT_EQ(brk.value(), Value(2, i)) << "stepped at " << i;
  }
}

TEST_F(HistoryDaemonTest, AggregatesAreWhatTheSeriesGives) {
  auto ramp = Aggregates(3, {v1::AGGREGATE_AVERAGE, v1::AGGREGATE_MINIMUM, v1::AGGREGATE_MAXIMUM,
                             v1::AGGREGATE_COUNT, v1::AGGREGATE_TIME_AVERAGE});
  ASSERT_EQ(ramp.series_size(), 5);
  for (int k = 0; k < 4; ++k) {
    const double first = k * kQuarter, last = first + kQuarter - 1;
    SCOPED_TRACE(fmt::format("interval {}", k));
    for (int a = 0; a < 5; ++a) {
      ASSERT_EQ(ramp.series(a).values_size(), 4);
      EXPECT_FALSE(ramp.series(a).values(k).partial());
      EXPECT_EQ(ramp.series(a).values(k).ts_us(), t0_ + static_cast<int64_t>(first) * kSecond);
    }
    EXPECT_DOUBLE_EQ(ramp.series(0).values(k).value(), (first + last) / 2);
    EXPECT_EQ(ramp.series(1).values(k).value(), first);
    EXPECT_EQ(ramp.series(2).values(k).value(), last);
    EXPECT_EQ(ramp.series(3).values(k).value(), kQuarter);
    // The line t -> t over the interval; the last one holds 3599 over its last second.
    const double integral = k < 3 ? kQuarter * (first + kQuarter / 2.0)
                                  : (last * last - first * first) / 2 + last;
    EXPECT_NEAR(ramp.series(4).values(k).value(), integral / kQuarter, 1e-9);
    for (int a = 0; a < 5; ++a) EXPECT_EQ(ramp.series(a).values(k).status(), v1::VALUE_STATUS_GOOD);
  }

  auto brk = Aggregates(2, {v1::AGGREGATE_DURATION_IN_STATE_ZERO, v1::AGGREGATE_NUMBER_OF_TRANSITIONS});
  ASSERT_EQ(brk.series_size(), 2);
  for (int k = 0; k < 4; ++k) {
    int zero_s = 0, transitions = 0;
    for (int i = k * kQuarter; i < (k + 1) * kQuarter; ++i) {
      zero_s += Value(2, i) == 0;
      transitions += i > 0 && Value(2, i) != Value(2, i - 1);
    }
    EXPECT_EQ(brk.series(0).values(k).value(), zero_s * 1000.0) << "interval " << k;
    EXPECT_EQ(brk.series(1).values(k).value(), transitions) << "interval " << k;
  }
}

TEST_F(HistoryDaemonTest, LimitStatisticsUseThePointsLimits) {
  v1::ReadLimitStatsRequest req;
  *req.mutable_range() = Range({1}, 0, kSeconds);
  req.set_step_us(kQuarter * kSecond);
  v1::ReadLimitStatsResponse resp;
  grpc::Status s = history_->ReadLimitStats(daemon_->Context("").get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.series_size(), 1);
  const auto& series = resp.series(0);
  EXPECT_EQ(series.high(), 80);
  EXPECT_EQ(series.low(), 20);
  ASSERT_EQ(series.intervals_size(), 4);
  // Second by second, the held value against the limits; an invalid second is neither.
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE(fmt::format("interval {}", k));
    int64_t above_s = 0, below_s = 0, usable_s = 0, above_n = 0, below_n = 0;
    int prev = 0;  // -1 below, +1 above, 0 within or unusable
    for (int i = k * kQuarter; i < (k + 1) * kQuarter; ++i) {
      const bool usable = Quality(1, i) == v1::QUALITY_GOOD;
      const int side = !usable ? 0 : Value(1, i) > 80 ? 1 : Value(1, i) < 20 ? -1 : 0;
      usable_s += usable;
      above_s += side == 1;
      below_s += side == -1;
      above_n += side == 1 && prev != 1;
      below_n += side == -1 && prev != -1;
      prev = side;
    }
    const auto& in = series.intervals(k);
    EXPECT_EQ(in.above().count(), above_n);
    EXPECT_EQ(in.below().count(), below_n);
    EXPECT_EQ(in.above().total_us(), above_s * kSecond);
    EXPECT_EQ(in.below().total_us(), below_s * kSecond);
    EXPECT_EQ(in.above().longest_us(), 100 * kSecond);
    EXPECT_EQ(in.below().longest_us(), 50 * kSecond);
    EXPECT_EQ(in.usable_us(), usable_s * kSecond);
    ASSERT_TRUE(in.has_pass_rate());
    EXPECT_NEAR(in.pass_rate(), 1.0 - static_cast<double>(above_s + below_s) / usable_s, 1e-12);
  }
  // Limits in the request win over the catalog's.
  req.set_high(95);
  req.clear_low();
  req.set_low(5);
  ASSERT_TRUE(history_->ReadLimitStats(daemon_->Context("").get(), req, &resp).ok());
  for (const auto& in : resp.series(0).intervals()) {
    EXPECT_EQ(in.above().count() + in.below().count(), 0);
    EXPECT_EQ(in.pass_rate(), 1.0);
  }
}

// A manual correction (History.ModifySamples) is what the next read shows: the new value,
// marked manual and substituted, and the aggregates computed over it.
TEST_F(HistoryDaemonTest, ACorrectionIsVisibleToTheNextQuery) {
  v1::ModifySamplesRequest req;
  req.set_interval(v1::SAMPLE_INTERVAL_1S);
  req.set_why("meter replaced");
  v1::SampleEdit* edit = req.add_edits();
  edit->set_point_id(3);
  edit->set_ts_us(t0_ + 10 * kSecond);
  edit->set_value(5000);
  v1::ExecuteResponse resp;
  grpc::Status s = history_->ModifySamples(daemon_->Context("").get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();

  v1::ReadRawRequest raw;
  *raw.mutable_range() = Range({3}, 9, 12);
  v1::ReadRawResponse rows;
  ASSERT_TRUE(history_->ReadRaw(daemon_->Context("").get(), raw, &rows).ok());
  ASSERT_EQ(rows.points_size(), 1);
  ASSERT_EQ(rows.points(0).samples_size(), 3);
  const auto& corrected = rows.points(0).samples(1);
  EXPECT_EQ(corrected.ts_us(), t0_ + 10 * kSecond);
  EXPECT_EQ(corrected.value(), 5000);
  EXPECT_TRUE(corrected.manual());
  EXPECT_EQ(corrected.quality(), static_cast<uint32_t>(v1::QUALITY_SUBSTITUTED));
  EXPECT_EQ(rows.points(0).samples(0).value(), 9);
  EXPECT_FALSE(rows.points(0).samples(0).manual());

  // Substituted alone is Good: the corrected value counts in the first interval.
  auto agg = Aggregates(3, {v1::AGGREGATE_MAXIMUM, v1::AGGREGATE_AVERAGE});
  ASSERT_EQ(agg.series_size(), 2);
  EXPECT_EQ(agg.series(0).values(0).value(), 5000);
  EXPECT_EQ(agg.series(0).values(0).status(), v1::VALUE_STATUS_GOOD);
  EXPECT_DOUBLE_EQ(agg.series(1).values(0).value(), (449.5 * kQuarter - 10 + 5000) / kQuarter);
  EXPECT_EQ(agg.series(0).values(1).value(), 2 * kQuarter - 1);
}

TEST_F(HistoryDaemonTest, BadRequestsAreRefusedClearly) {
  v1::ReadAggregatesRequest req;
  *req.mutable_range() = Range({3, 99}, 0, kSeconds);
  req.set_step_us(kQuarter * kSecond);
  req.add_aggregates(v1::AGGREGATE_AVERAGE);
  v1::ReadAggregatesResponse resp;
  grpc::Status s = history_->ReadAggregates(daemon_->Context("").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("point 99 is not in the catalog"), std::string::npos) << s.error_message();

  *req.mutable_range() = Range({3}, 100, 100);
  s = history_->ReadAggregates(daemon_->Context("").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();

  // Step 0 over a century: refused before any row is read.
  *req.mutable_range() = Range({3}, 0, kSeconds);
  req.mutable_range()->set_start_us(0);
  req.mutable_range()->set_end_us(int64_t{100} * 365 * 86400 * kSecond);
  req.set_step_us(0);
  s = history_->ReadAggregates(daemon_->Context("").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("step"), std::string::npos) << s.error_message();
  // A step of one microsecond over the same range: too many intervals, named.
  req.set_step_us(1);
  s = history_->ReadAggregates(daemon_->Context("").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("intervals"), std::string::npos) << s.error_message();
}

// Every applier sleeps 10 s after each commit (fail point): a record committed while the
// active target's applier sleeps is acknowledged (durable in the journal) but not in the
// target. With include_pending a read sees it at once, marked pending; without, it does
// not; once the target catches up both reads agree and nothing is pending.
TEST(HistoryPendingTest, AcknowledgedSamplesAreReadBeforeTheTargetHasThem) {
  TempDir dir;
  Daemon daemon(dir, DaemonConfig::NoAuth());
  ASSERT_NO_FATAL_FAILURE(daemon.Start({{"SLUICE_FAILPOINTS", "applier.after_commit=sleep(10000)"}}));
  auto sampling = v1::Sampling::NewStub(daemon.channel());
  auto history = v1::History::NewStub(daemon.channel());
  v1::PutPointsRequest put;
  put.add_points()->set_id(5);
  put.mutable_points(0)->set_name("P5");
  v1::ExecuteResponse put_resp;
  grpc::Status s = sampling->PutPoints(daemon.Context("").get(), put, &put_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(put_resp.outcome(), v1::OUTCOME_APPLIED) << put_resp.DebugString();

  const int64_t t0 = (NowMicros() / (3600 * kSecond) - 2) * 3600 * kSecond;
  auto commit = [&](int first, int count) {
    v1::CommitRequest req;
    req.set_stream("samples");
    v1::SampleBatch* b = req.add_records()->mutable_samples();
    b->set_interval(v1::SAMPLE_INTERVAL_1S);
    for (int i = first; i < first + count; ++i) {
      b->add_point_id(5);
      b->add_ts_us(t0 + i * kSecond);
      b->add_value(i * 0.5);
      b->add_quality(0);
    }
    v1::CommitResponse resp;
    grpc::Status st = daemon.Commit(req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  };
  auto read = [&](bool pending) {
    v1::ReadRawRequest req;
    req.mutable_range()->add_point_ids(5);
    req.mutable_range()->set_interval(v1::SAMPLE_INTERVAL_1S);
    req.mutable_range()->set_start_us(t0);
    req.mutable_range()->set_end_us(t0 + 3600 * kSecond);
    req.mutable_range()->set_include_pending(pending);
    v1::ReadRawResponse resp;
    grpc::Status st = history->ReadRaw(daemon.Context("").get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<v1::HistorySample> out;
    for (const auto& p : resp.points()) out.insert(out.end(), p.samples().begin(), p.samples().end());
    return out;
  };

  ASSERT_NO_FATAL_FAILURE(commit(0, 100));
  // The first record reaches the active target; its applier then sleeps for 10 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (read(false).size() < 100u) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the first record never reached the target";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NO_FATAL_FAILURE(commit(100, 50));
  const auto with = read(true);
  const auto without = read(false);
  ASSERT_EQ(with.size(), 150u);
  for (int i = 0; i < 150; ++i) {
    EXPECT_EQ(with[i].ts_us(), t0 + i * kSecond) << i;
    EXPECT_EQ(with[i].value(), i * 0.5) << i;
    EXPECT_EQ(with[i].pending(), i >= 100) << i;
  }
  EXPECT_EQ(without.size(), 100u) << "the second record was applied within the applier's 10 s sleep";

  // Once the active target's sample applier wakes and applies the second record, both
  // reads agree. (Waiting for every applier instead would wait out every stream's 10 s
  // sleeps, near a minute.)
  ASSERT_TRUE(WaitFor([&] { return read(false).size() == 150u; }, std::chrono::seconds(300)));
  const auto caught_up = read(true);
  ASSERT_EQ(caught_up.size(), 150u);
  for (const auto& x : caught_up) EXPECT_FALSE(x.pending()) << x.ts_us();
  EXPECT_EQ(read(false).size(), 150u);
}

}  // namespace
}  // namespace sluice::testing
