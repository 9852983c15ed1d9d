#include "store/sqlite/sqlite_backend.h"

#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/schema.h"

extern char** environ;

namespace sluice::store::sqlite {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// A temporary directory removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sluice-sqlite-XXXXXX").string();
    char* dir = mkdtemp(tmpl.data());
    if (dir == nullptr) std::abort();
    path_ = dir;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(std::string_view name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::unique_ptr<SqliteBackend> Open(const std::string& path, std::string name = "lite",
                                    SqliteOptions sqlite_options = {}) {
  BackendOptions options;
  options.name = std::move(name);
  options.connection = path;
  return std::make_unique<SqliteBackend>(options, sqlite_options);
}

// An independent read connection, as an operator or the history service would have.
class Reader {
 public:
  explicit Reader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path;
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Reader() { sqlite3_close(db_); }
  sqlite3* db() { return db_; }

  int64_t Int(const std::string& sql) {
    sqlite3_stmt* stmt = Prepare(sql);
    int64_t v = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = Prepare(sql);
    std::string v = "<none>";
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(stmt, 0);
      v = t != nullptr ? reinterpret_cast<const char*>(t) : "<null>";
    }
    sqlite3_finalize(stmt);
    return v;
  }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "") << ": " << sql;
  }
  sqlite3_stmt* Prepare(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_) << ": " << sql;
    return stmt;
  }

 private:
  sqlite3* db_ = nullptr;
};

// A sample table row in canonical form: value compared bit for bit.
struct SampleRow {
  int64_t point_id;
  int64_t ts;
  double value;
  int64_t quality;
  int64_t ver;
  int64_t manual;
  bool operator==(const SampleRow& o) const {
    return point_id == o.point_id && ts == o.ts &&
           std::memcmp(&value, &o.value, sizeof value) == 0 && quality == o.quality &&
           ver == o.ver && manual == o.manual;
  }
};

std::ostream& operator<<(std::ostream& os, const SampleRow& r) {
  return os << fmt::format("(point {}, ts {}, value {}, quality {}, ver {}, manual {})",
                           r.point_id, r.ts, r.value, r.quality, r.ver, r.manual);
}

std::vector<SampleRow> ReadSamples(const std::string& path, std::string_view table) {
  Reader reader(path);
  std::vector<SampleRow> rows;
  sqlite3_stmt* stmt = reader.Prepare(fmt::format(
      "SELECT point_id, ts, value, quality, ver, manual FROM {} ORDER BY point_id, ts", table));
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    rows.push_back({sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
                    sqlite3_column_double(stmt, 2), sqlite3_column_int64(stmt, 3),
                    sqlite3_column_int64(stmt, 4), sqlite3_column_int64(stmt, 5)});
  }
  sqlite3_finalize(stmt);
  return rows;
}

v1::Record Samples(uint64_t version, v1::SampleInterval interval,
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

v1::Record Correction(uint64_t version, v1::SampleInterval interval, int64_t point, int64_t ts,
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

v1::SqlValue Int(int64_t v) {
  v1::SqlValue value;
  value.set_int_value(v);
  return value;
}
v1::SqlValue Text(std::string v) {
  v1::SqlValue value;
  value.set_text_value(std::move(v));
  return value;
}

v1::Record Sql(uint64_t version, std::string text, std::vector<v1::SqlValue> params = {}) {
  v1::Record record;
  record.set_version(version);
  auto* sql = record.mutable_sql();
  sql->set_text(std::move(text));
  for (auto& p : params) *sql->add_params() = std::move(p);
  return record;
}

// Applies `records` as one batch with LSNs first_lsn, first_lsn + 1, ...
Status Apply(SqliteBackend& backend, const WatermarkKey& key, const std::vector<v1::Record>& records,
             Lsn first_lsn, std::vector<ErrorEntry> errors = {}) {
  std::vector<ApplyItem> items;
  for (size_t i = 0; i < records.size(); ++i) items.push_back({first_lsn + i, &records[i]});
  Lsn watermark = records.empty() ? first_lsn : first_lsn + records.size() - 1;
  return backend.ApplyBatch(key, items, errors, watermark);
}

const WatermarkKey kKey{"node-a", "epoch-1", "samples"};

TEST(SqliteBackendTest, SchemaCreatedReconnectIdempotentAndVersioned) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  const int latest = schema::LatestSchemaVersion("sqlite");
  ASSERT_GE(latest, 1);
  {
    auto backend = Open(path);
    EXPECT_EQ(backend->dialect(), "sqlite");
    EXPECT_EQ(backend->name(), "lite");
    ASSERT_TRUE(backend->Connect().ok());
    ASSERT_TRUE(backend->Ping().ok());
    auto version = backend->SchemaVersion();
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    EXPECT_EQ(*version, latest);
    // Again on the same backend: nothing changes.
    Status again = backend->Connect();
    ASSERT_TRUE(again.ok()) << again.ToString();
  }
  {
    Reader reader(path);
    EXPECT_EQ(reader.Text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(reader.Int("SELECT COUNT(*) FROM sluice_schema_version"), latest);
    for (std::string_view table : schema::TableNames()) {
      EXPECT_EQ(reader.Int(fmt::format(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{}'",
                    table)),
                1)
          << table;
    }
  }
  {
    // A new process-level writer (the first one was closed with its last backend).
    auto backend = Open(path);
    ASSERT_TRUE(backend->Connect().ok());
    EXPECT_EQ(*backend->SchemaVersion(), latest);
    Reader reader(path);
    EXPECT_EQ(reader.Int("SELECT COUNT(*) FROM sluice_schema_version"), latest);
  }
  {
    // A file written by a newer binary is refused, not downgraded.
    Reader(path).Exec(fmt::format(
        "INSERT INTO sluice_schema_version VALUES ({}, 'from the future', 0)", latest + 7));
    auto backend = Open(path);
    Status s = backend->Connect();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Code::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr(std::to_string(latest + 7)));
    EXPECT_THAT(s.message(), HasSubstr("target 'lite'"));
  }
}

TEST(SqliteBackendTest, ConnectRefusesUnusablePath) {
  TempDir dir;
  auto backend = Open(dir.File("no/such/dir/t.db"));
  Status s = backend->Connect();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.retryable()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("no/such/dir/t.db"));
  EXPECT_THAT(s.message(), HasSubstr("lite"));

  auto empty = Open("");
  EXPECT_EQ(empty->Connect().code(), Code::kInvalidArgument);
  // Use before Connect() is a retryable "not connected".
  auto unconnected = Open(dir.File("x.db"));
  Status apply = unconnected->ApplyBatch(kKey, {}, {}, 1);
  EXPECT_EQ(apply.code(), Code::kUnavailable);
  EXPECT_TRUE(apply.retryable());
}

