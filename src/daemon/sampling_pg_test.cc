// Sampling with PostgreSQL: a real sluiced with two PostgreSQL primaries and a SQLite
// replica; points and definitions written through the Sampling service land in `point`
// and `sample_define` of every target (the catalog's SQL is one text for both dialects),
// and UpdatePoints + a 1 s definition give the same sample_1s rows everywhere.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/pg_replica_fixture.h"

namespace sluice::testing {
namespace {

class SamplingPgTest : public PgReplicaFixture {
 protected:
  SamplingPgTest() : PgReplicaFixture(SLUICED_PATH) {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Start("sampling-pg"));
  }
};

TEST_F(SamplingPgTest, CatalogAndSamplesReachPostgresAndSqliteAlike) {
  v1::PutPointsRequest put;
  for (int64_t id : {1, 2}) {
    auto* p = put.add_points();
    p->set_id(id);
    p->set_name(fmt::format("P{}", id));
    p->set_kind(id == 2 ? 1 : 0);
    if (id == 1) {
      p->set_lo(-5);
      p->set_hi(5);
    }
  }
  v1::ExecuteResponse resp;
  ASSERT_TRUE(sampling_->PutPoints(Ctx().get(), put, &resp).ok());
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
  v1::DefineRequest define;
  define.add_point_ids(1);
  define.add_point_ids(2);
  define.add_intervals(v1::SAMPLE_INTERVAL_1S);
  ASSERT_TRUE(sampling_->Define(Ctx().get(), define, &resp).ok());
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();

  v1::UpdatePointsResponse upd;
  {
    auto ctx = Ctx();
    auto writer = sampling_->UpdatePoints(ctx.get(), &upd);
    v1::PointUpdate msg;
    msg.add_point_id(1);
    msg.add_value(2.5);
    msg.add_point_id(2);
    msg.add_value(1);
    ASSERT_TRUE(writer->Write(msg));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  EXPECT_EQ(upd.updated(), 2u);
  const int64_t after = NowMicros() + 1'000'000;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& rows :
             Rows(fmt::format("SELECT count(*) FROM sample_1s WHERE ts > {}", after + 2'000'000))) {
          if (rows.empty() || rows[0][0] == "0") return false;
        }
        return true;
      },
      std::chrono::seconds(120)))
      << ReadFile(daemon_.log_path());
  // Every target holds a row after `after` + 2 s, so every boundary up to the first one
  // after that (one record each, applied in order).
  const int64_t cutoff = (after + 2'000'000) / 1'000'000 * 1'000'000 + 1'000'000;
  ASSERT_TRUE(WaitCaughtUp());

  auto points =
      Rows("SELECT point_id, name, kind, lower_limit, upper_limit FROM point ORDER BY point_id");
  ASSERT_EQ(points[0].size(), 2u);
  EXPECT_EQ(points[0][0][1], "P1");
  EXPECT_EQ(points[0][1][2], "1");
  EXPECT_EQ(std::stod(points[0][0][3]), -5);
  // PostgreSQL prints 5 and SQLite 5.0: the values compared as numbers.
  for (const auto& target : points) {
    ASSERT_EQ(target.size(), 2u);
    EXPECT_EQ(std::stod(target[0][4]), 5);
    EXPECT_EQ(target[1][3], PgServer::kNull);  // not set
  }
  auto defs = Rows("SELECT point_id, sample_interval, mode FROM sample_define ORDER BY point_id");
  EXPECT_EQ(defs[0], defs[1]);
  EXPECT_EQ(defs[0], defs[2]);
  EXPECT_EQ(defs[0].size(), 2u);

  auto samples =
      Rows(fmt::format("SELECT point_id, ts, value FROM sample_1s WHERE ts > {} AND ts <= {} "
                       "ORDER BY point_id, ts",
                       after, cutoff));
  ASSERT_FALSE(samples[0].empty());
  for (size_t t = 0; t < samples.size(); ++t) {
    ASSERT_EQ(samples[t].size(), samples[0].size()) << "target " << t;
    for (size_t i = 0; i < samples[t].size(); ++i) {
      const auto& r = samples[t][i];
      EXPECT_EQ(r[1], samples[0][i][1]);
      EXPECT_EQ(std::stoll(r[1]) % 1'000'000, 0);
      EXPECT_EQ(std::stod(r[2]), r[0] == "1" ? 2.5 : 1.0);
    }
  }
}

}  // namespace
}  // namespace sluice::testing
