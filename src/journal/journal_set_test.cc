#include "journal/journal_set.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fault_injection_file_system.h"
#include "journal/journal_test_util.h"

namespace sluice::journal {
namespace {

using ::testing::HasSubstr;
using testing::PayloadFor;
using testing::ReadAll;
using testing::ReadBytes;
using testing::SegmentFiles;
using testing::TempDir;
using testing::WriteBytes;

class JournalSetTest : public ::testing::Test {
 protected:
  JournalSetOptions Options(FileSystem* fs = FileSystem::Default()) const {
    JournalSetOptions o;
    o.fs = fs;
    o.data_dir = data_dir_;
    o.streams = {{"samples", 0}, {"events", 0}};
    o.segment_bytes = 1024;  // seven 100-byte records per segment
    return o;
  }

  std::unique_ptr<JournalSet> Open(const JournalSetOptions& o) {
    auto set = JournalSet::Open(o);
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    return set.ok() ? std::move(set).value() : nullptr;
  }

  // Appends `n` durable 100-byte records to `stream`; returns the last LSN.
  Lsn Fill(JournalSet* set, const std::string& stream, int n) {
    Journal* j = set->stream(stream);
    EXPECT_NE(j, nullptr);
    Lsn last = 0;
    for (int i = 0; i < n; ++i) {
      auto lsn = j->AppendDurable(1, PayloadFor(i, 100));
      EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
      if (lsn.ok()) last = *lsn;
    }
    return last;
  }

  std::string StreamDir(const std::string& stream) const {
    return JoinPath(JoinPath(data_dir_, "journal"), stream);
  }
  std::string CursorFile() const { return JoinPath(JoinPath(data_dir_, "state"), "cursors.json"); }

  TempDir tmp_;
  std::string data_dir_ = tmp_.Sub("data");
};

// ---- The directory lock.

TEST_F(JournalSetTest, SecondOpenOfTheDataDirectoryFailsNamingTheHolder) {
  auto first = Open(Options());
  ASSERT_NE(first, nullptr);
  auto second = JournalSet::Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition) << second.status().ToString();
  EXPECT_THAT(second.status().message(), HasSubstr(fmt::format("pid {}", ::getpid())));
  EXPECT_THAT(second.status().message(), HasSubstr(JoinPath(data_dir_, "LOCK")));
  // The failed open disturbed nothing: the first still works, and once it is closed the
  // directory can be opened again.
  EXPECT_TRUE(first->stream("samples")->AppendDurable(1, "x").ok());
  first.reset();
  auto third = Open(Options());
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(third->stream("samples")->durable_lsn(), 1u);
}

TEST_F(JournalSetTest, LockHeldByAnotherProcessNamesItsPid) {
  ASSERT_TRUE(FileSystem::Default()->CreateDirs(data_dir_).ok());
  int to_parent[2];
  int to_child[2];
  ASSERT_EQ(::pipe(to_parent), 0);
  ASSERT_EQ(::pipe(to_child), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only system calls here: take the lock, report, wait to be told to exit.
    auto lock = FileSystem::Default()->LockFile(JoinPath(data_dir_, "LOCK"));
    char c = lock.ok() ? 'y' : 'n';
    (void)!::write(to_parent[1], &c, 1);
    (void)!::read(to_child[0], &c, 1);
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(to_parent[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto set = JournalSet::Open(Options());
  char go = 'x';
  (void)!::write(to_child[1], &go, 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(set.status().message(), HasSubstr(fmt::format("pid {}", child)));
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) ::close(fd);
  // The holder is gone: the directory opens.
  EXPECT_NE(Open(Options()), nullptr);
}

// ---- The epoch.

TEST_F(JournalSetTest, EpochPersistsAcrossReopenAndIsNewAfterAWipe) {
  Epoch first_epoch;
  {
    auto set = Open(Options());
    ASSERT_NE(set, nullptr);
    first_epoch = set->epoch();
    EXPECT_NE(first_epoch, Epoch{});
    EXPECT_EQ(ReadBytes(JoinPath(JoinPath(data_dir_, "journal"), "EPOCH")),
              EpochToHex(first_epoch) + "\n");
    Fill(set.get(), "samples", 3);
  }
  {
    auto set = Open(Options());
    ASSERT_NE(set, nullptr);
    EXPECT_EQ(set->epoch(), first_epoch);
    // Segments carry the epoch.
    auto files = SegmentFiles(StreamDir("samples"));
    ASSERT_FALSE(files.empty());
    auto header = DecodeSegmentHeader(ReadBytes(files[0]));
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->epoch, first_epoch);
    EXPECT_EQ(set->stream("samples")->durable_lsn(), 3u);
  }
  std::filesystem::remove_all(data_dir_);
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  EXPECT_NE(set->epoch(), first_epoch);
  EXPECT_EQ(set->stream("samples")->durable_lsn(), 0u);
}

TEST_F(JournalSetTest, MissingEpochWithSegmentsPresentIsAnError) {
  {
    auto set = Open(Options());
    ASSERT_NE(set, nullptr);
    Fill(set.get(), "events", 2);
  }
  const std::string epoch_path = JoinPath(JoinPath(data_dir_, "journal"), "EPOCH");
  std::filesystem::remove(epoch_path);
  auto set = JournalSet::Open(Options());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Code::kCorruption);
  EXPECT_THAT(set.status().message(), HasSubstr(epoch_path));
  EXPECT_THAT(set.status().message(), HasSubstr("'events'"));
  // It did not write a new epoch over the old history.
  EXPECT_FALSE(std::filesystem::exists(epoch_path));
}

TEST_F(JournalSetTest, DamagedEpochFileIsAnError) {
  { ASSERT_NE(Open(Options()), nullptr); }
  const std::string epoch_path = JoinPath(JoinPath(data_dir_, "journal"), "EPOCH");
  WriteBytes(epoch_path, "not an epoch\n");
  auto set = JournalSet::Open(Options());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Code::kCorruption);
  EXPECT_THAT(set.status().message(), HasSubstr(epoch_path));
}

TEST_F(JournalSetTest, StreamConfigurationIsChecked) {
  JournalSetOptions o = Options();
  o.streams = {{"a", 0}, {"a", 0}};
  auto dup = JournalSet::Open(o);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(dup.status().message(), HasSubstr("'a'"));

  o.streams = {{"a", 600}, {"b", 600}};
  o.budget_bytes = 1000;
  auto over = JournalSet::Open(o);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(over.status().message(), HasSubstr("1200"));

  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->stream("nope"), nullptr);
  EXPECT_EQ(set->stream_names(), (std::vector<std::string>{"events", "samples"}));
}

