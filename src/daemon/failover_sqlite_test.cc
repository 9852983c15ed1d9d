// The service state with real sluiced processes and SQLite targets (two primaries a > b,
// one replica dr): the first start chooses the highest-priority primary; taking the active
// target out switches to the other; with both out the service is isolated (commits go on,
// synchronous calls are refused naming the state) and comes back when one returns; no
// automatic switch-back, not even through a restart; manual switchover and its
// refusals; every state change reaches every target's event_log; a damaged state file
// stops sluiced naming the file.

#include <gtest/gtest.h>

#include "daemon/daemon_test_util.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {
namespace {

class FailoverSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    d_ = std::make_unique<Daemon>(dir_, DaemonConfig::NoAuth());
    ASSERT_NO_FATAL_FAILURE(d_->Start());
    sql_ = v1::Sql::NewStub(grpc::CreateChannel(d_->address(), grpc::InsecureChannelCredentials()));
  }

  v1::StatusResponse Status() {
    v1::StatusResponse s;
    EXPECT_TRUE(d_->Admin(&s).ok());
    return s;
  }

  // Waits until the service is active; returns the active target ("" on timeout).
  std::string WaitActive(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    v1::StatusResponse s;
    WaitFor([&] { return d_->Admin(&s).ok() && s.state() == "active"; }, timeout);
    return s.state() == "active" ? s.active_target() : "";
  }

  grpc::Status SetEnabled(const std::string& target, bool enabled) {
    v1::SetTargetEnabledRequest req;
    req.set_target(target);
    req.set_enabled(enabled);
    v1::SetTargetEnabledResponse resp;
    auto ctx = d_->Context("");
    return d_->admin_stub().SetTargetEnabled(ctx.get(), req, &resp);
  }

  grpc::Status Switch(const std::string& target, std::string* message = nullptr) {
    v1::SwitchRequest req;
    req.set_target(target);
    v1::SwitchResponse resp;
    auto ctx = d_->Context("");
    grpc::Status s = d_->admin_stub().Switch(ctx.get(), req, &resp);
    if (message) *message = s.ok() ? resp.message() : s.error_message();
    return s;
  }

  // A synchronous write: inserts point `id`.
  grpc::Status Execute(int64_t id, v1::ExecuteResponse* out) {
    v1::ExecuteRequest req;
    req.mutable_statement()->set_text("INSERT INTO point (point_id, name, unit) VALUES ($1, $2, 'MW')");
    req.mutable_statement()->add_params()->set_int_value(id);
    req.mutable_statement()->add_params()->set_text_value(fmt::format("p-{}", id));
    auto ctx = d_->Context("");
    return sql_->Execute(ctx.get(), req, out);
  }

  void CommitSamples(int64_t first_point, int rows) {
    v1::CommitRequest c;
    c.set_stream("samples");
    *c.add_records() = SampleRecord(first_point, rows, NowMicros());
    v1::CommitResponse cr;
    ASSERT_TRUE(d_->Commit(c, &cr).ok());
  }

  TempDir dir_;
  std::unique_ptr<Daemon> d_;
  std::unique_ptr<v1::Sql::Stub> sql_;
};

TEST_F(FailoverSqliteTest, FirstStartChoosesTheHighestPriorityPrimaryAndRecordsIt) {
  EXPECT_EQ(WaitActive(), "a");
  v1::StatusResponse s = Status();
  for (const auto& t : s.targets()) {
    EXPECT_EQ(t.health(), "up") << t.name();
    EXPECT_EQ(t.active(), t.name() == "a") << t.name();
  }
  // The state file says so, and every target's event_log recorded the change.
  std::string state = ReadFile(dir_.Sub("data/state/cluster.json"));
  EXPECT_NE(state.find("\"active\": \"a\""), std::string::npos) << state;
  // The state event is journaled without waiting for it: it arrives shortly.
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_TRUE(WaitFor([&] {
      return CountRows(d_->db(t), "event_log", "kind = 'sluice.state' AND text LIKE 'active(a)%'") == 1;
    })) << t;
  }
  v1::ExecuteResponse r;
  ASSERT_TRUE(Execute(1, &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_APPLIED) << r.message();
  EXPECT_EQ(r.target(), "a");
}

