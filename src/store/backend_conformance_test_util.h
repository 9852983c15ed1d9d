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
#include <bit>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "store/backend.h"
#include "support/pg_servers.h"
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
  static sluice::testing::PgServer* Server() { return sluice::testing::SharedPgServer(); }

  sluice::testing::TempDir dir_{"sluice-conformance"};
  std::string dbname_;
  std::string connection_;
};

// Values, records and statements, as tests write them.
inline v1::SqlValue Int(int64_t v) {
  v1::SqlValue value;
  value.set_int_value(v);
  return value;
}
inline v1::SqlValue Double(double v) {
  v1::SqlValue value;
  value.set_double_value(v);
  return value;
}
inline v1::SqlValue Text(std::string v) {
  v1::SqlValue value;
  value.set_text_value(std::move(v));
  return value;
}
inline v1::SqlValue Blob(std::string v) {
  v1::SqlValue value;
  value.set_blob_value(std::move(v));
  return value;
}
inline v1::SqlValue Timestamp(int64_t us) {
  v1::SqlValue value;
  value.set_timestamp_us(us);
  return value;
}
inline v1::SqlValue Null() {
  v1::SqlValue value;
  value.set_null_value(true);
  return value;
}

inline v1::Record Sql(uint64_t version, std::string text, std::vector<v1::SqlValue> params = {}) {
  v1::Record record;
  record.set_version(version);
  auto* sql = record.mutable_sql();
  sql->set_text(std::move(text));
  for (auto& p : params) *sql->add_params() = std::move(p);
  return record;
}

// A SQL record whose text differs per dialect.
inline v1::Record DialectSql(uint64_t version, std::string sqlite_text, std::string postgres_text) {
  v1::Record record = Sql(version, "");
  (*record.mutable_sql()->mutable_dialect_text())["sqlite"] = std::move(sqlite_text);
  (*record.mutable_sql()->mutable_dialect_text())["postgres"] = std::move(postgres_text);
  return record;
}

inline v1::Record Samples(uint64_t version, v1::SampleInterval interval,
                   const std::vector<std::tuple<int64_t, int64_t, double, uint32_t>>& rows) {
  v1::Record record;
  record.set_version(version);
  auto* batch = record.mutable_samples();
  batch->set_interval(interval);
  for (const auto& [point, ts, value, quality] : rows) {
    batch->add_point_id(point);
    batch->add_ts_us(ts);
    batch->add_value(value);
    batch->add_quality(quality);
  }
  return record;
}

inline v1::Record Correction(uint64_t version, v1::SampleInterval interval, int64_t point, int64_t ts,
                      double value, uint32_t quality, bool manual = true) {
  v1::Record record;
  record.set_version(version);
  record.set_admitted_at_us(1'700'000'000'000'000 + static_cast<int64_t>(version));
  auto* c = record.mutable_correction();
  c->set_interval(interval);
  c->set_point_id(point);
  c->set_ts_us(ts);
  c->set_value(value);
  c->set_quality(quality);
  c->set_manual(manual);
  c->set_who("operator");
  c->set_why("meter replaced");
  return record;
}

inline v1::Record Intent(uint64_t version, std::string text, std::vector<v1::SqlValue> params = {}) {
  v1::Record record;
  record.set_version(version);
  record.mutable_intent()->set_kind(v1::SyncIntent::KIND_SQL);
  auto* statement = record.mutable_intent()->mutable_statement();
  statement->set_text(std::move(text));
  for (auto& p : params) *statement->add_params() = std::move(p);
  return record;
}

inline v1::SqlStatement Statement(std::string text, std::vector<v1::SqlValue> params = {}) {
  v1::SqlStatement statement;
  statement.set_text(std::move(text));
  for (auto& p : params) *statement.add_params() = std::move(p);
  return statement;
}

// A value in a form that compares exactly (doubles by their bits) and prints readably.
inline std::string Show(const v1::SqlValue& v) {
  switch (v.kind_case()) {
    case v1::SqlValue::kNullValue: return "null";
    case v1::SqlValue::kIntValue: return fmt::format("int {}", v.int_value());
    case v1::SqlValue::kDoubleValue:
      return fmt::format("double {} ({:016x})", v.double_value(),
                         std::bit_cast<uint64_t>(v.double_value()));
    case v1::SqlValue::kTextValue: return fmt::format("text '{}'", v.text_value());
    case v1::SqlValue::kBlobValue:
      return fmt::format("blob [{}]", fmt::join(std::vector<int>(v.blob_value().begin(),
                                                                 v.blob_value().end()),
                                                ","));
    case v1::SqlValue::kClobValue: return fmt::format("clob '{}'", v.clob_value());
    case v1::SqlValue::kTimestampUs: return fmt::format("timestamp {}", v.timestamp_us());
    case v1::SqlValue::KIND_NOT_SET: return "unset";
  }
  return "?";
}
inline std::vector<std::string> Show(const std::vector<v1::SqlValue>& row) {
  std::vector<std::string> out;
  for (const auto& v : row) out.push_back(Show(v));
  return out;
}

// Everything a Query handed to its sink.
struct Collected {
  std::vector<std::string> columns;
  std::vector<std::vector<v1::SqlValue>> rows;
  std::vector<size_t> batches;  // rows per sink call
};

inline Status Collect(Backend& backend, const v1::SqlStatement& statement, size_t batch_rows,
               size_t max_rows, Collected* out) {
  return backend.Query(statement, batch_rows, max_rows,
                       [&](const std::vector<std::string>& columns,
                           std::vector<std::vector<v1::SqlValue>>& rows) {
                         if (!out->batches.empty()) {
                           EXPECT_EQ(columns, out->columns);
                         }
                         out->columns = columns;
                         out->batches.push_back(rows.size());
                         for (auto& row : rows) out->rows.push_back(std::move(row));
                         return Status::OK();
                       });
}

inline const WatermarkKey kKey{"node-a", "epoch-1", "samples"};
inline const WatermarkKey kModelKey{"node-a", "epoch-1", "model"};

}  // namespace sluice::store::testing