// ---- Named cursors.

TEST_F(JournalSetTest, CursorsPersistAcrossReopen) {
  {
    auto set = Open(Options());
    ASSERT_NE(set, nullptr);
    Fill(set.get(), "samples", 10);
    ASSERT_TRUE(set->RegisterCursor("samples", "pg", {1234, RetentionPolicy::kDetach}).ok());
    ASSERT_TRUE(set->RegisterCursor("samples", "sqlite", {}).ok());
    ASSERT_TRUE(set->RegisterCursor("events", "pg", {}).ok());
    ASSERT_TRUE(set->AdvanceCursor("samples", "pg", 7).ok());
    ASSERT_TRUE(set->FlushCursors().ok());
    // Advanced but not flushed: closing saves it.
    ASSERT_TRUE(set->AdvanceCursor("samples", "sqlite", 4).ok());
  }
  // Replaced atomically: no temporary is left behind.
  EXPECT_FALSE(std::filesystem::exists(CursorFile() + ".tmp"));
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  auto pg = set->GetCursor("samples", "pg");
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  EXPECT_EQ(pg->lsn, 7u);
  EXPECT_EQ(pg->options.budget_bytes, 1234u);
  EXPECT_EQ(pg->options.policy, RetentionPolicy::kDetach);
  EXPECT_FALSE(pg->needs_resync);
  auto sqlite = set->GetCursor("samples", "sqlite");
  ASSERT_TRUE(sqlite.ok());
  EXPECT_EQ(sqlite->lsn, 4u);
  EXPECT_EQ(sqlite->options.policy, RetentionPolicy::kHold);
  auto events = set->GetCursor("events", "pg");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->lsn, 0u);
  EXPECT_EQ(set->Cursors().size(), 3u);
  // Re-registering updates the options but keeps the position.
  ASSERT_TRUE(set->RegisterCursor("samples", "pg", {99, RetentionPolicy::kHold}).ok());
  pg = set->GetCursor("samples", "pg");
  EXPECT_EQ(pg->lsn, 7u);
  EXPECT_EQ(pg->options.budget_bytes, 99u);
  EXPECT_EQ(pg->options.policy, RetentionPolicy::kHold);
}

