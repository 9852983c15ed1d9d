// The Journal under injected faults: write and fdatasync failures are sticky, a power
// loss drops only what was not acknowledged.

#include "journal/journal.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fault_injection_file_system.h"
#include "journal/format.h"
#include "journal/journal_fixture_test_util.h"
#include "journal/journal_test_util.h"
#include "journal/reader.h"

namespace sluice::journal {
namespace {

using ::testing::HasSubstr;
using testing::GatedFileSystem;
using testing::JournalFaultTest;
using testing::JournalTest;
using testing::PayloadFor;
using testing::ReadAll;
using testing::ReadBytes;
using testing::Record;
using testing::SegmentFiles;
using testing::TempDir;
using testing::TestEpoch;

TEST_F(JournalFaultTest, NoSpaceOnAppendIsStickyUntilReopen) {
  std::vector<std::string> acked;
  {
    auto j = Open(Options(&fs_));
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 5; ++i) {
      acked.push_back(PayloadFor(i, 50));
      ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
    }
    fs_.FailAppendsAfter(0, FaultInjectionFileSystem::NoSpace());
    // Several appends in flight when the disk fills: each waiting producer gets the error.
    std::vector<Lsn> lsns;
    for (int i = 0; i < 4; ++i) {
      auto lsn = j->Append(1, PayloadFor(100 + i, 50));
      if (lsn.ok()) {
        lsns.push_back(*lsn);
      } else {
        // The writer already failed: the producer is refused up front.
        EXPECT_EQ(lsn.status().code(), Code::kResourceExhausted);
        EXPECT_FALSE(lsn.status().retryable());
      }
    }
    ASSERT_FALSE(lsns.empty());  // nothing had failed when the first was queued
    for (Lsn lsn : lsns) {
      Status s = j->WaitDurable(lsn);
      ASSERT_FALSE(s.ok()) << "LSN " << lsn << " acknowledged although its write failed";
      EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
      // A plain "no space" would be retryable; after a failed write the journal is not.
      EXPECT_FALSE(s.retryable());
      EXPECT_THAT(s.message(), HasSubstr("reopen"));
      EXPECT_THAT(s.message(), HasSubstr("No space left"));
    }
    EXPECT_EQ(j->durable_lsn(), 5u);
    EXPECT_FALSE(j->health().ok());

    // The disk has room again, but the journal refuses until it is reopened.
    fs_.ClearFaults();
    auto later = j->Append(1, "later");
    ASSERT_FALSE(later.ok());
    EXPECT_EQ(later.status(), j->health());
    EXPECT_FALSE(j->AppendDurable(1, "later").ok());
    EXPECT_FALSE(j->AppendBatch(std::vector<AppendRecord>{{1, "x"}}).ok());
    EXPECT_FALSE(j->Flush().ok());
    // Readers still see everything that was durable.
    EXPECT_EQ(All(*j).size(), 5u);
  }
  auto j = Open(Options(&fs_));
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
  auto lsn = j->AppendDurable(1, "after reopen");
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*lsn, 6u);
}

TEST_F(JournalFaultTest, NoSpaceWhenCreatingASegment) {
  JournalOptions o = Options(&fs_);
  o.segment_bytes = 512;
  std::vector<std::string> acked;
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    // Three records of 120 bytes fill the first segment (128 + 360 = 488).
    for (int i = 0; i < 3; ++i) {
      acked.push_back(PayloadFor(i, 100));
      ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
    }
    ASSERT_EQ(j->Segments().size(), 1u);
    fs_.FailAppendsAfter(0, FaultInjectionFileSystem::NoSpace());
    auto lsn = j->AppendDurable(1, PayloadFor(3, 100));  // needs a new segment
    ASSERT_FALSE(lsn.ok());
    EXPECT_EQ(lsn.status().code(), Code::kResourceExhausted);
    EXPECT_EQ(j->durable_lsn(), 3u);
    fs_.ClearFaults();
  }
  // The new segment's file exists without a header.
  ASSERT_EQ(SegmentFiles(dir_).size(), 2u);
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    ExpectExactly(*j, acked);
    EXPECT_EQ(SegmentFiles(dir_).size(), 1u);  // the headerless file was removed
    acked.push_back(PayloadFor(3, 100));
    auto lsn = j->AppendDurable(1, acked.back());
    ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
    EXPECT_EQ(*lsn, 4u);
  }
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
  ASSERT_EQ(j->Segments().size(), 2u);
  EXPECT_EQ(j->Segments()[1].number, 2u);
}

