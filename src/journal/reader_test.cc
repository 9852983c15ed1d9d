#include "journal/reader.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "journal/journal.h"
#include "journal/journal_test_util.h"

namespace sluice::journal {
namespace {

using ::testing::HasSubstr;
using testing::GatedFileSystem;
using testing::PayloadFor;
using testing::ReadAll;
using testing::Record;
using testing::TempDir;

class ReaderTest : public ::testing::Test {
 protected:
  JournalOptions Options(FileSystem* fs = FileSystem::Default()) const {
    JournalOptions o;
    o.fs = fs;
    o.dir = tmp_.Sub("journal/events");
    o.stream = "events";
    o.epoch.fill(0x5a);
    o.segment_bytes = 1024;  // about seven 100-byte records per segment
    o.max_record_bytes = 64 << 10;
    return o;
  }

  void SetUp() override {
    auto j = Journal::Open(Options());
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(j).value();
  }

  // Appends `n` records (payload i is PayloadFor(i, 60 + i % 80)) and waits for them.
  void AppendRecords(int n) {
    Lsn last = 0;
    for (int i = 0; i < n; ++i) {
      int key = static_cast<int>(payloads_.size());
      payloads_.push_back(PayloadFor(key, 60 + key % 80));
      auto lsn = journal_->Append(static_cast<uint16_t>(1 + key % 3), payloads_.back());
      ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
      ASSERT_EQ(*lsn, payloads_.size());
      last = *lsn;
    }
    ASSERT_TRUE(journal_->WaitDurable(last).ok());
  }

  // Checks that `records` are LSNs from..from+size-1 with the payloads appended.
  void ExpectRecords(const std::vector<Record>& records, Lsn from) {
    for (size_t i = 0; i < records.size(); ++i) {
      Lsn lsn = from + i;
      ASSERT_EQ(records[i].lsn, lsn);
      ASSERT_LE(lsn, payloads_.size());
      EXPECT_EQ(records[i].payload, payloads_[lsn - 1]) << "LSN " << lsn;
      EXPECT_EQ(records[i].type, 1 + (lsn - 1) % 3) << "LSN " << lsn;
    }
  }