// A flushed cursor survives a power loss: the file is synced, renamed, and the directory
// synced (a FlushCursors that skipped a step would lose the new position here).
TEST_F(JournalSetTest, FlushedCursorsSurvivePowerLoss) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  {
    auto set = Open(Options(&fs));
    ASSERT_NE(set, nullptr);
    Fill(set.get(), "samples", 5);
    ASSERT_TRUE(set->RegisterCursor("samples", "pg", {}).ok());
    ASSERT_TRUE(set->AdvanceCursor("samples", "pg", 3).ok());
    ASSERT_TRUE(set->FlushCursors().ok());
    ASSERT_TRUE(set->AdvanceCursor("samples", "pg", 5).ok());  // never flushed
    ASSERT_TRUE(fs.DropUnsyncedData().ok());
    // The process died with the power: closing must not write anything any more.
    fs.FailAppendsAfter(0, Status::IOError("the process is dead"));
  }
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  auto pg = set->GetCursor("samples", "pg");
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  EXPECT_EQ(pg->lsn, 3u);
  EXPECT_EQ(set->stream("samples")->durable_lsn(), 5u);
}

TEST_F(JournalSetTest, AdvanceCursorNeverMovesBack) {
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  ASSERT_TRUE(set->RegisterCursor("samples", "pg", {}).ok());
  ASSERT_TRUE(set->AdvanceCursor("samples", "pg", 10).ok());
  ASSERT_TRUE(set->AdvanceCursor("samples", "pg", 5).ok());
  EXPECT_EQ(set->GetCursor("samples", "pg")->lsn, 10u);
  ASSERT_TRUE(set->FlushCursors().ok());
  set.reset();
  set = Open(Options());
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->GetCursor("samples", "pg")->lsn, 10u);
}

TEST_F(JournalSetTest, UnknownStreamsAndCursorsAreNotFound) {
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  Status s = set->RegisterCursor("nope", "pg", {});
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("'nope'"));
  EXPECT_EQ(set->AdvanceCursor("samples", "pg", 1).code(), Code::kNotFound);
  EXPECT_EQ(set->ResetCursor("samples", "pg", 1).code(), Code::kNotFound);
  auto c = set->GetCursor("samples", "pg");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
}

class CorruptCursorFileTest : public JournalSetTest,
                              public ::testing::WithParamInterface<std::pair<std::string, std::string>> {};

TEST_P(CorruptCursorFileTest, IsCorruptionNamingTheFileAndTheKey) {
  { ASSERT_NE(Open(Options()), nullptr); }
  const auto& [contents, key] = GetParam();
  WriteBytes(CursorFile(), contents);
  auto set = JournalSet::Open(Options());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Code::kCorruption) << set.status().ToString();
  EXPECT_THAT(set.status().message(), HasSubstr(CursorFile()));
  EXPECT_THAT(set.status().message(), HasSubstr(key));
}

std::string CursorJson(std::string_view lsn, std::string_view policy = "\"hold\"",
                       std::string_view extra = ", \"needs_resync\": false") {
  return fmt::format(R"({{"version": 1, "cursors": [{{"stream": "samples", "name": "pg",
    "lsn": {}, "budget_bytes": 0, "policy": {}{}}}]}})",
                     lsn, policy, extra);
}

INSTANTIATE_TEST_SUITE_P(
    Damage, CorruptCursorFileTest,
    ::testing::Values(std::pair<std::string, std::string>{"not json at all", "not a cursor file"},
                      std::pair<std::string, std::string>{"{\"cursors\": [", "not a cursor file"},
                      std::pair<std::string, std::string>{"[]", "not a cursor file"},
                      std::pair<std::string, std::string>{"{\"cursors\": 5}", "'cursors'"},
                      std::pair<std::string, std::string>{CursorJson("\"five\""), "'lsn'"},
                      std::pair<std::string, std::string>{CursorJson("-1"), "'lsn'"},
                      std::pair<std::string, std::string>{CursorJson("1.5"), "'lsn'"},
                      std::pair<std::string, std::string>{CursorJson("3", "\"sometimes\""), "'policy'"},
                      std::pair<std::string, std::string>{CursorJson("3", "7"), "'policy'"},
                      std::pair<std::string, std::string>{CursorJson("3", "\"hold\"", ""), "'needs_resync'"},
                      std::pair<std::string, std::string>{"{\"cursors\": [7]}", "cursor #0"}));

