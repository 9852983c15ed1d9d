// Failover with real PostgreSQL servers, continued (failover_pg_test.cc explains the load
// and the checks): both primaries down (isolated), manual switchovers under load, sluiced
// killed in the middle of a switch, and sessions terminated (which must not switch).

#include <gtest/gtest.h>
#include <fmt/format.h>

#include "daemon/failover_pg_test_util.h"

namespace sluice::testing {
namespace {

// 3. Both primaries down: isolated. Commits go on (the replica is fed), synchronous calls
// are refused naming the state and journal nothing. The primaries come back one after
// the other; the first one back becomes active and stays so. Parameter: which first.
class FailoverPgIsolatedTest : public FailoverPgTest, public ::testing::WithParamInterface<int> {};

TEST_P(FailoverPgIsolatedTest, BothPrimariesDownThenBackOneByOne) {
  const int first = GetParam();
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  const int active = IndexOf(WaitActive());
  ASSERT_TRUE(active == 0 || active == 1);
  Note("stop both primaries");
  ASSERT_TRUE(pg_[active]->Stop(/*immediate=*/true).ok());
  ASSERT_TRUE(pg_[1 - active]->Stop(/*immediate=*/true).ok());
  v1::StatusResponse st;
  ASSERT_TRUE(WaitFor([&] { return GetStatus(&st) && st.state() == "isolated"; }, seconds(120)))
      << st.DebugString();
  Note("isolated");

  // Refused, naming the state, and nothing journaled (the load's own calls are refused
  // too, so the model stream does not move).
  const uint64_t model_head = Head(st, "model");
  v1::ExecuteRequest req;
  req.mutable_statement()->set_text(kSyncInsert);
  req.mutable_statement()->add_params()->set_int_value(-1);
  req.mutable_statement()->add_params()->set_text_value("while isolated");
  v1::ExecuteResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
  grpc::Status refused = sql_->Execute(&ctx, req, &resp);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << resp.DebugString();
  EXPECT_NE(refused.error_message().find("isolated"), std::string::npos) << refused.error_message();
  ASSERT_TRUE(GetStatus(&st));
  EXPECT_EQ(st.state(), "isolated");
  EXPECT_EQ(Head(st, "model"), model_head) << "a refused call journaled something";

  // Commits go on into the journal, and the replica is fed.
  auto replica_samples = [&] {
    auto n = pg_[2]->QueryValue("SELECT count(*) FROM sample_1s", "sluice");
    return n.ok() ? std::stoll(*n) : -1;
  };
  const int64_t replica_before = replica_samples();
  EXPECT_TRUE(WaitFor([&] { return replica_samples() > replica_before; }, seconds(60))) << "the replica is not fed";
  Load(seconds(2));

  // Back one by one: the first back becomes active; the second does not take over.
  const Acknowledged before = AcknowledgedNow();
  Note(fmt::format("start {}", kNames[first]));
  ASSERT_TRUE(pg_[first]->Start().ok());
  ASSERT_EQ(WaitActive(), kNames[first]);
  ExpectHolds(kNames[first], before, "after isolation");
  Load(seconds(3));
  Note(fmt::format("start {}", kNames[1 - first]));
  ASSERT_TRUE(pg_[1 - first]->Start().ok());
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(WaitActive(), kNames[first]);
  // The refused call left nothing behind.
  for (int i = 0; i < kTargets; ++i) {
    auto n = pg_[i]->QueryValue("SELECT count(*) FROM sync_rows WHERE id = -1", "sluice");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, "0") << kNames[i];
  }
}

INSTANTIATE_TEST_SUITE_P(StartOrder, FailoverPgIsolatedTest, ::testing::Values(0, 1),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == 0 ? std::string("PgAFirst") : std::string("PgBFirst");
                         });

// 4. Manual switchover back and forth under load, several times.
TEST_F(FailoverPgTest, ManualSwitchoverBackAndForthUnderLoad) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  for (int round = 0; round < 6; ++round) {
    const std::string from = WaitActive();
    ASSERT_TRUE(from == "pg-a" || from == "pg-b") << from;
    const std::string to = from == "pg-a" ? "pg-b" : "pg-a";
    std::string message;
    const Acknowledged before = AcknowledgedNow();
    Note(fmt::format("round {}: switch from {} to {}", round, from, to));
    // The standby may be briefly ineligible (an applier reconnecting): ask again.
    ASSERT_TRUE(WaitFor([&] { return Switch(to, &message).ok(); }, seconds(60)))
        << "round " << round << ": " << message;
    ASSERT_EQ(WaitActive(), to) << "round " << round;
    ExpectHolds(to, before, fmt::format("in round {}", round));
    Load(milliseconds(1500));
  }
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
}