TEST(SqliteBackendTest, SamplesAreAppliedRowByRow) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path);
  ASSERT_TRUE(backend->Connect().ok());

  std::vector<SampleRow> expected;
  std::vector<std::tuple<int64_t, int64_t, double, uint32_t>> rows;
  std::mt19937_64 rng(42);
  const double specials[] = {0.0, -0.0, 1e-310, -1.5e300, std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::min(), 0.1, -273.15};
  for (int64_t point = 1; point <= 20; ++point) {
    for (int64_t k = 0; k < 50; ++k) {
      int64_t ts = 946'684'800'000'000 + k * 60'000'000;  // 2000-01-01, one per minute
      double value = (k < 8) ? specials[k]
                             : std::bit_cast<double>(rng() & 0x7fefffffffffffffULL);  // finite
      uint32_t quality = static_cast<uint32_t>(rng() % 32);
      rows.emplace_back(point, ts, value, quality);
      // SQLite writes an integral REAL as an integer on disk, so -0.0 reads back as 0.0.
      expected.push_back({point, ts, value == 0.0 ? 0.0 : value, quality, 7, 0});
    }
  }
  std::vector<v1::Record> records = {Samples(7, v1::SAMPLE_INTERVAL_1MIN, rows),
                                     Samples(8, v1::SAMPLE_INTERVAL_1D, {{5, 86'400'000'000, 2.5, 1}})};
  Status s = Apply(*backend, kKey, records, 1);
  ASSERT_TRUE(s.ok()) << s.ToString();

  std::vector<SampleRow> got = ReadSamples(path, "sample_1min");
  ASSERT_EQ(got.size(), expected.size());
  std::sort(expected.begin(), expected.end(), [](const SampleRow& a, const SampleRow& b) {
    return std::tie(a.point_id, a.ts) < std::tie(b.point_id, b.ts);
  });
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << "row " << i;
  EXPECT_EQ(ReadSamples(path, "sample_1d"), (std::vector<SampleRow>{{5, 86'400'000'000, 2.5, 1, 8, 0}}));
  EXPECT_TRUE(ReadSamples(path, "sample_1s").empty());

  auto wm = backend->ReadWatermark(kKey);
  ASSERT_TRUE(wm.ok());
  EXPECT_EQ(*wm, 2u);

  // NaN is stored as NULL (documented).
  ASSERT_TRUE(Apply(*backend, kKey,
                    {Samples(9, v1::SAMPLE_INTERVAL_1H,
                             {{1, 0, std::numeric_limits<double>::quiet_NaN(), 1}})},
                    3)
                  .ok());
  EXPECT_EQ(Reader(path).Int("SELECT COUNT(*) FROM sample_1h WHERE value IS NULL AND quality = 1"), 1);
}

TEST(SqliteBackendTest, MalformedSampleBatchIsPermanent) {
  TempDir dir;
  auto backend = Open(dir.File("t.db"));
  ASSERT_TRUE(backend->Connect().ok());
  v1::Record record = Samples(1, v1::SAMPLE_INTERVAL_1S, {{1, 1, 1.0, 0}});
  record.mutable_samples()->add_value(2.0);  // one value too many
  Status s = Apply(*backend, kKey, {record}, 3);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.retryable());
  EXPECT_THAT(s.message(), HasSubstr("samples record at lsn 3"));
  EXPECT_THAT(s.message(), HasSubstr("differ in length"));

  v1::Record unspecified = Samples(1, v1::SAMPLE_INTERVAL_UNSPECIFIED, {{1, 1, 1.0, 0}});
  s = Apply(*backend, kKey, {unspecified}, 4);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.retryable());
  EXPECT_THAT(s.message(), HasSubstr("no sample table"));
}

TEST(SqliteBackendTest, WatermarkMovesOnlyWithItsBatch) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path);
  ASSERT_TRUE(backend->Connect().ok());
  EXPECT_EQ(*backend->ReadWatermark(kKey), 0u);

  ASSERT_TRUE(Apply(*backend, kKey, {Samples(1, v1::SAMPLE_INTERVAL_1S, {{1, 10, 1.0, 0}}),
                                     Samples(2, v1::SAMPLE_INTERVAL_1S, {{1, 20, 2.0, 0}})},
                    4)
                  .ok());
  EXPECT_EQ(*backend->ReadWatermark(kKey), 5u);

  // A batch with a poison record: nothing of it is applied, the watermark stays.
  std::vector<v1::Record> poisoned = {Samples(3, v1::SAMPLE_INTERVAL_1S, {{1, 30, 3.0, 0}}),
                                      Sql(4, "INSERT INTO no_such_table VALUES (1)"),
                                      Samples(5, v1::SAMPLE_INTERVAL_1S, {{1, 40, 4.0, 0}})};
  Status s = Apply(*backend, kKey, poisoned, 6);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.retryable());
  EXPECT_THAT(s.message(), HasSubstr("sql record at lsn 7"));
  EXPECT_THAT(s.message(), HasSubstr("no such table: no_such_table"));
  EXPECT_EQ(*backend->ReadWatermark(kKey), 5u);
  EXPECT_EQ(ReadSamples(path, "sample_1s").size(), 2u);
  {
    Reader reader(path);
    EXPECT_EQ(reader.Int("SELECT lsn FROM sluice_watermark WHERE node = 'node-a' AND "
                         "epoch = 'epoch-1' AND stream = 'samples'"),
              5);
  }

  // The applier then writes the good records and the error entry, moving past it.
  ErrorEntry error{"samples", 7, "sql", "no such table: no_such_table", "{\"sql\":{}}",
                   1'700'000'000'000'000};
  ASSERT_TRUE(Apply(*backend, kKey, {poisoned[0]}, 6, {error}).ok());
  ASSERT_TRUE(Apply(*backend, kKey, {poisoned[2]}, 8).ok());
  EXPECT_EQ(*backend->ReadWatermark(kKey), 8u);
  EXPECT_EQ(ReadSamples(path, "sample_1s").size(), 4u);
  // The same record failing again (an operator retry) counts an attempt, keeps one row.
  ASSERT_TRUE(backend->ApplyBatch(kKey, {}, std::span(&error, 1), 8).ok());
  Reader reader(path);
  EXPECT_EQ(reader.Int("SELECT COUNT(*) FROM sluice_error"), 1);
  EXPECT_EQ(reader.Int("SELECT attempts FROM sluice_error WHERE lsn = 7"), 2);
  EXPECT_EQ(reader.Text("SELECT target || '|' || node || '|' || epoch || '|' || stream || '|' || "
                        "record_kind || '|' || message FROM sluice_error"),
            "lite|node-a|epoch-1|samples|sql|no such table: no_such_table");

  // Other keys are independent.
  WatermarkKey other{"node-a", "epoch-1", "events"};
  EXPECT_EQ(*backend->ReadWatermark(other), 0u);
  ASSERT_TRUE(backend->ApplyBatch(other, {}, {}, 99).ok());
  EXPECT_EQ(*backend->ReadWatermark(other), 99u);
  EXPECT_EQ(*backend->ReadWatermark(kKey), 8u);
}

// A sample, its manual correction and a later sample, applied in every order on separate
// files, end as the same row: the correction (the highest (manual, version)).
TEST(SqliteBackendTest, ConvergingUpsertIsOrderIndependent) {
  TempDir dir;
  constexpr auto kInterval = v1::SAMPLE_INTERVAL_5MIN;
  constexpr int64_t kTs = 1'000'000'000'000'000;
  struct Case {
    std::vector<v1::Record> records;
    SampleRow expected;
  };
  std::vector<Case> cases;
  // sample v1, correction v2, sample v3 -> the correction.
  cases.push_back({{Samples(1, kInterval, {{9, kTs, 1.0, 0}}), Correction(2, kInterval, 9, kTs, 2.0, 4),
                    Samples(3, kInterval, {{9, kTs, 3.0, 0}})},
                   {9, kTs, 2.0, 4, 2, 1}});
  // Only samples -> the newest sample.
  cases.push_back({{Samples(1, kInterval, {{9, kTs, 1.0, 0}}), Samples(3, kInterval, {{9, kTs, 3.0, 2}}),
                    Samples(2, kInterval, {{9, kTs, 2.0, 0}})},
                   {9, kTs, 3.0, 2, 3, 0}});
  // Two corrections among samples -> the newest correction.
  cases.push_back({{Correction(2, kInterval, 9, kTs, 2.0, 4), Correction(4, kInterval, 9, kTs, 4.0, 4),
                    Samples(3, kInterval, {{9, kTs, 3.0, 0}}), Samples(5, kInterval, {{9, kTs, 5.0, 0}})},
                   {9, kTs, 4.0, 4, 4, 1}});
  // A non-manual correction ranks like a sample.
  cases.push_back({{Correction(2, kInterval, 9, kTs, 2.0, 0, /*manual=*/false),
                    Samples(3, kInterval, {{9, kTs, 3.0, 0}}), Samples(1, kInterval, {{9, kTs, 1.0, 0}})},
                   {9, kTs, 3.0, 0, 3, 0}});

  int file = 0;
  for (size_t c = 0; c < cases.size(); ++c) {
    std::vector<size_t> order(cases[c].records.size());
    std::iota(order.begin(), order.end(), 0);
    do {
      // Each record in its own batch, as if each came from its own stream.
      const std::string path = dir.File(fmt::format("c{}.db", file++));
      {
        auto backend = Open(path);
        ASSERT_TRUE(backend->Connect().ok());
        Lsn lsn = 1;
        for (size_t i : order) {
          Status s = Apply(*backend, kKey, {cases[c].records[i]}, lsn++);
          ASSERT_TRUE(s.ok()) << s.ToString();
        }
      }
      std::vector<SampleRow> rows = ReadSamples(path, "sample_5min");
      ASSERT_EQ(rows.size(), 1u);
      EXPECT_EQ(rows[0], cases[c].expected) << "case " << c;
    } while (std::next_permutation(order.begin(), order.end()));
    // All of it in one batch gives the same.
    const std::string path = dir.File(fmt::format("c{}.db", file++));
    {
      auto backend = Open(path);
      ASSERT_TRUE(backend->Connect().ok());
      ASSERT_TRUE(Apply(*backend, kKey, cases[c].records, 1).ok());
    }
    EXPECT_EQ(ReadSamples(path, "sample_5min"), std::vector<SampleRow>{cases[c].expected});
  }

  // Every correction is in the edit log with who, why and the resolved time.
  const std::string path = dir.File("c0.db");
  Reader reader(path);
  EXPECT_EQ(reader.Text("SELECT sample_table || '|' || point_id || '|' || ts || '|' || value || "
                        "'|' || quality || '|' || manual || '|' || who || '|' || why || '|' || "
                        "edited_at || '|' || ver FROM sample_edit_log"),
            fmt::format("sample_5min|9|{}|2.0|4|1|operator|meter replaced|{}|2", kTs,
                        1'700'000'000'000'002));
}

TEST(SqliteBackendTest, SqlWithEveryParameterTypeRoundTrips) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path);
  ASSERT_TRUE(backend->Connect().ok());

  std::string blob(10 * 1024 * 1024, '\0');
  std::mt19937 rng(7);
  for (char& c : blob) c = static_cast<char>(rng());
  blob[0] = '\0';
  std::string clob(3 * 1024 * 1024 + 17, 'x');
  for (size_t i = 0; i < clob.size(); i += 1000) clob[i] = static_cast<char>('a' + i % 26);

  std::vector<v1::SqlValue> params(8);
  params[0].set_int_value(1);
  params[1].set_null_value(true);
  params[2].set_int_value(std::numeric_limits<int64_t>::min());
  params[3].set_double_value(-0.1);
  params[4].set_text_value("héllo ✓ 'quoted' \"x\"");
  params[5].set_blob_value(blob);
  params[6].set_clob_value(clob);
  params[7].set_timestamp_us(1'700'000'000'123'456);

  v1::Record create = Sql(1,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT, i INTEGER, d REAL, s TEXT, b BLOB, "
      "c TEXT, ts INTEGER) STRICT");
  // Parameters out of textual order, and one used twice.
  v1::Record insert = Sql(2,
      "INSERT INTO t (ts, id, n, i, d, s, b, c) VALUES ($8, $1, $2, $3, $4, $5, $6, $7);",
      params);
  // Text for sqlite overrides the portable text.
  v1::Record update = Sql(3, "this is not sqlite", {Int(1), Text("twice")});
  (*update.mutable_sql()->mutable_dialect_text())["sqlite"] =
      "UPDATE t SET s = s || ?2 || ?2 WHERE id = ?1 -- trailing comment";
  Status s = Apply(*backend, kKey, {create, insert, update}, 1);
  ASSERT_TRUE(s.ok()) << s.ToString();

  Reader reader(path);
  sqlite3_stmt* stmt = reader.Prepare("SELECT id, n, i, d, s, b, c, ts FROM t");
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), 1);
  EXPECT_EQ(sqlite3_column_type(stmt, 1), SQLITE_NULL);
  EXPECT_EQ(sqlite3_column_int64(stmt, 2), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(sqlite3_column_double(stmt, 3), -0.1);
  EXPECT_EQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 4)),
            std::string("héllo ✓ 'quoted' \"x\"twicetwice"));
  ASSERT_EQ(sqlite3_column_type(stmt, 5), SQLITE_BLOB);
  ASSERT_EQ(static_cast<size_t>(sqlite3_column_bytes(stmt, 5)), blob.size());
  EXPECT_EQ(std::memcmp(sqlite3_column_blob(stmt, 5), blob.data(), blob.size()), 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 6)),
                        sqlite3_column_bytes(stmt, 6)),
            clob);
  EXPECT_EQ(sqlite3_column_int64(stmt, 7), 1'700'000'000'123'456);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
  sqlite3_finalize(stmt);
}

