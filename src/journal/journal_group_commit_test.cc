// The Journal's group commit: many producers with appends in flight, the ack modes,
// Flush, and a full queue.

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

// Many producers, each with many appends in flight, some of them batches: every LSN is
// assigned exactly once, a producer's own records get increasing LSNs, a batch gets
// consecutive ones, and every record reads back intact.
TEST_F(JournalTest, ManyProducersManyAppendsInFlight) {
  JournalOptions o = Options();
  o.segment_bytes = 64 << 10;     // many rolls
  o.max_queued_bytes = 16 << 10;  // and backpressure
  auto j = Open(o);
  ASSERT_NE(j, nullptr);

  constexpr int kThreads = 8;
  constexpr int kPerThread = 1500;
  constexpr size_t kWindow = 64;
  std::vector<std::vector<std::pair<Lsn, std::string>>> written(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::deque<Lsn> in_flight;
      int seq = 0;
      while (seq < kPerThread) {
        if (t % 2 == 1 && seq % 10 == 0 && seq + 5 <= kPerThread) {
          // A batch of five records.
          std::vector<std::string> payloads;
          std::vector<AppendRecord> batch;
          for (int k = 0; k < 5; ++k) payloads.push_back(PayloadFor(t * 1000000 + seq + k, 8 + (seq + k) % 70));
          for (const auto& p : payloads) batch.push_back({static_cast<uint16_t>(2), p});
          auto first = j->AppendBatch(batch);
          if (!first.ok()) {
            ++failures;
            return;
          }
          for (int k = 0; k < 5; ++k) written[t].emplace_back(*first + k, payloads[k]);
          in_flight.push_back(*first + 4);
          seq += 5;
        } else {
          std::string p = PayloadFor(t * 1000000 + seq, 8 + seq % 70);
          auto lsn = j->Append(1, p);
          if (!lsn.ok()) {
            ++failures;
            return;
          }
          written[t].emplace_back(*lsn, p);
          in_flight.push_back(*lsn);
          ++seq;
        }
        if (in_flight.size() >= kWindow) {
          if (!j->WaitDurable(in_flight.front()).ok()) ++failures;
          in_flight.pop_front();
        }
      }
      for (Lsn lsn : in_flight) {
        if (!j->WaitDurable(lsn).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  const Lsn total = static_cast<Lsn>(kThreads) * kPerThread;
  EXPECT_EQ(j->last_assigned_lsn(), total);
  EXPECT_EQ(j->durable_lsn(), total);
  EXPECT_GT(j->Segments().size(), 3u);

  std::map<Lsn, std::string> by_lsn;
  for (const auto& w : written) {
    for (size_t i = 0; i < w.size(); ++i) {
      ASSERT_TRUE(by_lsn.emplace(w[i].first, w[i].second).second) << "LSN " << w[i].first << " twice";
      if (i > 0) {
        EXPECT_GT(w[i].first, w[i - 1].first);
      }
    }
  }
  ASSERT_EQ(by_lsn.size(), total);
  EXPECT_EQ(by_lsn.begin()->first, 1u);
  EXPECT_EQ(by_lsn.rbegin()->first, total);

  auto check = [&](const Journal& journal) {
    auto all = All(journal);
    ASSERT_EQ(all.size(), total);
    for (size_t i = 0; i < all.size(); ++i) {
      ASSERT_EQ(all[i].lsn, i + 1);
      ASSERT_EQ(all[i].payload, by_lsn[i + 1]) << "LSN " << i + 1;
    }
  };
  check(*j);
  j.reset();
  j = Open(o);
  ASSERT_NE(j, nullptr);
  check(*j);
}

// Ack mode "written": the producer is acknowledged after write(), before fdatasync; but
// durable_lsn() and readers only move after the sync. The gate holds the sync, so nothing
// here depends on timing.
TEST_F(JournalTest, AckModeWrittenAcknowledgesBeforeSyncButReadersWait) {
  GatedFileSystem fs(FileSystem::Default());
  JournalOptions o = Options(&fs);
  o.ack_mode = AckMode::kWritten;
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AppendDurable(1, "one").ok());
  ASSERT_TRUE(j->Flush().ok());
  ASSERT_EQ(j->durable_lsn(), 1u);

  fs.CloseGate();
  auto lsn = j->Append(1, "two");
  ASSERT_TRUE(lsn.ok());
  EXPECT_TRUE(j->WaitDurable(*lsn).ok());  // acknowledged: written
  fs.WaitForBlockedSyncs(1);
  EXPECT_EQ(j->durable_lsn(), 1u);  // but not durable
  auto visible = All(*j);
  ASSERT_EQ(visible.size(), 1u);
  EXPECT_FALSE(j->WaitForNewerThan(1, std::chrono::milliseconds(1)));

  fs.OpenGate();
  ASSERT_TRUE(j->Flush().ok());
  EXPECT_EQ(j->durable_lsn(), 2u);
  auto all = All(*j);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].payload, "two");
}