// 5. sluiced dies in the middle of a switch: right after the switch markers are
// journaled (fail point; its first pass is the first start's switch, so the second
// fires). Restarted without the fail point, it finishes the switch and goes on; the
// killed server comes back and catches up.
TEST_F(FailoverPgTest, SluicedKilledDuringSwitchThenRestarted) {
  ASSERT_NO_FATAL_FAILURE(StartService({{"SLUICE_FAILPOINTS", "cluster.after_switch_markers=2*crash"}}));
  StartLoad();
  Load(seconds(2));
  ASSERT_TRUE(daemon_->running()) << "the fail point fired before the switch";
  const std::string victim = WaitActive();
  const int v = IndexOf(victim);
  ASSERT_TRUE(v == 0 || v == 1) << victim;
  const std::string other = kNames[1 - v];
  const Acknowledged before = AcknowledgedNow();
  Note("SIGKILL the postmaster of " + victim + "; sluiced crashes during the switch");
  sluiced_killed_ = true;
  ASSERT_TRUE(pg_[v]->Kill(SIGKILL).ok());
  ASSERT_EQ(daemon_->process().Wait(seconds(60)), 137) << "sluiced did not crash at the fail point";
  std::string state = ReadFile(dir_.Sub("data/state/cluster.json"));
  EXPECT_NE(state.find("switching"), std::string::npos) << state;
  Load(seconds(2));  // commits are spooled by the client; synchronous calls fail meanwhile

  Note("restart sluiced");
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_EQ(WaitActive(), other);
  ExpectHolds(other, before, "after the restart of sluiced");
  Load(seconds(3));
  ASSERT_TRUE(pg_[v]->WaitForOrphans().ok());
  Note("restart " + victim);
  ASSERT_TRUE(pg_[v]->Start().ok());
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(WaitActive(), other);
}

// 6. Every session of the service on the active target is terminated: the probe session
// reconnects at once, the appliers reconnect, and the service does NOT switch.
TEST_F(FailoverPgTest, TerminatedSessionsDoNotSwitch) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  v1::StatusResponse before;
  ASSERT_TRUE(GetStatus(&before));
  ASSERT_EQ(before.state(), "active");
  const std::string active = before.active_target();
  const int a = IndexOf(active);
  ASSERT_TRUE(a == 0 || a == 1) << active;
  int64_t health_since = 0;
  for (const auto& t : before.targets()) {
    if (t.name() == active) health_since = t.health_since_us();
  }
  const std::string state_file = ReadFile(dir_.Sub("data/state/cluster.json"));

  for (int round = 0; round < 3; ++round) {
    Note(fmt::format("round {}: terminate every session of the service on {}", round, active));
    auto killed = pg_[a]->QueryRows(kTerminate, "sluice");
    ASSERT_TRUE(killed.ok()) << killed.status().ToString();
    // The health monitor's probe session among them, and the appliers' sessions.
    bool probe = false;
    for (const auto& r : *killed) probe = probe || r[0] == "sluice-probe";
    EXPECT_TRUE(probe) << "round " << round << ": the probe session was not terminated";
    EXPECT_GE(killed->size(), 3u) << "round " << round << ": too few sessions of the service were terminated";
    Note(fmt::format("{} sessions terminated", killed->size()));
    // Watch closely for a while: the state never leaves active(ACTIVE).
    auto until = std::chrono::steady_clock::now() + seconds(4);
    int polls = 0;
    while (std::chrono::steady_clock::now() < until) {
      v1::StatusResponse st;
      if (GetStatus(&st)) {
        ++polls;
        ASSERT_EQ(st.state(), "active") << "round " << round << ": " << st.state_reason();
        ASSERT_EQ(st.active_target(), active) << "round " << round;
        ASSERT_EQ(st.state_since_us(), before.state_since_us()) << "round " << round << ": the state changed";
        for (const auto& t : st.targets()) {
          if (t.name() == active) {
            ASSERT_EQ(t.health_since_us(), health_since)
                << "round " << round << ": the health monitor saw '" << active << "' down: " << t.health_detail();
          }
        }
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_GT(polls, 10) << "round " << round;
  }
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(ReadFile(dir_.Sub("data/state/cluster.json")), state_file) << "the state file changed";
}

}  // namespace
}  // namespace sluice::testing
