#include "journal/verify.h"

#include <unistd.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "journal/dump.h"
#include "journal/journal_set.h"
#include "journal/journal_test_util.h"

namespace sluice::journal {
namespace {

using testing::PayloadFor;
using testing::ReadBytes;
using testing::SegmentFiles;
using testing::TempDir;
using testing::WriteBytes;
using Severity = VerifyProblem::Severity;

constexpr uint32_t kMaxRecord = 1 << 20;
constexpr size_t kPayload = 100;                           // every record is this big...
constexpr size_t kFrame = kFrameHeaderSize + kPayload;     // ...so frames are 120 bytes
constexpr uint64_t kSegmentBytes = kSegmentHeaderSize + 10 * kFrame;  // 10 records each
constexpr uint64_t kRecords = 35;  // 4 segments: 10, 10, 10, 5

class VerifyTest : public ::testing::Test {
 protected:
  // Writes kRecords records to each of streams "a" and "b" through a JournalSet.
  void WriteJournal() {
    JournalSetOptions options;
    options.data_dir = dir_.path();
    options.streams = {{"a", 0}, {"b", 0}};
    options.segment_bytes = kSegmentBytes;
    options.max_record_bytes = kMaxRecord;
    auto set = JournalSet::Open(options);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    epoch_ = (*set)->epoch();
    for (const char* name : {"a", "b"}) {
      Journal* j = (*set)->stream(name);
      ASSERT_NE(j, nullptr);
      for (uint64_t i = 1; i <= kRecords; ++i) {
        auto lsn = j->Append(1, PayloadFor(i, kPayload));
        ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
        ASSERT_EQ(*lsn, i);
      }
      ASSERT_TRUE(j->Flush().ok());
    }
  }

  std::string StreamDir(const std::string& name) const {
    return JoinPath(JoinPath(dir_.path(), "journal"), name);
  }
  std::vector<std::string> Segments(const std::string& stream) const {
    return SegmentFiles(StreamDir(stream));
  }

  VerifyReport Verify() {
    auto report = VerifyJournals(FileSystem::Default(), dir_.path(), kMaxRecord);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : VerifyReport{};
  }

  static const StreamVerifyReport& Stream(const VerifyReport& r, const std::string& name) {
    for (const auto& s : r.streams) {
      if (s.name == name) return s;
    }
    static StreamVerifyReport none;
    ADD_FAILURE() << "no stream " << name << " in the report";
    return none;
  }

  static std::vector<VerifyProblem> Problems(const StreamVerifyReport& s, Severity severity) {
    std::vector<VerifyProblem> out;
    for (const auto& p : s.problems) {
      if (p.severity == severity) out.push_back(p);
    }
    return out;
  }

  static std::string Describe(const std::vector<VerifyProblem>& problems) {
    std::string out;
    for (const auto& p : problems) {
      out += fmt::format("{}: {} offset {}: {}\n", SeverityName(p.severity), p.file, p.offset,
                         p.message);
    }
    return out;
  }

  TempDir dir_;
  Epoch epoch_{};
};

TEST_F(VerifyTest, GoodJournalCountsMatch) {
  WriteJournal();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.live());
  EXPECT_FALSE(r.damaged());
  EXPECT_TRUE(r.problems.empty());
  ASSERT_TRUE(r.epoch.has_value());
  EXPECT_EQ(*r.epoch, epoch_);
  ASSERT_EQ(r.streams.size(), 2u);
  EXPECT_EQ(r.streams[0].name, "a");
  EXPECT_EQ(r.streams[1].name, "b");
  for (const auto& s : r.streams) {
    auto files = Segments(s.name);
    uint64_t bytes = 0;
    for (const auto& f : files) bytes += std::filesystem::file_size(f);
    EXPECT_EQ(files.size(), 4u);
    EXPECT_EQ(s.segments, 4u);
    EXPECT_EQ(s.records, kRecords);
    EXPECT_EQ(s.first_lsn, 1u);
    EXPECT_EQ(s.last_lsn, kRecords);
    EXPECT_EQ(s.bytes, bytes);
    EXPECT_EQ(s.bytes, 4 * kSegmentHeaderSize + kRecords * kFrame);
    ASSERT_TRUE(s.epoch.has_value());
    EXPECT_EQ(*s.epoch, epoch_);
    EXPECT_TRUE(s.problems.empty()) << Describe(s.problems);
  }
}

TEST_F(VerifyTest, EmptyStreamAndFreshDirectory) {
  JournalSetOptions options;
  options.data_dir = dir_.path();
  options.streams = {{"empty", 0}};
  ASSERT_TRUE(JournalSet::Open(options).ok());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.damaged());
  ASSERT_EQ(r.streams.size(), 1u);
  EXPECT_EQ(r.streams[0].segments, 0u);
  EXPECT_EQ(r.streams[0].records, 0u);
  EXPECT_EQ(r.streams[0].first_lsn, 0u);
}

