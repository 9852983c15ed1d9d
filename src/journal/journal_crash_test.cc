// Crash tests of the journal (STYLE.md, "Tests that catch real failures"):
//  - Kill test: a child process appends in durable mode and reports every acknowledged
//    record to the parent, which SIGKILLs it at a random moment, recovers the journal and
//    checks that every acknowledged record is present, intact and in place, and that
//    LSNs are contiguous with no duplicates. Repeated on the same journal.
//  - Power-loss test: the same, but the crash drops every byte and directory entry that
//    was not synced (FaultInjectionFileSystem). Run once more with fdatasync or directory
//    fsync switched off on purpose, to show the test catches a journal that forgets them.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/failpoint.h"
#include "common/fault_injection_file_system.h"
#include "journal/journal_set.h"
#include "journal/reader.h"
#include "support/temp_dir.h"

namespace sluice::journal {
namespace {

constexpr int kProducers = 4;
constexpr size_t kWindow = 64;
const char kStream[] = "samples";

// A record's payload names who wrote it; its length varies so frames straddle segment
// boundaries and write sizes differ.
std::string MakePayload(int round, int producer, uint64_t seq) {
  std::string key = fmt::format("r{}p{}s{}|", round, producer, seq);
  size_t pad = 8 + (seq * 37 + static_cast<uint64_t>(producer) * 11) % 300;
  key.append(pad, static_cast<char>('a' + (seq % 26)));
  return key;
}

JournalSetOptions SetOptions(const std::string& dir, FileSystem* fs) {
  JournalSetOptions o;
  o.fs = fs;
  o.data_dir = dir;
  o.streams = {{kStream, 0}};
  o.segment_bytes = 48 << 10;  // small segments: crashes land around rolls too
  o.max_record_bytes = 1 << 16;
  return o;
}

// Acknowledged records: LSN -> payload.
using Acked = std::map<Lsn, std::string>;

// Appends from kProducers threads until `stop`; each acknowledged record goes to `on_ack`.
// Returns when every producer has stopped (on `stop` or on an append error).
void RunProducers(Journal* j, int round, std::atomic<bool>* stop,
                  const std::function<void(Lsn, const std::string&)>& on_ack) {
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([=, &on_ack] {
      std::deque<std::pair<Lsn, std::string>> in_flight;
      uint64_t seq = 0;
      while (!stop->load()) {
        std::string payload = MakePayload(round, p, seq++);
        auto lsn = j->Append(1, payload);
        if (!lsn.ok()) return;
        in_flight.emplace_back(*lsn, std::move(payload));
        if (in_flight.size() >= kWindow) {
          auto [l, pl] = std::move(in_flight.front());
          in_flight.pop_front();
          if (!j->WaitDurable(l).ok()) return;
          on_ack(l, pl);
        }
      }
      for (auto& [l, pl] : in_flight) {
        if (!j->WaitDurable(l).ok()) return;
        on_ack(l, pl);
      }
    });
  }
  for (auto& t : threads) t.join();
}

// Recovers the journal and checks it against everything acknowledged so far. Returns
// the problems found (empty when all is well) and the records now in the journal.
std::vector<std::string> CheckJournal(const std::string& dir, FileSystem* fs, const Acked& acked,
                                      Acked* found) {
  std::vector<std::string> problems;
  auto set = JournalSet::Open(SetOptions(dir, fs));
  if (!set.ok()) {
    problems.push_back("recovery failed: " + set.status().ToString());
    return problems;
  }
  Journal* j = (*set)->stream(kStream);
  found->clear();
  auto reader = Reader::Open(j, j->first_lsn());
  if (!reader.ok()) {
    problems.push_back("reader: " + reader.status().ToString());
    return problems;
  }
  ReadBatch batch;
  std::set<std::string> keys;
  Lsn expect = j->first_lsn();
  while (true) {
    Status s = (*reader)->Read(4096, 1 << 20, &batch);
    if (!s.ok()) {
      problems.push_back("read: " + s.ToString());
      break;
    }
    if (batch.empty()) break;
    for (const auto& r : batch.records()) {
      if (r.lsn != expect) problems.push_back(fmt::format("LSN {} where {} was expected", r.lsn, expect));
      expect = r.lsn + 1;
      std::string payload(r.payload);
      std::string key = payload.substr(0, payload.find('|'));
      if (!keys.insert(key).second) problems.push_back(fmt::format("duplicate record {} at LSN {}", key, r.lsn));
      (*found)[r.lsn] = std::move(payload);
    }
  }
  if (expect - 1 != j->durable_lsn()) {
    problems.push_back(fmt::format("read up to LSN {} but the durable head is {}", expect - 1, j->durable_lsn()));
  }
  size_t missing = 0, damaged = 0;
  for (const auto& [lsn, payload] : acked) {
    auto it = found->find(lsn);
    if (it == found->end()) ++missing;
    else if (it->second != payload) ++damaged;
  }
  if (missing > 0) problems.push_back(fmt::format("{} acknowledged records missing", missing));
  if (damaged > 0) problems.push_back(fmt::format("{} acknowledged records differ", damaged));
  return problems;
}

using ::sluice::testing::TempDir;

// The child: opens the journal, says "ready", appends until killed, reporting each
// acknowledged record as "LSN KEY-LENGTH PAYLOAD\n" on `fd` (one write per line, so
// lines from different threads never interleave).
[[noreturn]] void ChildAppend(const std::string& dir, int round, int fd) {
  auto set = JournalSet::Open(SetOptions(dir, FileSystem::Default()));
  if (!set.ok()) {
    std::string msg = "E " + set.status().ToString() + "\n";
    (void)!write(fd, msg.data(), msg.size());
    _exit(1);
  }
  (void)!write(fd, "R\n", 2);
  std::atomic<bool> stop{false};
  RunProducers((*set)->stream(kStream), round, &stop, [fd](Lsn lsn, const std::string& payload) {
    std::string line = fmt::format("{} {}\n", lsn, payload);
    (void)!write(fd, line.data(), line.size());
  });
  _exit(2);  // producers only stop on an error
}

TEST(JournalCrashTest, SigkillAtRandomMomentsLosesNothingAcknowledged) {
  TempDir dir;
  std::mt19937 rng(std::random_device{}());
  Acked acked;
  int kills_mid_append = 0;
  constexpr int kRounds = 50;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ChildAppend(dir.path(), round, fds[1]);
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    ASSERT_NE(in, nullptr);
    char* line = nullptr;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    ASSERT_GT(n, 0) << "child said nothing";
    ASSERT_EQ(std::string(line, 2), "R\n") << "child failed: " << line;
    size_t acks_this_round = 0;
    auto take_ack = [&](ssize_t length) {
      std::string s(line, static_cast<size_t>(length) - 1);
      size_t sp = s.find(' ');
      ASSERT_NE(sp, std::string::npos) << "bad line from child: " << s;
      Lsn lsn = std::stoull(s.substr(0, sp));
      acked[lsn] = s.substr(sp + 1);
      ++acks_this_round;
    };
    // Three rounds in four wait for the first acknowledgement, so that the kill lands while
    // appending however slow the machine is (sanitizers, load); the fourth kills whatever
    // the child is doing, recovery included.
    if (round % 4 != 0) {
      n = getline(&line, &cap, in);
      ASSERT_GT(n, 0) << "child stopped before its first acknowledgement";
      take_ack(n);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40000)(rng)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    while ((n = getline(&line, &cap, in)) > 0) take_ack(n);
    free(line);
    fclose(in);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child ended otherwise: status " << wstatus;
    if (acks_this_round > 0) ++kills_mid_append;

    Acked found;
    auto problems = CheckJournal(dir.path(), FileSystem::Default(), acked, &found);
    for (const auto& p : problems) ADD_FAILURE() << "round " << round << ": " << p;
    ASSERT_TRUE(problems.empty());
    // What is in the journal now counts as acknowledged for the next rounds: a later
    // recovery must never take it away.
    for (auto& [l, p] : found) acked.emplace(l, p);
  }
  EXPECT_GE(kills_mid_append, kRounds / 2) << "most kills should land while appending";
  EXPECT_GT(acked.size(), 1000u);
}

