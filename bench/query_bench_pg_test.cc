// Tests of `sluice-bench query`'s pieces on a real PostgreSQL server: the generated data
// has what the cases need, and the hand-written SQL baseline answers exactly the same
// question as the history engines (fed the generated series in memory), so that the
// benchmark's ratio compares like with like; the comparison catches a difference.

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cmath>
#include <memory>
#include <set>
#include <vector>

#include "bench/query_bench_answers.h"
#include "bench/query_bench_data.h"
#include "bench/query_bench_library.h"
#include "bench/query_bench_sql.h"
#include "common/log.h"
#include "store/backend.h"
#include "support/pg_server.h"

namespace sluice::bench {
namespace {

using sluice::testing::PgServer;

constexpr int64_t kLoadedSeconds = 4 * 3600;  // one period of every point's sine
const std::vector<int64_t> kPoints = {1, 2, 3};

// Partition creation logs at info; keep test output to what matters.
const bool kQuietLogs = [] {
  log::Init("warn");
  return true;
}();

// The grids the baseline is checked on: the cases' own (whole 15 min intervals from the
// first sample), and one with a bound before, 1 min steps (excursions crossing interval
// boundaries) and a partial last interval.
std::vector<history::TimeGrid> Grids() {
  return {
      {.start_us = kQueryBenchDayUs,
       .end_us = kQueryBenchDayUs + kLoadedSeconds * kSecondUs,
       .step_us = 15 * 60 * kSecondUs},
      {.start_us = kQueryBenchDayUs + 3601 * kSecondUs,
       .end_us = kQueryBenchDayUs + (kLoadedSeconds - 7) * kSecondUs,
       .step_us = 60 * kSecondUs},
  };
}

class QueryBenchPgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PgServer::CreateAndStart();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value().release();
    ASSERT_TRUE(server_->CreateDatabase("bench").ok());
    const Status schema = CreateQueryBenchSchema(server_->ConnInfo("bench"));
    ASSERT_TRUE(schema.ok()) << schema.ToString();
    conn_ = PQconnectdb(server_->ConnInfo("bench").c_str());
    ASSERT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
    std::vector<BenchPoint> points;
    for (int64_t id : kPoints) points.push_back(MakeBenchPoint(id));
    Status s = LoadBenchPoints(conn_, points);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = LoadBenchSeries(conn_, points, 0, kLoadedSeconds);
    ASSERT_TRUE(s.ok()) << s.ToString();
    store::BackendOptions options;
    options.name = "bench";
    options.connection = server_->ConnInfo("bench");
    auto backend = store::NewBackend("postgres", options);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    s = (*backend)->Connect();
    ASSERT_TRUE(s.ok()) << s.ToString();
    backend_ = std::move(backend).value().release();
  }
  static void TearDownTestSuite() {
    delete backend_;
    backend_ = nullptr;
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(backend_, nullptr) << "the suite's server did not start";
  }

  static PgServer* server_;
  static PGconn* conn_;
  static store::Backend* backend_;
};
PgServer* QueryBenchPgTest::server_ = nullptr;
PGconn* QueryBenchPgTest::conn_ = nullptr;
store::Backend* QueryBenchPgTest::backend_ = nullptr;