TEST(SqliteBackendTest, PoisonSqlIsPermanentWithSqliteMessage) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path, "poisoned");
  ASSERT_TRUE(backend->Connect().ok());
  ASSERT_TRUE(Apply(*backend, kKey,
                    {Sql(1, "CREATE TABLE u (id INTEGER PRIMARY KEY, x INTEGER NOT NULL) STRICT"),
                     Sql(2, "INSERT INTO u VALUES ($1, $2)", {Int(1), Int(10)})},
                    1)
                  .ok());

  struct Poison {
    v1::Record record;
    Code code;
    std::string message;
  };
  std::vector<Poison> poisons;
  poisons.push_back({Sql(3, "INSERT INTO u VALUES (1, "), Code::kInvalidArgument, "incomplete input"});
  poisons.push_back({Sql(3, "INSRT INTO u VALUES (2, 2)"), Code::kInvalidArgument, "syntax error"});
  poisons.push_back({Sql(3, "INSERT INTO u VALUES ($1, $2)", {Int(1), Int(11)}),
                     Code::kAlreadyExists, "UNIQUE constraint failed: u.id"});
  poisons.push_back({Sql(3, "INSERT INTO u VALUES ($1, $2)", {Int(2), Text("abc")}),
                     Code::kInvalidArgument, "cannot store TEXT value in INTEGER column u.x"});
  poisons.push_back({Sql(3, "INSERT INTO u VALUES ($1, NULL)", {Int(3)}), Code::kInvalidArgument,
                     "NOT NULL constraint failed: u.x"});
  poisons.push_back({Sql(3, "INSERT INTO u VALUES ($1, $2)", {Int(4)}), Code::kInvalidArgument,
                     "uses $2 but the record binds 1"});
  poisons.push_back({Sql(3, "INSERT INTO u VALUES ($1, 5)", {Int(5), Int(6)}),
                     Code::kInvalidArgument, "binds 2 parameter(s) but the statement uses 1"});
  poisons.push_back({Sql(3, "INSERT INTO u VALUES (:id, 5)", {Int(5)}), Code::kInvalidArgument,
                     "parameter :id is not positional"});
  poisons.push_back({Sql(3, "INSERT INTO u VALUES (6, 6); INSERT INTO u VALUES (7, 7)"),
                     Code::kInvalidArgument, "more than one statement"});
  poisons.push_back({Sql(3, "COMMIT"), Code::kPermissionDenied, "transaction control"});
  poisons.push_back({Sql(3, "SAVEPOINT x"), Code::kPermissionDenied, "SAVEPOINT"});
  poisons.push_back({Sql(3, "PRAGMA synchronous = OFF"), Code::kPermissionDenied, "PRAGMA synchronous"});
  poisons.push_back({Sql(3, "ATTACH DATABASE ':memory:' AS other"), Code::kPermissionDenied,
                     "ATTACH"});
  poisons.push_back({Sql(3, "DELETE FROM sluice_watermark"), Code::kPermissionDenied,
                     "sluice_watermark belongs to the service"});
  poisons.push_back({Sql(3, "DROP TABLE sluice_error"), Code::kPermissionDenied,
                     "sluice_error belongs to the service"});
  poisons.push_back({Sql(3, ""), Code::kInvalidArgument, "no SQL text for dialect sqlite"});
  {
    v1::Record unbound = Sql(3, "INSERT INTO u VALUES ($1, 1)");
    unbound.mutable_sql()->add_params();  // no kind set
    poisons.push_back({unbound, Code::kInvalidArgument, "parameter $1 has no value"});
  }
  {
    v1::Record trigger;
    trigger.set_version(3);
    auto* t = trigger.mutable_triggers()->add_samples();
    t->set_trigger_type(1);
    for (int i = 0; i < 51; ++i) t->add_int_values(i);
    poisons.push_back({trigger, Code::kOutOfRange, "51 int"});
  }
  for (const Poison& p : poisons) {
    Status s = Apply(*backend, kKey, {p.record}, 3);
    ASSERT_FALSE(s.ok()) << p.message;
    EXPECT_FALSE(s.retryable()) << s.ToString();
    EXPECT_EQ(s.code(), p.code) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(p.message));
    EXPECT_THAT(s.message(), HasSubstr("target 'poisoned'"));
    EXPECT_THAT(s.message(), HasSubstr("record at lsn 3"));
    EXPECT_EQ(*backend->ReadWatermark(kKey), 2u);
  }
  // The flow goes on: the connection is fine, still in WAL and FULL, service tables intact.
  ASSERT_TRUE(Apply(*backend, kKey, {Sql(3, "INSERT INTO u VALUES ($1, $2)", {Int(2), Int(20)})}, 3).ok());
  EXPECT_EQ(*backend->ReadWatermark(kKey), 3u);
  Reader reader(path);
  EXPECT_EQ(reader.Int("SELECT COUNT(*) FROM u"), 2);
  EXPECT_EQ(reader.Text("PRAGMA journal_mode"), "wal");
}