TEST_F(VerifyTest, NotADataDirectory) {
  auto r = VerifyJournals(FileSystem::Default(), dir_.path(), kMaxRecord);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("not a Sluice data directory"), std::string::npos);
  r = VerifyJournals(FileSystem::Default(), dir_.Sub("nowhere"), kMaxRecord);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST_F(VerifyTest, TruncatedTailIsAWarningNotDamage) {
  WriteJournal();
  std::string last = Segments("a").back();
  uint64_t size = std::filesystem::file_size(last);
  std::filesystem::resize_file(last, size - 7);  // cuts into the last record
  VerifyReport r = Verify();
  EXPECT_FALSE(r.damaged());
  const auto& a = Stream(r, "a");
  EXPECT_EQ(a.records, kRecords - 1);
  EXPECT_EQ(a.last_lsn, kRecords - 1);
  auto warnings = Problems(a, Severity::kWarning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].file, last);
  EXPECT_EQ(warnings[0].offset, size - kFrame);
  EXPECT_NE(warnings[0].message.find(
                fmt::format("torn tail: {} bytes at offset {} will be cut on next open",
                            kFrame - 7, size - kFrame)),
            std::string::npos)
      << warnings[0].message;
  EXPECT_TRUE(Stream(r, "b").problems.empty());
}

// A request whose end never reached the disk is a torn tail: recovery cuts all of it.
TEST_F(VerifyTest, IncompleteRequestAtTheEndIsAWarningNamingItsStart) {
  WriteJournal();
  std::string last = Segments("a").back();
  uint64_t size = std::filesystem::file_size(last);
  {
    JournalSetOptions options;
    options.data_dir = dir_.path();
    options.streams = {{"a", 0}, {"b", 0}};
    options.segment_bytes = kSegmentBytes;
    options.max_record_bytes = kMaxRecord;
    auto set = JournalSet::Open(options);
    ASSERT_TRUE(set.ok());
    std::vector<std::string> payloads = {PayloadFor(1000, 10), PayloadFor(1001, 10), PayloadFor(1002, 10)};
    std::vector<AppendRecord> batch;
    for (const auto& p : payloads) batch.push_back({1, p});
    auto first = (*set)->stream("a")->AppendBatch(batch);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE((*set)->stream("a")->Flush().ok());
  }
  last = Segments("a").back();
  size = std::filesystem::file_size(last);
  std::filesystem::resize_file(last, size - (kFrameHeaderSize + 10));  // drop the request's end
  VerifyReport r = Verify();
  EXPECT_FALSE(r.damaged());
  auto warnings = Problems(Stream(r, "a"), Severity::kWarning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].offset, size - 3 * (kFrameHeaderSize + 10));
  EXPECT_NE(warnings[0].message.find(fmt::format("LSN {}..{}", kRecords + 1, kRecords + 2)),
            std::string::npos)
      << warnings[0].message;
}

TEST_F(VerifyTest, GarbageTailIsAWarningNotDamage) {
  WriteJournal();
  std::string last = Segments("b").back();
  uint64_t size = std::filesystem::file_size(last);
  WriteBytes(last, ReadBytes(last) + std::string(300, '\x5a'));
  VerifyReport r = Verify();
  EXPECT_FALSE(r.damaged());
  const auto& b = Stream(r, "b");
  EXPECT_EQ(b.records, kRecords);
  auto warnings = Problems(b, Severity::kWarning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].offset, size);
}

TEST_F(VerifyTest, FlippedByteInNonLastSegmentIsDamageAtItsRecord) {
  WriteJournal();
  std::string second = Segments("a")[1];  // LSN 11..20
  std::string bytes = ReadBytes(second);
  const uint64_t record_offset = kSegmentHeaderSize + 4 * kFrame;  // LSN 15
  bytes[record_offset + kFrameHeaderSize + 30] ^= 0x01;            // in its payload
  WriteBytes(second, bytes);

  VerifyReport r = Verify();
  EXPECT_TRUE(r.damaged());
  const auto& a = Stream(r, "a");
  EXPECT_TRUE(a.damaged());
  EXPECT_FALSE(Stream(r, "b").damaged());
  auto damage = Problems(a, Severity::kDamage);
  ASSERT_EQ(damage.size(), 1u) << Describe(a.problems);
  EXPECT_EQ(damage[0].file, second);
  EXPECT_EQ(damage[0].offset, record_offset);
  EXPECT_NE(damage[0].message.find("checksum"), std::string::npos) << damage[0].message;
  EXPECT_NE(damage[0].message.find("after LSN 14"), std::string::npos) << damage[0].message;
}

