// The SQLite size probe: the database size is the file plus its -wal file, and grows with
// the rows written; count(*) is exact; a missing table is NotFound, a missing file is
// Unavailable (the target cannot be measured), and the probe never creates the file.
#include "store/sqlite/sqlite_size_probe.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace sluice::store::sqlite {
namespace {

constexpr std::chrono::milliseconds kTimeout{30'000};

uint64_t FileBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
}

TEST(SqliteSizeProbeTest, SizeIsFileAndWalAndRowsAreExact) {
  testing::TempDir dir;
  const std::string path = dir.Sub("target.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_NO_FATAL_FAILURE(Exec(db, "PRAGMA journal_mode = WAL"));
  ASSERT_NO_FATAL_FAILURE(Exec(db, "CREATE TABLE samples (id INTEGER PRIMARY KEY, v BLOB)"));
  SqliteSizeProbe probe("t", path);

  auto empty_rows = probe.CountRows("samples", kTimeout);
  ASSERT_TRUE(empty_rows.ok()) << empty_rows.status().ToString();
  EXPECT_EQ(*empty_rows, 0u);
  auto before = probe.MeasureDatabase(kTimeout);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->bytes, FileBytes(path) + FileBytes(path + "-wal"));

  constexpr int kRows = 500;
  ASSERT_NO_FATAL_FAILURE(Exec(db, "BEGIN"));
  for (int i = 0; i < kRows; ++i) {
    ASSERT_NO_FATAL_FAILURE(Exec(db, "INSERT INTO samples (v) VALUES (zeroblob(1000))"));
  }
  ASSERT_NO_FATAL_FAILURE(Exec(db, "COMMIT"));
  auto rows = probe.CountRows("samples", kTimeout);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, static_cast<uint64_t>(kRows));
  auto after = probe.MeasureDatabase(kTimeout);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->bytes, FileBytes(path) + FileBytes(path + "-wal"));
  // The rows' payload is somewhere in the file or its WAL.
  EXPECT_GE(after->bytes, before->bytes + kRows * 1000u);
  EXPECT_NE(after->detail.find("-wal"), std::string::npos) << after->detail;

  auto missing = probe.CountRows("no_such_table", kTimeout);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("no_such_table"), std::string::npos);
  sqlite3_close(db);
}

TEST(SqliteSizeProbeTest, MissingFileIsUnavailableAndNotCreated) {
  testing::TempDir dir;
  const std::string path = dir.Sub("absent.db");
  SqliteSizeProbe probe("t", path);
  auto size = probe.MeasureDatabase(kTimeout);
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.status().code(), Code::kUnavailable) << size.status().ToString();
  EXPECT_NE(size.status().message().find(path), std::string::npos);
  auto rows = probe.CountRows("samples", kTimeout);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), Code::kUnavailable) << rows.status().ToString();
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the probe created " << path;
}

}  // namespace
}  // namespace sluice::store::sqlite
