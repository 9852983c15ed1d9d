// Recovery of a journal whose files were damaged: a torn or corrupt tail of the last
// segment is cut off (keeping every record before the damage and nothing after it);
// damage anywhere before the last valid record is an error naming file and offset.

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "journal/format.h"
#include "journal/journal.h"
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

constexpr int kSeeds = 200;

class RecoveryTest : public ::testing::Test {
 protected:
  RecoveryTest() { fast_fs_.SkipSyncs(true); }

  // Power loss is not simulated here, so syncs are skipped to keep the many seeds fast.
  JournalOptions Options() {
    JournalOptions o;
    o.fs = &fast_fs_;
    o.dir = dir_;
    o.stream = "samples";
    o.epoch.fill(0x42);
    o.segment_bytes = 2048;
    o.max_record_bytes = 4096;
    return o;
  }

  // Writes `n` records with sizes drawn from `rng` and closes the journal.
  void Write(int n, std::mt19937* rng) {
    auto j = Journal::Open(Options());
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    for (int i = 0; i < n; ++i) {
      size_t size = 1 + (*rng)() % 300;
      payloads_.push_back(PayloadFor(payloads_.size(), size));
      // Some groups of one, some larger: the layout does not depend on grouping.
      auto lsn = (*rng)() % 4 == 0 ? (*j)->AppendDurable(1, payloads_.back())
                                   : (*j)->Append(1, payloads_.back());
      ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
      ASSERT_EQ(*lsn, payloads_.size());
    }
  }

  // The first LSN of each segment file, from its name.
  std::vector<Lsn> FirstLsns() const {
    std::vector<Lsn> firsts;
    for (const auto& f : SegmentFiles(dir_)) {
      auto lsn = ParseSegmentFileName(std::filesystem::path(f).filename().string());
      EXPECT_TRUE(lsn.has_value()) << f;
      firsts.push_back(lsn.value_or(0));
    }
    return firsts;
  }

  // File offsets at which the records of segment `index` end, computed from the payload
  // sizes alone (not by the code under test). ends[k] is where record k+1 of the
  // segment ends; boundaries are kSegmentHeaderSize and then these.
  std::vector<uint64_t> RecordEnds(size_t index) const {
    auto firsts = FirstLsns();
    Lsn first = firsts[index];
    Lsn last = index + 1 < firsts.size() ? firsts[index + 1] - 1 : payloads_.size();
    std::vector<uint64_t> ends;
    uint64_t off = kSegmentHeaderSize;
    for (Lsn lsn = first; lsn <= last; ++lsn) {
      off += kFrameHeaderSize + payloads_[lsn - 1].size();
      ends.push_back(off);
    }
    return ends;
  }
  uint64_t RecordStart(size_t index, size_t k) const {
    return k == 0 ? kSegmentHeaderSize : RecordEnds(index)[k - 1];
  }