TEST_F(VerifyTest, DamageFollowedByValidRecordsInLastSegmentIsDamage) {
  WriteJournal();
  std::string last = Segments("a").back();  // LSN 31..35
  std::string bytes = ReadBytes(last);
  const uint64_t record_offset = kSegmentHeaderSize + 1 * kFrame;  // LSN 32
  bytes[record_offset + kFrameHeaderSize + 3] ^= 0x40;
  WriteBytes(last, bytes);

  VerifyReport r = Verify();
  EXPECT_TRUE(r.damaged());
  auto damage = Problems(Stream(r, "a"), Severity::kDamage);
  ASSERT_EQ(damage.size(), 1u);
  EXPECT_EQ(damage[0].file, last);
  EXPECT_EQ(damage[0].offset, record_offset);
  EXPECT_NE(damage[0].message.find(fmt::format("valid record follows at offset {}",
                                               record_offset + kFrame)),
            std::string::npos)
      << damage[0].message;
}

TEST_F(VerifyTest, MissingMiddleSegmentIsDamageNamingIt) {
  WriteJournal();
  auto files = Segments("b");
  ASSERT_EQ(files.size(), 4u);
  std::filesystem::remove(files[1]);

  VerifyReport r = Verify();
  EXPECT_TRUE(r.damaged());
  const auto& b = Stream(r, "b");
  auto damage = Problems(b, Severity::kDamage);
  ASSERT_EQ(damage.size(), 1u);
  EXPECT_EQ(damage[0].file, files[1]);
  EXPECT_NE(damage[0].message.find("segment missing"), std::string::npos) << damage[0].message;
  EXPECT_NE(damage[0].message.find(files[2]), std::string::npos) << damage[0].message;
  EXPECT_NE(damage[0].message.find("LSN 11..20"), std::string::npos) << damage[0].message;
  EXPECT_EQ(b.segments, 3u);
  EXPECT_EQ(b.records, kRecords - 10);
}

TEST_F(VerifyTest, RecordsCutFromANonLastSegmentAreDamage) {
  WriteJournal();
  auto files = Segments("a");
  // Exactly at a record boundary: the segment itself still scans clean.
  std::filesystem::resize_file(files[0], kSegmentHeaderSize + 8 * kFrame);
  VerifyReport r = Verify();
  auto damage = Problems(Stream(r, "a"), Severity::kDamage);
  ASSERT_EQ(damage.size(), 1u);
  EXPECT_EQ(damage[0].file, files[0]);
  EXPECT_EQ(damage[0].offset, kSegmentHeaderSize + 8 * kFrame);
  EXPECT_NE(damage[0].message.find("LSN 9..10 are lost"), std::string::npos) << damage[0].message;
}

TEST_F(VerifyTest, ForeignEpochIsDamage) {
  WriteJournal();
  WriteBytes(JoinPath(JoinPath(dir_.path(), "journal"), "EPOCH"),
             EpochToHex(NewRandomEpoch()) + "\n");
  VerifyReport r = Verify();
  EXPECT_TRUE(r.damaged());
  auto damage = Problems(Stream(r, "a"), Severity::kDamage);
  ASSERT_EQ(damage.size(), 4u);  // every segment
  EXPECT_NE(damage[0].message.find(EpochToHex(epoch_)), std::string::npos);
}

TEST_F(VerifyTest, UncompletedLastSegmentHeaderIsAWarning) {
  WriteJournal();
  WriteBytes(JoinPath(StreamDir("a"), SegmentFileName(kRecords + 1)), std::string(60, '\0'));
  VerifyReport r = Verify();
  EXPECT_FALSE(r.damaged());
  auto warnings = Problems(Stream(r, "a"), Severity::kWarning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].message.find("removed on next open"), std::string::npos);
  EXPECT_EQ(Stream(r, "a").records, kRecords);
}

