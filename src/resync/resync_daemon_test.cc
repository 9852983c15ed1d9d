// `sluice target resync NAME --from OTHER` against a live sluiced (docs/resync.md): a
// damaged target is rebuilt while clients go on writing, a sluiced killed in the middle
// of a copy continues it when it starts again, and PostgreSQL and SQLite targets are
// rebuilt from each other. Each ends with the rebuilt target holding the same rows as its
// source, table by table, and the counts the test wrote.

#include <gtest/gtest.h>

#include "resync/resync_daemon_test_util.h"

namespace sluice::testing {
namespace {

TEST_F(ResyncDaemonTest, ADamagedTargetIsRebuiltWhileClientsWrite) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  int64_t samples = WriteSamples(40, "scada-1");
  ASSERT_EQ(samples, 40 * kRowsPerCommit);
  daemon_->WaitCaughtUp();
  // The replica is restored from a stale backup, so to speak: rows missing, a row that
  // was never written, and its appliers go on from its watermark as if nothing happened.
  ASSERT_EQ(daemon_->Stop(), 0);
  for (const char* sql : {"DELETE FROM sample_1s WHERE point_id % 2 = 0",
                          "INSERT INTO point (point_id, name) VALUES (999999, 'ghost')"}) {
    auto r = QueryRows(daemon_->db("dr"), sql);
    ASSERT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
  }
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  ASSERT_LT(CountRows(daemon_->db("dr"), "sample_1s"), samples);

  std::atomic<bool> stop{false};
  int64_t events = 0;
  std::thread writer([&] { events = WriteEventsUntil(stop, "scada-2"); });
  RunResult r = Sluice({"target", "resync", "dr", "--from", "a"});
  // More samples after the resync, which the rebuilt target gets from the journal.
  samples += WriteSamples(4, "scada-3");
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resync of dr from a: done"), std::string::npos) << r.output;
  EXPECT_GT(events, 0);

  daemon_->WaitCaughtUp();
  EXPECT_EQ(CountRows(daemon_->db("dr"), "sample_1s"), samples);
  EXPECT_EQ(CountRows(daemon_->db("dr"), "point", "point_id = 999999"), 0);
  EXPECT_EQ(CountRows(daemon_->db("dr"), "event_log", kClientEvents), events);
  ExpectSameRows(Sqlite("a"), Sqlite("dr"));
  // Its beginning and end are in every target's event_log.
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_EQ(CountRows(daemon_->db(t), "event_log", "kind = 'sluice.resync'"), 2) << t;
  }
  // And `sluice status` shows it done.
  RunResult st = Sluice({"status"});
  EXPECT_NE(st.output.find("resync of dr from a: done"), std::string::npos) << st.output;
}