  // Opens the journal and checks it holds exactly LSNs 1..expected_last with the
  // payloads written; then appends a few records and checks they continue the LSNs,
  // also after another reopen.
  void ExpectRecoveredTo(Lsn expected_last) {
    {
      auto j = Journal::Open(Options());
      ASSERT_TRUE(j.ok()) << j.status().ToString();
      EXPECT_EQ((*j)->durable_lsn(), expected_last);
      EXPECT_EQ((*j)->last_assigned_lsn(), expected_last);
      auto all = ReadAll(**j);
      ASSERT_TRUE(all.ok()) << all.status().ToString();
      ASSERT_EQ(all->size(), expected_last);
      for (size_t i = 0; i < all->size(); ++i) {
        ASSERT_EQ((*all)[i].lsn, i + 1);
        ASSERT_EQ((*all)[i].payload, payloads_[i]) << "LSN " << i + 1;
      }
      payloads_.resize(expected_last);
      for (int k = 0; k < 3; ++k) {
        payloads_.push_back(fmt::format("after recovery {}", k));
        auto lsn = (*j)->AppendDurable(1, payloads_.back());
        ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
        EXPECT_EQ(*lsn, expected_last + 1 + k);
      }
    }
    auto j = Journal::Open(Options());
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    auto all = ReadAll(**j);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), expected_last + 3);
    for (size_t i = 0; i < all->size(); ++i) {
      ASSERT_EQ((*all)[i].lsn, i + 1);
      ASSERT_EQ((*all)[i].payload, payloads_[i]);
    }
    // The segments still chain.
    auto segments = (*j)->Segments();
    for (size_t i = 1; i < segments.size(); ++i) {
      EXPECT_EQ(segments[i].number, segments[i - 1].number + 1);
      EXPECT_EQ(segments[i].first_lsn, segments[i - 1].last_lsn + 1);
    }
  }

  // Expects Open to fail with kCorruption naming `path` and `offset`, and to have
  // changed nothing on disk.
  void ExpectCorruptionAt(const std::string& path, uint64_t offset) {
    std::vector<std::pair<std::string, std::string>> before;
    for (const auto& f : SegmentFiles(dir_)) before.emplace_back(f, ReadBytes(f));
    auto j = Journal::Open(Options());
    ASSERT_FALSE(j.ok()) << "damage at " << path << " offset " << offset << " was not reported";
    EXPECT_EQ(j.status().code(), Code::kCorruption) << j.status().ToString();
    EXPECT_THAT(j.status().message(), HasSubstr(path));
    EXPECT_THAT(j.status().message(), HasSubstr(fmt::format("offset {}", offset)));
    std::vector<std::pair<std::string, std::string>> after;
    for (const auto& f : SegmentFiles(dir_)) after.emplace_back(f, ReadBytes(f));
    EXPECT_TRUE(before == after) << "a failed recovery changed the segment files";
  }

  testing::GatedFileSystem fast_fs_{FileSystem::Default()};
  TempDir tmp_;
  std::string dir_ = tmp_.Sub("journal/samples");
  std::vector<std::string> payloads_;
};

TEST_F(RecoveryTest, UndamagedJournalRecoversEverything) {
  std::mt19937 rng(1);
  Write(80, &rng);
  ASSERT_GT(SegmentFiles(dir_).size(), 3u);
  ExpectRecoveredTo(80);
}

// The torn tail test: cut the last segment at a random offset. Every record wholly
// before the cut is kept, nothing after it, and appending continues at the next LSN.
TEST_F(RecoveryTest, TruncatedLastSegmentKeepsEveryRecordBeforeTheCut) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    std::filesystem::remove_all(dir_);
    payloads_.clear();
    std::mt19937 rng(seed);
    ASSERT_NO_FATAL_FAILURE(Write(20 + static_cast<int>(rng() % 60), &rng));
    auto files = SegmentFiles(dir_);
    auto firsts = FirstLsns();
    const size_t last = files.size() - 1;
    const uint64_t size = ReadBytes(files[last]).size();
    auto ends = RecordEnds(last);
    ASSERT_EQ(ends.back(), size);

    uint64_t cut;
    switch (seed % 4) {
      case 0: cut = rng() % (size + 1); break;                            // anywhere
      case 1: cut = rng() % kSegmentHeaderSize; break;                    // in the header
      case 2: cut = ends[rng() % ends.size()]; break;                     // on a boundary
      default: cut = ends[rng() % ends.size()] - 1 - rng() % 20; break;  // just before one
    }
    std::filesystem::resize_file(files[last], cut);

    Lsn expected = firsts[last] - 1;
    if (cut >= kSegmentHeaderSize) {
      for (uint64_t end : ends) {
        if (end <= cut) ++expected;
      }
    }
    ASSERT_NO_FATAL_FAILURE(ExpectRecoveredTo(expected));
    // The headerless file was removed (the records appended after recovery went into
    // the previous segment or a proper new one); every file left is a valid segment.
    for (const auto& f : SegmentFiles(dir_)) {
      EXPECT_TRUE(DecodeSegmentHeader(ReadBytes(f)).ok()) << f;
    }
    if (cut >= kSegmentHeaderSize) {
      EXPECT_TRUE(std::filesystem::exists(files[last]));
    }
  }
}

