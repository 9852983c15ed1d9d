// The PostgreSQL size probe on a real server (tests/support/pg_server.h): the database
// size is the server's pg_database_size and grows with the rows written; a tablespace the
// database uses is named in the detail; rows come from the statistics, summed over a
// partitioned table's partitions; a missing table is NotFound; a stopped server is a
// retryable error, and the probe answers again once the server is back.
#include "store/postgres/pg_size_probe.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "common/log.h"
#include "support/net.h"
#include "support/pg_server.h"

namespace sluice::store::postgres {
namespace {

using sluice::testing::PgServer;
constexpr std::chrono::milliseconds kTimeout{30'000};
constexpr auto kDeadline = std::chrono::seconds(120);

const bool kQuietLogs = [] {
  log::Init("warn");
  return true;
}();

class PgSizeProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PgServer::CreateAndStart();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }
  uint64_t ServerDatabaseBytes() {
    auto v = server_->QueryValue("SELECT pg_database_size(current_database())");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::strtoull(v->c_str(), nullptr, 10) : 0;
  }
  std::unique_ptr<PgServer> server_;
};

TEST_F(PgSizeProbeTest, DatabaseSizeIsPgDatabaseSizeAndGrowsWithTheRows) {
  PgSizeProbe probe("pg", server_->ConnInfo());
  auto before = probe.MeasureDatabase(kTimeout);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  // The server's own figure, asked on another session (an idle database: the same, but
  // for a page of the statistics' files).
  EXPECT_NEAR(double(before->bytes), double(ServerDatabaseBytes()), 1024.0 * 1024.0);
  constexpr int kRows = 20'000;
  constexpr int kPad = 200;
  ASSERT_TRUE(server_
                  ->Exec("CREATE TABLE big (id bigint PRIMARY KEY, pad text);"
                         "INSERT INTO big SELECT g, repeat('x', " +
                         std::to_string(kPad) + ") FROM generate_series(1, " +
                         std::to_string(kRows) + ") g;")
                  .ok());
  auto after = probe.MeasureDatabase(kTimeout);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_GE(after->bytes, before->bytes + uint64_t{kRows} * kPad);
  EXPECT_NEAR(double(after->bytes), double(ServerDatabaseBytes()), 1024.0 * 1024.0);
}

TEST_F(PgSizeProbeTest, ATablespaceTheDatabaseUsesIsNamedInTheDetail) {
  const std::string location = server_->dir() + "/ts_alarms";
  std::filesystem::create_directories(location);
  // The server owns its tablespaces' directories: give it ours, as its data directory is.
  struct stat data {};
  ASSERT_EQ(::stat(server_->data_dir().c_str(), &data), 0);
  ASSERT_EQ(::chown(location.c_str(), data.st_uid, data.st_gid), 0) << location;
  Status made = server_->Exec("CREATE TABLESPACE ts_alarms LOCATION '" + location + "'");
  ASSERT_TRUE(made.ok()) << made.ToString() << "\n" << server_->LogTail();
  ASSERT_TRUE(server_
                  ->Exec("CREATE TABLE placed (id int) TABLESPACE ts_alarms;"
                         "INSERT INTO placed SELECT generate_series(1, 1000);")
                  .ok());
  PgSizeProbe probe("pg", server_->ConnInfo());
  auto size = probe.MeasureDatabase(kTimeout);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_NE(size->detail.find("ts_alarms"), std::string::npos) << size->detail;
  // pg_database_size counts the table in the other tablespace too.
  EXPECT_NEAR(double(size->bytes), double(ServerDatabaseBytes()), 1024.0 * 1024.0);
}

TEST_F(PgSizeProbeTest, RowsAreTheStatisticsOverPartitionsAndAMissingTableIsNotFound) {
  constexpr int kFirst = 300;
  constexpr int kSecond = 450;
  ASSERT_TRUE(server_
                  ->Exec("CREATE TABLE parted (id int, ts int) PARTITION BY RANGE (ts);"
                         "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);"
                         "CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (10) TO (20);"
                         "CREATE TABLE plain (id int);"
                         "INSERT INTO parted SELECT g, 1 FROM generate_series(1, " +
                         std::to_string(kFirst) +
                         ") g;"
                         "INSERT INTO parted SELECT g, 11 FROM generate_series(1, " +
                         std::to_string(kSecond) +
                         ") g;"
                         "INSERT INTO plain SELECT generate_series(1, " +
                         std::to_string(kFirst) + ");")
                  .ok());
  PgSizeProbe probe("pg", server_->ConnInfo());
  // The statistics reach the server's shared counters within a second or so of the commit.
  uint64_t parted = 0;
  uint64_t plain = 0;
  ASSERT_TRUE(sluice::testing::WaitFor(
      [&] {
        auto p = probe.CountRows("parted", kTimeout);
        auto q = probe.CountRows("plain", kTimeout);
        if (!p.ok() || !q.ok()) return false;
        parted = *p;
        plain = *q;
        return parted == uint64_t{kFirst + kSecond} && plain == uint64_t{kFirst};
      },
      kDeadline))
      << "parted " << parted << ", plain " << plain;
  auto missing = probe.CountRows("no_such_table", kTimeout);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status().ToString();
}

TEST_F(PgSizeProbeTest, AStoppedServerIsARetryableErrorAndTheProbeRecovers) {
  PgSizeProbe probe("pg", server_->ConnInfo());
  ASSERT_TRUE(probe.MeasureDatabase(kTimeout).ok());
  ASSERT_TRUE(server_->Stop().ok());
  auto down = probe.MeasureDatabase(kTimeout);
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.status().retryable()) << down.status().ToString();
  ASSERT_TRUE(server_->Start().ok());
  auto back = probe.MeasureDatabase(kTimeout);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
}

}  // namespace
}  // namespace sluice::store::postgres