  std::unique_ptr<Reader> OpenReader(Lsn from) {
    auto r = Reader::Open(journal_.get(), from);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  TempDir tmp_;
  std::unique_ptr<Journal> journal_;
  std::vector<std::string> payloads_;
};

TEST_F(ReaderTest, ReadsEverythingFromOneAcrossManySegments) {
  AppendRecords(200);
  ASSERT_GT(journal_->Segments().size(), 20u);
  for (size_t max_records : {1, 7, 64, 100000}) {
    auto all = ReadAll(*journal_, 1, max_records);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), 200u) << "max_records " << max_records;
    ExpectRecords(*all, 1);
  }
}

TEST_F(ReaderTest, ReadsFromAnyLsn) {
  AppendRecords(60);
  for (Lsn from = 1; from <= 61; ++from) {
    auto all = ReadAll(*journal_, from, 5);
    ASSERT_TRUE(all.ok()) << "from " << from << ": " << all.status().ToString();
    ASSERT_EQ(all->size(), 61 - from) << "from " << from;
    ExpectRecords(*all, from);
  }
}

TEST_F(ReaderTest, ReadsFromSegmentBoundaries) {
  AppendRecords(100);
  auto segments = journal_->Segments();
  ASSERT_GT(segments.size(), 5u);
  for (const auto& seg : segments) {
    for (Lsn from : {seg.first_lsn, seg.last_lsn, seg.last_lsn + 1}) {
      auto reader = OpenReader(from);
      ASSERT_NE(reader, nullptr);
      ReadBatch batch;
      ASSERT_TRUE(reader->Read(3, 1 << 20, &batch).ok());
      if (from > 100) {
        EXPECT_TRUE(batch.empty());
        continue;
      }
      ASSERT_FALSE(batch.empty()) << "from " << from;
      EXPECT_EQ(batch.first_lsn(), from);
      EXPECT_EQ(batch.records()[0].payload, payloads_[from - 1]);
      // A batch that crosses into the next segment stays contiguous.
      EXPECT_EQ(batch.last_lsn(), std::min<Lsn>(from + 2, 100));
    }
  }
}

TEST_F(ReaderTest, BatchesRespectMaxRecordsAndMaxBytes) {
  AppendRecords(100);
  {
    auto reader = OpenReader(1);
    ReadBatch batch;
    Lsn next = 1;
    while (true) {
      ASSERT_TRUE(reader->Read(6, 1 << 20, &batch).ok());
      if (batch.empty()) break;
      EXPECT_EQ(batch.first_lsn(), next);
      EXPECT_EQ(batch.size(), std::min<size_t>(6, 101 - next));  // full unless at the end
      next = batch.last_lsn() + 1;
      EXPECT_EQ(reader->next_lsn(), next);
    }
    EXPECT_EQ(next, 101u);
  }
  for (size_t max_bytes : {0, 1, 100, 250, 1000}) {
    auto reader = OpenReader(1);
    ReadBatch batch;
    Lsn next = 1;
    while (true) {
      ASSERT_TRUE(reader->Read(1000, max_bytes, &batch).ok());
      if (batch.empty()) break;
      ASSERT_GE(batch.size(), 1u);  // always progress, even when one record is too big
      size_t bytes = 0;
      for (const auto& r : batch.records()) bytes += r.payload.size();
      EXPECT_EQ(bytes, batch.payload_bytes());
      // It stops at the first record that reaches the limit: without its last record
      // the batch is below max_bytes.
      EXPECT_LT(bytes - batch.records().back().payload.size(), std::max<size_t>(max_bytes, 1));
      if (batch.last_lsn() < 100) {
        EXPECT_GE(bytes, max_bytes);
      }
      EXPECT_EQ(batch.first_lsn(), next);
      for (const auto& r : batch.records()) EXPECT_EQ(r.payload, payloads_[r.lsn - 1]);
      next = batch.last_lsn() + 1;
    }
    EXPECT_EQ(next, 101u) << "max_bytes " << max_bytes;
  }
}

// The views of a batch point into its own storage: they stay valid while the batch grows
// and are replaced when the batch is reused.
TEST_F(ReaderTest, BatchViewsSurviveGrowthAndReuse) {
  AppendRecords(150);
  auto reader = OpenReader(1);
  ReadBatch batch;
  ASSERT_TRUE(reader->Read(150, 1 << 30, &batch).ok());
  ASSERT_EQ(batch.size(), 150u);
  for (const auto& r : batch.records()) EXPECT_EQ(r.payload, payloads_[r.lsn - 1]);
  auto reader2 = OpenReader(100);
  ASSERT_TRUE(reader2->Read(10, 1 << 20, &batch).ok());
  ASSERT_EQ(batch.size(), 10u);
  EXPECT_EQ(batch.first_lsn(), 100u);
  for (const auto& r : batch.records()) EXPECT_EQ(r.payload, payloads_[r.lsn - 1]);
}

TEST_F(ReaderTest, ReaderAtTheHeadSeesNewRecordsInTheLiveAndNewSegments) {
  AppendRecords(3);
  auto reader = OpenReader(4);
  ASSERT_NE(reader, nullptr);
  ReadBatch batch;
  ASSERT_TRUE(reader->Read(100, 1 << 20, &batch).ok());
  EXPECT_TRUE(batch.empty());
  // The live segment grows...
  AppendRecords(2);
  ASSERT_TRUE(reader->Read(100, 1 << 20, &batch).ok());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.first_lsn(), 4u);
  // ...and rolls several times.
  AppendRecords(40);
  std::vector<Record> got;
  while (true) {
    ASSERT_TRUE(reader->Read(4, 1 << 20, &batch).ok());
    if (batch.empty()) break;
    for (const auto& r : batch.records()) got.push_back(Record{r.lsn, r.type, std::string(r.payload)});
  }
  ASSERT_EQ(got.size(), 40u);
  ExpectRecords(got, 6);
}

