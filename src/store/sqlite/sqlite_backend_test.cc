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
#include "support/temp_dir.h"

extern char** environ;

namespace sluice::store::sqlite {
namespace {

using ::testing::HasSubstr;
using sluice::testing::TempDir;
namespace fs = std::filesystem;

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

// The schema itself, reconnecting and a newer schema refused: backend_conformance_test.cc.
TEST(SqliteBackendTest, SchemaVersionIsReadFromTheFileInWalMode) {
  TempDir dir;
  const std::string path = dir.Sub("t.db");
  const int latest = schema::LatestSchemaVersion("sqlite");
  ASSERT_GE(latest, 1);
  {
    auto backend = Open(path);
    ASSERT_TRUE(backend->Connect().ok());
    auto version = backend->SchemaVersion();
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    EXPECT_EQ(*version, latest);
  }
  EXPECT_EQ(Reader(path).Text("PRAGMA journal_mode"), "wal");
  // A new process-level writer (the first one was closed with its last backend).
  auto backend = Open(path);
  ASSERT_TRUE(backend->Connect().ok());
  EXPECT_EQ(*backend->SchemaVersion(), latest);
}

TEST(SqliteBackendTest, ConnectRefusesUnusablePath) {
  TempDir dir;
  auto backend = Open(dir.Sub("no/such/dir/t.db"));
  Status s = backend->Connect();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.retryable()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("no/such/dir/t.db"));
  EXPECT_THAT(s.message(), HasSubstr("lite"));

  auto empty = Open("");
  EXPECT_EQ(empty->Connect().code(), Code::kInvalidArgument);
  // Use before Connect() is a retryable "not connected".
  auto unconnected = Open(dir.Sub("x.db"));
  Status apply = unconnected->ApplyBatch(kKey, {}, {}, 1);
  EXPECT_EQ(apply.code(), Code::kUnavailable);
  EXPECT_TRUE(apply.retryable());
}

TEST(SqliteBackendTest, SamplesAreAppliedRowByRow) {
  TempDir dir;
  const std::string path = dir.Sub("t.db");
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
  auto backend = Open(dir.Sub("t.db"));
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
  const std::string path = dir.Sub("t.db");
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

TEST(SqliteBackendTest, BackendsOfOneFileShareTheWriter) {
  TempDir dir;
  const std::string path = dir.Sub("t.db");
  fs::create_directory(fs::path(dir.path()) / "sub");
  fs::create_symlink(path, fs::path(dir.path()) / "link.db");
  auto a = Open(path);
  auto b = Open(dir.Sub("sub/../t.db"));
  auto c = Open(dir.Sub("link.db"));
  auto other = Open(dir.Sub("other.db"));
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
  const std::string path = dir.Sub("t.db");
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
  const std::string path = dir.Sub("t.db");
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
  const std::string out = dir.Sub("child.out");
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
  const std::string path = dir.Sub("t.db");
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
