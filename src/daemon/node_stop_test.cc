// How sluiced ends: killed (SIGKILL), its log file must show where it was; stopped
// (SIGTERM) while its active target's server does not answer, it must stop within a
// couple of seconds, decide no synchronous write after it stopped deciding, and answer
// the call in flight honestly (UNKNOWN with its LSN, decided at the next start).

#include <gtest/gtest.h>
#include <fmt/format.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "support/daemon.h"
#include "support/pg_servers.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::string FileLog(const TempDir& dir) { return dir.Sub("sluiced-file.log"); }

// sluiced under `dir` with `targets` (empty: the harness's SQLite targets), its log both
// on stderr (sluiced.log) and in a log file of its own (sluiced-file.log).
DaemonConfig StopTestConfig(const TempDir& dir, std::vector<TargetSpec> targets = {},
                            const std::string& health = "") {
  DaemonConfig c = DaemonConfig::NoAuth();
  c.node = fmt::format("log_file = \"{}\"", FileLog(dir));
  c.targets = std::move(targets);
  c.extra = health;
  return c;
}

grpc::Status Execute(Daemon& d, int64_t id, v1::ExecuteResponse* out) {
  v1::ExecuteRequest r;
  r.mutable_statement()->set_text("INSERT INTO point (point_id, name) VALUES ($1, $2)");
  r.mutable_statement()->add_params()->set_int_value(id);
  r.mutable_statement()->add_params()->set_text_value(fmt::format("sync-{}", id));
  auto ctx = d.Context("");
  return d.sql_stub().Execute(ctx.get(), r, out);
}

grpc::Status GetOutcome(Daemon& d, uint64_t lsn, v1::ExecuteResponse* out) {
  v1::GetOutcomeRequest r;
  r.set_lsn(lsn);
  auto ctx = d.Context("");
  return d.sql_stub().GetOutcome(ctx.get(), r, out);
}

// The log file of a killed node ends where the node was: its start and its state
// changes are in it (they used to sit in the file's buffer until a warning flushed it,
// so the log of a crashed node ended before it had even started).
TEST(NodeStopTest, LogFileOfAKilledNodeShowsItsStateChanges) {
  TempDir dir;
  Daemon node(dir, StopTestConfig(dir));
  ASSERT_NO_FATAL_FAILURE(node.Start());
  // Every line that reached stderr before the kill is one the file must have too.
  const std::string before = ReadFile(node.log());
  ASSERT_EQ(node.process()->Stop(SIGKILL, seconds(30)), 128 + SIGKILL);
  const std::string file = ReadFile(FileLog(dir));
  for (const char* line : {"sluiced started", "service state: active(a)", "now deciding sync-write intents",
                           "target 'dr' stream 'model': running"}) {
    EXPECT_NE(before.find(line), std::string::npos) << line;
    EXPECT_NE(file.find(line), std::string::npos) << "missing in the log file: " << line << "\n" << file;
  }
  EXPECT_TRUE(file.empty() || file.back() == '\n') << "the log file ends in the middle of a line";
}