TEST_F(ResyncDaemonTest, RefusalsNameWhatIsWrong) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{"target", "resync", "nope", "--from", "a"}, "no target 'nope'"},
           {{"target", "resync", "dr", "--from", "nope"}, "no target 'nope' in the config to copy from"},
           {{"target", "resync", "dr", "--from", "dr"}, "cannot be resynced from itself"},
           {{"target", "resync", "a", "--from", "b"}, "is the active target"},
       }) {
    RunResult r = Sluice(c.args);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
  }
  ASSERT_EQ(Sluice({"target", "disable", "b"}).exit_code, 0);
  RunResult r = Sluice({"target", "resync", "dr", "--from", "b"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("'b' is disabled"), std::string::npos) << r.output;
  RunResult usage = Sluice({"target", "resync", "dr"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

// A target being resynced holds an incomplete copy: enabling it is refused, and it
// starts by itself once the copy is done.
TEST_F(ResyncDaemonTest, ATargetBeingResyncedCannotBeEnabled) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const int64_t samples = WriteSamples(40, "scada-1");
  daemon_->WaitCaughtUp();
  ASSERT_EQ(daemon_->Stop(), 0);
  // Every committed batch of the copy takes a second more: time to try.
  ASSERT_NO_FATAL_FAILURE(daemon_->Start({{"SLUICE_FAILPOINTS", "resync.after_batch=sleep(1000)"}}));
  RunResult begun = Sluice({"target", "resync", "dr", "--from", "a", "--no-wait"});
  ASSERT_EQ(begun.exit_code, 0) << begun.output;
  RunResult enable = Sluice({"target", "enable", "dr"});
  EXPECT_EQ(enable.exit_code, 1) << enable.output;
  EXPECT_NE(enable.output.find("is being resynced from 'a'"), std::string::npos) << enable.output;
  auto done = WaitResync("dr", [](const v1::ResyncProgress& p) { return p.state() != "running"; });
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state(), "done") << done->error();
  daemon_->WaitCaughtUp();
  EXPECT_EQ(CountRows(daemon_->db("dr"), "sample_1s"), samples);
}

TEST_F(ResyncDaemonTest, ACopyInterruptedByACrashContinuesAtTheNextStart) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const int64_t samples = WriteSamples(40, "scada-1");
  daemon_->WaitCaughtUp();
  ASSERT_EQ(daemon_->Stop(), 0);
  // The second committed batch of the copy kills sluiced. With the default 50,000 rows a
  // batch every table here fits in one (the 20,000 sample rows too), so the copy resumes
  // at a table boundary (a resume inside a table is table_copy_test's TableCopyResume).
  ASSERT_NO_FATAL_FAILURE(daemon_->Start({{"SLUICE_FAILPOINTS", "resync.after_batch=2*crash"}}));
  RunResult r = Sluice({"target", "resync", "dr", "--from", "a"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(ExitCode(daemon_->sluiced().WaitExit(std::chrono::seconds(60))), 137);
  const std::string state = ReadFile(dir_.Sub("data/state/targets.json"));
  EXPECT_NE(state.find("\"resync_from\": \"a\""), std::string::npos) << state;
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("data/state/resync/dr.mark")));

  // Started again, sluiced continues the copy by itself.
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  auto done = WaitResync("dr", [](const v1::ResyncProgress& p) { return p.state() != "running"; });
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state(), "done") << done->error();
  // It continued after its mark, or, when the source had moved on since the mark (the
  // service's own events at its start may have been applied to it first), it started
  // over and said why: either way it never left the target half-copied and running.
  if (!done->resumed()) {
    EXPECT_FALSE(done->restart_reason().empty());
    std::cout << "the copy started over: " << done->restart_reason() << "\n";
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data/state/resync/dr.mark")));
  EXPECT_EQ(ReadFile(dir_.Sub("data/state/targets.json")).find("resync_from"), std::string::npos);
  daemon_->WaitCaughtUp();
  EXPECT_EQ(CountRows(daemon_->db("dr"), "sample_1s"), samples);
  ExpectSameRows(Sqlite("a"), Sqlite("dr"));
}