// Random damage in the tail of the last segment, after a record boundary that the test
// chooses: recovery keeps every record before the boundary and nothing after it.
TEST_F(RecoveryTest, DamagedTailOfTheLastSegmentIsCut) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    std::filesystem::remove_all(dir_);
    payloads_.clear();
    std::mt19937 rng(1000 + seed);
    ASSERT_NO_FATAL_FAILURE(Write(20 + static_cast<int>(rng() % 60), &rng));
    auto files = SegmentFiles(dir_);
    auto firsts = FirstLsns();
    const size_t last = files.size() - 1;
    std::string bytes = ReadBytes(files[last]);
    auto ends = RecordEnds(last);
    // Keep k records of the last segment; the damage starts at the boundary after them.
    const size_t k = rng() % (ends.size() + 1);
    const uint64_t boundary = k == 0 ? kSegmentHeaderSize : ends[k - 1];
    std::string mode;
    switch (seed % 5) {
      case 0:  // random garbage over the whole tail
        mode = "garbage";
        for (uint64_t i = boundary; i < bytes.size(); ++i) bytes[i] = static_cast<char>(rng());
        break;
      case 1:  // zeros over the whole tail (unwritten blocks after a crash)
        mode = "zeros";
        for (uint64_t i = boundary; i < bytes.size(); ++i) bytes[i] = '\0';
        break;
      case 2:  // one byte flipped in every record after the boundary
        mode = "flip each";
        for (size_t r = k; r < ends.size(); ++r) {
          uint64_t start = r == 0 ? kSegmentHeaderSize : ends[r - 1];
          uint64_t at = start + rng() % (ends[r] - start);
          bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255));
        }
        break;
      case 3:  // part of the next record, then garbage (a torn write past the end)
        mode = "torn append";
        bytes.resize(boundary);
        if (k < ends.size()) {
          bytes = ReadBytes(files[last]).substr(0, boundary + rng() % (ends[k] - boundary));
        }
        for (int i = 0, n = static_cast<int>(rng() % 500); i < n; ++i) bytes += static_cast<char>(rng());
        break;
      default:  // the tail cut mid-record and filled with zeros to a block size
        mode = "zero fill";
        bytes.resize(k < ends.size() ? boundary + rng() % (ends[k] - boundary) : boundary);
        bytes.resize(bytes.size() + 1 + rng() % 4096, '\0');
        break;
    }
    SCOPED_TRACE(fmt::format("{}: keep {} of {} records of the last segment", mode, k, ends.size()));
    WriteBytes(files[last], bytes);
    ASSERT_NO_FATAL_FAILURE(ExpectRecoveredTo(firsts[last] - 1 + k));
  }
}

TEST_F(RecoveryTest, CutTailStaysCutAndLogsNothingTheSecondTime) {
  std::mt19937 rng(5);
  Write(30, &rng);
  auto files = SegmentFiles(dir_);
  auto ends = RecordEnds(files.size() - 1);
  ASSERT_GE(ends.size(), 2u);
  std::filesystem::resize_file(files.back(), ends[ends.size() - 1] - 3);
  {
    auto j = Journal::Open(Options());
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)->durable_lsn(), 29u);
  }
  // The file itself was cut back to the last whole record.
  EXPECT_EQ(ReadBytes(files.back()).size(), ends[ends.size() - 2]);
}

// Flip a byte in the middle of the last segment, with valid records after it: that is
// not a torn tail; cutting there would drop acknowledged records.
TEST_F(RecoveryTest, DamageBeforeValidRecordsInTheLastSegmentIsAnError) {
  for (int seed = 0; seed < kSeeds / 2; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    std::filesystem::remove_all(dir_);
    payloads_.clear();
    std::mt19937 rng(2000 + seed);
    // A large last segment so that it holds several records.
    ASSERT_NO_FATAL_FAILURE(Write(30 + static_cast<int>(rng() % 30), &rng));
    auto files = SegmentFiles(dir_);
    size_t last = files.size() - 1;
    auto ends = RecordEnds(last);
    if (ends.size() < 2) {
      // Make sure the last segment has at least two records.
      {
        auto j = Journal::Open(Options());
        ASSERT_TRUE(j.ok());
        for (int i = 0; i < 2; ++i) {
          payloads_.push_back(PayloadFor(payloads_.size(), 10));
          ASSERT_TRUE((*j)->AppendDurable(1, payloads_.back()).ok());
        }
      }
      files = SegmentFiles(dir_);
      last = files.size() - 1;
      ends = RecordEnds(last);
      ASSERT_GE(ends.size(), 2u);
    }
    const size_t r = rng() % (ends.size() - 1);  // not the last record
    const uint64_t start = RecordStart(last, r);
    std::string bytes = ReadBytes(files[last]);
    uint64_t at = start + rng() % (ends[r] - start);
    bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255));
    WriteBytes(files[last], bytes);
    ASSERT_NO_FATAL_FAILURE(ExpectCorruptionAt(files[last], start));
  }
}