TEST_F(JournalFaultTest, ShortWriteIsStickyAndReopenCutsTheHalfWrittenTail) {
  std::vector<std::string> acked;
  uint64_t good_size = 0;
  std::string path;
  {
    auto j = Open(Options(&fs_));
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 3; ++i) {
      acked.push_back(PayloadFor(i, 200));
      ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
    }
    path = j->Segments().back().path;
    good_size = ReadBytes(path).size();
    fs_.SetShortWrite(true);
    auto lsn = j->AppendDurable(1, PayloadFor(3, 1000));
    ASSERT_FALSE(lsn.ok());
    EXPECT_EQ(lsn.status().code(), Code::kIOError) << lsn.status().ToString();
    EXPECT_FALSE(lsn.status().retryable());
    EXPECT_EQ(j->durable_lsn(), 3u);
    // Half a frame is on disk now.
    EXPECT_EQ(ReadBytes(path).size(), good_size + (kFrameHeaderSize + 1000) / 2);
    EXPECT_FALSE(j->Append(1, "next").ok());  // sticky
  }
  auto j = Open(Options(&fs_));
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(ReadBytes(path).size(), good_size);
  ExpectExactly(*j, acked);
  auto lsn = j->AppendDurable(1, "next");
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*lsn, 4u);
  acked.push_back("next");
  j.reset();
  j = Open(Options(&fs_));
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
}

// A request of several records is all or nothing (issue #9, item 5). A short write
// leaves whole frames of the batch's first records on disk, but the batch is never
// acknowledged: recovery must cut all of it, so the resubmission gets the same LSNs.
TEST_F(JournalFaultTest, ShortWriteOfABatchLeavesNoPartOfIt) {
  std::vector<std::string> acked;
  {
    auto j = Open(Options(&fs_));
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 3; ++i) {
      acked.push_back(PayloadFor(i, 100));
      ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
    }
    std::vector<std::string> payloads;
    std::vector<AppendRecord> batch;
    for (int i = 0; i < 8; ++i) payloads.push_back(PayloadFor(10 + i, 100));
    for (const auto& p : payloads) batch.push_back({1, p});
    fs_.SetShortWrite(true);  // half of the group's bytes: four whole frames
    auto first = j->AppendBatch(batch);
    ASSERT_TRUE(first.ok());
    ASSERT_FALSE(j->WaitDurable(*first + 7).ok());
  }
  fs_.ClearFaults();
  auto j = Open(Options(&fs_));
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
  // The resubmission is whole.
  std::vector<std::string> payloads;
  std::vector<AppendRecord> batch;
  for (int i = 0; i < 8; ++i) payloads.push_back(PayloadFor(10 + i, 100));
  for (const auto& p : payloads) batch.push_back({1, p});
  auto first = j->AppendBatch(batch);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 4u);
  ASSERT_TRUE(j->WaitDurable(*first + 7).ok());
  acked.insert(acked.end(), payloads.begin(), payloads.end());
  j.reset();
  j = Open(Options(&fs_));
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
}

// A batch never straddles a segment roll: the old segment is synced before its successor
// is created, so a failure creating the successor would leave the batch's beginning
// behind in a durable segment.
TEST_F(JournalFaultTest, NoSpaceCreatingASegmentLeavesNoPartOfABatch) {
  JournalOptions o = Options(&fs_);
  o.segment_bytes = 512;
  std::vector<std::string> acked;
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 2; ++i) {  // 128 + 2 * 120 = 368 bytes: room for one more
      acked.push_back(PayloadFor(i, 100));
      ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
    }
    std::vector<std::string> payloads;
    std::vector<AppendRecord> batch;
    for (int i = 0; i < 3; ++i) payloads.push_back(PayloadFor(10 + i, 100));
    for (const auto& p : payloads) batch.push_back({1, p});
    // One append gets through (the old segment's share, or the new segment's header),
    // the next one finds the disk full.
    fs_.FailAppendsAfter(1, FaultInjectionFileSystem::NoSpace());
    auto first = j->AppendBatch(batch);
    ASSERT_TRUE(first.ok());
    ASSERT_FALSE(j->WaitDurable(*first + 2).ok());
  }
  fs_.ClearFaults();
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
  for (const auto& seg : j->Segments()) {
    EXPECT_LE(seg.bytes, o.segment_bytes) << seg.path;
  }
}

