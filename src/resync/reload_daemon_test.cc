// `sluice config reload` and SIGHUP against a live sluiced (docs/reload.md): a target the
// file adds is copied from a running target first while clients go on writing, and ends
// with the same rows as its source and every acknowledged sample exactly once; a file
// that cannot be applied is refused and the running config stays; an unchanged file only
// reopens the log.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "resync/resync_daemon_test_util.h"

namespace sluice::testing {
namespace {

class ReloadDaemonTest : public ResyncDaemonTest {
 protected:
  // The default targets and a new SQLite replica c.
  static DaemonConfig WithTargetC() {
    DaemonConfig c;
    c.targets = SQLiteTargets();
    c.targets.push_back(ReplicaTarget("c", "sqlite", "targets/c.db"));
    return c;
  }

  v1::StatusResponse Status() {
    v1::StatusResponse s;
    grpc::Status st = daemon_->Admin(&s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s;
  }

  static bool HasTarget(const v1::StatusResponse& s, const std::string& name) {
    for (const auto& t : s.targets()) {
      if (t.name() == name) return true;
    }
    return false;
  }

  // Commits sample batches until `stop`, each retried with its sequence number until it
  // is acknowledged (a reload answers UNAVAILABLE for a moment; de-duplication drops a
  // repeat of a commit that did land). Returns the rows acknowledged.
  int64_t WriteSamplesThroughReloads(const std::atomic<bool>& stop, const std::string& client, int* retried) {
    int64_t rows = 0;
    for (uint64_t seq = 1; !stop; ++seq) {
      v1::CommitRequest req;
      req.set_stream("samples");
      req.set_client_id(client);
      req.set_sequence(seq);
      *req.add_records() = SampleRecord(1000, 50, base_us_ + static_cast<int64_t>(seq) * 1000);
      for (;;) {
        v1::CommitResponse resp;
        grpc::Status st = daemon_->Commit(req, &resp);
        if (st.ok()) break;
        EXPECT_TRUE(st.error_code() == grpc::StatusCode::UNAVAILABLE ||
                    st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
            << st.error_message();
        ++*retried;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      rows += 50;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return rows;
  }
};

TEST_F(ReloadDaemonTest, ATargetAddedByAReloadIsCopiedFirstWhileClientsWrite) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const int64_t before = WriteSamples(20, "scada-1");
  daemon_->WaitCaughtUp();
  const pid_t pid = daemon_->process()->pid();

  std::atomic<bool> stop{false};
  int retried = 0;
  int64_t during = 0;
  std::thread writer([&] { during = WriteSamplesThroughReloads(stop, "scada-2", &retried); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  daemon_->RewriteConfig(WithTargetC());
  RunResult r = Sluice({"config", "reload"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.output << "\nlog:\n" << ReadFile(daemon_->log());
  EXPECT_NE(r.output.find("added:    c (copied from a first)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("resync of c from a: done"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("reloaded: sluiced runs the new config"), std::string::npos) << r.output;
  // The same process: the node was opened again inside it.
  EXPECT_EQ(daemon_->process()->pid(), pid);
  EXPECT_TRUE(daemon_->process()->running());
  std::cout << "commits retried across the reload: " << retried << "\n";
  const std::string log = ReadFile(daemon_->log());
  if (auto at = log.find("sluiced reloaded its config in"); at != std::string::npos) {
    std::cout << log.substr(at, log.find(" ms", at) + 3 - at) << "\n";
  }

  // Every acknowledged sample exactly once on every target, the new one included.
  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr", "c"}) {
    EXPECT_EQ(CountRows(daemon_->db(t), "sample_1s"), before + during) << t;
    // The reload is in every event_log, the new target's too (copied or applied).
    EXPECT_EQ(CountRows(daemon_->db(t), "event_log", "kind = 'sluice.config'"), 1) << t;
  }
  ExpectSameRows(Sqlite("a"), Sqlite("c"));
  EXPECT_EQ(ReadFile(dir_.Sub("data/state/targets.json")).find("resync_from"), std::string::npos);
  // The reopened node stops cleanly (under the sanitizers: nothing of the first one leaked).
  EXPECT_EQ(daemon_->Stop(), 0) << ReadFile(daemon_->log());
}

TEST_F(ReloadDaemonTest, AReloadThatCannotBeAppliedIsRefusedAndTheRunningConfigStays) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const int64_t opened = Status().opened_us();
  ASSERT_GT(opened, 0);

  // A dry run says what would happen and does nothing.
  daemon_->RewriteConfig(WithTargetC());
  RunResult dry = Sluice({"config", "reload", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("a reload would apply: target 'c' added (copied from 'a' first)"), std::string::npos)
      << dry.output;

  // A new listen address is announced: `sluice` would lose the node at the old one.
  {
    std::string text = ReadFile(daemon_->config_path());
    const std::string old_address = daemon_->address();
    const std::string new_address = fmt::format("127.0.0.1:{}", FreePort());
    ASSERT_NE(text.find(old_address), std::string::npos) << text;
    text.replace(text.find(old_address), old_address.size(), new_address);
    ASSERT_NO_FATAL_FAILURE(WriteFile(daemon_->config_path(), text));
    RunResult moved = Sluice({"config", "reload", "--dry-run"});
    EXPECT_EQ(moved.exit_code, 0) << moved.output;
    EXPECT_NE(moved.output.find("sluiced will listen on " + new_address), std::string::npos) << moved.output;
    EXPECT_NE(moved.output.find("settings: node.listen"), std::string::npos) << moved.output;
  }

  // A misspelt key: the message names file, line and key.
  DaemonConfig typo = WithTargetC();
  typo.targets.back().extra = "prority = 5\n";
  daemon_->RewriteConfig(typo);
  RunResult bad = Sluice({"config", "reload"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("unknown key 'prority'"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("the running config stays"), std::string::npos) << bad.output;

  // The node id is in every watermark: not changed by a reload.
  DaemonConfig renamed = WithTargetC();
  renamed.node_id = "other";
  daemon_->RewriteConfig(renamed);
  RunResult id = Sluice({"config", "reload"});
  EXPECT_EQ(id.exit_code, 1) << id.output;
  EXPECT_NE(id.output.find("node.id changed from 'test' to 'other'"), std::string::npos) << id.output;

  // The same SIGHUP is refused too, in the log.
  ASSERT_EQ(kill(daemon_->process()->pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(daemon_->log()).find("SIGHUP: reload refused") != std::string::npos; },
                      std::chrono::seconds(30)));

  // Nothing of it happened: the node was not opened again, c is not there.
  const v1::StatusResponse s = Status();
  EXPECT_EQ(s.opened_us(), opened);
  EXPECT_FALSE(HasTarget(s, "c"));
  EXPECT_EQ(s.targets_size(), 3);
  EXPECT_EQ(ReadFile(dir_.Sub("data/state/targets.json")).find("resync_from"), std::string::npos);
}

// A config that parses but cannot be opened (its HTTP port is taken): the previous config
// is opened again, the added target's resync record is cleared, and the failure is said.
TEST_F(ReloadDaemonTest, ANewConfigThatCannotBeOpenedFallsBackToTheRunningOne) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const int64_t samples = WriteSamples(4, "scada-1");
  const int taken = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(taken, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(taken, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  DaemonConfig next = WithTargetC();
  next.extra = fmt::format("[http]\nlisten = \"127.0.0.1:{}\"\n", ntohs(addr.sin_port));
  daemon_->RewriteConfig(next);
  RunResult r = Sluice({"config", "reload"});
  close(taken);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("the reload failed and sluiced runs its previous config again"), std::string::npos)
      << r.output;
  const v1::StatusResponse s = daemon_->WaitCaughtUp();
  EXPECT_FALSE(HasTarget(s, "c"));
  EXPECT_EQ(s.targets_size(), 3);
  EXPECT_EQ(ReadFile(dir_.Sub("data/state/targets.json")).find("resync_from"), std::string::npos);
  EXPECT_NE(ReadFile(daemon_->log()).find("the previous config is opened again"), std::string::npos);
  // The reload and its failure are in the event_log; the samples are all there.
  EXPECT_EQ(CountRows(daemon_->db("a"), "event_log", "kind = 'sluice.config' AND severity = 2"), 1);
  EXPECT_EQ(CountRows(daemon_->db("a"), "sample_1s"), samples);
}

// Removing a target whose copy is under way would leave it half copied: refused until the
// resync is done, then the same file reloads.
TEST_F(ReloadDaemonTest, RemovingATargetBeingResyncedIsRefusedUntilTheCopyIsDone) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  WriteSamples(10, "scada-1");
  daemon_->WaitCaughtUp();
  ASSERT_EQ(daemon_->Stop(), 0);
  // Every committed batch of the copy takes a second more: time to try.
  ASSERT_NO_FATAL_FAILURE(daemon_->Start({{"SLUICE_FAILPOINTS", "resync.after_batch=sleep(1000)"}}));
  ASSERT_EQ(Sluice({"target", "resync", "dr", "--from", "a", "--no-wait"}).exit_code, 0);
  DaemonConfig without_dr;
  without_dr.targets = SQLiteTargets();
  without_dr.targets.pop_back();
  daemon_->RewriteConfig(without_dr);
  RunResult r = Sluice({"config", "reload"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("target 'dr' is removed, but a resync of 'dr' from 'a' is under way"), std::string::npos)
      << r.output;
  EXPECT_TRUE(HasTarget(Status(), "dr"));

  auto done = WaitResync("dr", [](const v1::ResyncProgress& p) { return p.state() == "done" || p.state() == "failed"; });
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state(), "done") << done->error();
  RunResult again = Sluice({"config", "reload"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_FALSE(HasTarget(Status(), "dr"));
}

TEST_F(ReloadDaemonTest, ANewTargetWithNothingToCopyFromIsRefused) {
  DaemonConfig one;
  one.targets = {PrimaryTarget("a", "sqlite", "targets/a.db", 100)};
  ASSERT_NO_FATAL_FAILURE(StartDaemon(one));
  ASSERT_EQ(Sluice({"target", "disable", "a"}).exit_code, 0);
  one.targets.push_back(ReplicaTarget("c", "sqlite", "targets/c.db"));
  daemon_->RewriteConfig(one);
  RunResult r = Sluice({"config", "reload"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("target 'c' is new and is copied from a running target first, but none can be copied "
                          "from now: target 'a' is disabled"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(HasTarget(Status(), "c"));
}

TEST_F(ReloadDaemonTest, SighupAddsAndRemovesTargetsAndAnUnchangedFileOnlyReopensTheLog) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const int64_t samples = WriteSamples(10, "scada-1");
  daemon_->WaitCaughtUp();
  const int64_t opened = Status().opened_us();

  // An unchanged file, asked twice: nothing to do, and the second ask is not refused.
  for (int i = 0; i < 2; ++i) {
    RunResult same = Sluice({"config", "reload"});
    EXPECT_EQ(same.exit_code, 0) << same.output;
    EXPECT_NE(same.output.find("the config file has not changed"), std::string::npos) << same.output;
  }
  ASSERT_EQ(kill(daemon_->process()->pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor(
      [&] { return ReadFile(daemon_->log()).find("the config file has not changed; the log file was reopened") != std::string::npos; },
      std::chrono::seconds(30)));
  EXPECT_EQ(Status().opened_us(), opened);

  // c added, dr removed, in one reload.
  DaemonConfig next = WithTargetC();
  next.targets.erase(next.targets.begin() + 2);
  ASSERT_EQ(next.targets[2].name, "c");
  daemon_->RewriteConfig(next);
  ASSERT_EQ(kill(daemon_->process()->pid(), SIGHUP), 0);
  // (Until the node is opened again, the recorded resync shows as "interrupted".)
  auto done = WaitResync("c", [](const v1::ResyncProgress& p) { return p.state() == "done" || p.state() == "failed"; });
  ASSERT_TRUE(done.has_value()) << ReadFile(daemon_->log());
  EXPECT_EQ(done->state(), "done") << done->error();
  const v1::StatusResponse s = daemon_->WaitCaughtUp();
  EXPECT_NE(s.opened_us(), opened);
  EXPECT_TRUE(HasTarget(s, "c"));
  EXPECT_FALSE(HasTarget(s, "dr"));
  EXPECT_EQ(CountRows(daemon_->db("c"), "sample_1s"), samples);
  ExpectSameRows(Sqlite("a"), Sqlite("c"));
  // The removed target's cursors stay (they hold the journal) until it is forgotten, and
  // the log says so.
  const std::string log = ReadFile(daemon_->log());
  EXPECT_NE(log.find("target 'dr' is not in the config any more"), std::string::npos);
  EXPECT_NE(log.find("sluiced reloaded its config in"), std::string::npos);
}

}  // namespace
}  // namespace sluice::testing
