// Honest answers for synchronous writes: the active target applies an intent and then
// stalls (or crashes) before its outcome is journaled (fail point
// applier.intent_applied_before_outcome, armed in the sluiced child). The caller gets
// OUTCOME_UNKNOWN with the LSN (or a lost connection), GetOutcome later says APPLIED,
// and every target holds the row exactly once.

#include <gtest/gtest.h>
#include <fmt/format.h>

#include "support/daemon.h"

namespace sluice::testing {
namespace {

class SyncOutcomeTest : public ::testing::Test {
 protected:
  void Start(const std::map<std::string, std::string>& env = {}) {
    if (!daemon_) daemon_ = std::make_unique<Daemon>(dir_, DaemonConfig::NoAuth());
    ASSERT_NO_FATAL_FAILURE(daemon_->Start(env));
    sql_ = v1::Sql::NewStub(daemon_->channel());
  }

  grpc::Status Execute(const v1::ExecuteRequest& req, v1::ExecuteResponse* out) {
    auto ctx = daemon_->Context("");
    return sql_->Execute(ctx.get(), req, out);
  }
  grpc::Status GetOutcome(uint64_t lsn, v1::ExecuteResponse* out) {
    v1::GetOutcomeRequest req;
    req.set_lsn(lsn);
    auto ctx = daemon_->Context("");
    return sql_->GetOutcome(ctx.get(), req, out);
  }

  uint64_t ModelHead() { return daemon_->HeadLsn("model"); }

  static v1::ExecuteRequest Insert(int64_t id) {
    v1::ExecuteRequest r;
    r.mutable_statement()->set_text("INSERT INTO point (point_id, name) VALUES ($1, $2)");
    r.mutable_statement()->add_params()->set_int_value(id);
    r.mutable_statement()->add_params()->set_text_value("sync");
    return r;
  }

  void ExpectOnceEverywhere(int64_t id) {
    for (const char* t : {"a", "b", "dr"}) {
      EXPECT_EQ(CountRows(daemon_->db(t), "point", fmt::format("point_id = {}", id)), 1) << t;
      EXPECT_EQ(CountRows(daemon_->db(t), "point"), 1) << t;
    }
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Sql::Stub> sql_;
};

TEST_F(SyncOutcomeTest, StallAfterApplyGivesUnknownThenApplied) {
  ASSERT_NO_FATAL_FAILURE(
      Start({{"SLUICE_FAILPOINTS", "applier.intent_applied_before_outcome=1*sleep(15000)"}}));
  auto started = std::chrono::steady_clock::now();
  v1::ExecuteResponse r;
  grpc::Status s = Execute(Insert(7), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.outcome(), v1::OUTCOME_UNKNOWN) << r.DebugString();
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(9));
  ASSERT_GT(r.lsn(), 0u);
  uint64_t lsn = r.lsn();

  v1::ExecuteResponse o;
  bool applied = WaitFor(
      [&] { return GetOutcome(lsn, &o).ok() && o.outcome() == v1::OUTCOME_APPLIED; },
      std::chrono::seconds(60));
  EXPECT_TRUE(applied) << o.DebugString();
  EXPECT_EQ(o.rows_affected(), 1);
  daemon_->WaitCaughtUp();
  ExpectOnceEverywhere(7);
}

TEST_F(SyncOutcomeTest, CrashAfterApplyIsJournaledAsAppliedOnRestart) {
  ASSERT_NO_FATAL_FAILURE(
      Start({{"SLUICE_FAILPOINTS", "applier.intent_applied_before_outcome=1*crash"}}));
  uint64_t intent_lsn = ModelHead() + 1;
  v1::ExecuteResponse r;
  grpc::Status s = Execute(Insert(9), &r);
  EXPECT_FALSE(s.ok()) << r.DebugString();
  EXPECT_NE(daemon_->process()->Wait(std::chrono::seconds(30)), 0);

  ASSERT_NO_FATAL_FAILURE(Start());
  daemon_->WaitCaughtUp();
  ExpectOnceEverywhere(9);
  v1::ExecuteResponse o;
  ASSERT_TRUE(GetOutcome(intent_lsn, &o).ok());
  EXPECT_EQ(o.outcome(), v1::OUTCOME_APPLIED) << o.DebugString();
  EXPECT_NE(ReadFile(daemon_->log()).find("journaling it as applied"), std::string::npos);
}

}  // namespace
}  // namespace sluice::testing