// ---- Multi-record requests are all or nothing (issue #9, item 5).

// A batch's records name the batch, their place in it and its size:
// "B<round>.<producer>.<seq>:<index>/<count>|padding".
struct BatchMark {
  std::string batch;
  int index = 0;
  int count = 0;
};

std::optional<BatchMark> ParseBatchMark(const std::string& payload) {
  size_t colon = payload.find(':'), slash = payload.find('/'), bar = payload.find('|');
  if (payload.empty() || payload[0] != 'B' || colon == std::string::npos ||
      slash == std::string::npos || bar == std::string::npos || !(colon < slash && slash < bar)) {
    return std::nullopt;
  }
  BatchMark m;
  m.batch = payload.substr(0, colon);
  m.index = std::stoi(payload.substr(colon + 1, slash - colon - 1));
  m.count = std::stoi(payload.substr(slash + 1, bar - slash - 1));
  return m;
}

JournalSetOptions BatchSetOptions(const std::string& dir) {
  JournalSetOptions o = SetOptions(dir, FileSystem::Default());
  o.segment_bytes = 8 << 10;  // a batch is up to 12 KiB: nearly every roll meets one
  return o;
}

// The child: appends batches of 2..12 records from kProducers threads; after each batch
// is durable it reports "A <batch>\n". Killed by the parent, or crashes itself at a
// fail point armed through SLUICE_FAILPOINTS.
[[noreturn]] void ChildAppendBatches(const std::string& dir, int round, int fd) {
  auto set = JournalSet::Open(BatchSetOptions(dir));
  if (!set.ok()) {
    std::string msg = "E " + set.status().ToString() + "\n";
    (void)!write(fd, msg.data(), msg.size());
    _exit(1);
  }
  (void)!write(fd, "R\n", 2);
  Journal* j = (*set)->stream(kStream);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([=] {
      std::mt19937 rng(static_cast<uint32_t>(round * 100 + p));
      for (uint64_t seq = 0;; ++seq) {
        std::string name = fmt::format("B{}.{}.{}", round, p, seq);
        int count = std::uniform_int_distribution<int>(2, 12)(rng);
        std::vector<std::string> payloads;
        for (int i = 0; i < count; ++i) {
          std::string s = fmt::format("{}:{}/{}|", name, i, count);
          s.append(std::uniform_int_distribution<size_t>(10, 1000)(rng), static_cast<char>('a' + i));
          payloads.push_back(std::move(s));
        }
        std::vector<AppendRecord> records;
        for (const auto& pl : payloads) records.push_back({1, pl});
        auto first = j->AppendBatch(records);
        if (!first.ok() || !j->WaitDurable(*first + static_cast<Lsn>(count) - 1).ok()) _exit(3);
        std::string line = fmt::format("A {}\n", name);
        (void)!write(fd, line.data(), line.size());
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(2);
}

// Checks every batch in the journal is whole: all its records, in order, at consecutive
// LSNs. Adds the batches found to `present`.
std::vector<std::string> CheckBatches(const std::string& dir, std::set<std::string>* present) {
  std::vector<std::string> problems;
  auto set = JournalSet::Open(BatchSetOptions(dir));
  if (!set.ok()) return {"recovery failed: " + set.status().ToString()};
  Journal* j = (*set)->stream(kStream);
  auto reader = Reader::Open(j, j->first_lsn());
  if (!reader.ok()) return {"reader: " + reader.status().ToString()};
  ReadBatch batch;
  std::optional<BatchMark> open;  // the batch being read
  Lsn expect = j->first_lsn();
  std::set<std::string> seen;
  while (true) {
    Status s = (*reader)->Read(4096, 1 << 20, &batch);
    if (!s.ok()) return {"read: " + s.ToString()};
    if (batch.empty()) break;
    for (const auto& r : batch.records()) {
      if (r.lsn != expect) problems.push_back(fmt::format("LSN {} where {} was expected", r.lsn, expect));
      expect = r.lsn + 1;
      auto m = ParseBatchMark(std::string(r.payload));
      if (!m) {
        problems.push_back(fmt::format("LSN {} is not a batch record", r.lsn));
        continue;
      }
      if (open && (m->batch != open->batch || m->index != open->index + 1)) {
        problems.push_back(fmt::format("batch {} cut after record {} of {} (LSN {} is {}:{})",
                                       open->batch, open->index + 1, open->count, r.lsn,
                                       m->batch, m->index));
        open.reset();
      }
      if (!open) {
        if (m->index != 0) {
          problems.push_back(fmt::format("batch {} starts with record {} at LSN {}", m->batch, m->index, r.lsn));
        }
        if (!seen.insert(m->batch).second) problems.push_back(fmt::format("batch {} twice", m->batch));
      }
      open = m;
      if (m->index + 1 == m->count) {
        present->insert(m->batch);
        open.reset();
      }
    }
  }
  if (open) {
    problems.push_back(fmt::format("batch {} cut after record {} of {} at the end of the journal",
                                   open->batch, open->index + 1, open->count));
  }
  return problems;
}

TEST(JournalCrashTest, KillMidBatchLeavesEveryBatchWholeOrAbsent) {
  TempDir dir;
  std::mt19937 rng(std::random_device{}());
  std::set<std::string> acked, present;
  constexpr int kRounds = 30;
  constexpr int kAcksBeforeKill = 5;
  int crashes_at_roll = 0;
  for (int round = 0; round < kRounds; ++round) {
    // Every other round the child crashes at the moment a new segment exists but its
    // directory entry is not yet synced: the rest of a batch that straddled the roll
    // would never be written.
    std::string failpoint;
    if (round % 2 == 1) {
      failpoint = fmt::format("journal.segment_created_before_dir_sync={}*crash",
                              std::uniform_int_distribution<int>(1, 4)(rng));
    }
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      if (!failpoint.empty()) {
        size_t eq = failpoint.find('=');
        if (!failpoint::Arm(failpoint.substr(0, eq), failpoint.substr(eq + 1)).ok()) _exit(4);
        // A watchdog, in case the fail point is never reached.
        std::thread([] {
          std::this_thread::sleep_for(std::chrono::seconds(60));
          _exit(5);
        }).detach();
      }
      ChildAppendBatches(dir.path(), round, fds[1]);
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    ASSERT_NE(in, nullptr);
    char* line = nullptr;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    ASSERT_GT(n, 0) << "child said nothing";
    ASSERT_EQ(std::string(line, 2), "R\n") << "child failed: " << line;
    auto read_ack = [&]() -> bool {
      if ((n = getline(&line, &cap, in)) <= 0) return false;
      std::string s(line, static_cast<size_t>(n) - 1);
      EXPECT_EQ(s.substr(0, 2), "A ") << "bad line from child: " << s;
      acked.insert(s.substr(2));
      return true;
    };
    if (failpoint.empty()) {
      // A few acknowledgements first, so that every round kills a child that has work
      // behind it however slow the machine is; then a random moment.
      for (int k = 0; k < kAcksBeforeKill; ++k) ASSERT_TRUE(read_ack()) << "child ended early";
      std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40000)(rng)));
      kill(pid, SIGKILL);
    }
    while (read_ack()) {
    }
    free(line);
    fclose(in);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    if (failpoint.empty()) {
      ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) << "status " << wstatus;
    } else {
      ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 137)
          << "child did not crash at the fail point: status " << wstatus;
      ++crashes_at_roll;
    }
    auto problems = CheckBatches(dir.path(), &present);
    for (const auto& p : problems) ADD_FAILURE() << "round " << round << ": " << p;
    ASSERT_TRUE(problems.empty());
    size_t missing = 0;
    for (const auto& b : acked) missing += present.count(b) == 0 ? 1 : 0;
    ASSERT_EQ(missing, 0u) << "round " << round << ": acknowledged batches missing";
    acked.insert(present.begin(), present.end());
  }
  EXPECT_EQ(crashes_at_roll, kRounds / 2);
  // Every kill round waited for its acknowledgements: the check above had work to do.
  EXPECT_GE(acked.size(), static_cast<size_t>(kAcksBeforeKill * (kRounds - kRounds / 2)));
}

