// Operator retries and the error log, the same on every backend: one parameterized test
// over a SQLite file and a real PostgreSQL server (tests/support/pg_server.h). A retry of
// a record below the watermark is an out-of-order operator action with its own
// idempotence key in the target; a blocked record applied in order later is resolved;
// whatever happens, a record is applied at most once and the operator is told the truth.

#include <sqlite3.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/failpoint.h"
#include "record/record_codec.h"
#include "replicate/replication_test_util.h"
#include "replicate/replicator.h"
#include "store/backend.h"
#include "store/prober.h"

namespace sluice::replicate::testing {
namespace {

using journal::Lsn;
using sluice::testing::PgServer;

class ApplierRetryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (dialect() == "postgres") {
      auto pg = PgServer::CreateAndStart();
      ASSERT_TRUE(pg.ok()) << pg.status().ToString();
      ASSERT_TRUE((*pg)->CreateDatabase("sluice").ok());
      pg_ = std::move(pg).value();
      target_ = TargetHandle{"t", "postgres", pg_->ConnInfo("sluice"), pg_.get(), "sluice"};
    } else {
      target_ = TargetHandle{"t", "sqlite", dir_.path() + "/t.db", nullptr, ""};
    }
    journal::JournalSetOptions jo;
    jo.data_dir = dir_.path() + "/data";
    jo.streams = {{"sql", 0}, {"model", 0}};
    jo.segment_bytes = 1 << 20;
    auto set = journal::JournalSet::Open(jo);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    journals_ = std::move(set).value();
  }

  void TearDown() override {
    replicator_.reset();
    failpoint::DisarmAll();
  }

  const std::string& dialect() const { return GetParam(); }