// Issue #9, item 13: a disk may write the pages of the last, unsynced group back in any
// order, so a power loss can leave a hole of zeros with valid records of the same group
// after it. Nothing from the hole on was acknowledged: recovery cuts it (instead of
// refusing to start), keeps every acknowledged record and every batch whole or absent.
TEST_F(JournalFaultTest, PowerLossLosingUnsyncedPagesOutOfOrderCutsTheUnsyncedGroup) {
  int holes = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    JournalOptions o = Options();
    o.dir = tmp_.Sub(fmt::format("journal{}/samples", seed));
    std::vector<std::string> acked;
    std::vector<std::string> batch_payloads;
    {
      FaultInjectionFileSystem fs(FileSystem::Default());
      fs.SetUnsyncedPageLoss(FaultInjectionFileSystem::PageLoss::kAnyPages, seed);
      GatedFileSystem gate(&fs);
      o.fs = &gate;
      auto j = Open(o);
      ASSERT_NE(j, nullptr);
      for (int i = 0; i < 5; ++i) {
        acked.push_back(PayloadFor(i, 300));
        ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
      }
      // One group of one batch over about six pages, written and held before its sync.
      gate.CloseGate();
      std::vector<AppendRecord> batch;
      for (int i = 0; i < 40; ++i) batch_payloads.push_back(PayloadFor(100 + i, 600));
      for (const auto& p : batch_payloads) batch.push_back({1, p});
      auto first = j->AppendBatch(batch);
      ASSERT_TRUE(first.ok());
      gate.WaitForBlockedSyncs(1);
      const std::string path = j->Segments().back().path;
      ASSERT_TRUE(fs.DropUnsyncedData().ok());  // the power goes out
      // A hole: a zero page somewhere before the last byte on disk.
      std::string bytes = ReadBytes(path);
      for (size_t p = 0; p + FaultInjectionFileSystem::kPageSize < bytes.size();
           p += FaultInjectionFileSystem::kPageSize) {
        if (bytes.substr(p, FaultInjectionFileSystem::kPageSize) ==
            std::string(FaultInjectionFileSystem::kPageSize, '\0')) {
          ++holes;
          break;
        }
      }
      gate.OpenGate();
      EXPECT_FALSE(j->WaitDurable(*first + 39).ok());
    }
    o.fs = FileSystem::Default();
    auto j = Journal::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    auto all = All(**j);
    // The acknowledged records, then the batch whole or not at all.
    ASSERT_TRUE(all.size() == acked.size() || all.size() == acked.size() + batch_payloads.size())
        << all.size() << " records";
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].lsn, i + 1);
      EXPECT_EQ(all[i].payload, i < acked.size() ? acked[i] : batch_payloads[i - acked.size()]);
    }
    // Appending goes on at the next LSN.
    auto lsn = (*j)->AppendDurable(1, "after");
    ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
    EXPECT_EQ(*lsn, all.size() + 1);
  }
  EXPECT_GT(holes, 0) << "no seed lost an unsynced page before a kept one";
}

// fsyncgate: after a failed fdatasync the page cache can no longer be trusted. Nothing
// of the failed group is acknowledged, and after a power loss exactly the acknowledged
// records are there.
TEST_F(JournalFaultTest, FailedSyncAcknowledgesNothingOfItsGroupAndIsSticky) {
  GatedFileSystem gate(&fs_);
  std::vector<std::string> acked;
  {
    auto j = Open(Options(&gate));
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 4; ++i) {
      acked.push_back(PayloadFor(i, 64));
      ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
    }
    // Hold the writer in its next sync so that a whole group forms behind it.
    gate.CloseGate();
    ASSERT_TRUE(j->Append(1, "five").ok());
    gate.WaitForBlockedSyncs(1);
    std::vector<Lsn> lsns;
    for (int i = 0; i < 10; ++i) {
      auto lsn = j->Append(1, PayloadFor(10 + i, 64));
      ASSERT_TRUE(lsn.ok());
      lsns.push_back(*lsn);
    }
    fs_.FailSyncAfter(1, Status::IOError("injected fdatasync failure"));  // the next group's
    gate.OpenGate();
    EXPECT_TRUE(j->WaitDurable(5).ok());
    acked.push_back("five");
    for (Lsn lsn : lsns) {
      Status s = j->WaitDurable(lsn);
      EXPECT_FALSE(s.ok()) << "LSN " << lsn << " acknowledged although its sync failed";
      EXPECT_EQ(s.code(), Code::kIOError);
      EXPECT_THAT(s.message(), HasSubstr("injected fdatasync failure"));
    }
    EXPECT_EQ(j->durable_lsn(), 5u);
    EXPECT_EQ(All(*j).size(), 5u);  // readers never see the unsynced group
    fs_.ClearFaults();
    EXPECT_FALSE(j->AppendDurable(1, "later").ok());
    EXPECT_FALSE(j->health().ok());
    ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  }
  auto j = Open(Options(&fs_));
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
  auto lsn = j->AppendDurable(1, "six");
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*lsn, 6u);
}