// One power-loss round in process: append from producers, drop unsynced data at a
// random moment, recover, check. Returns the problems found.
std::vector<std::string> PowerLossRound(const std::string& dir, int round, std::mt19937* rng,
                                        Acked* acked, void (*breakage)(FaultInjectionFileSystem*)) {
  FaultInjectionFileSystem fs(FileSystem::Default());
  if (breakage) breakage(&fs);
  {
    auto set = JournalSet::Open(SetOptions(dir, &fs));
    if (!set.ok()) return {"open before the power loss failed: " + set.status().ToString()};
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::thread producers([&] {
      RunProducers((*set)->stream(kStream), round, &stop, [&](Lsn lsn, const std::string& p) {
        std::lock_guard lk(mu);
        (*acked)[lsn] = p;
      });
    });
    // Let the round acknowledge something, then cut the power at a random moment.
    size_t before = acked->size();
    for (int i = 0; i < 10000; ++i) {
      {
        std::lock_guard lk(mu);
        if (acked->size() > before) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(*rng)));
    Status s = fs.DropUnsyncedData();  // the power goes out
    stop = true;
    producers.join();
    if (!s.ok()) return {"dropping unsynced data: " + s.ToString()};
  }
  FaultInjectionFileSystem after(FileSystem::Default());
  Acked found;
  auto problems = CheckJournal(dir, &after, *acked, &found);
  for (auto& [l, p] : found) acked->emplace(l, p);
  return problems;
}

