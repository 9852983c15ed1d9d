#pragma once
// The fixture of the backend conformance suite (backend_conformance_test.cc): one test,
// written once against store/backend.h, runs on a real backend of every dialect. The
// parameter is the dialect: "sqlite" gets a database file in a fresh temporary directory,
// "postgres" a fresh database on a server started once per test binary
// (support/pg_server.h). What a test checks beside the interface it reads on a connection
// of its own (QueryRows), as an operator would.
//
// Thread safety: a fixture is used by its test's thread.

#include <sqlite3.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/log.h"
#include "store/backend.h"
#include "support/pg_server.h"
#include "support/temp_dir.h"

namespace sluice::store::testing {

using Rows = std::vector<std::vector<std::string>>;

// "sqlite", "postgres": the test names of the instantiations.
inline std::string DialectName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

class BackendConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  // The name every backend of a test has; its messages name it.
  static constexpr std::string_view kTarget = "conformance";
  // Where QueryRows puts an SQL NULL (as PgServer::QueryRows does).
  static constexpr const char* kNull = sluice::testing::PgServer::kNull;

  void SetUp() override {
    if (postgres()) {
      sluice::testing::PgServer* server = Server();
      ASSERT_NE(server, nullptr);
      static std::atomic<int> databases{0};
      dbname_ = fmt::format("conformance_{}", ++databases);
      Status created = server->CreateDatabase(dbname_);
      ASSERT_TRUE(created.ok()) << created.ToString();
      connection_ = server->ConnInfo(dbname_);
    } else {
      connection_ = dir_.Sub("t.db");
    }
  }

  const std::string& dialect() const { return GetParam(); }
  bool sqlite() const { return dialect() == "sqlite"; }
  bool postgres() const { return dialect() == "postgres"; }
  // "target 'conformance'": how a backend's messages name it.
  static std::string TargetNamed() { return fmt::format("target '{}'", kTarget); }

  // A backend of this test's target, not connected.
  std::unique_ptr<Backend> Open() {
    BackendOptions options;
    options.name = std::string(kTarget);
    options.connection = connection_;
    auto backend = NewBackend(dialect(), options);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    return backend.ok() ? std::move(backend).value() : nullptr;
  }
  // A backend of this test's target, connected (a failure fails the test).
  std::unique_ptr<Backend> Connected() {
    auto backend = Open();
    if (backend != nullptr) {
      Status s = backend->Connect();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return backend;
  }

  // Runs one query on a connection of its own; every value as text, NULL as kNull.
  Rows QueryRows(const std::string& sql) {
    if (postgres()) {
      auto rows = Server()->QueryRows(sql, dbname_);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      return rows.ok() ? std::move(rows).value() : Rows{};
    }
    Rows rows;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(connection_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << connection_;
      sqlite3_close(db);
      return rows;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db) << ": " << sql;
    } else {
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        auto& row = rows.emplace_back();
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
          const unsigned char* text = sqlite3_column_text(stmt, i);
          row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : kNull);
        }
      }
      if (rc != SQLITE_DONE) ADD_FAILURE() << sqlite3_errmsg(db) << ": " << sql;
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
  }
  // Runs `sql` (a write, DDL) on a connection of its own, as an operator would.
  void Exec(const std::string& sql) {
    if (postgres()) {
      Status s = Server()->Exec(sql, dbname_);
      ASSERT_TRUE(s.ok()) << s.ToString();
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(connection_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string why = err != nullptr ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << why << ": " << sql;
  }
  // The single value of a one-row, one-column query; "" when there is none.
  std::string Value(const std::string& sql) {
    Rows rows = QueryRows(sql);
    EXPECT_TRUE(rows.size() == 1 && rows[0].size() == 1) << sql;
    return rows.size() == 1 && rows[0].size() == 1 ? rows[0][0] : "";
  }
  int64_t Count(const std::string& table) { return std::stoll(Value("SELECT count(*) FROM " + table)); }

  // Applies `records` as one batch with LSNs first_lsn, first_lsn + 1, ...; the watermark
  // becomes the last of them.
  static Status Apply(Backend& backend, const WatermarkKey& key, const std::vector<v1::Record>& records,
                      Lsn first_lsn, std::vector<ErrorEntry> errors = {}) {
    std::vector<ApplyItem> items;
    for (size_t i = 0; i < records.size(); ++i) items.push_back({first_lsn + i, &records[i]});
    Lsn watermark = records.empty() ? first_lsn : first_lsn + records.size() - 1;
    return backend.ApplyBatch(key, items, errors, watermark);
  }

 private:
  // The one server of this test binary, started by the first test that needs it and
  // stopped at exit; nullptr (and a failed test) when it does not start.
  static sluice::testing::PgServer* Server() {
    static const bool quiet = [] {
      log::Init("warn");  // partition creation and schema steps log at info
      return true;
    }();
    (void)quiet;
    static std::unique_ptr<sluice::testing::PgServer> server = [] {
      auto started = sluice::testing::PgServer::CreateAndStart();
      EXPECT_TRUE(started.ok()) << started.status().ToString();
      return started.ok() ? std::move(started).value() : nullptr;
    }();
    return server.get();
  }

  sluice::testing::TempDir dir_{"sluice-conformance"};
  std::string dbname_;
  std::string connection_;
};

}  // namespace sluice::store::testing
