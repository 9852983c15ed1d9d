// Kill test of replication: a child process journals a workload and runs the appliers
// into two PostgreSQL servers and one SQLite file; the parent SIGKILLs it at random
// moments while it applies, at least 20 times. After every kill each target must hold
// exactly a prefix of the workload (the ordered SQL state after exactly its watermark,
// never a duplicate sample), and after a last run every target converges to exactly the
// expected rows.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "replicate/replication_test_util.h"
#include "replicate/replicator.h"

namespace sluice::replicate::testing {
namespace {

using sluice::testing::PgServer;
using sluice::testing::StartPgServers;

constexpr int kKills = 24;

// Every run of the child journals one more chunk of the workload before it applies, so
// each kill finds fresh work to interrupt however fast the machine is.
constexpr int kChunks = kKills + 1;
constexpr int kBatchesPerChunk = 20;
constexpr int kUpdatesPerChunk = 400;

Workload TheWorkload() {
  Workload w;
  w.points = 400;
  w.batches = kChunks * kBatchesPerChunk;  // 200,000 samples in all
  w.updates = kChunks * kUpdatesPerChunk;
  return w;
}

// The child: journals the next chunk of the workload, then applies
// until caught up ("C" on the pipe) and keeps running until killed.
[[noreturn]] void Child(const std::string& data_dir, const std::vector<TargetHandle>& targets, int fd) {
  auto fail = [fd](const std::string& why) {
    std::string line = "E " + why + "\n";
    (void)!write(fd, line.data(), line.size());
    _exit(1);
  };
  journal::JournalSetOptions jo;
  jo.data_dir = data_dir;
  jo.streams = {{"samples", 0}, {"sql", 0}};
  jo.segment_bytes = 4 << 20;
  auto set = journal::JournalSet::Open(jo);
  if (!set.ok()) fail(set.status().ToString());
  Journaler journaler(set->get());
  Workload w = TheWorkload();
  int chunk = static_cast<int>((*set)->stream("samples")->durable_lsn() / kBatchesPerChunk);
  if (chunk < kChunks) {
    auto sql = w.SqlRecords();
    size_t head = 1 + kCounters;  // the table and the counters come with the first chunk
    size_t from = chunk == 0 ? 0 : head + static_cast<size_t>(chunk) * kUpdatesPerChunk;
    size_t to = head + static_cast<size_t>(chunk + 1) * kUpdatesPerChunk;
    if ((*set)->stream("sql")->durable_lsn() != from) fail("the journal holds part of a chunk");
    for (size_t i = from; i < to; ++i) {
      if (auto l = journaler.Admit("sql", sql[i], /*wait=*/false); !l.ok()) fail(l.status().ToString());
    }
    for (int b = chunk * kBatchesPerChunk; b < (chunk + 1) * kBatchesPerChunk; ++b) {
      if (auto l = journaler.Admit("samples", w.SampleBatch(b), /*wait=*/false); !l.ok()) fail(l.status().ToString());
    }
    for (const char* st : {"sql", "samples"}) {
      if (Status fs = (*set)->stream(st)->Flush(); !fs.ok()) fail(fs.ToString());
    }
  }
  ReplicatorOptions o;
  o.node_id = "node-1";
  o.data_dir = data_dir;
  o.backoff_initial = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(300);
  for (const auto& t : targets) {
    TargetSpec ts;
    ts.name = t.name;
    ts.dialect = t.dialect;
    ts.connection = t.connection;
    o.targets.push_back(ts);
  }
  // Small batches: many commits, so kills land between and inside them.
  o.streams = {StreamSpec{"samples", false, OnError::kSkip, 1, 0}, StreamSpec{"sql", true, OnError::kSkip, 10, 0}};
  auto r = Replicator::Create(set->get(), o);
  if (!r.ok()) fail(r.status().ToString());
  (*r)->Start();
  (void)!write(fd, "R\n", 2);
  if ((*r)->WaitCaughtUp(std::chrono::minutes(20))) (void)!write(fd, "C\n", 2);
  while (true) pause();
}

class ReplicationKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = StartPgServers(2);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg).value();
    targets_ = PgPairAndLite(pg_, dir_.path());
  }

  // Runs the child; kills it after `kill_after` (or lets it catch up when negative).
  // Returns the lines it wrote.
  std::string RunChild(std::chrono::milliseconds kill_after) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      Child(dir_.path() + "/data", targets_, fds[1]);
    }
    close(fds[1]);
    std::string out;
    char c;
    bool caught_up = false;
    if (kill_after.count() >= 0) {
      // Wait until the appliers run, then kill at the chosen moment.
      while (read(fds[0], &c, 1) == 1) {
        out += c;
        if (out.find("R\n") != std::string::npos || out.find("E ") != std::string::npos) break;
      }
      std::this_thread::sleep_for(kill_after);
    } else {
      while (!caught_up && read(fds[0], &c, 1) == 1) {
        out += c;
        caught_up = out.find("C\n") != std::string::npos;
        if (out.find("E ") != std::string::npos && c == '\n') break;
      }
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    while (read(fds[0], &c, 1) == 1) out += c;
    close(fds[0]);
    return out;
  }

  // After a kill: every target holds a prefix of the workload, consistent with its
  // watermark: the ordered SQL state is exactly the state after its watermark.
  void ExpectConsistentPrefix(const Workload& w, int round) {
    // A killed client's last COMMIT may still be finishing in its server backend: wait
    // until the dead child's sessions are gone, so the test reads a settled state.
    for (const auto& t : targets_) {
      if (t.pg == nullptr) continue;
      for (int i = 0; i < 6000; ++i) {
        if (t.One("SELECT count(*) FROM pg_stat_activity WHERE datname = 'sluice' AND pid <> pg_backend_pid()") == "0") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    for (const auto& t : targets_) {
      uint64_t sql_wm = t.Watermark("sql");
      SCOPED_TRACE(fmt::format("round {} target {} sql watermark {}", round, t.name, sql_wm));
      ExpectCounters(t, w, sql_wm);
      uint64_t sample_wm = t.Watermark("samples");
      std::string err;
      Rows dup = t.Query("SELECT count(*), count(DISTINCT point_id * 1000000 + ts / 60000000) FROM sample_1min", &err);
      if (sample_wm == 0 && !err.empty()) continue;
      ASSERT_TRUE(err.empty()) << err;
      EXPECT_EQ(dup[0][0], std::to_string(sample_wm * static_cast<uint64_t>(w.points)))
          << "samples applied must be exactly the batches up to the watermark";
      EXPECT_EQ(dup[0][0], dup[0][1]) << "duplicate samples";
    }
  }

  TempDir dir_;
  std::vector<std::unique_ptr<PgServer>> pg_;
  std::vector<TargetHandle> targets_;
};

TEST_F(ReplicationKillTest, SigkillWhileApplyingNeverLosesOrDuplicates) {
  Workload w = TheWorkload();
  std::mt19937 rng(std::random_device{}());
  int killed_while_applying = 0;
  for (int round = 0; round < kKills; ++round) {
    std::string out = RunChild(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 200)(rng)));
    ASSERT_EQ(out.find("E "), std::string::npos) << out;
    if (out.find("C\n") == std::string::npos) ++killed_while_applying;
    ExpectConsistentPrefix(w, round);
  }
  EXPECT_GE(killed_while_applying, kKills / 2) << "most kills should land before the targets caught up";
  // A last run, not killed until it has caught up: every target converges exactly.
  std::string out = RunChild(std::chrono::milliseconds(-1));
  ASSERT_NE(out.find("C\n"), std::string::npos) << "did not catch up: " << out;
  for (const auto& t : targets_) {
    ExpectSamples(t, w, w.batches);
    ExpectCounters(t, w, w.sql_records());
    EXPECT_EQ(t.Watermark("sql"), w.sql_records()) << t.name;
    EXPECT_EQ(t.Watermark("samples"), static_cast<uint64_t>(w.batches)) << t.name;
  }
}

}  // namespace
}  // namespace sluice::replicate::testing
