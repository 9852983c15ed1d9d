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
#include "journal/journal_test_util.h"
#include "journal/reader.h"

namespace sluice::journal {
namespace {

using ::testing::HasSubstr;
using testing::GatedFileSystem;
using testing::PayloadFor;
using testing::ReadAll;
using testing::ReadBytes;
using testing::Record;
using testing::SegmentFiles;
using testing::TempDir;

Epoch TestEpoch() {
  Epoch e{};
  for (size_t i = 0; i < e.size(); ++i) e[i] = static_cast<uint8_t>(i + 1);
  return e;
}

class JournalTest : public ::testing::Test {
 protected:
  JournalOptions Options(FileSystem* fs = FileSystem::Default()) const {
    JournalOptions o;
    o.fs = fs;
    o.dir = dir_;
    o.stream = "samples";
    o.epoch = TestEpoch();
    o.segment_bytes = 1 << 20;
    o.max_record_bytes = 64 << 10;
    return o;
  }

  // Opens the journal or fails the test (returns null).
  std::unique_ptr<Journal> Open(const JournalOptions& o) {
    auto j = Journal::Open(o);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j).value() : nullptr;
  }

  std::vector<Record> All(const Journal& j) {
    auto all = ReadAll(j);
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    return all.ok() ? *all : std::vector<Record>{};
  }

  // Checks that `j` holds exactly `expected` (payloads of LSN 1, 2, ...).
  void ExpectExactly(const Journal& j, const std::vector<std::string>& expected) {
    EXPECT_EQ(j.durable_lsn(), expected.size());
    EXPECT_EQ(j.last_assigned_lsn(), expected.size());
    auto all = All(j);
    ASSERT_EQ(all.size(), expected.size());
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].lsn, i + 1);
      EXPECT_EQ(all[i].payload, expected[i]) << "LSN " << i + 1;
    }
  }

  TempDir tmp_;
  std::string dir_ = tmp_.Sub("journal/samples");
};

TEST_F(JournalTest, EmptyJournal) {
  auto j = Open(Options());
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->durable_lsn(), 0u);
  EXPECT_EQ(j->last_assigned_lsn(), 0u);
  EXPECT_EQ(j->first_lsn(), 1u);
  EXPECT_TRUE(j->Segments().empty());
  EXPECT_TRUE(j->Flush().ok());
  EXPECT_TRUE(j->health().ok());
  EXPECT_FALSE(j->WaitForNewerThan(0, std::chrono::milliseconds(1)));
  // LSN 1 does not exist yet: waiting for it is a caller's mistake, not a hang.
  Status s = j->WaitDurable(1);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  auto empty_batch = j->AppendBatch({});
  ASSERT_FALSE(empty_batch.ok());
  EXPECT_EQ(empty_batch.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(All(*j).empty());
  j.reset();

  EXPECT_TRUE(SegmentFiles(dir_).empty());
  j = Open(Options());
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->durable_lsn(), 0u);
  auto lsn = j->AppendDurable(1, "first");
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*lsn, 1u);
}

TEST_F(JournalTest, AppendsReturnContiguousLsnsFromOne) {
  auto j = Open(Options());
  ASSERT_NE(j, nullptr);
  auto a = j->Append(1, "one");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, 1u);

  std::vector<AppendRecord> batch = {{2, "two"}, {3, "three"}, {4, ""}};
  auto b = j->AppendBatch(batch);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, 2u);  // the first of three consecutive LSNs
  EXPECT_EQ(j->last_assigned_lsn(), 4u);

  auto c = j->AppendDurable(5, "five");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, 5u);
  EXPECT_GE(j->durable_lsn(), 5u);
  EXPECT_TRUE(j->WaitDurable(4).ok());

  auto all = All(*j);
  ASSERT_EQ(all.size(), 5u);
  const std::vector<std::pair<uint16_t, std::string>> want = {
      {1, "one"}, {2, "two"}, {3, "three"}, {4, ""}, {5, "five"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(all[i].lsn, i + 1);
    EXPECT_EQ(all[i].type, want[i].first);
    EXPECT_EQ(all[i].payload, want[i].second);
  }
}

TEST_F(JournalTest, ReopenContinuesLsns) {
  std::vector<std::string> expected;
  {
    auto j = Open(Options());
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 10; ++i) {
      expected.push_back(PayloadFor(i, 30 + i));
      ASSERT_TRUE(j->Append(1, expected.back()).ok());
    }
    // No explicit wait: closing the journal writes and syncs what is queued.
  }
  size_t files_before = SegmentFiles(dir_).size();
  {
    auto j = Open(Options());
    ASSERT_NE(j, nullptr);
    ExpectExactly(*j, expected);
    auto lsn = j->AppendDurable(1, "eleven");
    ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
    EXPECT_EQ(*lsn, 11u);
    expected.push_back("eleven");
  }
  // The live segment was reopened for appending, not replaced.
  EXPECT_EQ(SegmentFiles(dir_).size(), files_before);
  auto j = Open(Options());
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, expected);
}