TEST_F(RecoveryTest, DamageInANonLastSegmentIsAnError) {
  for (int seed = 0; seed < kSeeds / 2; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    std::filesystem::remove_all(dir_);
    payloads_.clear();
    std::mt19937 rng(3000 + seed);
    ASSERT_NO_FATAL_FAILURE(Write(60, &rng));
    auto files = SegmentFiles(dir_);
    ASSERT_GE(files.size(), 3u);
    const size_t s = rng() % (files.size() - 1);
    auto ends = RecordEnds(s);
    // Any record, including the segment's last: a later segment exists, so even damage
    // at its very end is not a torn tail.
    const size_t r = seed % 3 == 0 ? ends.size() - 1 : rng() % ends.size();
    const uint64_t start = RecordStart(s, r);
    std::string bytes = ReadBytes(files[s]);
    if (seed % 2 == 0) {
      uint64_t at = start + rng() % (ends[r] - start);
      bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255));
    } else {
      // Truncated inside the record (a cut exactly at a boundary is caught by the
      // successor's header instead: a segment is missing).
      bytes.resize(start + 1 + rng() % (ends[r] - start - 1));
    }
    WriteBytes(files[s], bytes);
    ASSERT_NO_FATAL_FAILURE(ExpectCorruptionAt(files[s], start));
  }
}

// A non-last segment that lost whole records at its end looks clean by itself; its
// successor's header names the last LSN it must have.
TEST_F(RecoveryTest, NonLastSegmentCutAtARecordBoundaryIsAnError) {
  std::mt19937 rng(3);
  Write(60, &rng);
  auto files = SegmentFiles(dir_);
  ASSERT_GE(files.size(), 3u);
  auto ends = RecordEnds(1);
  ASSERT_GE(ends.size(), 2u);
  std::filesystem::resize_file(files[1], ends[ends.size() - 2]);  // drop its last record
  auto j = Journal::Open(Options());
  ASSERT_FALSE(j.ok()) << "a record lost from the middle of the journal went unnoticed";
  EXPECT_EQ(j.status().code(), Code::kCorruption);
  EXPECT_THAT(j.status().message(), HasSubstr(files[1]));
  EXPECT_THAT(j.status().message(), HasSubstr(files[2]));
}

TEST_F(RecoveryTest, DamagedHeaderOfANonLastSegmentIsAnError) {
  std::mt19937 rng(4);
  Write(60, &rng);
  auto files = SegmentFiles(dir_);
  ASSERT_GE(files.size(), 3u);
  std::string bytes = ReadBytes(files[1]);
  bytes[40] = static_cast<char>(bytes[40] + 1);
  WriteBytes(files[1], bytes);
  ExpectCorruptionAt(files[1], 0);
}

TEST_F(RecoveryTest, MissingMiddleSegmentIsAnError) {
  std::mt19937 rng(6);
  Write(60, &rng);
  auto files = SegmentFiles(dir_);
  ASSERT_GE(files.size(), 4u);
  std::filesystem::remove(files[2]);
  auto j = Journal::Open(Options());
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kCorruption);
  EXPECT_THAT(j.status().message(), HasSubstr("a segment is missing"));
  EXPECT_THAT(j.status().message(), HasSubstr(files[3]));
  EXPECT_THAT(j.status().message(), HasSubstr(files[1]));
}

class TornHeaderTest : public RecoveryTest, public ::testing::WithParamInterface<int> {};