// A resync clears the verdict of the target it rebuilds, and the rejections it takes over
// from its source (a record every target rejected) make no other target diverged, now or
// after a restart.
TEST_F(ResyncDaemonTest, AResyncClearsDivergenceAndMakesNoOtherTargetDiverged) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  // dr is out while the bad records come, so it never sees them.
  ASSERT_EQ(Sluice({"target", "disable", "dr"}).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(DivergeB());
  RunResult r = Sluice({"target", "resync", "b", "--from", "a"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Diverged(), std::set<std::string>{});
  // dr rebuilt past the record every target rejected holds a's rejection of it as its
  // own: otherwise it would count as having applied it, and a and b as diverged.
  RunResult dr = Sluice({"target", "resync", "dr", "--from", "a"});
  ASSERT_EQ(dr.exit_code, 0) << dr.output;
  ASSERT_EQ(Sluice({"target", "enable", "dr"}).exit_code, 0);
  EXPECT_EQ(Diverged(), std::set<std::string>{});
  RunResult dr_errors = Sluice({"errors", "list", "--target", "dr"});
  EXPECT_NE(dr_errors.output.find("no_such_table"), std::string::npos) << dr_errors.output;
  EXPECT_EQ(CountRows(daemon_->db("b"), "point", "point_id = 5 AND name = 'p5'"), 1);
  // b took a's rejection of the insert into no_such_table as its own; its own rejection
  // of the insert of point 5 is withdrawn.
  RunResult errors = Sluice({"errors", "list", "--target", "b"});
  EXPECT_NE(errors.output.find("no_such_table"), std::string::npos) << errors.output;
  EXPECT_EQ(errors.output.find("'p5'"), std::string::npos) << errors.output;

  ASSERT_EQ(daemon_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  EXPECT_EQ(Diverged(), std::set<std::string>{});
  // The others go on rejecting and applying alike with b.
  ASSERT_NO_FATAL_FAILURE(CommitSql("INSERT INTO point (point_id, name) VALUES (6, 'p6')"));
  EXPECT_EQ(Diverged(), std::set<std::string>{});
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(daemon_->db(t), "point", "point_id IN (5, 6)"), 2) << t;
}

// sluiced dies after the rebuilt target took over its source's rejections and before the
// record of the resync goes: the next start redoes the adoption, and it comes out the same
// (nothing diverged, b's own rejection withdrawn, a's made b's).
TEST_F(ResyncDaemonTest, ACrashAfterTheAdoptionRedoesItTheSameWay) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_NO_FATAL_FAILURE(DivergeB());
  ASSERT_EQ(daemon_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start({{"SLUICE_FAILPOINTS", "resync.after_adopt=crash"}}));
  RunResult r = Sluice({"target", "resync", "b", "--from", "a"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(ExitCode(daemon_->sluiced().WaitExit(std::chrono::seconds(60))), 137);
  EXPECT_NE(ReadFile(dir_.Sub("data/state/targets.json")).find("\"resync_from\": \"a\""), std::string::npos);

  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  auto done = WaitResync("b", [](const v1::ResyncProgress& p) { return p.state() == "done" || p.state() == "failed"; });
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state(), "done") << done->error();
  EXPECT_EQ(Diverged(), std::set<std::string>{});
  RunResult errors = Sluice({"errors", "list", "--target", "b"});
  EXPECT_NE(errors.output.find("no_such_table"), std::string::npos) << errors.output;
  EXPECT_EQ(errors.output.find("'p5'"), std::string::npos) << errors.output;
  EXPECT_EQ(ReadFile(dir_.Sub("data/state/targets.json")).find("resync_from"), std::string::npos);
  ExpectSameRows(Sqlite("a"), Sqlite("b"));
}

// The source's server dies in the middle of a copy: the resync fails saying so, the
// target stays stopped with its resync recorded, and once the source is back the same
// command finishes it.
TEST_F(ResyncDaemonTest, ASourceKilledMidCopyFailsTheResyncAndItIsFinishedLater) {
  auto pg = PgServer::CreateAndStart();
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  ASSERT_TRUE((*pg)->CreateDatabase("source").ok());
  const std::string conninfo = (*pg)->ConnInfo("source");
  DaemonConfig config;
  config.targets = {PrimaryTarget("a", "sqlite", "targets/a.db", 100), PrimaryTarget("b", "sqlite", "targets/b.db", 90),
                    ReplicaTarget("pg", "postgres", conninfo)};
  ASSERT_NO_FATAL_FAILURE(StartDaemon(config));
  const int64_t samples = WriteSamples(40, "scada-1");
  daemon_->WaitCaughtUp();
  ASSERT_EQ(daemon_->Stop(), 0);
  // Every committed batch of the copy takes a second more: time to kill the source.
  ASSERT_NO_FATAL_FAILURE(daemon_->Start({{"SLUICE_FAILPOINTS", "resync.after_batch=sleep(1000)"}}));
  ASSERT_EQ(Sluice({"target", "resync", "b", "--from", "pg", "--no-wait"}).exit_code, 0);
  ASSERT_TRUE(WaitResync("b", [](const v1::ResyncProgress& p) { return p.rows_copied() > 0; }).has_value());
  ASSERT_TRUE((*pg)->Kill(SIGKILL).ok());

  auto failed = WaitResync("b", [](const v1::ResyncProgress& p) { return p.state() != "running"; });
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->state(), "failed");
  EXPECT_FALSE(failed->error().empty());
  std::cout << "the resync failed with: " << failed->error() << "\n";
  EXPECT_NE(ReadFile(dir_.Sub("data/state/targets.json")).find("\"resync_from\": \"pg\""), std::string::npos);
  v1::StatusResponse s;
  ASSERT_TRUE(daemon_->Admin(&s).ok());
  for (const auto& t : s.targets()) {
    if (t.name() == "b") {
      EXPECT_FALSE(t.enabled()) << "a half-copied target must not apply";
    }
  }

  ASSERT_TRUE((*pg)->Start().ok());
  // Once sluiced sees the source up again, the same command finishes the copy.
  RunResult again;
  ASSERT_TRUE(WaitFor(
      [&] {
        again = Sluice({"target", "resync", "b", "--from", "pg"});
        return again.exit_code == 0;
      },
      std::chrono::minutes(3), std::chrono::seconds(1)))
      << again.output;
  daemon_->WaitCaughtUp();
  EXPECT_EQ(CountRows(daemon_->db("b"), "sample_1s"), samples);
  ExpectSameRows({"postgres", conninfo}, Sqlite("b"));
}

