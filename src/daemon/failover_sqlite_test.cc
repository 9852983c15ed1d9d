// The service state with real sluiced processes and SQLite targets (two primaries a > b,
// one replica dr): the first start chooses the highest-priority primary; taking the active
// target out switches to the other; with both out the service is isolated (commits go on,
// synchronous calls are refused naming the state) and comes back when one returns; no
// automatic switch-back, not even through a restart; manual switchover and its
// refusals; every state change reaches every target's event_log; a damaged state file
// stops sluiced naming the file.

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>

#include "support/daemon.h"

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
    sql_ = v1::Sql::NewStub(d_->channel());
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

  // A replicated SQL record on the sql stream (no caller waits for it).
  void CommitSql(const std::string& text) {
    v1::CommitRequest c;
    c.set_stream("sql");
    c.add_records()->mutable_sql()->set_text(text);
    v1::CommitResponse cr;
    ASSERT_TRUE(d_->Commit(c, &cr).ok());
  }

  // A synchronous write of `text`.
  grpc::Status ExecuteText(const std::string& text, v1::ExecuteResponse* out) {
    v1::ExecuteRequest req;
    req.mutable_statement()->set_text(text);
    auto ctx = d_->Context("");
    return sql_->Execute(ctx.get(), req, out);
  }

  // Runs `sql` on a target's SQLite file behind the service's back (an operator's mistake).
  static void ExecBehind(const std::string& db, const std::string& sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 10000);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(h);
  }

  // Why `target` cannot be active ("" when it can).
  std::string Ineligible(const std::string& target) {
    v1::StatusResponse s = Status();
    for (const auto& t : s.targets()) {
      if (t.name() == target) return t.ineligible();
    }
    return "(no such target)";
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

// Issue #9 item 12: a state change takes effect only once cluster.json says so. While the
// file cannot be replaced (here: a directory stands where its temporary goes, which fails
// the open even for root), the service must not make another target active: after a
// crash it would resume the old one without switch markers while the new one had decided
// writes. Once the file can be written again the switch goes through, and what the file
// says is what the service does.
TEST_F(FailoverSqliteTest, StateChangeWaitsUntilTheStateFileIsSaved) {
  ASSERT_EQ(WaitActive(), "a");
  const std::string tmp = dir_.Sub("data/state/cluster.json.tmp");
  ASSERT_TRUE(std::filesystem::create_directory(tmp));
  WriteFile(tmp + "/keep", "x");
  ASSERT_TRUE(SetEnabled("a", false).ok());
  // Give the controller time to try (it retries every few ms).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  v1::StatusResponse s = Status();
  EXPECT_NE(s.active_target(), "b") << s.state() << ": " << s.state_reason();
  EXPECT_NE(s.state(), "switching") << s.state_reason();
  EXPECT_NE(s.state_reason().find("cluster.json"), std::string::npos) << s.state_reason();
  std::string state = ReadFile(dir_.Sub("data/state/cluster.json"));
  EXPECT_NE(state.find("\"active\": \"a\""), std::string::npos) << state;
  // No synchronous write is decided by a target the state file does not name.
  v1::ExecuteResponse r;
  grpc::Status e = Execute(1, &r);
  EXPECT_FALSE(e.ok() && r.outcome() == v1::OUTCOME_APPLIED && r.target() == "b") << r.DebugString();

  std::filesystem::remove_all(tmp);
  EXPECT_TRUE(WaitFor([&] {
    v1::StatusResponse now = Status();
    return now.state() == "active" && now.active_target() == "b";
  }));
  state = ReadFile(dir_.Sub("data/state/cluster.json"));
  EXPECT_NE(state.find("\"active\": \"b\""), std::string::npos) << state;
  // State events are journaled durably before the change takes effect: the one that made
  // b active is in the journal once b is active.
  ASSERT_TRUE(Execute(2, &r).ok());
  EXPECT_EQ(r.outcome(), v1::OUTCOME_APPLIED) << r.message();
  EXPECT_EQ(r.target(), "b");
  d_->WaitCaughtUp();
  for (const char* t : {"b", "dr"}) {
    EXPECT_EQ(CountRows(d_->db(t), "event_log", "kind = 'sluice.state' AND text LIKE 'active(b)%'"), 1) << t;
  }
}

// Issue #9 item 11: the evidence of divergence survives a restart. A target that
// rejected what another applied stays diverged (it must not become active again), and a
// target that itself rejected a record does not count as having applied it (another
// target that rejects it later is not diverged).
TEST_F(FailoverSqliteTest, DivergenceSurvivesARestart) {
  ASSERT_EQ(WaitActive(), "a");
  ASSERT_NO_FATAL_FAILURE(CommitSql("CREATE TABLE t (id INTEGER)"));
  d_->WaitCaughtUp();
  ASSERT_NO_FATAL_FAILURE(ExecBehind(d_->db("b"), "DROP TABLE t"));
  ASSERT_NO_FATAL_FAILURE(CommitSql("INSERT INTO t VALUES (1)"));
  ASSERT_TRUE(WaitFor([&] { return Ineligible("b").find("diverged") != std::string::npos; })) << Ineligible("b");

  EXPECT_EQ(d_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(d_->Start());
  ASSERT_EQ(WaitActive(), "a");
  EXPECT_NE(Ineligible("b").find("diverged"), std::string::npos) << Ineligible("b");
  std::string msg;
  EXPECT_EQ(Switch("b", &msg).error_code(), grpc::StatusCode::FAILED_PRECONDITION) << msg;
  EXPECT_EQ(Ineligible("a"), "");
}

TEST_F(FailoverSqliteTest, OwnRejectionIsNotTakenForAnApplyAfterARestart) {
  ASSERT_EQ(WaitActive(), "a");
  ASSERT_TRUE(SetEnabled("b", false).ok());
  // Every target rejects it: a and dr now, b once it is back.
  ASSERT_NO_FATAL_FAILURE(CommitSql("INSERT INTO no_such_table VALUES (1)"));
  d_->WaitCaughtUp();
  EXPECT_EQ(d_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(d_->Start());
  ASSERT_EQ(WaitActive(), "a");
  ASSERT_TRUE(SetEnabled("b", true).ok());
  v1::StatusResponse s = d_->WaitCaughtUp();
  for (const auto& a : s.appliers()) {
    EXPECT_FALSE(a.diverged()) << a.target() << "/" << a.stream() << " " << a.last_error();
    if (a.stream() == "sql") {
      EXPECT_EQ(a.rejected(), a.target() == "b" ? 1u : 0u) << a.target();
    }
  }
  EXPECT_EQ(Ineligible("b"), "");
}

// Issue #9 item 10: a target that committed a synchronous write after it stopped deciding
// (an orphaned decision) while its successor rejected that write holds a row no other
// target holds: it is diverged, and says so.
TEST_F(FailoverSqliteTest, OrphanedDecisionThatDiffersIsDivergence) {
  ASSERT_EQ(WaitActive(), "a");
  v1::ExecuteResponse r;
  ASSERT_TRUE(ExecuteText("CREATE TABLE t (id INTEGER)", &r).ok());
  ASSERT_EQ(r.outcome(), v1::OUTCOME_APPLIED) << r.message();
  d_->WaitCaughtUp();
  ASSERT_NO_FATAL_FAILURE(ExecBehind(d_->db("b"), "DROP TABLE t"));
  // a's next decision is committed, then held up past the switchover's drain (2 s).
  EXPECT_EQ(d_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(d_->Start({{"SLUICE_FAILPOINTS", "applier.intent_applied_before_outcome=1*sleep(5000)"}}));
  ASSERT_EQ(WaitActive(), "a");
  const uint64_t model_head = d_->Heads()["model"];
  std::thread writer([&] {
    v1::ExecuteResponse w;
    (void)ExecuteText("INSERT INTO t VALUES (1)", &w);
  });
  ASSERT_TRUE(WaitFor([&] { return d_->Heads()["model"] > model_head; }));
  std::string msg;
  EXPECT_TRUE(Switch("b", &msg).ok()) << msg;
  writer.join();
  // b rejected the write (it has no table t); a had committed it all the same.
  EXPECT_TRUE(WaitFor([&] { return Ineligible("a").find("diverged") != std::string::npos; }))
      << Ineligible("a");
  EXPECT_EQ(CountRows(d_->db("a"), "t"), 1);
  EXPECT_EQ(Ineligible("b"), "");
}

// Issue #9 item 10: a manual switchover lets the old target decide the synchronous writes
// of calls already admitted, even when their intent is journaled only after the switch
// began (here the call is held up between being handed the active target and journaling
// its intent). Before, the drain looked only at what was durable when the switch began.
TEST_F(FailoverSqliteTest, ManualSwitchoverLetsTheOldTargetDecideCallsAlreadyAdmitted) {
  EXPECT_EQ(d_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(d_->Start({{"SLUICE_FAILPOINTS", "sync.after_wait_active=1*sleep(1000)"}}));
  ASSERT_EQ(WaitActive(), "a");
  v1::ExecuteResponse r;
  grpc::Status st;
  std::thread writer([&] { st = Execute(1, &r); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the call is admitted and held
  std::string msg;
  EXPECT_TRUE(Switch("b", &msg).ok()) << msg;
  writer.join();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.outcome(), v1::OUTCOME_APPLIED) << r.message();
  EXPECT_EQ(r.target(), "a") << "decided by the target that was active when the call was admitted";
  EXPECT_TRUE(WaitFor([&] {
    v1::StatusResponse now = Status();
    return now.state() == "active" && now.active_target() == "b";
  }));
  d_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(d_->db(t), "point"), 1) << t;
  EXPECT_EQ(Ineligible("a"), "");
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