TEST_F(JournalFaultTest, FailedSyncOfAFullSegmentBeforeRollingIsSticky) {
  JournalOptions o = Options(&fs_);
  o.segment_bytes = 512;
  std::vector<std::string> acked;
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 3; ++i) {
      acked.push_back(PayloadFor(i, 100));
      ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
    }
    fs_.FailSyncAfter(0, Status::IOError("injected fdatasync failure"));
    EXPECT_FALSE(j->AppendDurable(1, PayloadFor(3, 100)).ok());
    fs_.ClearFaults();
    EXPECT_FALSE(j->AppendDurable(1, PayloadFor(3, 100)).ok());
    EXPECT_EQ(j->Segments().size(), 1u);
    ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  }
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
}

// A new segment's directory entry must be durable before anything in it is acknowledged.
TEST_F(JournalFaultTest, FailedDirectorySyncOfANewSegmentAcknowledgesNothing) {
  JournalOptions o = Options(&fs_);
  o.segment_bytes = 512;
  std::vector<std::string> acked;
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 3; ++i) {
      acked.push_back(PayloadFor(i, 100));
      ASSERT_TRUE(j->AppendDurable(1, acked.back()).ok());
    }
    fs_.FailDirSyncAfter(0, Status::IOError("injected directory sync failure"));
    auto lsn = j->AppendDurable(1, PayloadFor(3, 100));
    ASSERT_FALSE(lsn.ok());
    EXPECT_THAT(lsn.status().message(), HasSubstr("injected directory sync failure"));
    EXPECT_EQ(j->durable_lsn(), 3u);
    fs_.ClearFaults();
    EXPECT_FALSE(j->Append(1, "x").ok());
    ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  }
  // The power loss took the new segment's directory entry with it.
  EXPECT_EQ(SegmentFiles(dir_).size(), 1u);
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, acked);
}

// RocksDB's WALWriteError: fail the third append's write, check the error, heal, and
// check that every acknowledged record survived.
TEST_F(JournalFaultTest, WalWriteErrorModel) {
  // Writes through the file system: the first segment's header, then one per group.
  // Appends 1 and 2 are two groups, so the fourth write is the third append's.
  fs_.FailAppendsAfter(3, Status::IOError("injected write error"));
  {
    auto j = Open(Options(&fs_));
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->AppendDurable(1, "one").ok());
    ASSERT_TRUE(j->AppendDurable(1, "two").ok());
    auto third = j->AppendDurable(1, "three");
    ASSERT_FALSE(third.ok());
    EXPECT_EQ(third.status().code(), Code::kIOError);
    EXPECT_THAT(third.status().message(), HasSubstr("injected write error"));
    EXPECT_EQ(fs_.append_count(), 4);
  }
  fs_.ClearFaults();  // heal
  {
    auto j = Open(Options(&fs_));
    ASSERT_NE(j, nullptr);
    ExpectExactly(*j, {"one", "two"});
    auto third = j->AppendDurable(1, "three");
    ASSERT_TRUE(third.ok()) << third.status().ToString();
    EXPECT_EQ(*third, 3u);
  }
  auto j = Open(Options(&fs_));
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, {"one", "two", "three"});
}

// The same with concurrent producers: whatever was acknowledged before a write error
// survives, LSNs stay contiguous, nothing after the error is acknowledged.
TEST_F(JournalFaultTest, WriteErrorUnderConcurrentProducers) {
  JournalOptions o = Options(&fs_);
  o.segment_bytes = 8192;
  constexpr int kThreads = 4;
  std::vector<std::map<Lsn, std::string>> acked(kThreads);
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    fs_.FailAppendsAfter(60, Status::IOError("injected write error"));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          std::string p = PayloadFor(t * 100000 + i, 20 + i % 100);
          auto lsn = j->AppendDurable(1, p);
          if (!lsn.ok()) {
            EXPECT_FALSE(lsn.status().retryable());
            return;
          }
          acked[t][*lsn] = p;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_FALSE(j->health().ok());
  }
  fs_.ClearFaults();
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  auto all = All(*j);
  std::map<Lsn, std::string> read;
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].lsn, i + 1);
    read[all[i].lsn] = all[i].payload;
  }
  size_t total_acked = 0;
  for (const auto& m : acked) {
    for (const auto& [lsn, p] : m) {
      ASSERT_TRUE(read.count(lsn)) << "acknowledged LSN " << lsn << " lost";
      EXPECT_EQ(read[lsn], p);
      ++total_acked;
    }
  }
  EXPECT_GT(total_acked, 0u);
  // Records of the failed group may survive (their bytes reached the disk), but only as
  // the contiguous continuation of the acknowledged ones, which the loop above checked.
  EXPECT_GE(read.size(), total_acked);
}

}  // namespace
}  // namespace sluice::journal