// Accepting the difference clears the verdict without copying, is recorded in every
// target's event_log, and holds after a restart.
TEST_F(ResyncDaemonTest, AcceptingTheDifferenceClearsTheVerdictAndIsRecorded) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  RunResult not_diverged = Sluice({"target", "accept", "a"});
  EXPECT_EQ(not_diverged.exit_code, 1) << not_diverged.output;
  EXPECT_NE(not_diverged.output.find("has not diverged"), std::string::npos) << not_diverged.output;

  ASSERT_NO_FATAL_FAILURE(DivergeB());
  RunResult r = Sluice({"target", "accept", "b", "--reason", "row checked by hand"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("accepted that target 'b' differs"), std::string::npos) << r.output;
  EXPECT_EQ(Diverged(), std::set<std::string>{});
  EXPECT_EQ(CountRows(daemon_->db("b"), "point", "point_id = 5 AND name = 'planted'"), 1) << "nothing was copied";
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_EQ(CountRows(daemon_->db(t), "event_log", "kind = 'sluice.accept' AND text LIKE '%row checked by hand%'"), 1)
        << t;
  }
  ASSERT_EQ(daemon_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  EXPECT_EQ(Diverged(), std::set<std::string>{});
}

// SQLite into PostgreSQL, then PostgreSQL into SQLite, with clients writing.
TEST_F(ResyncDaemonTest, PostgresAndSqliteAreRebuiltFromEachOther) {
  PgServer* pg = SharedPgServer();
  ASSERT_NE(pg, nullptr);
  ASSERT_TRUE(pg->CreateDatabase("resync_pg").ok());
  const std::string conninfo = pg->ConnInfo("resync_pg");
  DaemonConfig config;
  config.targets = {PrimaryTarget("a", "sqlite", "targets/a.db", 100), PrimaryTarget("b", "sqlite", "targets/b.db", 90),
                    ReplicaTarget("pg", "postgres", conninfo)};
  ASSERT_NO_FATAL_FAILURE(StartDaemon(config));
  int64_t samples = WriteSamples(30, "scada-1");
  daemon_->WaitCaughtUp();

  std::atomic<bool> stop{false};
  int64_t events = 0;
  std::thread writer([&] { events = WriteEventsUntil(stop, "scada-2"); });
  RunResult into_pg = Sluice({"target", "resync", "pg", "--from", "a"});
  RunResult into_sqlite = Sluice({"target", "resync", "b", "--from", "pg"});
  stop = true;
  writer.join();
  ASSERT_EQ(into_pg.exit_code, 0) << into_pg.output;
  ASSERT_EQ(into_sqlite.exit_code, 0) << into_sqlite.output;
  samples += WriteSamples(2, "scada-3");
  daemon_->WaitCaughtUp();

  EXPECT_EQ(CountRows(daemon_->db("b"), "sample_1s"), samples);
  EXPECT_EQ(CountRows(daemon_->db("b"), "event_log", kClientEvents), events);
  ExpectSameRows(Sqlite("a"), {"postgres", conninfo});
  ExpectSameRows({"postgres", conninfo}, Sqlite("b"));
}

}  // namespace
}  // namespace sluice::testing