// Readers see only durable records, whatever the ack mode: in "written" mode a record is
// acknowledged before its fdatasync, and the gate holds that sync.
TEST_F(ReaderTest, ReadersSeeOnlyDurableRecords) {
  journal_.reset();
  GatedFileSystem fs(FileSystem::Default());
  JournalOptions o = Options(&fs);
  o.ack_mode = AckMode::kWritten;
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  journal_ = std::move(j).value();
  AppendRecords(5);
  ASSERT_TRUE(journal_->Flush().ok());

  auto reader = OpenReader(1);
  fs.CloseGate();
  // One batch, so one group: acknowledging a second group would need the writer, which
  // is held in the first group's sync.
  std::vector<AppendRecord> batch3;
  for (int key = 5; key < 8; ++key) {
    payloads_.push_back(PayloadFor(key, 60 + key % 80));
    batch3.push_back({static_cast<uint16_t>(1 + key % 3), payloads_.back()});
  }
  auto first = journal_->AppendBatch(batch3);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(*first, 6u);
  EXPECT_TRUE(journal_->WaitDurable(8).ok());  // acknowledged: written, not synced
  fs.WaitForBlockedSyncs(1);
  EXPECT_EQ(journal_->durable_lsn(), 5u);
  ReadBatch batch;
  ASSERT_TRUE(reader->Read(100, 1 << 20, &batch).ok());
  EXPECT_EQ(batch.size(), 5u);
  EXPECT_EQ(batch.last_lsn(), 5u);
  ASSERT_TRUE(reader->Read(100, 1 << 20, &batch).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_FALSE(reader->WaitForRecords(std::chrono::milliseconds(1)));
  // A reader cannot even start beyond the durable head.
  auto beyond = Reader::Open(journal_.get(), 7);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().code(), Code::kOutOfRange);

  fs.OpenGate();
  ASSERT_TRUE(journal_->Flush().ok());
  EXPECT_TRUE(reader->WaitForRecords(std::chrono::milliseconds(1)));
  std::vector<Record> got;
  while (true) {
    ASSERT_TRUE(reader->Read(100, 1 << 20, &batch).ok());
    if (batch.empty()) break;
    for (const auto& r : batch.records()) got.push_back(Record{r.lsn, r.type, std::string(r.payload)});
  }
  ASSERT_EQ(got.size(), 3u);
  ExpectRecords(got, 6);
}

TEST_F(ReaderTest, WaitForRecordsWakesOnAppend) {
  AppendRecords(2);
  auto reader = OpenReader(3);
  ASSERT_NE(reader, nullptr);
  // Nothing new: a short wait times out.
  EXPECT_FALSE(reader->WaitForRecords(std::chrono::milliseconds(20)));

  std::atomic<bool> started{false};
  bool woke = false;
  auto elapsed = std::chrono::steady_clock::duration::zero();
  std::thread waiter([&] {
    started = true;
    auto t0 = std::chrono::steady_clock::now();
    woke = reader->WaitForRecords(std::chrono::seconds(120));
    elapsed = std::chrono::steady_clock::now() - t0;
  });
  while (!started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  AppendRecords(1);
  waiter.join();
  EXPECT_TRUE(woke);
  // Woken by the append, not by the timeout (the bound is generous on purpose).
  EXPECT_LT(elapsed, std::chrono::seconds(60));

  // Records already there: no wait at all.
  EXPECT_TRUE(reader->WaitForRecords(std::chrono::seconds(120)));
  ReadBatch batch;
  ASSERT_TRUE(reader->Read(10, 1 << 20, &batch).ok());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch.first_lsn(), 3u);
}

TEST_F(ReaderTest, ManyReadersAtOnceWhileAppending) {
  constexpr int kReaders = 6;
  constexpr int kRecords = 2000;
  // Payloads are fixed up front so readers can check them while the appender runs.
  for (int i = 0; i < kRecords; ++i) payloads_.push_back(PayloadFor(i, 60 + i % 80));
  std::atomic<int> errors{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      auto reader = Reader::Open(journal_.get(), 1);
      if (!reader.ok()) {
        ADD_FAILURE() << "reader " << r << ": " << reader.status().ToString();
        ++errors;
        return;
      }
      ReadBatch batch;
      Lsn next = 1;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      while (next <= kRecords && std::chrono::steady_clock::now() < deadline) {
        Status st = (*reader)->Read(1 + r * 13, 1 << 20, &batch);
        if (!st.ok()) {
          ADD_FAILURE() << "reader " << r << " at LSN " << next << ": " << st.ToString();
          ++errors;
          return;
        }
        if (batch.empty()) {
          (*reader)->WaitForRecords(std::chrono::milliseconds(500));
          continue;
        }
        for (const auto& rec : batch.records()) {
          if (rec.lsn != next || rec.payload != payloads_[rec.lsn - 1]) {
            ADD_FAILURE() << "reader " << r << " got LSN " << rec.lsn << " expecting " << next;
            ++errors;
            return;
          }
          ++next;
        }
      }
      if (next != kRecords + 1) {
        ADD_FAILURE() << "reader " << r << " stopped at LSN " << next;
        ++errors;
      }
    });
  }
  std::thread appender([&] {
    for (int i = 0; i < kRecords; i += 10) {
      std::vector<AppendRecord> batch;
      for (int k = i; k < i + 10; ++k) batch.push_back({static_cast<uint16_t>(1 + k % 3), payloads_[k]});
      auto first = journal_->AppendBatch(batch);
      if (!first.ok() || *first != static_cast<Lsn>(i + 1)) {
        ADD_FAILURE() << "append at " << i << ": " << first.status().ToString();
        ++errors;
        return;
      }
      if (i % 100 == 0) journal_->WaitDurable(*first).IgnoreError();
    }
  });
  appender.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
}

