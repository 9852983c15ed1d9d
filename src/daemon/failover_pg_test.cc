// Failover under load with real PostgreSQL servers: two primaries (pg-a priority 100,
// pg-b priority 90) and one replica (pg-r), all started by the test, and sluiced as a
// child process. During every scenario three threads load the service:
//
//  (a) samples committed through the client library (with a spool); every commit has
//      its own timestamp, so each row says which commit it came from;
//  (b) ordered SQL on the `sql` stream: step k multiplies a counter and adds a parameter,
//      then records the counter in `history` with a statement that reads it. A record
//      applied twice, lost or reordered leaves a different counter and history;
//  (c) synchronous Sql.Execute writes from two threads, each inserting a row with its
//      own id (every seventh one binds NULL to a NOT NULL column, so the target rejects
//      it); the answer of each call is kept: APPLIED, REJECTED, UNKNOWN with an LSN, a
//      refusal ("service paused": nothing journaled) or lost (the connection broke:
//      sluiced died).
//
// The scenarios: the active target's postmaster killed; the active server frozen
// (SIGSTOP) and thawed; both primaries down (isolated), coming back in either order;
// manual switchovers back and forth; sluiced killed in the middle of a switch (fail point
// cluster.after_switch_markers) and restarted; every session of the service on the
// active target terminated (which must NOT switch).
//
// After each: the load stops, the spool drains, every UNKNOWN is asked with GetOutcome
// until decided, every target catches up, and the invariants are checked row by row on
// every target: acknowledged samples present exactly once and nothing that was not sent;
// the counter and history equal what the test computes from the steps it committed; every
// applied sync write present exactly once, every rejected or refused one absent, a lost
// one present or absent alike everywhere; no error-log entries; the service active again.
// Timing is never asserted, only outcomes.
//
// The fixture is failover_pg_test_util.h; the scenarios of a switch an operator asks for,
// of both primaries down, and of sessions terminated are failover_pg_switch_test.cc.

#include <gtest/gtest.h>
#include <fmt/format.h>

#include "daemon/failover_pg_test_util.h"

namespace sluice::testing {
namespace {

// 1. The active target's postmaster is killed: the other primary takes over; the killed
// server is restarted later, catches up, and stays standby.
TEST_F(FailoverPgTest, ActivePostmasterKilledThenRestarted) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  const std::string victim = WaitActive();
  const int v = IndexOf(victim);
  ASSERT_TRUE(v == 0 || v == 1) << victim;
  const std::string other = kNames[1 - v];
  const Acknowledged before = AcknowledgedNow();
  Note("SIGKILL the postmaster of " + victim);
  ASSERT_TRUE(pg_[v]->Kill(SIGKILL).ok());
  ASSERT_EQ(WaitActive(victim), other);
  ExpectHolds(other, before, "after the kill");
  Load(seconds(4));
  ASSERT_TRUE(pg_[v]->WaitForOrphans().ok());
  Note("restart " + victim);
  ASSERT_TRUE(pg_[v]->Start().ok());
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(WaitActive(), other) << "switched back by itself";
}

// 1b. The active target applies a synchronous write and dies before its outcome is
// journaled (the fail point applier.intent_applied_before_outcome stalls the decision
// after the commit): the callers get OUTCOME_UNKNOWN with the LSN, the next active target
// decides the intent, and GetOutcome says APPLIED. The row is there once on every target,
// also on the dead one, which had applied it first.
TEST_F(FailoverPgTest, ActiveDiesBetweenApplyAndOutcome) {
  ASSERT_NO_FATAL_FAILURE(
      StartService({{"SLUICE_FAILPOINTS", "applier.intent_applied_before_outcome=20*sleep(25000)"}}));
  StartLoad();
  const std::string victim = WaitActive();
  const int v = IndexOf(victim);
  ASSERT_TRUE(v == 0 || v == 1) << victim;
  const std::string other = kNames[1 - v];
  // The decision stalls at the 20th applied write; its caller is answered UNKNOWN.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lk(mu_);
        return std::any_of(sync_.begin(), sync_.end(), [](const SyncCall& c) { return c.answer == Answer::kUnknown; });
      },
      seconds(120)))
      << "no synchronous call was answered OUTCOME_UNKNOWN";
  const Acknowledged before = AcknowledgedNow();
  Note("a decision is stalled after its commit; SIGKILL the postmaster of " + victim);
  ASSERT_TRUE(pg_[v]->Kill(SIGKILL).ok());
  ASSERT_EQ(WaitActive(victim), other);
  ExpectHolds(other, before, "after the kill");
  Load(seconds(3));
  ASSERT_TRUE(pg_[v]->WaitForOrphans().ok());
  Note("restart " + victim);
  ASSERT_TRUE(pg_[v]->Start().ok());
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  // The stalled write was decided by the new active target.
  int decided_by_other = 0;
  for (const auto& c : sync_) {
    if (c.answer == Answer::kUnknown && c.resolved == v1::OUTCOME_APPLIED && c.resolved_by == other) {
      ++decided_by_other;
    }
  }
  EXPECT_GE(decided_by_other, 1) << "no UNKNOWN answer was decided by " << other;
}

// 2. The active server is frozen (every process SIGSTOPped): the periodic probe sees the
// hang and the other primary takes over; thawed, the frozen one catches up.
TEST_F(FailoverPgTest, ActiveServerFrozenThenThawed) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  const std::string victim = WaitActive();
  const int v = IndexOf(victim);
  ASSERT_TRUE(v == 0 || v == 1) << victim;
  const std::string other = kNames[1 - v];
  const Acknowledged before = AcknowledgedNow();
  Note("SIGSTOP every process of " + victim);
  frozen_[v] = true;
  ASSERT_TRUE(pg_[v]->KillAll(SIGSTOP).ok());
  ASSERT_EQ(WaitActive(victim), other);
  ExpectHolds(other, before, "after the freeze");
  Load(seconds(4));
  Note("SIGCONT " + victim);
  ASSERT_TRUE(pg_[v]->KillAll(SIGCONT).ok());
  frozen_[v] = false;
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(WaitActive(), other) << "switched back by itself";
}
}  // namespace
}  // namespace sluice::testing