TEST(QueryBenchDataTest, SeriesHasBadUncertainSubstitutedSamplesAndExcursionsBothWays) {
  for (int64_t id : {1, 50, 100}) {
    int64_t bad = 0, uncertain = 0, substituted = 0;
    for (int64_t s = 0; s < 86'400; ++s) {
      const history::RawSample sample = BenchSample(id, s);
      ASSERT_EQ(sample.ts_us, kQueryBenchDayUs + s * kSecondUs);
      ASSERT_TRUE(std::isfinite(sample.value));
      ASSERT_EQ(sample.value, BenchSample(id, s).value) << "deterministic";
      switch (history::ClassifyQuality(sample.quality)) {
        case history::Severity::kBad: ++bad; break;
        case history::Severity::kUncertain: ++uncertain; break;
        case history::Severity::kGood: substituted += sample.quality != 0; break;
      }
    }
    // A few, not many: realistic data is mostly good.
    EXPECT_GT(bad, 0) << id;
    EXPECT_GT(uncertain, 0) << id;
    EXPECT_GT(substituted, 0) << id;
    EXPECT_LT(bad + uncertain, 86'400 / 100) << id;

    const std::vector<int64_t> one = {id};
    auto limits = ReferenceLimits(one, {.start_us = kQueryBenchDayUs,
                                        .end_us = kQueryBenchDayUs + kDayUs,
                                        .step_us = 15 * 60 * kSecondUs});
    ASSERT_TRUE(limits.ok()) << limits.status().ToString();
    int64_t above = 0, below = 0, out_us = 0, usable_us = 0;
    for (const LimitRow& row : *limits) {
      above += row.interval.above.count;
      below += row.interval.below.count;
      out_us += row.interval.above.total_us + row.interval.below.total_us;
      usable_us += row.interval.usable_us;
    }
    EXPECT_GT(above, 0) << id;
    EXPECT_GT(below, 0) << id;
    // Excursions, but a point mostly within its limits.
    EXPECT_LT(out_us, usable_us / 5) << id;
  }
}

TEST_F(QueryBenchPgTest, BaselineRawIsTheLoadedSeries) {
  BaselineSql baseline(conn_);
  for (const history::TimeGrid& grid : Grids()) {
    // A fetch size that does not divide the rows: the last FETCH is short.
    auto raw = baseline.Raw(kPoints, grid.start_us, grid.end_us, 1'000);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_EQ(CompareRaw(*raw, ReferenceRaw(kPoints, grid)), "");
    for (const RawDigest& d : *raw) {
      EXPECT_EQ(d.rows, (grid.end_us - grid.start_us) / kSecondUs) << d.point_id;
    }
  }
}

TEST_F(QueryBenchPgTest, BaselineAggregatesAreTheEnginesAnswer) {
  BaselineSql baseline(conn_);
  for (const history::TimeGrid& grid : Grids()) {
    auto sql = baseline.Aggregates(kPoints, grid);
    ASSERT_TRUE(sql.ok()) << sql.status().ToString();
    auto reference = ReferenceAggregates(kPoints, grid);
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    EXPECT_EQ(CompareAgg(*sql, *reference), "");
    // Good and Uncertain intervals occur (and Bad ones where the outage covers a whole
    // interval), so the count based status is really compared.
    std::set<history::Severity> statuses;
    for (const AggRow& row : *reference) statuses.insert(row.average.status);
    EXPECT_TRUE(statuses.contains(history::Severity::kGood));
    EXPECT_TRUE(statuses.contains(history::Severity::kUncertain));
    EXPECT_EQ(reference->back().partial, (grid.end_us - grid.start_us) % grid.step_us != 0);
  }
}

TEST_F(QueryBenchPgTest, BaselineLimitStatisticsAreTheEnginesAnswer) {
  BaselineSql baseline(conn_);
  bool carried = false;
  for (const history::TimeGrid& grid : Grids()) {
    auto sql = baseline.Limits(kPoints, grid);
    ASSERT_TRUE(sql.ok()) << sql.status().ToString();
    auto reference = ReferenceLimits(kPoints, grid);
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    EXPECT_EQ(CompareLimits(*sql, *reference), "");
    for (const LimitRow& row : *reference) {
      for (const history::ExcursionStats* side : {&row.interval.above, &row.interval.below}) {
        carried |= side->longest_us > 0 && side->longest_start_us < row.interval.span.start_us;
      }
    }
  }
  // The hard part happens in this data: an interval whose longest stretch belongs to an
  // excursion that started in an earlier interval.
  EXPECT_TRUE(carried) << "no longest excursion crosses an interval boundary";
}

// The benchmark's side under test folds the library's responses into the same answers:
// equal to the engines' on every grid, so the bench's own same_answer check means what
// it says.
TEST_F(QueryBenchPgTest, LibraryAnswersAreTheEnginesAnswer) {
  LibraryReader library(backend_);
  for (const history::TimeGrid& grid : Grids()) {
    // Pages of 1,000 values over 3 points: pages end inside a point's rows.
    auto raw = library.Raw(kPoints, grid.start_us, grid.end_us, 1'000);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_EQ(CompareRaw(*raw, ReferenceRaw(kPoints, grid)), "");

    auto agg = library.Aggregates(kPoints, grid);
    ASSERT_TRUE(agg.ok()) << agg.status().ToString();
    auto agg_reference = ReferenceAggregates(kPoints, grid);
    ASSERT_TRUE(agg_reference.ok()) << agg_reference.status().ToString();
    EXPECT_EQ(CompareAgg(*agg, *agg_reference), "");

    auto limits = library.Limits(kPoints, grid);
    ASSERT_TRUE(limits.ok()) << limits.status().ToString();
    auto limits_reference = ReferenceLimits(kPoints, grid);
    ASSERT_TRUE(limits_reference.ok()) << limits_reference.status().ToString();
    EXPECT_EQ(CompareLimits(*limits, *limits_reference), "");
  }
}

TEST(QueryBenchAnswersTest, ComparisonNamesTheFirstDifference) {
  const std::vector<int64_t> points = {7};
  const history::TimeGrid grid{.start_us = kQueryBenchDayUs,
                               .end_us = kQueryBenchDayUs + 3600 * kSecondUs,
                               .step_us = 15 * 60 * kSecondUs};
  auto agg = ReferenceAggregates(points, grid);
  ASSERT_TRUE(agg.ok());
  std::vector<AggRow> changed = *agg;
  changed[2].count.value = *changed[2].count.value + 1;
  EXPECT_NE(CompareAgg(changed, *agg).find("Count"), std::string::npos);
  changed = *agg;
  changed[1].maximum.status = history::Severity::kBad;
  EXPECT_NE(CompareAgg(changed, *agg).find("Maximum status"), std::string::npos);

  auto limits = ReferenceLimits(points, grid);
  ASSERT_TRUE(limits.ok());
  std::vector<LimitRow> moved = *limits;
  moved[3].interval.usable_us -= 1;
  EXPECT_NE(CompareLimits(moved, *limits).find("usable_us"), std::string::npos);

  std::vector<RawDigest> raw = ReferenceRaw(points, grid);
  std::vector<RawDigest> shifted = raw;
  shifted[0].value_sum += 1e-9;
  EXPECT_NE(CompareRaw(shifted, raw), "");
}

}  // namespace
}  // namespace sluice::bench
