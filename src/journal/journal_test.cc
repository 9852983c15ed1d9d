// The Journal's basics: LSNs, segments and their sizes, record size limits, stream
// names. Group commit is journal_group_commit_test.cc, failures journal_fault_test.cc.

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

}  // namespace
}  // namespace sluice::journal
