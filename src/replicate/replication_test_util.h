#pragma once
// Helpers shared by the replication tests: temporary directories, reading rows from a
// SQLite or PostgreSQL target as text, and comparing a target with the workload's
// expected rows.

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "replicate/test_workload.h"
#include "support/pg_servers.h"
#include "support/sqlite_rows.h"
#include "support/temp_dir.h"

namespace sluice::replicate::testing {

using Rows = std::vector<std::vector<std::string>>;

using ::sluice::testing::TempDir;

// A target as the test sees it: where to read its rows from.
struct TargetHandle {
  std::string name;
  std::string dialect;
  std::string connection;                  // what the backend uses
  sluice::testing::PgServer* pg = nullptr; // postgres: the server
  std::string dbname;                      // postgres: the database

  // Rows of `sql`, every value as text; an error (e.g. no such table) as an empty result
  // with *error set.
  Rows Query(const std::string& sql, std::string* error = nullptr) const {
    if (pg != nullptr) {
      auto rows = pg->QueryRows(sql, dbname);
      if (!rows.ok()) {
        if (error) *error = rows.status().ToString();
        return {};
      }
      return *rows;
    }
    auto rows = ::sluice::testing::QueryRows(connection, sql, {.read_only = true, .busy_timeout_ms = 30'000});
    if (!rows.ok()) {
      if (error) *error = rows.status().ToString();
      return {};
    }
    return *rows;
  }

  std::string One(const std::string& sql) const {
    std::string err;
    Rows r = Query(sql, &err);
    return r.empty() || r[0].empty() ? err : r[0][0];
  }

  // Watermark of `stream` (0 when none).
  uint64_t Watermark(const std::string& stream) const {
    std::string v = One(fmt::format("SELECT lsn FROM sluice_watermark WHERE stream = '{}'", stream));
    return v.empty() || !std::isdigit(static_cast<unsigned char>(v[0])) ? 0 : std::stoull(v);
  }
};

// Checks that `t` holds exactly the samples of batches [0, batches) of `w`, row by row.
// The replication tests' targets: two PostgreSQL primaries pg-a and pg-b (database
// "sluice" of servers pg[0] and pg[1], support/pg_servers.h) and a SQLite file lite in
// `dir`.
inline std::vector<TargetHandle> PgPairAndLite(
    const std::vector<std::unique_ptr<::sluice::testing::PgServer>>& pg, const std::string& dir) {
  return {
      TargetHandle{"pg-a", "postgres", pg[0]->ConnInfo("sluice"), pg[0].get(), "sluice"},
      TargetHandle{"pg-b", "postgres", pg[1]->ConnInfo("sluice"), pg[1].get(), "sluice"},
      TargetHandle{"lite", "sqlite", dir + "/lite.db", nullptr, ""},
  };
}

inline void ExpectSamples(const TargetHandle& t, const Workload& w, int batches) {
  std::string err;
  Rows rows = t.Query("SELECT point_id, ts, value, quality FROM sample_1min ORDER BY point_id, ts", &err);
  ASSERT_TRUE(err.empty()) << t.name << ": " << err;
  ASSERT_EQ(rows.size(), static_cast<size_t>(w.points) * static_cast<size_t>(batches)) << t.name;
  size_t i = 0;
  for (int p = 0; p < w.points; ++p) {
    for (int b = 0; b < batches; ++b, ++i) {
      const auto& r = rows[i];
      std::vector<std::string> want = {std::to_string(p), std::to_string(kT0 + int64_t{b} * kMinute),
                                       fmt::format("{}", Workload::Value(b, p)), std::to_string(b % 3)};
      ASSERT_EQ(r, want) << t.name << " row " << i;
    }
  }
}

// Checks the counters against the expected state after `applied` SQL records.
inline void ExpectCounters(const TargetHandle& t, const Workload& w, size_t applied) {
  std::string err;
  Rows rows = t.Query("SELECT id, v FROM counter ORDER BY id", &err);
  auto want = w.CountersAfter(applied);
  if (applied == 0) {
    EXPECT_FALSE(err.empty()) << t.name << ": the counter table exists before its CREATE was applied";
    return;
  }
  ASSERT_TRUE(err.empty()) << t.name << ": " << err;
  ASSERT_EQ(rows.size(), want.size()) << t.name;
  size_t i = 0;
  for (const auto& [id, v] : want) {
    EXPECT_EQ(rows[i][0], std::to_string(id)) << t.name;
    EXPECT_EQ(rows[i][1], std::to_string(v)) << t.name << " counter " << id << " after " << applied << " records";
    ++i;
  }
}

}  // namespace sluice::replicate::testing