// ---- Retention.

TEST_F(JournalSetTest, RetentionDeletesOnlySegmentsEveryCursorPassed) {
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  ASSERT_EQ(Fill(set.get(), "samples", 70), 70u);
  Fill(set.get(), "events", 30);
  Journal* j = set->stream("samples");
  ASSERT_EQ(j->Segments().size(), 10u);  // 1-7, 8-14, ..., 64-70

  // Registered cursors start at LSN 0 and hold everything.
  ASSERT_TRUE(set->RegisterCursor("samples", "fast", {}).ok());
  ASSERT_TRUE(set->RegisterCursor("samples", "slow", {}).ok());
  auto report = set->RunRetention();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->bytes_freed, 0u);
  EXPECT_EQ(j->Segments().size(), 10u);

  ASSERT_TRUE(set->AdvanceCursor("samples", "fast", 30).ok());
  ASSERT_TRUE(set->AdvanceCursor("samples", "slow", 22).ok());
  auto before = j->Segments();
  report = set->RunRetention();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // 1-7, 8-14, 15-21 are passed by both; 22-28 still holds LSN 22's successors.
  EXPECT_EQ(report->bytes_freed, before[0].bytes + before[1].bytes + before[2].bytes);
  EXPECT_EQ(j->first_lsn(), 22u);
  auto files = SegmentFiles(StreamDir("samples"));
  ASSERT_EQ(files.size(), 7u);
  EXPECT_EQ(files[0], JoinPath(StreamDir("samples"), SegmentFileName(22)));
  // The cursors were durable before anything was deleted.
  EXPECT_THAT(ReadBytes(CursorFile()), HasSubstr("\"lsn\": 22"));

  // Everything applied by both: all but the live segment goes.
  ASSERT_TRUE(set->AdvanceCursor("samples", "fast", 70).ok());
  ASSERT_TRUE(set->AdvanceCursor("samples", "slow", 70).ok());
  ASSERT_TRUE(set->RunRetention().ok());
  files = SegmentFiles(StreamDir("samples"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], JoinPath(StreamDir("samples"), SegmentFileName(64)));
  EXPECT_EQ(j->first_lsn(), 64u);

  // A stream with no cursor keeps everything.
  EXPECT_EQ(SegmentFiles(StreamDir("events")).size(), 5u);
  EXPECT_EQ(set->stream("events")->first_lsn(), 1u);

  // The journal goes on, and what is retained is still readable.
  EXPECT_EQ(*j->AppendDurable(1, "more"), 71u);
  auto all = ReadAll(*j, 64);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 8u);
  set.reset();
  set = Open(Options());
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->stream("samples")->first_lsn(), 64u);
  EXPECT_EQ(set->stream("samples")->durable_lsn(), 71u);
}

TEST_F(JournalSetTest, RetentionRunsInTheBackground) {
  JournalSetOptions o = Options();
  o.retention_interval = std::chrono::milliseconds(10);
  auto set = Open(o);
  ASSERT_NE(set, nullptr);
  Fill(set.get(), "samples", 30);
  ASSERT_TRUE(set->RegisterCursor("samples", "pg", {}).ok());
  ASSERT_TRUE(set->AdvanceCursor("samples", "pg", 30).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (set->stream("samples")->Segments().size() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(set->stream("samples")->Segments().size(), 1u);
}

TEST_F(JournalSetTest, HoldPolicyKeepsEverythingOverBudget) {
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  Fill(set.get(), "samples", 50);
  ASSERT_TRUE(set->RegisterCursor("samples", "pg", {500, RetentionPolicy::kHold}).ok());
  ASSERT_TRUE(set->AdvanceCursor("samples", "pg", 3).ok());
  auto report = set->RunRetention();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->bytes_freed, 0u);
  EXPECT_TRUE(report->detached.empty());
  EXPECT_EQ(set->stream("samples")->first_lsn(), 1u);
  auto c = set->GetCursor("samples", "pg");
  EXPECT_FALSE(c->needs_resync);
  EXPECT_EQ(c->lsn, 3u);
}

TEST_F(JournalSetTest, DetachPolicyMarksNeedsResyncAndFreesSegments) {
  {
    auto set = Open(Options());
    ASSERT_NE(set, nullptr);
    Fill(set.get(), "samples", 50);
    ASSERT_TRUE(set->RegisterCursor("samples", "laggard", {2000, RetentionPolicy::kDetach}).ok());
    ASSERT_TRUE(set->RegisterCursor("samples", "current", {}).ok());
    ASSERT_TRUE(set->AdvanceCursor("samples", "laggard", 2).ok());
    ASSERT_TRUE(set->AdvanceCursor("samples", "current", 50).ok());
    auto report = set->RunRetention();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->detached, std::vector<std::string>{"samples/laggard"});
    EXPECT_GT(report->bytes_freed, 0u);
    EXPECT_EQ(set->stream("samples")->Segments().size(), 1u);
    auto c = set->GetCursor("samples", "laggard");
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->needs_resync);
    EXPECT_THAT(c->resync_reason, HasSubstr("budget of 2000 bytes"));
    EXPECT_THAT(c->resync_reason, HasSubstr("'samples'"));
    // A second pass does not report it again.
    report = set->RunRetention();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->detached.empty());
  }
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  auto c = set->GetCursor("samples", "laggard");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->needs_resync);
  EXPECT_THAT(c->resync_reason, HasSubstr("budget of 2000 bytes"));
}

