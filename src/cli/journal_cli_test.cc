// Runs the built `sluice` binary on good and damaged journals and checks its exit codes
// and output.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "journal/journal_set.h"
#include "journal/journal_test_util.h"

#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::journal {
namespace {

using testing::PayloadFor;
using testing::ReadBytes;
using testing::SegmentFiles;
using testing::TempDir;
using testing::WriteBytes;

constexpr size_t kPayload = 100;
constexpr size_t kFrame = kFrameHeaderSize + kPayload;
constexpr uint64_t kSegmentBytes = kSegmentHeaderSize + 10 * kFrame;
constexpr uint64_t kRecords = 25;  // 3 segments: 10, 10, 5

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

class JournalCliTest : public ::testing::Test {
 protected:
  CliRun Sluice(const std::vector<std::string>& args) {
    std::string cmd = Quote(SLUICE_CLI_PATH);
    for (const auto& a : args) cmd += " " + Quote(a);
    std::string out = io_.Sub("out"), err = io_.Sub("err");
    cmd += " >" + Quote(out) + " 2>" + Quote(err);
    int status = std::system(cmd.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadBytes(out);
    r.err = ReadBytes(err);
    return r;
  }

  void WriteJournal() {
    JournalSetOptions options;
    options.data_dir = dir_.path();
    options.streams = {{"events", 0}, {"samples", 0}};
    options.segment_bytes = kSegmentBytes;
    auto set = JournalSet::Open(options);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    epoch_ = EpochToHex((*set)->epoch());
    for (const char* name : {"events", "samples"}) {
      Journal* j = (*set)->stream(name);
      for (uint64_t i = 1; i <= kRecords; ++i)
        ASSERT_TRUE(j->Append(7, PayloadFor(i, kPayload)).ok());
      ASSERT_TRUE(j->Flush().ok());
    }
  }

  std::vector<std::string> Segments(const std::string& stream) const {
    return SegmentFiles(JoinPath(JoinPath(dir_.path(), "journal"), stream));
  }

  // `extra_bytes`: bytes in the files beyond the records (a tail being written).
  std::string SummaryLine(const std::string& stream, uint64_t extra_bytes = 0) const {
    return fmt::format("stream {}: 3 segments, {} records, LSN 1..{}, {} bytes, epoch {}", stream,
                       kRecords, kRecords, 3 * kSegmentHeaderSize + kRecords * kFrame + extra_bytes,
                       epoch_);
  }

  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  TempDir dir_;
  TempDir io_;
  std::string epoch_;
};

TEST_F(JournalCliTest, VerifyGoodJournal) {
  WriteJournal();
  CliRun r = Sluice({"journal", "verify", dir_.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, SummaryLine("events") + "\n" + SummaryLine("samples") + "\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(JournalCliTest, VerifyTornTailWarnsAndSucceeds) {
  WriteJournal();
  std::string last = Segments("samples").back();
  uint64_t size = std::filesystem::file_size(last);
  std::filesystem::resize_file(last, size - 10);
  CliRun r = Sluice({"journal", "verify", dir_.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(fmt::format("warning: {} offset {}: torn tail: {} bytes at offset {} will "
                                   "be cut on next open",
                                   last, size - kFrame, kFrame - 10, size - kFrame)),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find(SummaryLine("events")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(fmt::format("stream samples: 3 segments, {} records, LSN 1..{}",
                                   kRecords - 1, kRecords - 1)),
            std::string::npos)
      << r.out;
}

TEST_F(JournalCliTest, VerifyDamagedJournalFailsNamingFileAndOffset) {
  WriteJournal();
  std::string first = Segments("events")[0];
  std::string bytes = ReadBytes(first);
  const uint64_t offset = kSegmentHeaderSize + 6 * kFrame;  // LSN 7
  bytes[offset + 2] ^= 0x20;                                // in its length field
  WriteBytes(first, bytes);
  CliRun r = Sluice({"journal", "verify", dir_.path()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(fmt::format("damage: {} offset {}: ", first, offset)), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("damage found"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("stream events: "), std::string::npos);
  EXPECT_NE(r.out.find("DAMAGED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(SummaryLine("samples") + "\n"), std::string::npos) << r.out;
}

TEST_F(JournalCliTest, VerifyMissingSegmentFails) {
  WriteJournal();
  std::string middle = Segments("samples")[1];
  std::filesystem::remove(middle);
  CliRun r = Sluice({"journal", "verify", dir_.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(fmt::format("damage: {} offset 0: segment missing", middle)),
            std::string::npos)
      << r.err;
}

TEST_F(JournalCliTest, VerifyLiveDirectorySaysSoAndToleratesTail) {
  WriteJournal();
  std::string last = Segments("events").back();
  WriteBytes(last, ReadBytes(last) + std::string(33, '\x01'));
  auto lock = FileSystem::Default()->LockFile(JoinPath(dir_.path(), "LOCK"));
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  CliRun r = Sluice({"journal", "verify", dir_.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(SummaryLine("events", 33) +
                       fmt::format(" (live: in use by sluiced pid {})\n", ::getpid())),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("live tail: 33 bytes"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
}

TEST_F(JournalCliTest, VerifyNotADataDirectoryIsAUsageError) {
  CliRun r = Sluice({"journal", "verify", dir_.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is not a Sluice data directory"), std::string::npos) << r.err;
  r = Sluice({"journal", "verify", dir_.Sub("missing")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

TEST_F(JournalCliTest, UsageErrorsAndHelp) {
  EXPECT_EQ(Sluice({}).exit_code, 2);
  EXPECT_EQ(Sluice({"journal"}).exit_code, 2);
  CliRun r = Sluice({"journal", "verify"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("DIR is required"), std::string::npos) << r.err;
  EXPECT_EQ(Sluice({"journal", "dump", dir_.path(), "--from", "x"}).exit_code, 2);
  EXPECT_EQ(Sluice({"journal", "frobnicate"}).exit_code, 2);

  r = Sluice({"journal", "verify", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit codes: 0 no damage, 1 damage found"), std::string::npos) << r.out;
  r = Sluice({"journal", "dump", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit codes:"), std::string::npos) << r.out;
  r = Sluice({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit codes:"), std::string::npos) << r.out;
}

TEST_F(JournalCliTest, DumpPrintsOneLinePerRecord) {
  WriteJournal();
  CliRun r = Sluice(
      {"journal", "dump", dir_.path(), "--stream", "samples", "--from", "9", "--limit", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (size_t i = 0; i < 3; ++i) {
    Lsn lsn = 9 + i;
    std::string payload = PayloadFor(lsn, kPayload);
    EXPECT_EQ(lines[i],
              fmt::format("samples {} 7 {} \"{}\"...", lsn, kPayload, payload.substr(0, 64)));
  }

  r = Sluice({"journal", "dump", dir_.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2 * kRecords);
  EXPECT_EQ(lines.front().rfind("events 1 7 100 ", 0), 0u) << lines.front();
  EXPECT_EQ(lines.back().rfind("samples 25 7 100 ", 0), 0u) << lines.back();
}

TEST_F(JournalCliTest, DumpEscapesBinaryPayloads) {
  JournalSetOptions options;
  options.data_dir = dir_.path();
  options.streams = {{"bin", 0}};
  {
    auto set = JournalSet::Open(options);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    ASSERT_TRUE((*set)->stream("bin")->AppendDurable(2, std::string("a\0\"\\\n\xff", 6)).ok());
  }
  CliRun r = Sluice({"journal", "dump", dir_.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "bin 1 2 6 \"a\\x00\\\"\\\\\\n\\xff\"\n");
}

TEST_F(JournalCliTest, DumpJsonLines) {
  WriteJournal();
  CliRun r = Sluice({"journal", "dump", dir_.path(), "--stream", "events", "--json", "--preview",
                     "0", "--limit", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["stream"], "events");
    EXPECT_EQ(j["lsn"], i + 1);
    EXPECT_EQ(j["type"], 7);
    EXPECT_EQ(j["bytes"], kPayload);
    EXPECT_EQ(j["truncated"], false);
    std::string hex = j["payload_hex"];
    std::string payload;
    for (size_t k = 0; k + 1 < hex.size(); k += 2) {
      payload += static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16));
    }
    EXPECT_EQ(payload, PayloadFor(i + 1, kPayload));
  }
}

TEST_F(JournalCliTest, DumpOnDamageFailsAfterTheIntactRecords) {
  WriteJournal();
  std::string first = Segments("events")[0];
  std::string bytes = ReadBytes(first);
  bytes[kSegmentHeaderSize + 3 * kFrame + 40] ^= 0x01;  // LSN 4
  WriteBytes(first, bytes);
  CliRun r = Sluice({"journal", "dump", dir_.path(), "--stream", "events"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.out).size(), 3u) << r.out;
  EXPECT_NE(
      r.err.find(fmt::format("{} is damaged at offset {}", first, kSegmentHeaderSize + 3 * kFrame)),
      std::string::npos)
      << r.err;

  r = Sluice({"journal", "dump", dir_.path(), "--stream", "nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no stream 'nosuch'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::journal