// The newest segment's header never reached the disk whole: the file holds nothing that
// was acknowledged and is removed.
TEST_P(TornHeaderTest, LastSegmentWithATornHeaderIsRemoved) {
  std::mt19937 rng(7);
  Write(40, &rng);
  const size_t before = SegmentFiles(dir_).size();
  SegmentHeader h;
  h.epoch = Options().epoch;
  h.number = before + 1;
  h.first_lsn = 41;
  h.prev_last_lsn = 40;
  h.stream = "samples";
  std::string header;
  EncodeSegmentHeader(h, &header);
  std::string torn;
  switch (GetParam()) {
    case 0: torn = ""; break;                                        // created, nothing written
    case 1: torn = header.substr(0, 50); break;                      // short
    case 2: torn = std::string(kSegmentHeaderSize, '\0'); break;     // zeroed
    case 3: torn = header.substr(0, 100) + std::string(28, '\0'); break;  // half zeroed
    default: torn = std::string(kSegmentHeaderSize + 300, '\0'); break;   // zero filled
  }
  const std::string path = JoinPath(dir_, SegmentFileName(41));
  WriteBytes(path, torn);
  ExpectRecoveredTo(40);
  // Whatever holds LSN 41 now (the live segment, or a new one) is a proper segment.
  EXPECT_LE(SegmentFiles(dir_).size(), before + 1);
  if (std::filesystem::exists(path)) {
    auto header_now = DecodeSegmentHeader(ReadBytes(path));
    ASSERT_TRUE(header_now.ok()) << header_now.status().ToString();
    EXPECT_EQ(header_now->number, before + 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, TornHeaderTest, ::testing::Range(0, 5));

TEST_F(RecoveryTest, DamagedHeaderFollowedByValidRecordsIsAnError) {
  std::mt19937 rng(8);
  Write(40, &rng);
  auto files = SegmentFiles(dir_);
  auto ends = RecordEnds(files.size() - 1);
  ASSERT_GE(ends.size(), 1u);
  std::string bytes = ReadBytes(files.back());
  for (size_t i = 0; i < kSegmentHeaderSize; ++i) bytes[i] = '\0';
  WriteBytes(files.back(), bytes);
  auto j = Journal::Open(Options());
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kCorruption);
  EXPECT_THAT(j.status().message(), HasSubstr(files.back()));
  EXPECT_THAT(j.status().message(), HasSubstr(fmt::format("offset {}", kSegmentHeaderSize)));
  EXPECT_TRUE(std::filesystem::exists(files.back()));
}

TEST_F(RecoveryTest, SegmentFromAnotherEpochIsAnError) {
  std::mt19937 rng(9);
  Write(40, &rng);
  JournalOptions o = Options();
  o.epoch.fill(0x43);
  auto j = Journal::Open(o);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kCorruption);
  EXPECT_THAT(j.status().message(), HasSubstr("epoch"));
  EXPECT_THAT(j.status().message(), HasSubstr(EpochToHex(Options().epoch)));
  EXPECT_THAT(j.status().message(), HasSubstr(EpochToHex(o.epoch)));
  EXPECT_THAT(j.status().message(), HasSubstr(SegmentFiles(dir_)[0]));
}

TEST_F(RecoveryTest, SegmentOfAnotherStreamIsAnError) {
  std::mt19937 rng(10);
  Write(40, &rng);
  // The files of stream "samples" end up in the directory of stream "events".
  const std::string other = tmp_.Sub("journal/events");
  std::filesystem::rename(dir_, other);
  JournalOptions o = Options();
  o.dir = other;
  o.stream = "events";
  auto j = Journal::Open(o);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kCorruption);
  EXPECT_THAT(j.status().message(), HasSubstr("belongs to stream 'samples'"));
}

TEST_F(RecoveryTest, SegmentWhoseNameDisagreesWithItsHeaderIsAnError) {
  std::mt19937 rng(11);
  Write(60, &rng);
  auto files = SegmentFiles(dir_);
  auto firsts = FirstLsns();
  const std::string renamed = JoinPath(dir_, SegmentFileName(firsts.back() + 1));
  std::filesystem::rename(files.back(), renamed);
  auto j = Journal::Open(Options());
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kCorruption);
  EXPECT_THAT(j.status().message(), HasSubstr(renamed));
}

