// ErrorLog's open counts, which every alarm pass and /metrics scrape ask for: they fold a
// rejection logged twice, follow retries and discards, and read the file again only when
// it changed (counted reads through a wrapping FileSystem).

#include "replicate/error_log.h"

#include <gtest/gtest.h>

#include "common/fault_injection_file_system.h"
#include "support/temp_dir.h"

namespace sluice::replicate {
namespace {

// Counts the files opened for reading: each count that reads the log opens it once.
class CountingFileSystem : public FaultInjectionFileSystem {
 public:
  CountingFileSystem() : FaultInjectionFileSystem(FileSystem::Default()) {}
  Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    ++reads;
    return FaultInjectionFileSystem::NewReadableFile(path);
  }
  int reads = 0;
};

ErrorRecord Rejection(const std::string& stream, uint64_t lsn) {
  ErrorRecord r;
  r.epoch = "e1";
  r.target = "a";
  r.stream = stream;
  r.lsn = lsn;
  r.kind = "sql";
  r.message = "syntax error";
  r.record_b64 = "";
  r.payload_json = "{}";
  r.failed_at_us = 1;
  return r;
}

using Counts = std::map<std::string, uint64_t>;

TEST(ErrorLogTest, OpenCountsFollowTheLogAndReadItOnlyWhenItChanged) {
  sluice::testing::TempDir dir;
  CountingFileSystem fs;
  ErrorLog log(&fs, dir.Sub("errors/a.log"));

  auto none = log.OpenCountsByStream();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(log.AppendRejection(Rejection("sql", 4)).ok());
  ASSERT_TRUE(log.AppendRejection(Rejection("sql", 9)).ok());
  ASSERT_TRUE(log.AppendRejection(Rejection("events", 2)).ok());
  // Logged again after a crash between the log and the target's transaction: one rejection.
  ASSERT_TRUE(log.AppendRejection(Rejection("sql", 9)).ok());
  auto counts = log.OpenCountsByStream();
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(*counts, (Counts{{"events", 1}, {"sql", 2}}));

  // Asked again with nothing appended: the same answer, without reading the file.
  int reads = fs.reads;
  EXPECT_EQ(*log.OpenCountsByStream(), (Counts{{"events", 1}, {"sql", 2}}));
  EXPECT_EQ(*log.OpenCountsByStream(), (Counts{{"events", 1}, {"sql", 2}}));
  EXPECT_EQ(fs.reads, reads);

  // A retry and a discard close two of them; the counts follow at once.
  ASSERT_TRUE(log.MarkResolved("e1", "sql", 4, "retried").ok());
  ASSERT_TRUE(log.MarkResolved("e1", "events", 2, "discarded").ok());
  EXPECT_EQ(*log.OpenCountsByStream(), (Counts{{"sql", 1}}));
  EXPECT_GT(fs.reads, reads);

  // Another writer of the same file (a second object, as after a restart) is seen too:
  // the file's size changed.
  ErrorLog other(&fs, dir.Sub("errors/a.log"));
  ASSERT_TRUE(other.AppendRejection(Rejection("model", 7)).ok());
  EXPECT_EQ(*log.OpenCountsByStream(), (Counts{{"model", 1}, {"sql", 1}}));
  // And the counts agree with List(), which reads the whole log.
  auto open = log.List(ErrorFilter{});
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->size(), 2u);
}

TEST(ErrorLogTest, ADamagedLogIsAnErrorNamingTheFileNotAZeroCount) {
  sluice::testing::TempDir dir;
  std::string path = dir.Write("errors/a.log", "{\"event\":\"what\"}\n");
  ErrorLog log(FileSystem::Default(), path);
  auto counts = log.OpenCountsByStream();
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.status().ToString().find(path), std::string::npos) << counts.status().ToString();
}

}  // namespace
}  // namespace sluice::replicate