// The only cursor of a stream is detached: it stops holding segments, so they go. (A
// stream whose cursors are all detached is not a stream nobody registered for.)
TEST_F(JournalSetTest, DetachedOnlyCursorHoldsNothing) {
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  Fill(set.get(), "samples", 50);
  ASSERT_TRUE(set->RegisterCursor("samples", "laggard", {2000, RetentionPolicy::kDetach}).ok());
  auto report = set->RunRetention();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->detached, std::vector<std::string>{"samples/laggard"});
  EXPECT_GT(report->bytes_freed, 0u);
  EXPECT_EQ(set->stream("samples")->Segments().size(), 1u);
}

TEST_F(JournalSetTest, ResetCursorClearsNeedsResync) {
  auto set = Open(Options());
  ASSERT_NE(set, nullptr);
  Fill(set.get(), "samples", 50);
  ASSERT_TRUE(set->RegisterCursor("samples", "laggard", {2000, RetentionPolicy::kDetach}).ok());
  ASSERT_TRUE(set->RegisterCursor("samples", "current", {}).ok());
  ASSERT_TRUE(set->AdvanceCursor("samples", "current", 50).ok());
  ASSERT_TRUE(set->RunRetention().ok());
  ASSERT_TRUE(set->GetCursor("samples", "laggard")->needs_resync);

  ASSERT_EQ(set->stream("samples")->first_lsn(), 50u);

  // The operator resynchronised the target up to LSN 52 and gave it a larger budget;
  // the cursor holds again.
  ASSERT_TRUE(set->ResetCursor("samples", "laggard", 52).ok());
  ASSERT_TRUE(set->RegisterCursor("samples", "laggard", {1 << 20, RetentionPolicy::kDetach}).ok());
  auto c = set->GetCursor("samples", "laggard");
  EXPECT_FALSE(c->needs_resync);
  EXPECT_TRUE(c->resync_reason.empty());
  EXPECT_EQ(c->lsn, 52u);
  Fill(set.get(), "samples", 30);  // to LSN 80
  ASSERT_TRUE(set->AdvanceCursor("samples", "current", 80).ok());
  auto report = set->RunRetention();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->detached.empty());
  // The segment with the records after 52 is kept for it.
  EXPECT_EQ(set->stream("samples")->first_lsn(), 50u);
  EXPECT_FALSE(set->GetCursor("samples", "laggard")->needs_resync);
  // Reset may move a cursor back (a resync from scratch), unlike Advance.
  ASSERT_TRUE(set->ResetCursor("samples", "laggard", 51).ok());
  EXPECT_EQ(set->GetCursor("samples", "laggard")->lsn, 51u);
  set.reset();
  set = Open(Options());
  ASSERT_NE(set, nullptr);
  c = set->GetCursor("samples", "laggard");
  EXPECT_EQ(c->lsn, 51u);
  EXPECT_FALSE(c->needs_resync);
}

// ---- Budgets.

