// History.ModifySamples with PostgreSQL: a real sluiced with two PostgreSQL primaries and a
// SQLite replica, corrected through the client library. Every target holds the same
// corrected sample rows (manual, substituted bit), the same sample_edit_log rows (old and
// new value and quality, who, why) and the corrected recall rows; a sample inserted two
// days back gets its partition on PostgreSQL; a later sample from the feed does not
// overwrite a correction; a missing sample is refused with nothing journaled.

#include <optional>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sluice/client.h"
#include "support/pg_replica_fixture.h"

namespace sluice::testing {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;
constexpr int64_t kDayUs = 86'400'000'000;

class HistoryModifyPgTest : public PgReplicaFixture {
 protected:
  HistoryModifyPgTest() : PgReplicaFixture(SLUICED_PATH) {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Start("modify-pg"));
    client::ClientOptions o;
    o.addresses = {daemon_.address()};
    o.client_id = "modify-pg";
    auto c = client::Client::Open(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
    ingest_ = v1::Ingest::NewStub(channel_);
  }

  // 1 min samples (point, ts, value, quality) and point 1's recall rows at `recall_ts`.
  void Feed(const std::vector<std::tuple<int64_t, int64_t, double, uint32_t>>& samples,
            const std::vector<int64_t>& recall_ts = {}) {
    v1::CommitRequest req;
    req.set_stream("samples");
    auto* b = req.add_records()->mutable_samples();
    b->set_interval(v1::SAMPLE_INTERVAL_1MIN);
    for (const auto& [p, ts, v, q] : samples) {
      b->add_point_id(p);
      b->add_ts_us(ts);
      b->add_value(v);
      b->add_quality(q);
    }
    if (!recall_ts.empty()) {
      auto* rows = req.add_records()->mutable_recall();
      for (int64_t ts : recall_ts) {
        auto* r = rows->add_rows();
        r->set_point_id(1);
        r->set_event_ts_us(recall_ts.front());
        r->set_ts_us(ts);
        r->set_value(0.5);
        r->set_quality(0);
      }
    }
    v1::CommitResponse resp;
    grpc::Status s = ingest_->Commit(Ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_TRUE(WaitCaughtUp());
  }

  // The rows of `sql` in every target, which must agree; those of the first.
  std::vector<std::vector<std::string>> Same(const std::string& sql) {
    auto all = Rows(sql);
    for (size_t i = 1; i < all.size(); ++i) {
      EXPECT_EQ(all[i], all[0]) << "target " << i << " differs from pg-a: " << sql;
    }
    return all.empty() ? std::vector<std::vector<std::string>>{} : all[0];
  }

  uint64_t ModelHead() {
    const v1::StatusResponse st = Status();
    for (const auto& s : st.streams()) {
      if (s.name() == "model") return s.head_lsn();
    }
    ADD_FAILURE() << "no model stream";
    return 0;
  }

  std::unique_ptr<client::Client> client_;
  std::unique_ptr<v1::Ingest::Stub> ingest_;
};

TEST_F(HistoryModifyPgTest, CorrectionsAreTheSameInPostgresAndSqlite) {
  v1::PutPointsRequest put;
  for (int64_t id : {1, 2}) {
    auto* p = put.add_points();
    p->set_id(id);
    p->set_name(fmt::format("P{}", id));
  }
  auto applied = client_->PutPoints(put);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ASSERT_EQ(applied->outcome(), v1::OUTCOME_APPLIED) << applied->DebugString();

  const int64_t t0 = (NowMicros() - 3'600'000'000LL) / kMinuteUs * kMinuteUs;
  const int64_t t1 = t0 + kMinuteUs;
  const int64_t old_ts = t0 - 2 * kDayUs;  // no sample there: no partition yet
  ASSERT_NO_FATAL_FAILURE(
      Feed({{1, t0, 10.25, 0}, {1, t1, 11.5, 0}, {2, t0, 20.0, 16}, {2, t1, 21.75, 16}},
           {t0, t0 + 100'000}));

  v1::ModifySamplesRequest req;
  req.set_interval(v1::SAMPLE_INTERVAL_1MIN);
  req.set_why("transducer drift");
  req.set_correct_recall(true);
  req.set_insert_missing(true);
  auto edit = [&](int64_t p, int64_t ts, std::optional<double> v, std::optional<uint32_t> q) {
    auto* e = req.add_edits();
    e->set_point_id(p);
    e->set_ts_us(ts);
    if (v) e->set_value(*v);
    if (q) e->set_quality(*q);
  };
  edit(1, t0, 5.5, std::nullopt);
  edit(2, t1, std::nullopt, 2);
  edit(2, old_ts, 3.125, std::nullopt);
  auto done = client_->ModifySamples(req);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  ASSERT_EQ(done->outcome(), v1::OUTCOME_APPLIED) << done->DebugString();
  EXPECT_EQ(done->rows_affected(), 3);
  ASSERT_TRUE(WaitCaughtUp());

  // Values scaled to integers and manual as 0/1: the same text in every dialect.
  const std::string samples_sql =
      "SELECT point_id, ts, CAST(value * 1000 AS BIGINT), quality, CASE WHEN manual THEN 1 "
      "ELSE 0 END FROM sample_1min ORDER BY point_id, ts";
  const std::vector<std::vector<std::string>> samples = {
      {"1", std::to_string(t0), "5500", "4", "1"},
      {"1", std::to_string(t1), "11500", "0", "0"},
      {"2", std::to_string(old_ts), "3125", "4", "1"},
      {"2", std::to_string(t0), "20000", "16", "0"},
      {"2", std::to_string(t1), "21750", std::to_string(2 | 4), "1"},
  };
  EXPECT_EQ(Same(samples_sql), samples);
  const std::string null = PgServer::kNull;
  EXPECT_EQ(Same("SELECT point_id, ts, CAST(value * 1000 AS BIGINT), quality, who, why, "
                 "CAST(old_value * 1000 AS BIGINT), old_quality FROM sample_edit_log ORDER BY "
                 "point_id, ts"),
            (std::vector<std::vector<std::string>>{
                {"1", std::to_string(t0), "5500", "4", "anonymous", "transducer drift", "10250", "0"},
                {"2", std::to_string(old_ts), "3125", "4", "anonymous", "transducer drift", null, null},
                {"2", std::to_string(t1), "21750", "6", "anonymous", "transducer drift", "21750", "16"},
            }));
  EXPECT_EQ(Same("SELECT ts, CAST(value * 1000 AS BIGINT), quality FROM recall_sample ORDER BY ts"),
            (std::vector<std::vector<std::string>>{{std::to_string(t0), "5500", "4"},
                                                   {std::to_string(t0 + 100'000), "500", "0"}}));

  // The feed again at the corrected times: the corrections stay.
  ASSERT_NO_FATAL_FAILURE(Feed({{1, t0, 99.0, 0}, {2, t1, 99.0, 0}}));
  EXPECT_EQ(Same(samples_sql), samples);

  // A missing sample without insert_missing: refused by name, nothing journaled.
  const uint64_t head = ModelHead();
  v1::ModifySamplesRequest missing;
  missing.set_interval(v1::SAMPLE_INTERVAL_1MIN);
  missing.set_why("x");
  auto* e = missing.add_edits();
  e->set_point_id(1);
  e->set_ts_us(t0 + 5 * kMinuteUs);
  e->set_value(1);
  auto refused = client_->ModifySamples(missing);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kNotFound) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find(fmt::format("edits[0] (point 1, ts {})", t0 + 5 * kMinuteUs)),
            std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(ModelHead(), head);
}

}  // namespace
}  // namespace sluice::testing
