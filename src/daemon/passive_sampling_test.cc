// Passive sampling in a real sluiced with SQLite targets: an application that samples by
// itself pushes whole cycles through Ingest.Commit, one samples record per interval; each
// cycle lands in its interval's table (sample_1s ... sample_1d) of every target and in no
// other, and a cycle pushed again (a corrected one) replaces its rows rather than adding
// to them. The points are defined passive, so the daemon's own sampler adds nothing and
// every table holds exactly what the test pushed.

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sampling/intervals.h"
#include "support/daemon.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {
namespace {

constexpr const char* kTargets[] = {"a", "b", "dr"};
constexpr int64_t kPoints = 3;

// The value the test pushes for `point` in the cycle of `interval`, round `round`.
double ValueOf(v1::SampleInterval interval, int64_t point, int round) {
  return static_cast<int>(interval) * 100.0 + static_cast<double>(point) + round * 0.25;
}

class PassiveSamplingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(dir_, DaemonConfig::NoAuth());
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
    sampling_ = v1::Sampling::NewStub(daemon_->channel());
  }

  // One cycle of every interval, at each interval's latest boundary before `now_us`.
  void PushCycles(int64_t now_us, int round, uint64_t sequence) {
    v1::CommitRequest req;
    req.set_stream("samples");
    req.set_client_id("passive-app");
    req.set_sequence(sequence);
    for (const sampling::IntervalInfo& info : sampling::AllIntervals()) {
      v1::SampleBatch* b = req.add_records()->mutable_samples();
      b->set_interval(info.interval);
      const int64_t ts = sampling::BoundaryAtOrBefore(info.interval, now_us, {});
      for (int64_t p = 1; p <= kPoints; ++p) {
        b->add_point_id(p);
        b->add_ts_us(ts);
        b->add_value(ValueOf(info.interval, p, round));
        b->add_quality(0);
      }
    }
    v1::CommitResponse resp;
    grpc::Status s = daemon_->Commit(req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.lsns_size(), static_cast<int>(sampling::AllIntervals().size()));
  }

  // Every sample table of every target holds exactly the pushed cycle of its interval.
  void ExpectTables(int64_t now_us, int round) {
    for (const char* t : kTargets) {
      for (const sampling::IntervalInfo& info : sampling::AllIntervals()) {
        const std::string table = fmt::format("sample_{}", info.name);
        SCOPED_TRACE(fmt::format("target {}, {}", t, table));
        auto rows = QueryRows(daemon_->db(t),
                              fmt::format("SELECT point_id, ts, value FROM {} ORDER BY point_id, ts",
                                          table));
        ASSERT_TRUE(rows.ok()) << rows.status().ToString();
        const int64_t ts = sampling::BoundaryAtOrBefore(info.interval, now_us, {});
        ASSERT_EQ(rows->size(), static_cast<size_t>(kPoints));
        for (int64_t p = 1; p <= kPoints; ++p) {
          const std::vector<std::string>& row = (*rows)[static_cast<size_t>(p - 1)];
          EXPECT_EQ(row[0], std::to_string(p));
          EXPECT_EQ(row[1], std::to_string(ts));
          // Quarter steps: exact in a double, whatever the text's form.
          EXPECT_EQ(std::stod(row[2]), ValueOf(info.interval, p, round)) << row[2];
        }
      }
    }
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Sampling::Stub> sampling_;
};

TEST_F(PassiveSamplingTest, PushedCyclesLandInTheirIntervalTablesAndReplaceOnRepush) {
  v1::PutPointsRequest put;
  for (int64_t p = 1; p <= kPoints; ++p) {
    v1::CatalogPoint* point = put.add_points();
    point->set_id(p);
    point->set_name(fmt::format("PASSIVE.{}", p));
  }
  v1::ExecuteResponse resp;
  ASSERT_TRUE(sampling_->PutPoints(daemon_->Context("").get(), put, &resp).ok());
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
  v1::DefineRequest define;
  for (int64_t p = 1; p <= kPoints; ++p) define.add_point_ids(p);
  for (const sampling::IntervalInfo& info : sampling::AllIntervals())
    define.add_intervals(info.interval);
  define.set_mode(v1::DEFINITION_MODE_PASSIVE);
  ASSERT_TRUE(sampling_->Define(daemon_->Context("").get(), define, &resp).ok());
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();

  const int64_t now_us = NowMicros();
  ASSERT_NO_FATAL_FAILURE(PushCycles(now_us, /*round=*/0, /*sequence=*/1));
  daemon_->WaitCaughtUp();
  ASSERT_NO_FATAL_FAILURE(ExpectTables(now_us, 0));

  // The same cycles corrected: same keys, new values; the rows are replaced, not added.
  ASSERT_NO_FATAL_FAILURE(PushCycles(now_us, /*round=*/1, /*sequence=*/2));
  daemon_->WaitCaughtUp();
  ASSERT_NO_FATAL_FAILURE(ExpectTables(now_us, 1));

  // The daemon's sampler samples none of them: passive definitions are only stored.
  v1::StatusResponse st;
  ASSERT_TRUE(daemon_->Admin(&st).ok());
  EXPECT_EQ(st.sampling().definitions(), static_cast<uint64_t>(kPoints * 10));
  EXPECT_EQ(st.sampling().active_definitions(), 0u) << st.sampling().DebugString();
}

}  // namespace
}  // namespace sluice::testing