TEST_F(JournalSetTest, BudgetsWithReservedSharesPerStream) {
  JournalSetOptions o = Options();
  o.segment_bytes = 4096;
  o.streams = {{"A", 16384}, {"B", 16384}};
  o.budget_bytes = 49152;  // A and B's shares plus a pool of 16384
  auto set = Open(o);
  ASSERT_NE(set, nullptr);
  Journal* a = set->stream("A");
  Journal* b = set->stream("B");
  const std::string payload(480, 'p');  // 500-byte frames

  // A fills its share and the whole pool.
  Status refused;
  int a_records = 0;
  for (; a_records < 1000; ++a_records) {
    auto lsn = a->AppendDurable(1, payload);
    if (!lsn.ok()) {
      refused = lsn.status();
      break;
    }
  }
  ASSERT_FALSE(refused.ok()) << "A was never refused";
  EXPECT_EQ(refused.code(), Code::kResourceExhausted);
  EXPECT_TRUE(refused.retryable());
  EXPECT_THAT(refused.message(), HasSubstr("'A'"));
  EXPECT_THAT(refused.message(), HasSubstr("49152"));
  // It got close to its share plus the pool (segment headers count too).
  EXPECT_GE(set->space().used(0) + 500 + 128, 32768u);
  EXPECT_LE(set->space().used(0), 32768u + 128);
  // A refusal is not a failure of the journal: nothing sticky, no LSN consumed.
  EXPECT_TRUE(a->health().ok());
  EXPECT_EQ(a->last_assigned_lsn(), static_cast<Lsn>(a_records));

  // B still has its own share.
  int b_records = 0;
  for (int i = 0; i < 20; ++i, ++b_records) {
    auto lsn = b->AppendDurable(1, payload);
    ASSERT_TRUE(lsn.ok()) << "B within its share: " << lsn.status().ToString();
  }
  // ...but not beyond it, because A holds the pool.
  Status b_refused;
  for (int i = 0; i < 100; ++i, ++b_records) {
    auto lsn = b->AppendDurable(1, payload);
    if (!lsn.ok()) {
      b_refused = lsn.status();
      break;
    }
  }
  ASSERT_FALSE(b_refused.ok());
  EXPECT_EQ(b_refused.code(), Code::kResourceExhausted);
  EXPECT_THAT(b_refused.message(), HasSubstr("'B'"));
  EXPECT_LE(set->space().used(1), 16384u + 128);

  // A's target catches up; retention frees A's segments and both may append again.
  ASSERT_TRUE(set->RegisterCursor("A", "pg", {}).ok());
  ASSERT_TRUE(set->AdvanceCursor("A", "pg", a->durable_lsn()).ok());
  auto report = set->RunRetention();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GT(report->bytes_freed, 16384u);
  auto again = a->AppendDurable(1, payload);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, static_cast<Lsn>(a_records + 1));
  auto b_again = b->AppendDurable(1, payload);
  ASSERT_TRUE(b_again.ok()) << b_again.status().ToString();
  EXPECT_EQ(*b_again, static_cast<Lsn>(b_records + 1));
}

TEST_F(JournalSetTest, BudgetCountsWhatIsOnDiskAfterReopen) {
  JournalSetOptions o = Options();
  o.segment_bytes = 4096;
  o.streams = {{"A", 0}};
  o.budget_bytes = 10000;
  {
    auto set = Open(o);
    ASSERT_NE(set, nullptr);
    while (set->stream("A")->AppendDurable(1, std::string(480, 'p')).ok()) {
    }
  }
  auto set = Open(o);
  ASSERT_NE(set, nullptr);
  EXPECT_GT(set->space().used(0), 9000u);
  auto refused = set->stream("A")->AppendDurable(1, std::string(480, 'p'));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted);
}

TEST_F(JournalSetTest, FreeSpaceFloor) {
  auto space = FileSystem::Default()->Space(tmp_.path());
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  JournalSetOptions o = Options();
  o.free_space_floor_bytes = space->available_bytes + (1ull << 40);
  auto set = Open(o);
  ASSERT_NE(set, nullptr);
  auto refused = set->stream("samples")->AppendDurable(1, "x");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(refused.status().retryable());
  EXPECT_THAT(refused.status().message(), HasSubstr(fmt::format("floor of {} bytes", o.free_space_floor_bytes)));
  EXPECT_THAT(refused.status().message(), HasSubstr("'samples'"));
  EXPECT_TRUE(set->stream("samples")->health().ok());
  set.reset();

  // A floor the disk is above does not get in the way.
  o.free_space_floor_bytes = 1;
  set = Open(o);
  ASSERT_NE(set, nullptr);
  auto lsn = set->stream("samples")->AppendDurable(1, "x");
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*lsn, 1u);
}

}  // namespace
}  // namespace sluice::journal