TEST_F(ReaderTest, OpenBelowTheFirstRetainedLsnIsOutOfRange) {
  AppendRecords(100);
  auto segments = journal_->Segments();
  ASSERT_GT(segments.size(), 4u);
  Lsn cut = segments[2].last_lsn;
  auto freed = journal_->DeleteSegmentsUpTo(cut);
  ASSERT_TRUE(freed.ok()) << freed.status().ToString();
  EXPECT_EQ(*freed, segments[0].bytes + segments[1].bytes + segments[2].bytes);
  EXPECT_EQ(journal_->first_lsn(), cut + 1);

  for (Lsn from : {Lsn{1}, cut}) {
    auto r = Reader::Open(journal_.get(), from);
    ASSERT_FALSE(r.ok()) << "from " << from;
    EXPECT_EQ(r.status().code(), Code::kOutOfRange);
    EXPECT_THAT(r.status().message(), HasSubstr(fmt::format("oldest retained LSN is {}", cut + 1)));
  }
  auto all = ReadAll(*journal_, cut + 1);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 100 - cut);
  ExpectRecords(*all, cut + 1);
}

TEST_F(ReaderTest, ReaderOvertakenByRetention) {
  AppendRecords(100);
  auto segments = journal_->Segments();
  // A reader that has not opened its segment yet finds it gone.
  auto late = OpenReader(2);
  // A reader in the middle of segment 0 keeps its file open and finishes it.
  auto reading = OpenReader(1);
  ReadBatch batch;
  ASSERT_TRUE(reading->Read(2, 1 << 20, &batch).ok());
  ASSERT_EQ(batch.size(), 2u);

  ASSERT_TRUE(journal_->DeleteSegmentsUpTo(segments[0].last_lsn).ok());
  Status s = late->Read(10, 1 << 20, &batch);
  EXPECT_EQ(s.code(), Code::kOutOfRange) << s.ToString();

  std::vector<Record> got;
  while (true) {
    Status st = reading->Read(10, 1 << 20, &batch);
    ASSERT_TRUE(st.ok()) << st.ToString();
    if (batch.empty()) break;
    for (const auto& r : batch.records()) got.push_back(Record{r.lsn, r.type, std::string(r.payload)});
  }
  ASSERT_EQ(got.size(), 98u);
  ExpectRecords(got, 3);
}

// Nothing was ever deleted from a fresh journal, so LSN 1 is retained even while the
// first segment is still being created (its header sync is held by the gate) and LSNs
// beyond it are already assigned.
TEST_F(ReaderTest, OpenFromOneWhileTheFirstSegmentIsBeingCreated) {
  journal_.reset();
  GatedFileSystem fs(FileSystem::Default());
  auto j = Journal::Open(Options(&fs));
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  journal_ = std::move(j).value();
  fs.CloseGate();
  payloads_.push_back(PayloadFor(0, 60));
  ASSERT_TRUE(journal_->Append(1, payloads_.back()).ok());
  fs.WaitForBlockedSyncs(1);
  EXPECT_EQ(journal_->first_lsn(), 1u);
  auto reader = Reader::Open(journal_.get(), 1);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  fs.OpenGate();
  ASSERT_TRUE(journal_->Flush().ok());
  ReadBatch batch;
  ASSERT_TRUE((*reader)->Read(10, 1 << 20, &batch).ok());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch.records()[0].payload, payloads_[0]);
}

TEST_F(ReaderTest, OpenBeyondTheHeadIsOutOfRange) {
  // An empty journal: LSN 1 is the head.
  auto r = Reader::Open(journal_.get(), 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ReadBatch batch;
  ASSERT_TRUE((*r)->Read(10, 1 << 20, &batch).ok());
  EXPECT_TRUE(batch.empty());
  auto beyond = Reader::Open(journal_.get(), 2);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().code(), Code::kOutOfRange);

  AppendRecords(10);
  EXPECT_TRUE(Reader::Open(journal_.get(), 11).ok());
  for (Lsn from : {Lsn{12}, Lsn{1000}}) {
    auto bad = Reader::Open(journal_.get(), from);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), Code::kOutOfRange);
    EXPECT_THAT(bad.status().message(), HasSubstr("durable head 10"));
    EXPECT_THAT(bad.status().message(), HasSubstr("events"));
  }
  // LSN 0 means "from the beginning".
  auto zero = Reader::Open(journal_.get(), 0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ((*zero)->next_lsn(), 1u);
}