TEST_F(JournalTest, SegmentsRollAtTheConfiguredSize) {
  JournalOptions o = Options();
  o.segment_bytes = 1024;
  // 128-byte header + 7 frames of 20 + 100 bytes = 968; an 8th would make 1088.
  constexpr int kPerSegment = 7;
  constexpr int kRecords = 50;
  std::vector<std::string> expected;
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < kRecords; ++i) {
      expected.push_back(PayloadFor(i, 100));
      ASSERT_EQ(expected.back().size(), 100u);
      // Mix single and durable appends so groups of all sizes cross segment boundaries.
      auto lsn = i % 5 == 0 ? j->AppendDurable(1, expected.back()) : j->Append(1, expected.back());
      ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
      ASSERT_EQ(*lsn, static_cast<Lsn>(i + 1));
    }
    ASSERT_TRUE(j->Flush().ok());
    auto segments = j->Segments();
    ASSERT_EQ(segments.size(), (kRecords + kPerSegment - 1) / kPerSegment);
    for (size_t i = 0; i < segments.size(); ++i) {
      EXPECT_EQ(segments[i].number, i + 1);
      EXPECT_EQ(segments[i].first_lsn, i * kPerSegment + 1);
      EXPECT_EQ(segments[i].last_lsn, std::min<Lsn>((i + 1) * kPerSegment, kRecords));
      EXPECT_EQ(segments[i].path, JoinPath(dir_, SegmentFileName(segments[i].first_lsn)));
    }
    ExpectExactly(*j, expected);
  }

  auto files = SegmentFiles(dir_);
  ASSERT_EQ(files.size(), 8u);
  Lsn expected_first = 1;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string bytes = ReadBytes(files[i]);
    EXPECT_LE(bytes.size(), o.segment_bytes) << files[i];
    auto header = DecodeSegmentHeader(bytes);
    ASSERT_TRUE(header.ok()) << header.status().ToString();
    // The file is named by its first LSN and its header chains to its predecessor.
    EXPECT_EQ(files[i], JoinPath(dir_, SegmentFileName(expected_first)));
    EXPECT_EQ(header->first_lsn, expected_first);
    EXPECT_EQ(header->prev_last_lsn, expected_first - 1);
    EXPECT_EQ(header->number, i + 1);
    EXPECT_EQ(header->stream, "samples");
    EXPECT_EQ(header->epoch, TestEpoch());
    // Walk its frames independently of the journal's reader.
    std::string_view rest = std::string_view(bytes).substr(kSegmentHeaderSize);
    Lsn lsn = expected_first;
    while (!rest.empty()) {
      FrameView f;
      ASSERT_EQ(DecodeFrame(rest, o.max_record_bytes, &f), FrameCheck::kOk) << files[i];
      EXPECT_EQ(f.lsn, lsn);
      EXPECT_EQ(f.payload, expected[lsn - 1]);
      rest.remove_prefix(f.frame_size);
      ++lsn;
    }
    EXPECT_EQ(lsn - expected_first, i + 1 < files.size() ? kPerSegment : kRecords % kPerSegment);
    expected_first = lsn;
  }
  EXPECT_EQ(expected_first, static_cast<Lsn>(kRecords + 1));
}

// The size is a limit, not a trigger: a segment is filled to exactly its size.
TEST_F(JournalTest, SegmentIsFilledExactlyToItsSize) {
  JournalOptions o = Options();
  o.segment_bytes = kSegmentHeaderSize + 4 * (kFrameHeaderSize + 100);
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(j->Append(1, PayloadFor(i, 100)).ok());
  ASSERT_TRUE(j->Flush().ok());
  auto segments = j->Segments();
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[0].last_lsn, 4u);
  EXPECT_EQ(segments[0].bytes, o.segment_bytes);
  EXPECT_EQ(segments[1].first_lsn, 5u);
  EXPECT_EQ(segments[1].bytes, o.segment_bytes);
  EXPECT_EQ(ReadBytes(segments[1].path).size(), o.segment_bytes);
  EXPECT_EQ(segments[2].first_lsn, 9u);
}

