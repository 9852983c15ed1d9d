// Replication into real databases: two PostgreSQL servers (started by the test on Unix
// sockets) and one SQLite file. Every check compares a target with rows the test
// computes itself (test_workload.h), never only targets with each other.

#include <thread>

#include <gtest/gtest.h>

#include "record/record_codec.h"
#include "replicate/replication_test_util.h"
#include "replicate/replicator.h"

namespace sluice::replicate::testing {
namespace {

using journal::Lsn;
using sluice::testing::PgServer;
using sluice::testing::StartPgServers;

class ReplicationPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = StartPgServers(2);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg).value();
    targets_ = PgPairAndLite(pg_, dir_.path());
    OpenJournal();
  }

  void OpenJournal() {
    journal::JournalSetOptions jo;
    jo.data_dir = dir_.path() + "/data";
    jo.streams = {{"samples", 0}, {"sql", 0}, {"model", 0}};
    jo.segment_bytes = 8 << 20;
    auto set = journal::JournalSet::Open(jo);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    journals_ = std::move(set).value();
    journaler_ = std::make_unique<Journaler>(journals_.get());
  }

  // Starts appliers for `names` (all targets when empty) on `streams`.
  void Start(std::vector<std::string> names = {}, std::vector<std::string> streams = {"samples", "sql", "model"},
             OnError on_error = OnError::kSkip) {
    ReplicatorOptions o;
    o.node_id = "node-1";
    o.data_dir = dir_.path() + "/data";
    o.backoff_initial = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(500);
    for (const auto& t : targets_) {
      if (!names.empty() && std::find(names.begin(), names.end(), t.name) == names.end()) continue;
      TargetSpec ts;
      ts.name = t.name;
      ts.dialect = t.dialect;
      ts.connection = t.connection;
      o.targets.push_back(ts);
    }
    for (const auto& s : streams) o.streams.push_back(StreamSpec{s, s != "samples", on_error, 0, 0});
    auto r = Replicator::Create(journals_.get(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    replicator_ = std::move(r).value();
    replicator_->Start();
  }

  Lsn Admit(const std::string& stream, v1::Record r) {
    auto lsn = journaler_->Admit(stream, std::move(r));
    EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    return lsn.ok() ? *lsn : 0;
  }

  void WaitCaughtUp() {
    ASSERT_TRUE(replicator_->WaitCaughtUp(std::chrono::minutes(10))) << StatusText();
  }

  std::string StatusText() {
    std::string out;
    for (const auto& s : replicator_->Status()) {
      out += fmt::format("\n  {} / {}: {} at {} {}", s.target, s.stream, ApplierStateName(s.state),
                         s.applied_lsn, s.last_error);
    }
    return out;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<PgServer>> pg_;
  std::vector<TargetHandle> targets_;
  std::unique_ptr<journal::JournalSet> journals_;
  std::unique_ptr<Journaler> journaler_;
  std::unique_ptr<Replicator> replicator_;
};

TEST_F(ReplicationPgTest, AMillionSamplesAndTenThousandOrderedSqlRecordsLandExactlyEverywhere) {
  Workload w;
  w.points = 1000;
  w.batches = 1000;
  w.updates = 10000 - 1 - kCounters;
  Start();
  std::thread samples([&] {
    for (int b = 0; b < w.batches; ++b) Admit("samples", w.SampleBatch(b));
  });
  for (auto& r : w.SqlRecords()) Admit("sql", std::move(r));
  samples.join();
  WaitCaughtUp();
  for (const auto& t : targets_) {
    ExpectSamples(t, w, w.batches);
    ExpectCounters(t, w, w.sql_records());
    EXPECT_EQ(t.Watermark("samples"), journals_->stream("samples")->durable_lsn()) << t.name;
    EXPECT_EQ(t.Watermark("sql"), journals_->stream("sql")->durable_lsn()) << t.name;
    EXPECT_EQ(t.One("SELECT count(*) FROM sluice_error"), "0") << t.name;
  }
}

TEST_F(ReplicationPgTest, TargetsThatWereDownCatchUpExactly) {
  Workload w;
  w.points = 500;
  w.batches = 200;
  w.updates = 2000;
  // pg-b is down for the whole load.
  ASSERT_TRUE(pg_[1]->Stop(/*immediate=*/true).ok());
  Start();
  auto sql = w.SqlRecords();
  size_t half = sql.size() / 2;
  for (size_t i = 0; i < half; ++i) Admit("sql", sql[i]);
  for (int b = 0; b < w.batches / 2; ++b) Admit("samples", w.SampleBatch(b));
  // pg-a goes down mid-stream, crash-like.
  ASSERT_TRUE(pg_[0]->Stop(/*immediate=*/true).ok());
  for (size_t i = half; i < sql.size(); ++i) Admit("sql", sql[i]);
  for (int b = w.batches / 2; b < w.batches; ++b) Admit("samples", w.SampleBatch(b));
  // The SQLite target keeps up meanwhile.
  ASSERT_TRUE(replicator_->applier("lite", "sql")->WaitApplied(journals_->stream("sql")->durable_lsn(),
                                                                 std::chrono::minutes(5)));
  EXPECT_NE(replicator_->applier("pg-a", "sql")->status().state, ApplierState::kRunning);
  ASSERT_TRUE(pg_[0]->Start().ok());
  ASSERT_TRUE(pg_[1]->Start().ok());
  WaitCaughtUp();
  for (const auto& t : targets_) {
    ExpectSamples(t, w, w.batches);
    ExpectCounters(t, w, w.sql_records());
  }
}

TEST_F(ReplicationPgTest, ASampleAndItsCorrectionConvergeWhateverTheOrder) {
  v1::Record sample;
  auto* s = sample.mutable_samples();
  s->set_interval(v1::SAMPLE_INTERVAL_5MIN);
  s->add_point_id(42);
  s->add_ts_us(kT0);
  s->add_value(10.5);
  s->add_quality(0);
  v1::Record correction;
  auto* c = correction.mutable_correction();
  c->set_interval(v1::SAMPLE_INTERVAL_5MIN);
  c->set_point_id(42);
  c->set_ts_us(kT0);
  c->set_value(11.25);
  c->set_quality(4);
  c->set_manual(true);
  c->set_who("operator");
  c->set_why("meter replaced");
  Admit("samples", sample);
  Admit("model", correction);
  // A newer sample for the same point and time must not undo the manual correction.
  sample.mutable_samples()->set_value(0, 12.5);
  Admit("samples", sample);

  // pg-a applies samples first, then the correction; pg-b and lite the other way round.
  Start({"pg-a"}, {"samples"});
  WaitCaughtUp();
  Start({"pg-b", "lite"}, {"model"});
  WaitCaughtUp();
  EXPECT_EQ(targets_[1].One("SELECT value FROM sample_5min WHERE point_id = 42"), "11.25");
  Start({}, {"samples", "model"});
  WaitCaughtUp();
  for (const auto& t : targets_) {
    Rows rows = t.Query("SELECT point_id, ts, value, quality FROM sample_5min");
    ASSERT_EQ(rows.size(), 1u) << t.name;
    EXPECT_EQ(rows[0], (std::vector<std::string>{"42", std::to_string(kT0), "11.25", "4"})) << t.name;
    EXPECT_EQ(t.One("SELECT count(*) FROM sample_edit_log"), "1") << t.name;
  }
}

TEST_F(ReplicationPgTest, LateSamplesIntoAMissingPartitionLandWithoutAnError) {
  Start();
  v1::Record late;
  auto* s = late.mutable_samples();
  s->set_interval(v1::SAMPLE_INTERVAL_1H);
  for (int i = 0; i < 3; ++i) {
    s->add_point_id(1);
    s->add_ts_us(978'307'200'000'000 + int64_t{i} * 3'600'000'000);  // 2001-01-01, three hours
    s->add_value(i + 0.5);
    s->add_quality(0);
  }
  Admit("samples", late);
  v1::Record now = late;
  now.mutable_samples()->set_ts_us(0, kT0);
  now.mutable_samples()->set_ts_us(1, kT0 + 3'600'000'000);
  now.mutable_samples()->set_ts_us(2, kT0 + 200LL * 86'400'000'000);  // months later
  Admit("samples", now);
  WaitCaughtUp();
  for (const auto& t : targets_) {
    EXPECT_EQ(t.One("SELECT count(*) FROM sample_1h"), "6") << t.name;
    EXPECT_EQ(t.One("SELECT count(*) FROM sluice_error"), "0") << t.name;
  }
  auto errors = ListErrors(FileSystem::Default(), dir_.path() + "/data", {});
  ASSERT_TRUE(errors.ok());
  EXPECT_TRUE(errors->empty());
}

v1::Record Sql(const std::string& text, std::vector<v1::SqlValue> params = {}) {
  v1::Record r;
  r.mutable_sql()->set_text(text);
  for (auto& p : params) *r.mutable_sql()->add_params() = p;
  return r;
}

v1::SqlValue Text(const std::string& s) {
  v1::SqlValue v;
  v.set_text_value(s);
  return v;
}

TEST_F(ReplicationPgTest, PoisonRecordsGoToTheErrorLogWithTheTargetsMessage) {
  Start({"pg-a"}, {"sql"});
  Admit("sql", Sql("CREATE TABLE station (id BIGINT PRIMARY KEY, code VARCHAR(5) NOT NULL, level BIGINT)"));
  Admit("sql", Sql("INSERT INTO station (id, code) VALUES (1, 'A1')"));
  Lsn syntax = Admit("sql", Sql("INSERT INTO station (id, code) VALUS (2, 'B2')"));
  Lsn unique = Admit("sql", Sql("INSERT INTO station (id, code) VALUES (1, 'C3')"));
  Lsn type = Admit("sql", Sql("INSERT INTO station (id, code, level) VALUES (3, 'D4', $1)", {Text("high")}));
  Lsn oversized = Admit("sql", Sql("INSERT INTO station (id, code) VALUES (4, $1)", {Text("far too long")}));
  Admit("sql", Sql("INSERT INTO station (id, code) VALUES (5, 'E5')"));
  WaitCaughtUp();
  const TargetHandle& a = targets_[0];
  EXPECT_EQ(a.One("SELECT string_agg(id::text, ',' ORDER BY id) FROM station"), "1,5");
  auto errors = replicator_->error_log("pg-a")->List({});
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 4u);
  std::map<Lsn, std::string> by_lsn;
  for (const auto& e : *errors) by_lsn[e.lsn] = e.message;
  EXPECT_NE(by_lsn[syntax].find("syntax error"), std::string::npos) << by_lsn[syntax];
  EXPECT_NE(by_lsn[unique].find("duplicate key"), std::string::npos) << by_lsn[unique];
  EXPECT_NE(by_lsn[type].find("invalid input syntax"), std::string::npos) << by_lsn[type];
  EXPECT_NE(by_lsn[oversized].find("too long"), std::string::npos) << by_lsn[oversized];
  EXPECT_EQ(a.One("SELECT count(*) FROM sluice_error"), "4");
}

TEST_F(ReplicationPgTest, BlockStopsTheStreamAndRetryAppliesOnceOnThatTargetOnly) {
  Start({"pg-a", "pg-b"}, {"sql"}, OnError::kBlock);
  Admit("sql", Sql("CREATE TABLE reading (id BIGINT PRIMARY KEY, v BIGINT)"));
  Lsn bad = Admit("sql", Sql("INSERT INTO reading (id, v) VALUES (1, 10)"));
  Lsn after = Admit("sql", Sql("INSERT INTO reading (id, v) VALUES (2, 20)"));
  // Both targets hold the table before the replicator stops (a stop cuts a target's
  // setup short, and the edit below needs the table on pg-a).
  ASSERT_TRUE(replicator_->applier("pg-a", "sql")->WaitApplied(after, std::chrono::minutes(5)));
  ASSERT_TRUE(replicator_->applier("pg-b", "sql")->WaitApplied(after, std::chrono::minutes(5)));
  // On pg-a the table already holds id 1 (put there by hand), so the insert fails.
  replicator_.reset();
  ASSERT_TRUE(pg_[0]->Exec("DELETE FROM reading; INSERT INTO reading VALUES (1, 99); "
                           "UPDATE sluice_watermark SET lsn = 1 WHERE stream = 'sql'", "sluice").ok());
  Start({"pg-a", "pg-b"}, {"sql"}, OnError::kBlock);
  Applier* a = replicator_->applier("pg-a", "sql");
  for (int i = 0; i < 60000 && a->status().state != ApplierState::kBlocked; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(a->status().state, ApplierState::kBlocked) << StatusText();
  EXPECT_EQ(a->status().blocked_lsn, bad);
  EXPECT_NE(a->status().last_error.find("duplicate key"), std::string::npos) << a->status().last_error;
  EXPECT_FALSE(a->WaitApplied(after, std::chrono::milliseconds(500)));
  EXPECT_EQ(targets_[0].One("SELECT count(*) FROM reading"), "1");
  EXPECT_TRUE(a->status().diverged) << "pg-a rejected what pg-b applied";
  // The operator removes the conflicting row and retries: applied once, stream resumes.
  ASSERT_TRUE(pg_[0]->Exec("DELETE FROM reading WHERE id = 1", "sluice").ok());
  Status s = a->Retry(bad);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(a->WaitApplied(after, std::chrono::minutes(5))) << StatusText();
  EXPECT_FALSE(a->status().diverged) << "applied after all: same rows as pg-b again";
  EXPECT_EQ(targets_[0].One("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM reading"), "1:10,2:20");
  // pg-b was never touched by the retry.
  EXPECT_EQ(targets_[1].One("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM reading"), "1:10,2:20");
  EXPECT_EQ(targets_[1].One("SELECT count(*) FROM sluice_error"), "0");
}

}  // namespace
}  // namespace sluice::replicate::testing