TEST(SqliteBackendTest, EveryRecordKindLandsInItsTable) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path);
  ASSERT_TRUE(backend->Connect().ok());

  v1::Record events;
  events.set_version(11);
  for (int i = 0; i < 2; ++i) {
    auto* e = events.mutable_events()->add_events();
    e->set_ts_us(100 + i);
    e->set_point_id(7);
    e->set_kind("breaker_trip");
    e->set_severity(3);
    e->set_source("scada");
    e->set_text(fmt::format("event {}", i));
  }
  v1::Record triggers;
  triggers.set_version(12);
  auto* t = triggers.mutable_triggers()->add_samples();
  t->set_trigger_type(4);
  t->set_occur_time_us(5'000);
  for (int i = 0; i < 50; ++i) t->add_int_values(i * 10);
  t->add_float_values(1.5);
  t->add_float_values(2.5);
  t->add_string_values("first");
  v1::Record recall;
  recall.set_version(13);
  for (int i = 0; i < 3; ++i) {
    auto* r = recall.mutable_recall()->add_rows();
    r->set_point_id(8);
    r->set_event_ts_us(1'000);
    r->set_ts_us(990 + i * 10);
    r->set_value(i * 0.25);
    r->set_quality(2);
  }
  v1::Record intent;
  intent.set_version(14);
  intent.mutable_intent()->set_kind(v1::SyncIntent::KIND_MODEL);
  intent.mutable_intent()->mutable_statement()->set_text(
      "INSERT INTO point (point_id, name, unit) VALUES ($1, $2, 'kV')");
  *intent.mutable_intent()->mutable_statement()->add_params() = Int(8);
  *intent.mutable_intent()->mutable_statement()->add_params() = Text("bus 8 voltage");
  v1::Record outcome;
  outcome.set_version(15);
  outcome.mutable_outcome()->set_intent_lsn(4);
  outcome.mutable_outcome()->set_applied(true);
  v1::Record marker;
  marker.set_version(16);
  marker.mutable_switch_marker()->set_to_target("lite");

  Status s = Apply(*backend, kKey, {events, triggers, recall, intent, outcome, marker}, 1);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 6u);

  Reader reader(path);
  EXPECT_EQ(reader.Text("SELECT group_concat(ver || ',' || seq || ',' || ts || ',' || point_id || "
                        "',' || kind || ',' || severity || ',' || source || ',' || text, ';') "
                        "FROM (SELECT * FROM event_log ORDER BY id)"),
            "11,0,100,7,breaker_trip,3,scada,event 0;11,1,101,7,breaker_trip,3,scada,event 1");
  EXPECT_EQ(reader.Text("SELECT trigger_type || ',' || occur_time || ',' || ver || ',' || int_1 || "
                        "',' || int_50 || ',' || float_1 || ',' || float_2 || ',' || "
                        "coalesce(float_3, 'null') || ',' || str_1 || ',' || "
                        "coalesce(str_2, 'null') FROM burst_sample"),
            "4,5000,12,0,490,1.5,2.5,null,first,null");
  EXPECT_EQ(reader.Int("SELECT COUNT(*) FROM recall_sample WHERE point_id = 8 AND event_ts = 1000 "
                       "AND ver = 13"),
            3);
  EXPECT_EQ(reader.Text("SELECT name || ',' || unit FROM point WHERE point_id = 8"), "bus 8 voltage,kV");

  // A replayed trigger with an older version does not overwrite; a newer one does.
  t->set_int_values(0, -1);
  triggers.set_version(10);
  ASSERT_TRUE(Apply(*backend, kKey, {triggers}, 7).ok());
  EXPECT_EQ(reader.Int("SELECT int_1 FROM burst_sample"), 0);
  triggers.set_version(20);
  ASSERT_TRUE(Apply(*backend, kKey, {triggers}, 8).ok());
  EXPECT_EQ(reader.Int("SELECT int_1 FROM burst_sample"), -1);
}