// Two PostgreSQL primaries; the active one (pg-a) is frozen (SIGSTOP: it answers
// nothing, as a hung host would) while a synchronous write waits on it, and sluiced gets
// SIGTERM. The probe timeout is long, so no switch happens first: the node must stop by
// itself, without waiting out connect or I/O timeouts (10 s) or the shutdown grace for
// calls in progress (5 s).
TEST(NodeStopTest, CleanStopWhileTheActiveServerIsFrozen) {
  auto servers = StartPgServers(2);
  ASSERT_TRUE(servers.ok()) << servers.status().ToString();
  std::vector<std::unique_ptr<PgServer>> pg = std::move(servers).value();
  TempDir dir;
  Daemon node(dir, StopTestConfig(dir,
                                  {PrimaryTarget("pg-a", "postgres", pg[0]->ConnInfo("sluice"), 100),
                                   PrimaryTarget("pg-b", "postgres", pg[1]->ConnInfo("sluice"), 90)},
                                  "[health]\nprobe_interval = \"200ms\"\nprobe_timeout = \"60s\"\n"));
  ASSERT_NO_FATAL_FAILURE(node.Start());

  // Synchronous writes in a loop until one does not come back applied.
  std::mutex mu;
  std::vector<int64_t> applied;  // guarded by mu
  grpc::Status last_status;      // guarded by mu
  v1::ExecuteResponse last;      // guarded by mu
  std::atomic<int64_t> in_flight{0};
  std::atomic<bool> writer_done{false};
  std::thread writer([&] {
    for (int64_t id = 1;; ++id) {
      in_flight = id;
      v1::ExecuteResponse r;
      grpc::Status s = Execute(node, id, &r);
      std::lock_guard lk(mu);
      if (!s.ok() || r.outcome() != v1::OUTCOME_APPLIED) {
        last_status = s;
        last = r;
        writer_done = true;
        return;
      }
      applied.push_back(id);
    }
  });
  WaitFor([&] {
    std::lock_guard lk(mu);
    return applied.size() >= 20 || writer_done;
  });
  if (writer_done) {
    writer.join();
    FAIL() << "a synchronous write failed before the test froze anything: " << last_status.error_message() << " "
           << last.DebugString();
  }
  ASSERT_TRUE(pg[0]->KillAll(SIGSTOP).ok());
  std::this_thread::sleep_for(milliseconds(500));  // the call in flight waits on pg-a

  const auto t0 = Clock::now();
  const int code = node.process()->Stop(SIGTERM, seconds(60));
  const auto took = Clock::now() - t0;
  writer.join();
  ASSERT_TRUE(pg[0]->KillAll(SIGCONT).ok());
  EXPECT_EQ(code, 0) << ReadFile(node.log());
  std::cerr << "the stop took " << std::chrono::duration_cast<milliseconds>(took).count() << " ms\n";
  // About 2 s is the goal; the bound leaves room for a loaded machine and sanitizers but
  // is well below the 10 s connect and I/O timeouts the stop used to wait out.
  EXPECT_LT(took, seconds(6)) << "the stop took "
                              << std::chrono::duration_cast<milliseconds>(took).count() << " ms";

  // Nothing was decided after the node began to stop, and the node did not switch.
  const std::string log = ReadFile(node.log());
  const size_t stop_at = log.find("received SIGTERM");
  ASSERT_NE(stop_at, std::string::npos) << log;
  const std::string after = log.substr(stop_at);
  for (const char* line : {"now deciding", "after it stopped deciding", "service state:"}) {
    EXPECT_EQ(after.find(line), std::string::npos) << line << " after the stop began:\n" << after;
  }

  // The call in flight got an honest answer: not decided yet (UNKNOWN, with its LSN), or
  // an error that claims nothing (refused, or its connection closed by the stop).
  uint64_t pending_lsn = 0;
  const int64_t pending_id = in_flight.load();
  {
    std::lock_guard lk(mu);
    if (last_status.ok()) {
      EXPECT_EQ(last.outcome(), v1::OUTCOME_UNKNOWN) << last.DebugString();
      EXPECT_GT(last.lsn(), 0u);
      pending_lsn = last.lsn();
    } else {
      std::cerr << "the call in flight ended with " << last_status.error_code() << ": " << last_status.error_message()
                << "\n";
    }
  }

  // After a restart the pending write is decided, once, and every target holds exactly
  // the applied writes.
  ASSERT_NO_FATAL_FAILURE(node.Start());
  bool pending_applied = false;
  if (pending_lsn > 0) {
    v1::ExecuteResponse o;
    ASSERT_TRUE(WaitFor([&] {
      return GetOutcome(node, pending_lsn, &o).ok() &&
             (o.outcome() == v1::OUTCOME_APPLIED || o.outcome() == v1::OUTCOME_REJECTED);
    })) << o.DebugString();
    EXPECT_EQ(o.outcome(), v1::OUTCOME_APPLIED) << o.DebugString();
    pending_applied = o.outcome() == v1::OUTCOME_APPLIED;
  }
  // A call that ended in an error (refused, or its connection lost) may or may not have
  // been journaled: its row may be there, once, on every target alike.
  std::set<std::string> expected;
  for (int64_t id : applied) expected.insert(std::to_string(id));
  if (pending_applied) expected.insert(std::to_string(pending_id));
  const std::string maybe = pending_lsn == 0 ? std::to_string(pending_id) : std::string();
  std::vector<std::string> rows_of[2];
  const bool converged = WaitFor([&] {
    for (int i = 0; i < 2; ++i) {
      auto r = pg[i]->QueryRows("SELECT point_id FROM point ORDER BY point_id", "sluice");
      if (!r.ok()) return false;
      rows_of[i].clear();
      for (const auto& row : *r) rows_of[i].push_back(row[0]);
    }
    return rows_of[0] == rows_of[1];
  });
  EXPECT_TRUE(converged) << "the targets differ";
  for (int i = 0; i < 2; ++i) {
    std::set<std::string> got, distinct;
    for (const auto& id : rows_of[i]) {
      distinct.insert(id);
      if (id != maybe) got.insert(id);
    }
    EXPECT_EQ(got, expected) << "target " << i << " lacks an applied write or holds one never acknowledged";
    EXPECT_EQ(distinct.size(), rows_of[i].size()) << "a write applied twice on target " << i;
  }
  EXPECT_EQ(node.process()->Stop(SIGTERM, seconds(60)), 0);
}

}  // namespace
}  // namespace sluice::testing
