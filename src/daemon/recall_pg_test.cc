// Recall windows with PostgreSQL: a real sluiced with two PostgreSQL primaries and a
// SQLite replica, driven through the client library (PutPoints, PutRecalls, UpdatePoints,
// ListRecalls, TriggerRecall, DeleteRecalls): recall_define and an event's recall_sample
// rows are the same in every target, one row per point per tick of the window.

#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sluice/client.h"
#include "support/pg_replica_fixture.h"

namespace sluice::testing {
namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kS = 1'000'000;

class RecallPgTest : public PgReplicaFixture {
 protected:
  RecallPgTest() : PgReplicaFixture(SLUICED_PATH) {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Start("recall-pg"));
    client::ClientOptions o;
    o.addresses = {daemon_.address()};
    o.client_id = "recall-pg";
    auto c = client::Client::Open(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }

  std::unique_ptr<client::Client> client_;
};

TEST_F(RecallPgTest, EventRowsReachPostgresAndSqliteAlike) {
  v1::PutPointsRequest put;
  for (int64_t id : {1, 2}) {
    auto* p = put.add_points();
    p->set_id(id);
    p->set_name(fmt::format("P{}", id));
  }
  auto applied = client_->PutPoints(put);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ASSERT_EQ(applied->outcome(), v1::OUTCOME_APPLIED) << applied->DebugString();

  v1::PutRecallsRequest recalls;
  v1::CatalogRecall* def = recalls.add_recalls();
  def->set_id(7);
  def->set_name("pair");
  def->add_point_ids(1);
  def->add_point_ids(2);
  def->set_period_us(100 * kMs);
  def->set_before_us(500 * kMs);
  def->set_after_us(500 * kMs);
  applied = client_->PutRecalls(recalls);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ASSERT_EQ(applied->outcome(), v1::OUTCOME_APPLIED) << applied->DebugString();

  v1::PointUpdate upd;
  upd.add_point_id(1);
  upd.add_value(2.5);
  upd.add_point_id(2);
  upd.add_value(-4);
  auto fed = client_->UpdatePoints({upd});
  ASSERT_TRUE(fed.ok()) << fed.status().ToString();
  EXPECT_EQ(fed->updated(), 2u);

  // An event a second ahead: its whole window is sampled after the trigger.
  const uint64_t lost_before = Status().sampling().recall_lost();
  v1::TriggerRecallRequest trigger;
  trigger.set_recall_id(7);
  trigger.set_event_ts_us(NowMicros() / kMs * kMs + 1 * kS);
  auto event = client_->TriggerRecall(trigger);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  const int64_t event_ts = event->event_ts_us();
  EXPECT_EQ(event_ts, trigger.event_ts_us());
  EXPECT_EQ(event->rows_emitted(), 0u) << "nothing of the window is taken yet";

  auto list = client_->ListRecalls();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->recalls_size(), 1);
  EXPECT_EQ(list->recalls(0).name(), "pair");
  ASSERT_EQ(list->states_size(), 1);
  EXPECT_EQ(list->states(0).open_events(), 1u);

  const int64_t end = event_ts + def->after_us();
  ASSERT_TRUE(
      WaitFor([&] { return NowMicros() > end + def->period_us(); }, std::chrono::seconds(60)));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto l = client_->ListRecalls();
        return l.ok() && l->states_size() == 1 && l->states(0).open_events() == 0;
      },
      std::chrono::seconds(120)))
      << ReadFile(daemon_.log_path());
  ASSERT_TRUE(WaitCaughtUp());

  std::set<int64_t> ticks;
  for (int64_t t = (event_ts - def->before_us() + def->period_us() - 1) / def->period_us() *
                   def->period_us();
       t <= end; t += def->period_us()) {
    ticks.insert(t);
  }
  const uint64_t lost = Status().sampling().recall_lost() - lost_before;
  auto rows = Rows(fmt::format(
      "SELECT point_id, ts, value, quality FROM recall_sample WHERE event_ts = {} ORDER BY "
      "point_id, ts",
      event_ts));
  std::map<int64_t, std::set<int64_t>> points_at;
  for (const auto& r : rows[0]) {
    const int64_t ts = std::stoll(r[1]);
    EXPECT_TRUE(ticks.contains(ts)) << ts;
    points_at[ts].insert(std::stoll(r[0]));
    EXPECT_EQ(std::stod(r[2]), r[0] == "1" ? 2.5 : -4.0);
    // Good, or old data when the node was slow enough that the update aged past 3 s.
    EXPECT_EQ(std::stoll(r[3]) & ~int64_t{v1::QUALITY_OLD_DATA}, 0) << r[3];
  }
  for (const auto& [ts, pts] : points_at) EXPECT_EQ(pts.size(), 2u) << "tick " << ts;
  EXPECT_EQ(points_at.size() + lost, ticks.size()) << "lost " << lost;
  EXPECT_FALSE(points_at.empty());
  // PostgreSQL prints -4 and SQLite -4.0: values compared as numbers.
  for (size_t t = 1; t < rows.size(); ++t) {
    ASSERT_EQ(rows[t].size(), rows[0].size()) << "target " << t;
    for (size_t i = 0; i < rows[t].size(); ++i) {
      EXPECT_EQ(rows[t][i][0], rows[0][i][0]);
      EXPECT_EQ(rows[t][i][1], rows[0][i][1]);
      EXPECT_EQ(std::stod(rows[t][i][2]), std::stod(rows[0][i][2]));
      EXPECT_EQ(rows[t][i][3], rows[0][i][3]);
    }
  }
  auto defs = Rows(
      "SELECT recall_id, name, point_ids, period_us, before_us, after_us FROM "
      "recall_define");
  ASSERT_EQ(defs[0].size(), 1u);
  EXPECT_EQ(defs[0][0],
            (std::vector<std::string>{"7", "pair", "1,2", "100000", "500000", "500000"}));
  EXPECT_EQ(defs[1], defs[0]);
  EXPECT_EQ(defs[2], defs[0]);

  v1::DeleteRecallsRequest del;
  del.add_recall_ids(7);
  applied = client_->DeleteRecalls(del);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ASSERT_EQ(applied->outcome(), v1::OUTCOME_APPLIED) << applied->DebugString();
  ASSERT_TRUE(WaitCaughtUp());
  for (const auto& target : Rows("SELECT count(*) FROM recall_define"))
    EXPECT_EQ(target, (std::vector<std::vector<std::string>>{{"0"}}));
}

}  // namespace
}  // namespace sluice::testing