  void Start(OnError on_error, const OutcomeSink& sink = nullptr) {
    ReplicatorOptions o;
    o.node_id = "n1";
    o.data_dir = dir_.path() + "/data";
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(200);
    TargetSpec ts;
    ts.name = target_.name;
    ts.dialect = target_.dialect;
    ts.connection = target_.connection;
    o.targets.push_back(ts);
    o.streams = {StreamSpec{"sql", true, on_error, 0, 0}, StreamSpec{"model", true, OnError::kSkip, 0, 0}};
    auto r = Replicator::Create(journals_.get(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    replicator_ = std::move(r).value();
    if (sink) {
      replicator_->SetOutcomeSink("model", sink);
      replicator_->SetIntentDecider(target_.name);
    }
    replicator_->Start();
  }

  Lsn Append(const std::string& stream, const v1::Record& r) {
    auto lsn = journals_->stream(stream)->AppendDurable(record::kRecordV1, record::EncodeRecord(r));
    EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    return lsn.ok() ? *lsn : 0;
  }

  Lsn AppendSql(const std::string& text) {
    v1::Record r;
    r.set_version(++version_);
    r.mutable_sql()->set_text(text);
    return Append("sql", r);
  }

  // Runs `sql` on the target by hand, as an operator fixing the cause would.
  void OperatorExec(const std::string& sql) {
    if (pg_) {
      ASSERT_TRUE(pg_->Exec(sql, "sluice").ok()) << sql;
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(target_.connection.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 30000);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string why = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << why;
  }

  Applier* applier(const std::string& stream) { return replicator_->applier(target_.name, stream); }

  void WaitApplied(const std::string& stream, Lsn lsn) {
    Applier* a = applier(stream);
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(a->WaitApplied(lsn, std::chrono::seconds(120)))
        << stream << " stuck at " << a->status().applied_lsn << ": " << a->status().last_error;
  }

  void WaitBlocked(Lsn lsn) {
    Applier* a = applier("sql");
    for (int i = 0; i < 12000 && a->status().state != ApplierState::kBlocked; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(a->status().state, ApplierState::kBlocked) << a->status().last_error;
    ASSERT_EQ(a->status().blocked_lsn, lsn);
  }

  // The local error log's entry for `lsn` of stream sql.
  ErrorRecord Logged(Lsn lsn) {
    auto found = replicator_->error_log(target_.name)->Find(journal::EpochToHex(journals_->epoch()), "sql", lsn);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    return found.ok() ? *found : ErrorRecord{};
  }

  std::string Count(const std::string& table) { return target_.One("SELECT count(*) FROM " + table); }

  TempDir dir_;
  std::unique_ptr<PgServer> pg_;
  TargetHandle target_;
  std::unique_ptr<journal::JournalSet> journals_;
  std::unique_ptr<Replicator> replicator_;
  int64_t version_ = 0;
};

// Item 1 of issue 9: a skipped record, retried once its cause is fixed, is applied exactly
// once, out of its order, and a retry whose answer was lost (the target committed, the
// local log did not hear of it) is not applied again.
TEST_P(ApplierRetryTest, RetryOfARecordBelowTheWatermarkAppliesItExactlyOnce) {
  Start(OnError::kSkip);
  AppendSql("CREATE TABLE t (id BIGINT)");
  Lsn bad = AppendSql("INSERT INTO late (id) VALUES (1)");  // no such table yet
  Lsn after = AppendSql("INSERT INTO t (id) VALUES (2)");
  WaitApplied("sql", after);
  EXPECT_EQ(Count("t"), "1");
  EXPECT_EQ(Logged(bad).state, "open");
  EXPECT_EQ(target_.One(fmt::format("SELECT count(*) FROM sluice_error WHERE lsn = {}", bad)), "1");

  // A retry before the cause is fixed fails and leaves the entry open.
  EXPECT_FALSE(applier("sql")->Retry(bad).ok());
  EXPECT_EQ(Logged(bad).state, "open");

  OperatorExec("CREATE TABLE late (id BIGINT)");
  // The target commits the retry, then the local log is not told (a crash there).
  ASSERT_TRUE(failpoint::Arm("applier.retry_after_commit", "1*error").ok());
  Status first = applier("sql")->Retry(bad);
  failpoint::DisarmAll();
  Status second = applier("sql")->Retry(bad);
  EXPECT_TRUE(first.ok() || second.ok()) << "first: " << first.ToString() << "; second: " << second.ToString();
  // Whatever the answers, the record is there exactly once.
  EXPECT_EQ(Count("late"), "1") << "first: " << first.ToString() << "; second: " << second.ToString();
  EXPECT_EQ(Logged(bad).state, "retried");
  // A third retry is refused and changes nothing.
  Status third = applier("sql")->Retry(bad);
  EXPECT_EQ(third.code(), Code::kFailedPrecondition) << third.ToString();
  EXPECT_EQ(Count("late"), "1");
  // The order of the stream is untouched.
  EXPECT_EQ(target_.Watermark("sql"), after);
  EXPECT_EQ(Count("t"), "1");
}

// Item 1 (same root) and item 4 of issue 9: a blocked record reaches the target's
// sluice_error table; once its cause is fixed, a restart applies it in its order, which
// resolves its entry, and a later operator retry does not apply it a second time.
TEST_P(ApplierRetryTest, ABlockedRecordAppliedInOrderIsResolvedAndNeverAppliedTwice) {
  Start(OnError::kBlock);
  AppendSql("CREATE TABLE t (id BIGINT)");
  Lsn bad = AppendSql("INSERT INTO late (id) VALUES (1)");
  Lsn after = AppendSql("INSERT INTO t (id) VALUES (2)");
  WaitBlocked(bad);
  EXPECT_EQ(target_.One(fmt::format("SELECT count(*) FROM sluice_error WHERE lsn = {}", bad)), "1")
      << "the blocked record is not in the target's sluice_error table";
  EXPECT_EQ(Logged(bad).state, "open");

  // The operator fixes the cause; the node restarts before anyone retries.
  OperatorExec("CREATE TABLE late (id BIGINT)");
  replicator_.reset();
  Start(OnError::kBlock);
  WaitApplied("sql", after);
  EXPECT_EQ(Count("late"), "1");
  EXPECT_EQ(Count("t"), "1");
  EXPECT_NE(Logged(bad).state, "open") << "applied in order, still listed as open";

  Status again = applier("sql")->Retry(bad);
  EXPECT_FALSE(again.ok()) << "a retry of a record applied in order reported success";
  EXPECT_EQ(Count("late"), "1") << "the record was applied twice";
}

// Item 10 of issue 9 (the backend part): an intent that the deciding target finds already
// applied (its commit landed, its answer did not) has no known result; it must not be
// reported as applied with an empty result.
TEST_P(ApplierRetryTest, AnIntentFoundAlreadyAppliedHasNoKnownResult) {
  std::mutex mu;
  std::map<Lsn, IntentDecision> decisions;
  Start(OnError::kSkip, [&](const IntentDecision& d) {
    {
      std::lock_guard lk(mu);
      decisions[d.intent_lsn] = d;
    }
    v1::Record r;
    r.mutable_outcome()->set_intent_lsn(d.intent_lsn);
    r.mutable_outcome()->set_applied(d.applied);
    return journals_->stream("model")->AppendDurable(record::kRecordV1, record::EncodeRecord(r)).status();
  });
  v1::Record create;
  create.set_version(++version_);
  create.mutable_sql()->set_text("CREATE TABLE m (id BIGINT)");
  WaitApplied("model", Append("model", create));

  // The decider stops just before applying the intent; meanwhile the intent is committed
  // on the same key (as by an earlier attempt whose answer was lost).
  ASSERT_TRUE(failpoint::Arm("applier.before_apply_intent", "1*sleep(4000)").ok());
  v1::Record intent;
  intent.set_version(++version_);
  intent.mutable_intent()->set_kind(v1::SyncIntent::KIND_MODEL);
  intent.mutable_intent()->mutable_statement()->set_text("INSERT INTO m (id) VALUES (1)");
  Lsn lsn = Append("model", intent);
  {
    store::BackendOptions bo;
    bo.name = "t-by-hand";
    bo.connection = target_.connection;
    auto backend = store::NewBackend(dialect(), bo);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    ASSERT_TRUE((*backend)->Connect().ok());
    store::WatermarkKey key{"n1", journal::EpochToHex(journals_->epoch()), "model"};
    auto applied = (*backend)->ApplyIntent(key, store::ApplyItem{lsn, &intent}, 100);
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    ASSERT_EQ(applied->rows_affected, 1);
  }
  WaitApplied("model", lsn);
  for (int i = 0; i < 6000; ++i) {
    {
      std::lock_guard lk(mu);
      if (decisions.count(lsn)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard lk(mu);
  ASSERT_EQ(decisions.count(lsn), 1u);
  const IntentDecision& d = decisions[lsn];
  EXPECT_TRUE(d.applied);
  EXPECT_EQ(Count("m"), "1");
  // Either the result is unknown, or it is the true one (one row).
  EXPECT_TRUE(!d.result_known || d.result.rows_affected == 1)
      << "reported as known with rows_affected " << d.result.rows_affected;
}

INSTANTIATE_TEST_SUITE_P(Backends, ApplierRetryTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// PostgreSQL only: what a real server's sessions and settings can do.
class ApplierPgTest : public ApplierRetryTest {};

// Item 4 of issue 9: a discard of a blocked record whose connection broke meanwhile
// reconnects (the next attempt works) instead of using the dead connection until a
// restart.
TEST_P(ApplierPgTest, ADiscardAfterTheConnectionBrokeReconnects) {
  Start(OnError::kBlock);
  AppendSql("CREATE TABLE t (id BIGINT)");
  Lsn bad = AppendSql("INSERT INTO late (id) VALUES (1)");
  Lsn after = AppendSql("INSERT INTO t (id) VALUES (2)");
  WaitBlocked(bad);
  // The server ends the appliers' sessions (an administrator, a restarted pooler).
  ASSERT_TRUE(pg_->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name LIKE 'sluice t%'",
                        "sluice")
                  .ok());
  Status s;
  for (int attempt = 0; attempt < 5; ++attempt) {
    s = applier("sql")->Discard(bad);
    if (s.ok()) break;
    EXPECT_TRUE(s.retryable()) << s.ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(s.ok()) << "the discard never got through: " << s.ToString();
  WaitApplied("sql", after);
  EXPECT_EQ(Count("t"), "1");
  EXPECT_EQ(Logged(bad).state, "discarded");
}

// Item 9 of issue 9: a server that turned read-only (SQLSTATE 25006, e.g. a former primary
// after an external failover) cannot serve; it does not reject the records. Nothing goes
// to the error log, nothing is lost, and the health probe reports it as unable to serve.
TEST_P(ApplierPgTest, AReadOnlyTargetIsUnavailableNotRejecting) {
  Start(OnError::kSkip);
  Lsn create = AppendSql("CREATE TABLE t (id BIGINT)");
  WaitApplied("sql", create);
  ASSERT_TRUE(pg_->Exec("ALTER SYSTEM SET default_transaction_read_only = on").ok());
  ASSERT_TRUE(pg_->Exec("SELECT pg_reload_conf()").ok());
  // Every session has taken the new setting once a new one sees it and a moment passed.
  for (int i = 0; i < 500; ++i) {
    auto v = pg_->QueryValue("SHOW default_transaction_read_only", "sluice");
    if (v.ok() && *v == "on") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto prober = store::NewProber("postgres", "t", target_.connection);
  ASSERT_TRUE(prober.ok()) << prober.status().ToString();
  Status probe = (*prober)->Probe(std::chrono::seconds(30));
  EXPECT_FALSE(probe.ok()) << "a read-only server passes the health probe";
  EXPECT_NE(probe.message().find("read-only"), std::string::npos) << probe.ToString();

  constexpr int kRecords = 20;
  Lsn head = 0;
  for (int i = 0; i < kRecords; ++i) head = AppendSql(fmt::format("INSERT INTO t (id) VALUES ({})", i));
  // Give the applier time to try (and, before the fix, to reject every record).
  for (int i = 0; i < 300 && applier("sql")->status().last_error.find("read-only") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ApplierStatus st = applier("sql")->status();
  EXPECT_LT(st.applied_lsn, head);
  EXPECT_EQ(st.rejected, 0u);
  EXPECT_NE(st.last_error.find("read-only"), std::string::npos) << st.last_error;

  ASSERT_TRUE(pg_->Exec("ALTER SYSTEM RESET default_transaction_read_only").ok());
  ASSERT_TRUE(pg_->Exec("SELECT pg_reload_conf()").ok());
  WaitApplied("sql", head);
  EXPECT_EQ(Count("t"), std::to_string(kRecords)) << "records were lost while the target was read-only";
  auto errors = replicator_->error_log(target_.name)->List({});
  ASSERT_TRUE(errors.ok());
  EXPECT_TRUE(errors->empty());
  EXPECT_TRUE((*prober)->Probe(std::chrono::seconds(30)).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, ApplierPgTest, ::testing::Values("postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sluice::replicate::testing