TEST(JournalCrashTest, PowerLossAtRandomMomentsLosesNothingAcknowledged) {
  TempDir dir;
  std::mt19937 rng(std::random_device{}());
  Acked acked;
  for (int round = 0; round < 50; ++round) {
    auto problems = PowerLossRound(dir.path(), round, &rng, &acked, nullptr);
    for (const auto& p : problems) ADD_FAILURE() << "round " << round << ": " << p;
    ASSERT_TRUE(problems.empty());
  }
  EXPECT_GT(acked.size(), 1000u);
}

// Issue #9, item 13: the disk may write the unsynced pages of the last group back in any
// order; a power loss then leaves holes with valid records after them. Recovery must
// still open the journal with everything acknowledged.
TEST(JournalCrashTest, PowerLossLosingPagesInAnyOrderLosesNothingAcknowledged) {
  TempDir dir;
  std::mt19937 rng(std::random_device{}());
  Acked acked;
  // Each group waits between its write and its fdatasync, so that the power mostly goes
  // out while a large group of many pages is written and not yet synced.
  ASSERT_TRUE(failpoint::Arm("journal.after_write_before_sync", "sleep(5)").ok());
  for (int round = 0; round < 30; ++round) {
    auto problems = PowerLossRound(dir.path(), round, &rng, &acked, [](FaultInjectionFileSystem* fs) {
      static std::atomic<uint64_t> seed{std::random_device{}()};
      fs->SetUnsyncedPageLoss(FaultInjectionFileSystem::PageLoss::kAnyPages, seed++);
    });
    for (const auto& p : problems) ADD_FAILURE() << "round " << round << ": " << p;
    if (!problems.empty()) failpoint::Disarm("journal.after_write_before_sync");
    ASSERT_TRUE(problems.empty());
  }
  failpoint::Disarm("journal.after_write_before_sync");
  EXPECT_GT(acked.size(), 1000u);
}

// The test must fail for a journal that forgets fdatasync...
TEST(JournalCrashTest, PowerLossTestCatchesAMissingFdatasync) {
  TempDir dir;
  std::mt19937 rng(1);
  Acked acked;
  auto problems = PowerLossRound(dir.path(), 0, &rng, &acked,
                                 [](FaultInjectionFileSystem* fs) { fs->SetIgnoreSyncs(true); });
  EXPECT_FALSE(acked.empty());
  EXPECT_FALSE(problems.empty()) << "a journal whose fdatasync does nothing passed the power-loss check";
}

// ...and for one that forgets to fsync the directory of a new segment.
TEST(JournalCrashTest, PowerLossTestCatchesAMissingDirectorySync) {
  TempDir dir;
  std::mt19937 rng(1);
  Acked acked;
  auto problems = PowerLossRound(dir.path(), 0, &rng, &acked,
                                 [](FaultInjectionFileSystem* fs) { fs->SetIgnoreDirSyncs(true); });
  EXPECT_FALSE(acked.empty());
  EXPECT_FALSE(problems.empty()) << "a journal that never syncs directories passed the power-loss check";
}

}  // namespace
}  // namespace sluice::journal