TEST_F(FailoverSqliteTest, ActiveTargetTakenOutSwitchesAndNeverSwitchesBackByItself) {
  ASSERT_EQ(WaitActive(), "a");
  ASSERT_TRUE(SetEnabled("a", false).ok());
  EXPECT_EQ(WaitActive(), "b");
  v1::ExecuteResponse r;
  ASSERT_TRUE(Execute(1, &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_APPLIED) << r.message();
  EXPECT_EQ(r.target(), "b");

  // a comes back and catches up, but b stays active: no automatic switch-back.
  ASSERT_TRUE(SetEnabled("a", true).ok());
  d_->WaitCaughtUp();
  EXPECT_EQ(CountRows(d_->db("a"), "point"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(WaitActive(), "b");

  // Not through a restart either.
  EXPECT_EQ(d_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(d_->Start());
  EXPECT_EQ(WaitActive(), "b");
  ASSERT_TRUE(Execute(2, &r).ok());
  EXPECT_EQ(r.target(), "b");
  d_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_EQ(CountRows(d_->db(t), "point"), 2) << t;
    EXPECT_EQ(CountRows(d_->db(t), "event_log", "kind = 'sluice.state' AND text LIKE 'switching(a -> b)%'"), 1)
        << t;
  }
}

TEST_F(FailoverSqliteTest, BothPrimariesOutIsIsolatedAndCommitsGoOn) {
  ASSERT_EQ(WaitActive(), "a");
  ASSERT_TRUE(SetEnabled("a", false).ok());
  ASSERT_TRUE(SetEnabled("b", false).ok());
  v1::StatusResponse s;
  ASSERT_TRUE(WaitFor([&] { return d_->Admin(&s).ok() && s.state() == "isolated"; }));
  EXPECT_NE(s.state_reason().find("disabled"), std::string::npos) << s.state_reason();

  // Synchronous calls are refused, naming the state; nothing is journaled for them.
  uint64_t model_head = 0;
  for (const auto& st : s.streams()) {
    if (st.name() == "model") model_head = st.head_lsn();
  }
  v1::ExecuteResponse r;
  grpc::Status e = Execute(1, &r);
  EXPECT_EQ(e.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(e.error_message().find("service paused (isolated)"), std::string::npos) << e.error_message();
  ASSERT_TRUE(d_->Admin(&s).ok());
  for (const auto& st : s.streams()) {
    if (st.name() == "model") {
      EXPECT_EQ(st.head_lsn(), model_head);
    }
  }

  // Commits go on and the replica is fed.
  ASSERT_NO_FATAL_FAILURE(CommitSamples(1, 50));
  ASSERT_TRUE(WaitFor([&] { return CountRows(d_->db("dr"), "sample_1s") == 50; }));
  EXPECT_EQ(CountRows(d_->db("a"), "sample_1s"), 0);

  // The lower-priority primary returns first: it becomes active and catches up.
  ASSERT_TRUE(SetEnabled("b", true).ok());
  EXPECT_EQ(WaitActive(), "b");
  ASSERT_TRUE(SetEnabled("a", true).ok());
  d_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(d_->db(t), "sample_1s"), 50) << t;
  ASSERT_TRUE(Execute(1, &r).ok());
  EXPECT_EQ(r.target(), "b");
}

TEST_F(FailoverSqliteTest, ManualSwitchoverAndItsRefusals) {
  ASSERT_EQ(WaitActive(), "a");
  std::string msg;
  EXPECT_EQ(Switch("nope", &msg).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(msg.find("no target 'nope'"), std::string::npos) << msg;
  EXPECT_EQ(Switch("dr", &msg).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(msg.find("replica"), std::string::npos) << msg;
  EXPECT_TRUE(Switch("a", &msg).ok());
  EXPECT_NE(msg.find("active already"), std::string::npos) << msg;
  ASSERT_TRUE(SetEnabled("b", false).ok());
  EXPECT_EQ(Switch("b", &msg).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(msg.find("disabled"), std::string::npos) << msg;
  ASSERT_TRUE(SetEnabled("b", true).ok());

  // Back and forth, with synchronous writes in between: each lands exactly once everywhere.
  int64_t id = 0;
  for (const char* to : {"b", "a", "b"}) {
    v1::ExecuteResponse r;
    ASSERT_TRUE(Execute(++id, &r).ok());
    EXPECT_EQ(r.outcome(), v1::OUTCOME_APPLIED) << r.message();
    ASSERT_TRUE(WaitFor([&] { return Switch(to, &msg).ok(); })) << msg;
    EXPECT_EQ(WaitActive(), to);
  }
  d_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(d_->db(t), "point"), id) << t;
}

TEST_F(FailoverSqliteTest, DamagedStateFileStopsSluicedNamingIt) {
  ASSERT_EQ(WaitActive(), "a");
  EXPECT_EQ(d_->Stop(), 0);
  WriteFile(dir_.Sub("data/state/cluster.json"), "{\"format\": 1, \"state\": \"dancing\"}");
  RunResult r = RunCommand({SLUICED_PATH, "--config", d_->config_path()}, dir_.Sub("bad.log"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("cluster.json"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unknown state 'dancing'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sluice::testing