TEST_F(JournalTest, AckModeDurableWaitsForTheSync) {
  GatedFileSystem fs(FileSystem::Default());
  JournalOptions o = Options(&fs);
  ASSERT_EQ(o.ack_mode, AckMode::kDurable);  // the default
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AppendDurable(1, "one").ok());

  fs.CloseGate();
  auto lsn = j->Append(1, "two");
  ASSERT_TRUE(lsn.ok());
  std::atomic<bool> acked{false};
  std::thread waiter([&] {
    EXPECT_TRUE(j->WaitDurable(*lsn).ok());
    acked = true;
  });
  fs.WaitForBlockedSyncs(1);
  // The writer is inside fdatasync: the record cannot have been acknowledged.
  EXPECT_FALSE(acked.load());
  EXPECT_EQ(j->durable_lsn(), 1u);
  EXPECT_EQ(All(*j).size(), 1u);
  fs.OpenGate();
  waiter.join();
  EXPECT_TRUE(acked.load());
  EXPECT_EQ(j->durable_lsn(), 2u);
}

TEST_F(JournalTest, FlushMakesEverythingQueuedDurable) {
  for (AckMode mode : {AckMode::kDurable, AckMode::kWritten}) {
    TempDir tmp;
    JournalOptions o = Options();
    o.dir = tmp.Sub("j");
    o.ack_mode = mode;
    o.segment_bytes = 4096;
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(j->Append(1, PayloadFor(i, 40)).ok());
    ASSERT_TRUE(j->Flush().ok());
    EXPECT_EQ(j->durable_lsn(), 500u);
    EXPECT_EQ(All(*j).size(), 500u);
  }
}

// Backpressure: while the writer cannot drain the queue, a producer past the queue limit
// waits instead of growing memory.
TEST_F(JournalTest, AppendWaitsWhenTheQueueIsFull) {
  GatedFileSystem fs(FileSystem::Default());
  JournalOptions o = Options(&fs);
  o.max_queued_bytes = 1000;
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AppendDurable(1, "one").ok());

  fs.CloseGate();
  ASSERT_TRUE(j->Append(1, std::string(600, 'a')).ok());  // taken by the writer
  fs.WaitForBlockedSyncs(1);
  ASSERT_TRUE(j->Append(1, std::string(300, 'b')).ok());  // queued: 620 + 320 bytes
  std::atomic<bool> returned{false};
  std::thread producer([&] {
    auto lsn = j->Append(1, std::string(300, 'c'));
    EXPECT_TRUE(lsn.ok());
    if (lsn.ok()) {
      EXPECT_EQ(*lsn, 4u);
    }
    returned = true;
  });
  // Give the producer every chance to (wrongly) get through; it must still be waiting,
  // because the writer is stuck in its sync.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(returned.load());
  fs.OpenGate();
  producer.join();
  ASSERT_TRUE(j->Flush().ok());
  EXPECT_EQ(j->durable_lsn(), 4u);
}

}  // namespace
}  // namespace sluice::journal
