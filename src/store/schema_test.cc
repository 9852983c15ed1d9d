#include "store/schema.h"

#include <sqlite3.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace sluice::store::schema {
namespace {

TEST(SchemaTest, SampleTableNames) {
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_1S), "sample_1s");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_5S), "sample_5s");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_1MIN), "sample_1min");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_5MIN), "sample_5min");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_10MIN), "sample_10min");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_15MIN), "sample_15min");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_30MIN), "sample_30min");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_1H), "sample_1h");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_8H), "sample_8h");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_1D), "sample_1d");
  EXPECT_EQ(SampleTableName(v1::SAMPLE_INTERVAL_UNSPECIFIED), "");
  EXPECT_EQ(SampleTableName(99), "");
  EXPECT_EQ(SampleIntervals().size(), 10u);

  auto bad = SampleTable(v1::SAMPLE_INTERVAL_UNSPECIFIED);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("SAMPLE_INTERVAL_UNSPECIFIED"), std::string::npos);
  auto good = SampleTable(v1::SAMPLE_INTERVAL_1H);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "sample_1h");
}

TEST(SchemaTest, StepsAreNumberedInOrderWithoutGaps) {
  for (std::string_view dialect : {"sqlite", "postgres"}) {
    auto steps = SchemaSteps(dialect);
    ASSERT_FALSE(steps.empty()) << dialect;
    for (size_t i = 0; i < steps.size(); ++i) {
      EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1) << dialect;
      EXPECT_FALSE(steps[i].description.empty()) << dialect;
      EXPECT_FALSE(steps[i].statements.empty()) << dialect;
    }
    EXPECT_EQ(LatestSchemaVersion(dialect), steps.back().version);
  }
  EXPECT_TRUE(SchemaSteps("oracle").empty());
  EXPECT_EQ(LatestSchemaVersion("oracle"), 0);
}

TEST(SchemaTest, PostgresSampleTablesArePartitionedByTime) {
  int partitioned = 0;
  for (const auto& step : PostgresSchemaSteps()) {
    for (const auto& sql : step.statements) {
      if (sql.find("PARTITION BY RANGE (ts)") != std::string::npos) ++partitioned;
    }
  }
  EXPECT_EQ(partitioned, 10);
}

// Every SQLite step runs on a fresh database and creates exactly TableNames().
TEST(SchemaTest, SqliteDdlRunsAndCreatesEveryTable) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, std::string(BootstrapStatement()).c_str(), nullptr, nullptr, &err),
            SQLITE_OK)
      << err;
  for (const auto& step : SqliteSchemaSteps()) {
    for (const auto& sql : step.statements) {
      ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
          << (err ? err : "") << "\n" << sql;
    }
  }
  std::set<std::string> tables;
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1,
                               &stmt, nullptr),
            SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    tables.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  std::set<std::string> expected(TableNames().begin(), TableNames().end());
  EXPECT_EQ(tables, expected);

  // Step 3 (sampling catalog): a point row with every catalog column, a trigger type's
  // column names, a recall window; defaults fill what a step-1 writer leaves out.
  for (const char* sql : {
           "INSERT INTO point (point_id, name, kind, lolo_limit, lower_limit, upper_limit, "
           "hihi_limit, deadband, station, element) VALUES (7, 'P7', 2, -2.0, -1.0, 1.0, 2.0, "
           "0.5, '60105400', 'Z')",
           "INSERT INTO point (point_id, name) VALUES (8, 'P8')",
           "INSERT INTO burst_type (trigger_type, int_columns, float_columns, string_columns) "
           "VALUES (1, 'a,b', 'x', '')",
           "INSERT INTO recall_define (recall_id, name, point_ids, period_us) VALUES (1, 'r', "
           "'7,8', 1000000)"}) {
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << sql;
  }
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT p.kind + q.kind, q.deadband, q.station, r.on_limit, "
                               "r.before_us FROM point p, point q, recall_define r "
                               "WHERE p.point_id = 7 AND q.point_id = 8",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 2);  // 2 given + 0 default
  EXPECT_EQ(sqlite3_column_double(stmt, 1), 0.0);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2)), "");
  EXPECT_EQ(sqlite3_column_int(stmt, 3), 1);  // on_limit defaults to true
  EXPECT_EQ(sqlite3_column_int(stmt, 4), 0);
  sqlite3_finalize(stmt);
  // on_limit is a boolean: anything but 0/1 is refused as PostgreSQL would.
  EXPECT_NE(sqlite3_exec(db,
                         "INSERT INTO recall_define (recall_id, period_us, on_limit) VALUES (2, 1, 5)",
                         nullptr, nullptr, &err),
            SQLITE_OK);
  sqlite3_free(err);
  err = nullptr;

  // burst_sample has 3 key columns plus 50 of each kind.
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT * FROM burst_sample", -1, &stmt, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_column_count(stmt), 3 + 3 * kBurstColumns);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace
}  // namespace sluice::store::schema