TEST(SqliteBackendTest, BackendsOfOneFileShareTheWriter) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  fs::create_directory(dir.path() / "sub");
  fs::create_symlink(path, dir.path() / "link.db");
  auto a = Open(path);
  auto b = Open(dir.File("sub/../t.db"));
  auto c = Open(dir.File("link.db"));
  auto other = Open(dir.File("other.db"));
  for (auto* backend : {a.get(), b.get(), c.get(), other.get()}) {
    ASSERT_TRUE(backend->Connect().ok());
  }
  ASSERT_NE(a->writer_id(), nullptr);
  EXPECT_EQ(a->writer_id(), b->writer_id());
  EXPECT_EQ(a->writer_id(), c->writer_id());
  EXPECT_NE(a->writer_id(), other->writer_id());

  // Appliers of several streams on their own threads: transactions are serialized by the
  // shared writer, never SQLITE_BUSY among themselves.
  constexpr int kThreads = 4;
  constexpr int kBatches = 40;
  constexpr int kRows = 100;
  std::vector<std::unique_ptr<SqliteBackend>> backends;
  for (int i = 0; i < kThreads; ++i) backends.push_back(Open(path, "lite", {.busy_timeout_ms = 10}));
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      SqliteBackend& backend = *backends[th];
      Status s = backend.Connect();
      WatermarkKey key{"node-a", "epoch-1", fmt::format("stream-{}", th)};
      for (int batch = 0; s.ok() && batch < kBatches; ++batch) {
        std::vector<std::tuple<int64_t, int64_t, double, uint32_t>> rows;
        for (int r = 0; r < kRows; ++r) rows.emplace_back(th, batch * kRows + r, r * 1.0, 0);
        s = Apply(backend, key, {Samples(1, v1::SAMPLE_INTERVAL_1S, rows)}, batch + 1);
      }
      results[th] = s;
    });
  }
  for (auto& t : threads) t.join();
  for (int th = 0; th < kThreads; ++th) {
    EXPECT_TRUE(results[th].ok()) << results[th].ToString();
    EXPECT_EQ(backends[th]->writer_id(), a->writer_id());
    auto wm = a->ReadWatermark({"node-a", "epoch-1", fmt::format("stream-{}", th)});
    EXPECT_EQ(*wm, static_cast<Lsn>(kBatches));
  }
  EXPECT_EQ(ReadSamples(path, "sample_1s").size(), static_cast<size_t>(kThreads * kBatches * kRows));
}

TEST(SqliteBackendTest, LockHeldElsewhereIsRetryable) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path, "lite", {.busy_timeout_ms = 50});
  ASSERT_TRUE(backend->Connect().ok());
  Reader other(path);  // another connection: SQLite locks it as it would another process
  other.Exec("BEGIN IMMEDIATE");
  v1::Record record = Samples(1, v1::SAMPLE_INTERVAL_1S, {{1, 1, 1.0, 0}});
  Status s = Apply(*backend, kKey, {record}, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.retryable()) << s.ToString();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("database is locked"));
  EXPECT_THAT(s.message(), HasSubstr("SQLITE_BUSY"));
  other.Exec("COMMIT");
  s = Apply(*backend, kKey, {record}, 1);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 1u);
}

// At a restart after a crash the first connection to open a WAL file recovers its index
// while the others wait (the health probe and the appliers open it together). Opening
// waits for a lock like any statement does, from the very first statement on: it does
// not fail with "database is locked".
TEST(SqliteBackendTest, ConnectWaitsForALockHeldAMomentElsewhere) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  ASSERT_TRUE(Open(path)->Connect().ok());  // a WAL database with the schema, closed again
  auto holder = std::make_unique<Reader>(path);
  holder->Exec("PRAGMA locking_mode = EXCLUSIVE");
  holder->Exec("BEGIN EXCLUSIVE");
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    holder.reset();
  });
  auto backend = Open(path, "lite", {.busy_timeout_ms = 60'000});
  Status s = backend->Connect();
  release.join();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 0u);
}

// --- Synchronous writes (ApplyIntent) and reads (Query) ---

v1::Record Intent(uint64_t version, std::string text, std::vector<v1::SqlValue> params = {}) {
  v1::Record record;
  record.set_version(version);
  record.mutable_intent()->set_kind(v1::SyncIntent::KIND_SQL);
  auto* statement = record.mutable_intent()->mutable_statement();
  statement->set_text(std::move(text));
  for (auto& p : params) *statement->add_params() = std::move(p);
  return record;
}

v1::SqlStatement Statement(std::string text, std::vector<v1::SqlValue> params = {}) {
  v1::SqlStatement statement;
  statement.set_text(std::move(text));
  for (auto& p : params) *statement.add_params() = std::move(p);
  return statement;
}

v1::SqlValue Null() {
  v1::SqlValue value;
  value.set_null_value(true);
  return value;
}
v1::SqlValue Double(double v) {
  v1::SqlValue value;
  value.set_double_value(v);
  return value;
}
v1::SqlValue Blob(std::string v) {
  v1::SqlValue value;
  value.set_blob_value(std::move(v));
  return value;
}