// A stale record (say, from a reused file) after the last record passes its CRC but
// has an LSN that does not follow: it is not part of this journal's history.
TEST_F(RecoveryTest, StaleRecordAfterTheTailIsCut) {
  std::mt19937 rng(12);
  Write(30, &rng);
  auto files = SegmentFiles(dir_);
  std::string bytes = ReadBytes(files.back());
  const uint64_t size = bytes.size();
  EncodeFrame(3, 1, "an old record", &bytes);
  WriteBytes(files.back(), bytes);
  {
    auto j = Journal::Open(Options());
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    EXPECT_EQ((*j)->durable_lsn(), 30u);
  }
  EXPECT_EQ(ReadBytes(files.back()).size(), size);
  ExpectRecoveredTo(30);
}

TEST_F(RecoveryTest, UnrelatedFilesInTheDirectoryAreIgnored) {
  std::mt19937 rng(13);
  Write(20, &rng);
  WriteBytes(JoinPath(dir_, "notes.txt"), "hello");
  WriteBytes(JoinPath(dir_, "00000000000000000001.seg.tmp"), "partial");
  ExpectRecoveredTo(20);
  EXPECT_TRUE(std::filesystem::exists(JoinPath(dir_, "notes.txt")));
}

// Journals written before batch marks (format version 1) still open and read; the
// first append starts a version 2 segment instead of mixing flagged records into the
// old one.
TEST_F(RecoveryTest, VersionOneJournalOpensAndGrowsInANewSegment) {
  std::filesystem::create_directories(dir_);
  std::string bytes;
  SegmentHeader h;
  h.version = 1;
  h.epoch = Options().epoch;
  h.number = 1;
  h.first_lsn = 1;
  h.prev_last_lsn = 0;
  h.stream = "samples";
  EncodeSegmentHeader(h, &bytes);
  for (Lsn lsn = 1; lsn <= 5; ++lsn) {
    payloads_.push_back(PayloadFor(lsn, 40));
    EncodeFrame(lsn, 1, payloads_.back(), &bytes);
  }
  const std::string old_path = JoinPath(dir_, SegmentFileName(1));
  WriteBytes(old_path, bytes);
  ExpectRecoveredTo(5);  // reads them all, appends three more, reopens
  EXPECT_EQ(ReadBytes(old_path), bytes) << "the version 1 segment was written to";
  auto files = SegmentFiles(dir_);
  ASSERT_EQ(files.size(), 2u);
  auto header = DecodeSegmentHeader(ReadBytes(files[1]));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->version, kFormatVersion);
  EXPECT_EQ(header->number, 2u);

  // A torn tail of a version 1 segment is still cut at the last whole record (each
  // record is a request of its own).
  std::filesystem::remove(files[1]);
  WriteBytes(old_path, bytes.substr(0, bytes.size() - 7));
  payloads_.resize(5);
  ExpectRecoveredTo(4);
}

// Damage with valid records after it is only cut as an unsynced group when it looks
// like lost pages: a flipped bit in a group written as one stays an error.
TEST_F(RecoveryTest, FlippedBitInTheLastGroupBeforeValidRecordsIsAnError) {
  {
    auto j = Journal::Open(Options());
    ASSERT_TRUE(j.ok());
    std::vector<AppendRecord> batch;
    for (int i = 0; i < 6; ++i) payloads_.push_back(PayloadFor(i, 200));
    for (const auto& p : payloads_) batch.push_back({1, p});
    auto first = (*j)->AppendBatch(batch);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE((*j)->WaitDurable(*first + 5).ok());
  }
  auto files = SegmentFiles(dir_);
  ASSERT_EQ(files.size(), 1u);
  std::string bytes = ReadBytes(files[0]);
  const uint64_t second = kSegmentHeaderSize + kFrameHeaderSize + 200;
  bytes[second + 30] = static_cast<char>(bytes[second + 30] ^ 0x10);
  WriteBytes(files[0], bytes);
  ExpectCorruptionAt(files[0], second);
}

}  // namespace
}  // namespace sluice::journal