TEST_F(JournalTest, RecordLargerThanASegmentGetsASegmentOfItsOwn) {
  JournalOptions o = Options();
  o.segment_bytes = 512;
  std::vector<std::string> expected = {"small", std::string(2000, 'B'), "after"};
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    for (const auto& p : expected) ASSERT_TRUE(j->AppendDurable(1, p).ok());
    auto segments = j->Segments();
    ASSERT_EQ(segments.size(), 3u);
    EXPECT_EQ(segments[1].first_lsn, 2u);
    EXPECT_EQ(segments[1].last_lsn, 2u);
    EXPECT_EQ(segments[1].bytes, kSegmentHeaderSize + kFrameHeaderSize + 2000);
    EXPECT_EQ(segments[2].first_lsn, 3u);
  }
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  ExpectExactly(*j, expected);
}

TEST_F(JournalTest, MaximumRecordSizeIsEnforced) {
  JournalOptions o = Options();
  o.max_record_bytes = 1000;
  auto j = Open(o);
  ASSERT_NE(j, nullptr);

  auto too_big = j->Append(1, std::string(1001, 'x'));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(too_big.status().retryable());
  EXPECT_THAT(too_big.status().message(), HasSubstr("1001"));
  EXPECT_THAT(too_big.status().message(), HasSubstr("maximum record size of 1000"));
  EXPECT_THAT(too_big.status().message(), HasSubstr("samples"));

  auto at_max = j->AppendDurable(1, std::string(1000, 'y'));
  ASSERT_TRUE(at_max.ok()) << at_max.status().ToString();
  EXPECT_EQ(*at_max, 1u);

  // One bad record rejects the whole batch and consumes no LSN.
  std::string big(5000, 'z');
  std::vector<AppendRecord> batch = {{1, "fine"}, {1, big}};
  auto rejected = j->AppendBatch(batch);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(rejected.status().message(), HasSubstr("5000"));

  auto type0 = j->Append(0, "zero");
  ASSERT_FALSE(type0.ok());
  EXPECT_EQ(type0.status().code(), Code::kInvalidArgument);

  // None of the refusals is sticky.
  EXPECT_TRUE(j->health().ok());
  auto next = j->AppendDurable(1, "next");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, 2u);
  ExpectExactly(*j, {std::string(1000, 'y'), "next"});
}

// Reopening with a lower maximum record size must not silently cut records that were
// acknowledged under the old one: they are not a torn tail.
TEST_F(JournalTest, LoweringTheMaximumRecordSizeKeepsOldRecords) {
  JournalOptions o = Options();
  o.max_record_bytes = 4096;
  std::vector<std::string> expected = {"small", std::string(3000, 'L'), std::string(3000, 'M')};
  {
    auto j = Open(o);
    ASSERT_NE(j, nullptr);
    for (const auto& p : expected) ASSERT_TRUE(j->AppendDurable(1, p).ok());
  }
  o.max_record_bytes = 1024;
  auto j = Journal::Open(o);
  if (!j.ok()) {
    // Refusing to open is acceptable; dropping acknowledged data is not.
    EXPECT_NE(j.status().code(), Code::kOk);
    return;
  }
  EXPECT_EQ((*j)->durable_lsn(), 3u) << "acknowledged records were cut as a torn tail";
  auto all = ReadAll(**j);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].payload, expected[2]);
}

TEST_F(JournalTest, StreamNamesAreValidated) {
  // "." and ".." are made of allowed characters, but JournalSet uses the stream name as
  // a directory name under DATA_DIR/journal: they would put segments into the journal
  // directory itself or into DATA_DIR.
  for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("a/b"),
                                 std::string("a b"), std::string("."), std::string(".."),
                                 std::string("x\n"), std::string("caf\xc3\xa9")}) {
    JournalOptions o = Options();
    o.stream = bad;
    auto j = Journal::Open(o);
    ASSERT_FALSE(j.ok()) << "'" << bad << "'";
    EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(j.status().message(), HasSubstr("stream name"));
  }
  for (const std::string& good : {std::string(64, 'a'), std::string("a.b-c_D9")}) {
    JournalOptions o = Options();
    o.stream = good;
    o.dir = tmp_.Sub("journal/" + good);
    auto j = Journal::Open(o);
    ASSERT_TRUE(j.ok()) << good << ": " << j.status().ToString();
    ASSERT_TRUE((*j)->AppendDurable(1, "x").ok());
    auto seg = (*j)->Segments();
    ASSERT_EQ(seg.size(), 1u);
    auto header = DecodeSegmentHeader(ReadBytes(seg[0].path));
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->stream, good);
  }
}

TEST_F(JournalTest, TooSmallSegmentSizeIsRejected) {
  JournalOptions o = Options();
  o.segment_bytes = kSegmentHeaderSize;
  auto j = Journal::Open(o);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
}

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

// ---- Fault injection: write and fdatasync failures are sticky.

class JournalFaultTest : public JournalTest {
 protected:
  FaultInjectionFileSystem fs_{FileSystem::Default()};
};

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