// A value in a form that compares exactly (doubles by their bits) and prints readably.
std::string Show(const v1::SqlValue& v) {
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
std::vector<std::string> Show(const std::vector<v1::SqlValue>& row) {
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

Status Collect(SqliteBackend& backend, const v1::SqlStatement& statement, size_t batch_rows,
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

const WatermarkKey kModelKey{"node-a", "epoch-1", "model"};

TEST(SqliteBackendTest, IntentAppliesOnceWithItsWatermarkAndReturnsRows) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path);
  ASSERT_TRUE(backend->Connect().ok());
  ASSERT_TRUE(Apply(*backend, kModelKey,
                    {Sql(1, "CREATE TABLE m (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                            "v REAL)"),
                     Sql(2, "CREATE TABLE audit (id INTEGER)"),
                     Sql(3, "CREATE TRIGGER m_audit AFTER UPDATE ON m BEGIN "
                            "INSERT INTO audit VALUES (new.id); END")},
                    1)
                  .ok());

  v1::Record insert = Intent(4,
      "INSERT INTO m (id, name, v) VALUES ($1, $2, $3), ($4, $5, NULL) RETURNING id, name, v",
      {Int(10), Text("ten"), Double(0.5), Int(11), Text("eleven")});
  auto result = backend->ApplyIntent(kModelKey, {4, &insert}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_EQ(result->columns, (std::vector<std::string>{"id", "name", "v"}));
  ASSERT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(Show(result->rows[0]),
            (std::vector<std::string>{"int 10", "text 'ten'", Show(Double(0.5))}));
  EXPECT_EQ(Show(result->rows[1]), (std::vector<std::string>{"int 11", "text 'eleven'", "null"}));
  EXPECT_FALSE(result->truncated);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 4u);

  // The answer was lost and the intent is applied again: nothing happens twice, at or
  // below the watermark.
  for (Lsn replay : {Lsn{4}, Lsn{2}}) {
    auto again = backend->ApplyIntent(kModelKey, {replay, &insert}, 100);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->rows_affected, 0);
    EXPECT_TRUE(again->columns.empty());
    EXPECT_TRUE(again->rows.empty());
  }
  EXPECT_EQ(Reader(path).Int("SELECT COUNT(*) FROM m"), 2);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 4u);

  // Rows affected without RETURNING (the trigger's rows not counted); RETURNING rows cut
  // at max_rows.
  v1::Record update = Intent(5, "UPDATE m SET v = coalesce(v, 0) + 1");
  result = backend->ApplyIntent(kModelKey, {5, &update}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_TRUE(result->columns.empty());
  EXPECT_TRUE(result->rows.empty());
  EXPECT_EQ(Reader(path).Int("SELECT COUNT(*) FROM audit"), 2);
  v1::Record returning = Intent(6, "UPDATE m SET v = v * 2 RETURNING id");
  result = backend->ApplyIntent(kModelKey, {6, &returning}, 1);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_EQ(result->rows.size(), 1u);
  EXPECT_TRUE(result->truncated);
  // A statement that changes no rows reports 0, not the count of the statement before.
  v1::Record ddl = Intent(7, "CREATE INDEX m_name ON m (name)");
  result = backend->ApplyIntent(kModelKey, {7, &ddl}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 0);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 7u);
  EXPECT_EQ(Reader(path).Text("SELECT group_concat(id || ':' || v, ',') FROM m ORDER BY id"),
            "10:3.0,11:2.0");
}

TEST(SqliteBackendTest, RejectedIntentLeavesNothingAndTheWatermarkUnmoved) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path, "lite");
  ASSERT_TRUE(backend->Connect().ok());
  ASSERT_TRUE(Apply(*backend, kModelKey,
                    {Sql(1, "CREATE TABLE m (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"),
                     Sql(2, "INSERT INTO m VALUES (1, 'one')")},
                    1)
                  .ok());
  struct Case {
    v1::Record record;
    Code code;
    std::string message;
  };
  std::vector<Case> cases;
  // The first row is inserted before the second fails: the whole intent is undone.
  cases.push_back({Intent(3, "INSERT INTO m VALUES (2, 'two'), (1, 'again') RETURNING id"),
                   Code::kAlreadyExists, "UNIQUE constraint failed: m.id"});
  cases.push_back({Intent(3, "INSERT INTO m VALUES ($1, NULL)", {Int(3)}), Code::kInvalidArgument,
                   "NOT NULL constraint failed"});
  cases.push_back({Intent(3, "UPDATE nowhere SET x = 1"), Code::kInvalidArgument,
                   "no such table: nowhere"});
  cases.push_back({Intent(3, "INSERT INTO m VALUES ($1, $2)", {Int(4)}), Code::kInvalidArgument,
                   "uses $2 but the record binds 1"});
  cases.push_back({Intent(3, "DELETE FROM sluice_watermark"), Code::kPermissionDenied,
                   "sluice_watermark belongs to the service"});
  cases.push_back({Intent(3, "COMMIT"), Code::kPermissionDenied, "transaction control"});
  cases.push_back({Sql(3, "INSERT INTO m VALUES (5, 'five')"), Code::kInvalidArgument,
                   "ApplyIntent takes an intent record"});
  for (const Case& c : cases) {
    auto result = backend->ApplyIntent(kModelKey, {3, &c.record}, 10);
    ASSERT_FALSE(result.ok()) << c.message;
    const Status& s = result.status();
    EXPECT_EQ(s.code(), c.code) << s.ToString();
    EXPECT_FALSE(s.retryable()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(c.message));
    EXPECT_THAT(s.message(), HasSubstr("target 'lite'"));
    EXPECT_EQ(*backend->ReadWatermark(kModelKey), 2u);
    Reader reader(path);
    EXPECT_EQ(reader.Text("SELECT group_concat(id || name, ',') FROM m"), "1one");
  }
  // The writer is fine afterwards: the next intent applies.
  v1::Record good = Intent(3, "INSERT INTO m VALUES (2, 'two')");
  auto result = backend->ApplyIntent(kModelKey, {3, &good}, 10);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 1);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 3u);
}