TEST_F(ReaderTest, ReadsWhatARecoveredJournalHolds) {
  AppendRecords(50);
  journal_.reset();
  auto j = Journal::Open(Options());
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  journal_ = std::move(j).value();
  auto all = ReadAll(*journal_, 17, 9);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 34u);
  ExpectRecords(*all, 17);
  AppendRecords(5);
  all = ReadAll(*journal_, 45);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 11u);
  ExpectRecords(*all, 45);
}

// Counts the bytes read through the files it opens.
class CountingFileSystem : public GatedFileSystem {
 public:
  using GatedFileSystem::GatedFileSystem;
  Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    SLUICE_ASSIGN_OR_RETURN(auto f, GatedFileSystem::NewReadableFile(path));
    return std::unique_ptr<ReadableFile>(std::make_unique<File>(std::move(f), &bytes_read_));
  }
  uint64_t bytes_read() const { return bytes_read_.load(); }

 private:
  class File : public ReadableFile {
   public:
    File(std::unique_ptr<ReadableFile> base, std::atomic<uint64_t>* count)
        : base_(std::move(base)), count_(count) {}
    Result<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
      SLUICE_ASSIGN_OR_RETURN(size_t got, base_->ReadAt(offset, n, scratch));
      *count_ += got;
      return got;
    }
    Result<uint64_t> Size() const override { return base_->Size(); }
    const std::string& path() const override { return base_->path(); }

   private:
    std::unique_ptr<ReadableFile> base_;
    std::atomic<uint64_t>* count_;
  };
  std::atomic<uint64_t> bytes_read_{0};
};

// Issue #9, item 14: opening a reader deep inside a large segment must not read the
// segment from its start (failover and reconnects open readers at watermarks). A sparse
// LSN -> offset index, kept while appending and rebuilt at open, bounds the work.
TEST_F(ReaderTest, OpeningDeepInALargeSegmentReadsLittleOfIt) {
  CountingFileSystem fs(FileSystem::Default());
  fs.SkipSyncs(true);
  JournalOptions o = Options(&fs);
  o.dir = tmp_.Sub("journal/big");
  o.stream = "big";
  o.segment_bytes = 64 << 20;
  constexpr int kRecords = 24 << 10;  // 24 MiB of 1 KiB records, all in one segment
  std::vector<std::string> payloads;
  for (int i = 0; i < kRecords; ++i) payloads.push_back(PayloadFor(i, 1000 + i % 24));
  constexpr uint64_t kBound = 3 << 20;  // at most a few read chunks, whatever the LSN
  auto check = [&](Journal* j, const char* when) {
    for (Lsn lsn : {Lsn{1}, Lsn{kRecords / 2}, Lsn{kRecords - 7}, Lsn{kRecords}}) {
      SCOPED_TRACE(fmt::format("{}, LSN {}", when, lsn));
      uint64_t before = fs.bytes_read();
      auto r = Reader::Open(j, lsn);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ReadBatch batch;
      ASSERT_TRUE((*r)->Read(3, 1 << 20, &batch).ok());
      ASSERT_FALSE(batch.empty());
      EXPECT_EQ(batch.first_lsn(), lsn);
      for (const auto& rec : batch.records()) EXPECT_EQ(rec.payload, payloads[rec.lsn - 1]);
      EXPECT_LE(fs.bytes_read() - before, kBound) << "bytes read to position a reader";
    }
  };
  {
    auto j = Journal::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    for (int i = 0; i < kRecords; i += 512) {
      std::vector<AppendRecord> batch;
      for (int k = i; k < i + 512; ++k) batch.push_back({1, payloads[k]});
      ASSERT_TRUE((*j)->AppendBatch(batch).ok());
    }
    ASSERT_TRUE((*j)->Flush().ok());
    ASSERT_EQ((*j)->Segments().size(), 1u);
    check(j->get(), "while appending");
  }
  auto j = Journal::Open(o);  // recovery reads everything once and rebuilds the index
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  check(j->get(), "after reopening");
}

}  // namespace
}  // namespace sluice::journal