TEST_F(VerifyTest, LiveDirectoryGarbageTailIsNotDamage) {
  WriteJournal();
  std::string last = Segments("a").back();
  uint64_t size = std::filesystem::file_size(last);
  // A half-written record, as a running writer leaves it between write() calls.
  std::string partial;
  EncodeFrame(kRecords + 1, 1, PayloadFor(kRecords + 1, kPayload), &partial);
  WriteBytes(last, ReadBytes(last) + partial.substr(0, 50));

  auto lock = FileSystem::Default()->LockFile(JoinPath(dir_.path(), "LOCK"));
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  VerifyReport r = Verify();
  EXPECT_TRUE(r.live());
  EXPECT_EQ(r.live_pid, ::getpid());
  EXPECT_FALSE(r.damaged());
  const auto& a = Stream(r, "a");
  EXPECT_TRUE(Problems(a, Severity::kWarning).empty());
  auto notes = Problems(a, Severity::kNote);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].offset, size);
  EXPECT_NE(notes[0].message.find("live tail"), std::string::npos);

  lock->reset();  // without a daemon the same tail is a torn tail
  r = Verify();
  EXPECT_FALSE(r.live());
  EXPECT_FALSE(r.damaged());
  EXPECT_EQ(Problems(Stream(r, "a"), Severity::kWarning).size(), 1u);
}

TEST_F(VerifyTest, VerifyRunsBesideAnOpenJournalSet) {
  WriteJournal();
  JournalSetOptions options;
  options.data_dir = dir_.path();
  options.streams = {{"a", 0}, {"b", 0}};
  options.segment_bytes = kSegmentBytes;
  options.max_record_bytes = kMaxRecord;
  auto set = JournalSet::Open(options);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Journal* a = (*set)->stream("a");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (uint64_t i = kRecords + 1; !stop.load(); ++i) {
      if (!a->AppendDurable(1, PayloadFor(i, kPayload)).ok()) break;
    }
  });
  for (int i = 0; i < 20; ++i) {
    VerifyReport r = Verify();
    EXPECT_TRUE(r.live());
    EXPECT_FALSE(r.damaged());
    EXPECT_GE(Stream(r, "a").records, kRecords);
  }
  stop = true;
  writer.join();
  // The journal only leaves the directory untouched if verify is read-only.
  ASSERT_TRUE(a->Flush().ok());
}

TEST_F(VerifyTest, DumpDeliversRecordsInOrder) {
  WriteJournal();
  std::map<std::string, std::vector<Lsn>> seen;
  Status s = DumpJournal(FileSystem::Default(), dir_.path(), std::nullopt, 0, 0, kMaxRecord,
                         [&](const std::string& stream, Lsn lsn, uint16_t type,
                             std::string_view payload) {
                           EXPECT_EQ(type, 1);
                           EXPECT_EQ(payload, PayloadFor(lsn, kPayload));
                           seen[stream].push_back(lsn);
                         });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(seen["a"].size(), kRecords);
  ASSERT_EQ(seen["b"].size(), kRecords);
  for (Lsn i = 1; i <= kRecords; ++i) EXPECT_EQ(seen["a"][i - 1], i);

  std::vector<Lsn> some;
  s = DumpJournal(FileSystem::Default(), dir_.path(), std::string("b"), 19, 4, kMaxRecord,
                  [&](const std::string& stream, Lsn lsn, uint16_t, std::string_view) {
                    EXPECT_EQ(stream, "b");
                    some.push_back(lsn);
                  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(some, (std::vector<Lsn>{19, 20, 21, 22}));

  s = DumpJournal(FileSystem::Default(), dir_.path(), std::string("nope"), 0, 0, kMaxRecord,
                  [](const std::string&, Lsn, uint16_t, std::string_view) {});
  EXPECT_EQ(s.code(), Code::kNotFound);
}

TEST_F(VerifyTest, DumpStopsAtDamageWithFileAndOffset) {
  WriteJournal();
  std::string first = Segments("a")[0];
  std::string bytes = ReadBytes(first);
  bytes[kSegmentHeaderSize + 2 * kFrame + 25] ^= 0x10;  // LSN 3
  WriteBytes(first, bytes);
  std::vector<Lsn> seen;
  Status s = DumpJournal(FileSystem::Default(), dir_.path(), std::string("a"), 0, 0, kMaxRecord,
                         [&](const std::string&, Lsn lsn, uint16_t, std::string_view) {
                           seen.push_back(lsn);
                         });
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find(fmt::format("{} is damaged at offset {}", first,
                                         kSegmentHeaderSize + 2 * kFrame)),
            std::string::npos)
      << s.message();
  EXPECT_EQ(seen, (std::vector<Lsn>{1, 2}));
}

TEST_F(VerifyTest, DumpDetectsMissingSegment) {
  WriteJournal();
  std::filesystem::remove(Segments("a")[2]);
  Status s = DumpJournal(FileSystem::Default(), dir_.path(), std::string("a"), 0, 0, kMaxRecord,
                         [](const std::string&, Lsn, uint16_t, std::string_view) {});
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("a segment is missing"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace sluice::journal