TEST(SqliteBackendTest, QueryStreamsEveryTypeExactlyInBatches) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path);
  ASSERT_TRUE(backend->Connect().ok());
  ASSERT_TRUE(Apply(*backend, kModelKey,
                    {Sql(1, "CREATE TABLE r (id INTEGER PRIMARY KEY, i INTEGER, d REAL, "
                            "s TEXT, b BLOB, ts INTEGER)"),
                     // 10,000 rows; every 7th has NULLs.
                     Sql(2, "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n "
                            "WHERE k < 9996) INSERT INTO r SELECT k, "
                            "CASE WHEN k % 7 = 0 THEN NULL ELSE k * 1000003 - 5000000000 END, "
                            "CASE WHEN k % 7 = 0 THEN NULL ELSE k / 8.0 END, "
                            "CASE WHEN k % 7 = 0 THEN NULL ELSE 'row ' || k END, "
                            "CASE WHEN k % 7 = 0 THEN NULL ELSE CAST('b' || k AS BLOB) END, "
                            "1700000000000000 + k FROM n")},
                    1)
                  .ok());
  // Edge values through an intent with parameters of every type.
  std::string bytes("\0\x01\xff\x80z", 5);
  v1::SqlValue ts;
  ts.set_timestamp_us(-1);
  v1::SqlValue clob;
  clob.set_clob_value(std::string(100'000, 'c'));
  v1::Record edges = Intent(3,
      "INSERT INTO r VALUES (9997, $1, $2, $3, $4, $5), (9998, $6, $7, $8, $9, 0), "
      "(9999, 0, $10, '', x'', 0), (10000, NULL, NULL, NULL, NULL, NULL)",
      {Int(std::numeric_limits<int64_t>::min()), Double(-0.1), Text("héllo ✓ 'q'"), Blob(bytes),
       ts, Int(std::numeric_limits<int64_t>::max()),
       Double(std::numeric_limits<double>::infinity()), clob, Blob(std::string(1, '\0')),
       Double(std::numeric_limits<double>::denorm_min())});
  auto applied = backend->ApplyIntent(kModelKey, {3, &edges}, 0);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(applied->rows_affected, 4);

  Collected got;
  Status s = Collect(*backend, Statement("SELECT id, i, d, s, b, ts FROM r ORDER BY id"), 1000, 0,
                     &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got.columns, (std::vector<std::string>{"id", "i", "d", "s", "b", "ts"}));
  EXPECT_EQ(got.batches, std::vector<size_t>(10, 1000));
  ASSERT_EQ(got.rows.size(), 10'000u);
  for (int64_t k = 1; k <= 9996; ++k) {
    std::vector<v1::SqlValue> want = {Int(k), Int(k * 1000003 - 5000000000), Double(k / 8.0),
                                      Text(fmt::format("row {}", k)), Blob(fmt::format("b{}", k)),
                                      Int(1700000000000000 + k)};
    if (k % 7 == 0) want[1] = want[2] = want[3] = want[4] = Null();
    ASSERT_EQ(Show(got.rows[k - 1]), Show(want)) << "row " << k;
  }
  EXPECT_EQ(Show(got.rows[9996]),
            Show({Int(9997), Int(std::numeric_limits<int64_t>::min()), Double(-0.1),
                  Text("héllo ✓ 'q'"), Blob(bytes), Int(-1)}));
  EXPECT_EQ(Show(got.rows[9997]),
            Show({Int(9998), Int(std::numeric_limits<int64_t>::max()),
                  Double(std::numeric_limits<double>::infinity()), Text(std::string(100'000, 'c')),
                  Blob(std::string(1, '\0')), Int(0)}));
  EXPECT_EQ(Show(got.rows[9998]),
            Show({Int(9999), Int(0), Double(std::numeric_limits<double>::denorm_min()), Text(""),
                  Blob(""), Int(0)}));
  EXPECT_EQ(Show(got.rows[9999]), Show({Int(10000), Null(), Null(), Null(), Null(), Null()}));

  // max_rows cuts the read, with parameters bound as in SQL records.
  got = {};
  s = Collect(*backend, Statement("SELECT id FROM r WHERE id > $1 ORDER BY id", {Int(100)}), 1000,
              2500, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got.batches, (std::vector<size_t>{1000, 1000, 500}));
  ASSERT_EQ(got.rows.size(), 2500u);
  EXPECT_EQ(got.rows.front()[0].int_value(), 101);
  EXPECT_EQ(got.rows.back()[0].int_value(), 2600);
  // An empty result still names its columns.
  got = {};
  s = Collect(*backend, Statement("SELECT id AS x, s FROM r WHERE id < 0"), 1000, 0, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got.columns, (std::vector<std::string>{"x", "s"}));
  EXPECT_EQ(got.batches, std::vector<size_t>{0});
  // The sink's error stops the read and is returned as it is.
  int calls = 0;
  s = backend->Query(Statement("SELECT id FROM r"), 100, 0,
                     [&](const auto&, auto&) {
                       ++calls;
                       return Status::Aborted("client went away");
                     });
  EXPECT_EQ(s, Status::Aborted("client went away"));
  EXPECT_EQ(calls, 1);
  // A bad read is permanent and names the target.
  s = Collect(*backend, Statement("SELECT no_column FROM r"), 10, 0, &got);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_FALSE(s.retryable());
  EXPECT_THAT(s.message(), HasSubstr("target 'lite'"));
  EXPECT_THAT(s.message(), HasSubstr("no such column: no_column"));
}

TEST(SqliteBackendTest, TenMebibyteBlobRoundTripsThroughIntentAndQuery) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path);
  ASSERT_TRUE(backend->Connect().ok());
  ASSERT_TRUE(
      Apply(*backend, kModelKey, {Sql(1, "CREATE TABLE lob (id INTEGER PRIMARY KEY, b BLOB)")}, 1)
          .ok());
  std::string blob(10 * 1024 * 1024, '\0');
  std::mt19937_64 rng(11);
  for (char& c : blob) c = static_cast<char>(rng());
  v1::Record insert = Intent(2, "INSERT INTO lob VALUES ($1, $2) RETURNING length(b)",
                             {Int(1), Blob(blob)});
  auto result = backend->ApplyIntent(kModelKey, {2, &insert}, 10);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->rows.size(), 1u);
  EXPECT_EQ(result->rows[0][0].int_value(), static_cast<int64_t>(blob.size()));
  Collected got;
  Status s =
      Collect(*backend, Statement("SELECT b FROM lob WHERE id = $1", {Int(1)}), 1000, 0, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(got.rows.size(), 1u);
  ASSERT_EQ(got.rows[0][0].kind_case(), v1::SqlValue::kBlobValue);
  EXPECT_TRUE(got.rows[0][0].blob_value() == blob) << "the blob differs";
}

TEST(SqliteBackendTest, WriteHiddenInQueryFailsAndChangesNothing) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto backend = Open(path, "lite");
  ASSERT_TRUE(backend->Connect().ok());
  ASSERT_TRUE(Apply(*backend, kModelKey,
                    {Sql(1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"),
                     Sql(2, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")},
                    1)
                  .ok());
  const std::vector<std::pair<std::string, std::string>> writes = {
      {"DELETE FROM t", "delete from t"},
      {"UPDATE t SET v = 'x'", "update t.v"},
      {"INSERT INTO t VALUES (3, 'c') RETURNING id", "insert into t"},
      {"WITH doomed AS (SELECT id FROM t) DELETE FROM t WHERE id IN doomed", "delete from t"},
      {"REPLACE INTO t VALUES (1, 'z')", "insert into t"},
      {"CREATE TABLE u (x)", "change the schema"},
      {"CREATE TEMP TABLE u (x)", "change the schema"},
      {"DROP TABLE t", "change the schema"},
      {"ALTER TABLE t ADD COLUMN w", "alter table t"},
      {"PRAGMA query_only = OFF", "run PRAGMA query_only"},
      {"PRAGMA journal_mode = DELETE", "run PRAGMA journal_mode"},
      {"COMMIT", "control the transaction"},
      {"SAVEPOINT s", "use savepoints"},
      {"ATTACH DATABASE ':memory:' AS o", "attach or detach"},
      {"DELETE FROM sluice_watermark", "delete from sluice_watermark"},
      {"VACUUM", "the statement would write"},
      {"SELECT 1; DELETE FROM t", "more than one statement"},
  };
  for (const auto& [sql, why] : writes) {
    Collected got;
    Status s = Collect(*backend, Statement(sql), 100, 0, &got);
    ASSERT_FALSE(s.ok()) << sql;
    EXPECT_FALSE(s.retryable()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(why)) << sql;
    EXPECT_THAT(s.message(), HasSubstr("target 'lite'"));
    EXPECT_TRUE(got.batches.empty()) << sql;
  }
  Reader reader(path);
  EXPECT_EQ(reader.Text("SELECT group_concat(id || v, ',') FROM t"), "1a,2b");
  EXPECT_EQ(reader.Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 2u);
  // The read connection is still good, and writes still go through the writer.
  v1::Record del = Intent(3, "DELETE FROM t WHERE id = 1");
  ASSERT_TRUE(backend->ApplyIntent(kModelKey, {3, &del}, 0).ok());
  Collected got;
  ASSERT_TRUE(Collect(*backend, Statement("SELECT v FROM t"), 100, 0, &got).ok());
  ASSERT_EQ(got.rows.size(), 1u);
  EXPECT_EQ(got.rows[0][0].text_value(), "b");
}

// A read in progress neither waits for the writer nor blocks it, and sees one snapshot.
TEST(SqliteBackendTest, QueryReadsASnapshotBesideTheWriter) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto reader = Open(path);
  auto writer = Open(path);
  ASSERT_TRUE(reader->Connect().ok());
  ASSERT_TRUE(writer->Connect().ok());
  ASSERT_TRUE(Apply(*writer, kModelKey,
                    {Sql(1, "CREATE TABLE t (id INTEGER PRIMARY KEY)"),
                     Sql(2, "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n "
                            "WHERE k < 3000) INSERT INTO t SELECT k FROM n")},
                    1)
                  .ok());
  std::vector<v1::Record> intents;
  for (int i = 0; i < 3; ++i) {
    intents.push_back(Intent(3 + i, "DELETE FROM t WHERE id <= $1", {Int(1000 * (i + 1))}));
  }
  size_t seen = 0;
  int batch = 0;
  Status s = reader->Query(Statement("SELECT id FROM t ORDER BY id"), 1000, 0,
                           [&](const auto&, auto& rows) {
                             seen += rows.size();
                             // A write commits while the read is between batches.
                             auto r = writer->ApplyIntent(
                                 kModelKey, {Lsn(3 + batch), &intents[batch]}, 0);
                             EXPECT_TRUE(r.ok()) << r.status().ToString();
                             EXPECT_EQ(r->rows_affected, 1000);
                             ++batch;
                             return Status::OK();
                           });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, 3000u);
  EXPECT_EQ(Reader(path).Int("SELECT COUNT(*) FROM t"), 0);
  EXPECT_EQ(*writer->ReadWatermark(kModelKey), 5u);
}

// Node claims by another process: the test binary runs itself with this test selected.
constexpr const char* kChildPath = "SLUICE_TEST_CLAIM_PATH";
constexpr const char* kChildNode = "SLUICE_TEST_CLAIM_NODE";
constexpr const char* kChildOut = "SLUICE_TEST_CLAIM_OUT";

TEST(SqliteBackendChild, ClaimNode) {
  const char* path = std::getenv(kChildPath);
  if (path == nullptr) GTEST_SKIP() << "only run as a child process";
  auto backend = Open(path);
  Status s = backend->Connect();
  if (s.ok()) s = backend->ClaimNode(std::getenv(kChildNode));
  std::ofstream out(std::getenv(kChildOut));
  out << static_cast<int>(s.code()) << "\n" << s.message();
}

std::pair<Code, std::string> ClaimInChild(const std::string& path, const std::string& node,
                                          const TempDir& dir) {
  const std::string out = dir.File("child.out");
  std::vector<std::string> env_strings = {std::string(kChildPath) + "=" + path,
                                          std::string(kChildNode) + "=" + node,
                                          std::string(kChildOut) + "=" + out};
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=SqliteBackendChild.ClaimNode";
  char* argv[] = {self.data(), filter.data(), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, env.data()), 0);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  std::ifstream in(out);
  int code = -1;
  in >> code;
  in.get();
  std::stringstream message;
  message << in.rdbuf();
  return {static_cast<Code>(code), message.str()};
}

TEST(SqliteBackendTest, NodeClaimIsExclusivePerProcess) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  {
    auto a = Open(path);
    auto b = Open(path);
    ASSERT_TRUE(a->Connect().ok());
    ASSERT_TRUE(b->Connect().ok());
    ASSERT_TRUE(a->ClaimNode("node/a").ok());
    // The appliers of one daemon share the claim; claiming again is a no-op.
    ASSERT_TRUE(b->ClaimNode("node/a").ok());
    ASSERT_TRUE(a->ClaimNode("node/a").ok());
    EXPECT_EQ(a->ClaimNode("").code(), Code::kInvalidArgument);
    {
      Reader reader(path);
      EXPECT_EQ(reader.Int("SELECT pid FROM sluice_node_lock WHERE node = 'node/a'"), getpid());
    }
    EXPECT_TRUE(fs::exists(path + ".node-node%2Fa.lock"));

    // Another process is refused, with the node and the holder named.
    auto [code, message] = ClaimInChild(path, "node/a", dir);
    EXPECT_EQ(code, Code::kFailedPrecondition) << message;
    EXPECT_THAT(message, HasSubstr("node 'node/a'"));
    EXPECT_THAT(message, HasSubstr(fmt::format("pid {}", getpid())));
    EXPECT_THAT(message, HasSubstr("target 'lite'"));
    // Another node id on the same file is free.
    auto [code2, message2] = ClaimInChild(path, "node-b", dir);
    EXPECT_EQ(code2, Code::kOk) << message2;
  }
  // Released with the last backend of the file: the row is gone and another process may
  // claim the node.
  EXPECT_EQ(Reader(path).Int("SELECT COUNT(*) FROM sluice_node_lock"), 0);
  auto [code, message] = ClaimInChild(path, "node/a", dir);
  EXPECT_EQ(code, Code::kOk) << message;
}

}  // namespace
}  // namespace sluice::store::sqlite
