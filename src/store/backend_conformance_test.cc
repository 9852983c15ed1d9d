// The backend conformance suite: what every backend does, written once against
// store/backend.h and run on a real SQLite file and a real PostgreSQL server
// (backend_conformance_test_util.h). Where the dialects differ in what they can say (their
// own error messages, their types), a test names both. What only one backend has (SQLite's
// shared writer and file locks; PostgreSQL's COPY, partitions, sessions) stays in
// sqlite/sqlite_backend_test.cc and postgres/postgres_backend_test.cc.

#include <bit>
#include <cmath>
#include <functional>
#include <numeric>
#include <tuple>
#include <limits>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/backend_conformance_test_util.h"
#include "store/schema.h"

namespace sluice::store::testing {
namespace {

using ::testing::HasSubstr;

v1::SqlValue Int(int64_t v) {
  v1::SqlValue value;
  value.set_int_value(v);
  return value;
}
v1::SqlValue Double(double v) {
  v1::SqlValue value;
  value.set_double_value(v);
  return value;
}
v1::SqlValue Text(std::string v) {
  v1::SqlValue value;
  value.set_text_value(std::move(v));
  return value;
}
v1::SqlValue Blob(std::string v) {
  v1::SqlValue value;
  value.set_blob_value(std::move(v));
  return value;
}
v1::SqlValue Timestamp(int64_t us) {
  v1::SqlValue value;
  value.set_timestamp_us(us);
  return value;
}
v1::SqlValue Null() {
  v1::SqlValue value;
  value.set_null_value(true);
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

// A SQL record whose text differs per dialect.
v1::Record DialectSql(uint64_t version, std::string sqlite_text, std::string postgres_text) {
  v1::Record record = Sql(version, "");
  (*record.mutable_sql()->mutable_dialect_text())["sqlite"] = std::move(sqlite_text);
  (*record.mutable_sql()->mutable_dialect_text())["postgres"] = std::move(postgres_text);
  return record;
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

Status Collect(Backend& backend, const v1::SqlStatement& statement, size_t batch_rows,
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

const WatermarkKey kKey{"node-a", "epoch-1", "samples"};
const WatermarkKey kModelKey{"node-a", "epoch-1", "model"};

// --- Schema ---

TEST_P(BackendConformanceTest, SchemaIsCreatedReconnectIdempotentAndVersioned) {
  const int latest = schema::LatestSchemaVersion(dialect());
  ASSERT_GE(latest, 1);
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->dialect(), dialect());
  EXPECT_EQ(backend->name(), kTarget);
  ASSERT_TRUE(backend->Connect().ok());
  ASSERT_TRUE(backend->Ping().ok());
  for (std::string_view table : schema::TableNames()) {
    const std::string sql =
        sqlite() ? fmt::format("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                               "name = '{}'",
                               table)
                 : fmt::format("SELECT count(*) FROM pg_class WHERE relname = '{}'", table);
    EXPECT_EQ(Value(sql), "1") << table;
  }
  EXPECT_EQ(Value("SELECT max(version) FROM sluice_schema_version"), std::to_string(latest));
  const std::string versions = Value("SELECT count(*) FROM sluice_schema_version");
  EXPECT_EQ(versions, std::to_string(latest));  // one row per step, numbered 1..latest

  // Again on the same backend, and on a second one: nothing changes.
  Status again = backend->Connect();
  ASSERT_TRUE(again.ok()) << again.ToString();
  ASSERT_TRUE(backend->Ping().ok());
  auto second = Connected();
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->Ping().ok());
  EXPECT_EQ(Value("SELECT count(*) FROM sluice_schema_version"), versions);
  auto wm = second->ReadWatermark(kKey);
  ASSERT_TRUE(wm.ok()) << wm.status().ToString();
  EXPECT_EQ(*wm, 0u);
  // And once every backend is gone (SQLite closes its shared writer with the last one).
  backend.reset();
  second.reset();
  ASSERT_NE(Connected(), nullptr);
  EXPECT_EQ(Value("SELECT count(*) FROM sluice_schema_version"), versions);

  // A database written by a newer binary is refused, not downgraded.
  Exec(fmt::format("INSERT INTO sluice_schema_version (version, description, applied_at) "
                   "VALUES ({}, 'from the future', 0)",
                   latest + 7));
  auto late = Open();
  ASSERT_NE(late, nullptr);
  Status s = late->Connect();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(std::to_string(latest + 7)));
  EXPECT_THAT(s.message(), HasSubstr(TargetNamed()));
}

// --- Batches (ApplyBatch) ---

// A record the target refuses fails its batch with a permanent error naming the target
// and the record; nothing of the batch is applied and the connection goes on.
TEST_P(BackendConformanceTest, PoisonSqlIsPermanentWithTheTargetsMessage) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  struct Poison {
    v1::Record record;
    Code code;  // kOk: the dialect's code is not checked
    std::string message;
  };
  std::vector<Poison> poisons;
  if (sqlite()) {
    ASSERT_TRUE(Apply(*backend, kKey,
                      {Sql(1, "CREATE TABLE p (id INTEGER PRIMARY KEY, n INTEGER NOT NULL) STRICT"),
                       Sql(2, "INSERT INTO p VALUES ($1, $2)", {Int(1), Int(1)})},
                      1)
                    .ok());
    poisons.push_back({Sql(3, "INSERT INTO p VALUES (1, "), Code::kInvalidArgument, "incomplete input"});
    poisons.push_back({Sql(3, "INSRT INTO p VALUES (2, 2)"), Code::kInvalidArgument, "syntax error"});
    poisons.push_back({Sql(3, "INSERT INTO p VALUES ($1, $2)", {Int(1), Int(11)}),
                       Code::kAlreadyExists, "UNIQUE constraint failed: p.id"});
    poisons.push_back({Sql(3, "INSERT INTO p VALUES ($1, $2)", {Int(2), Text("abc")}),
                       Code::kInvalidArgument, "cannot store TEXT value in INTEGER column p.n"});
    poisons.push_back({Sql(3, "INSERT INTO p VALUES ($1, NULL)", {Int(3)}), Code::kInvalidArgument,
                       "NOT NULL constraint failed: p.n"});
    poisons.push_back({Sql(3, "INSERT INTO p VALUES ($1, $2)", {Int(4)}), Code::kInvalidArgument,
                       "uses $2 but the record binds 1"});
    poisons.push_back({Sql(3, "INSERT INTO p VALUES ($1, 5)", {Int(5), Int(6)}),
                       Code::kInvalidArgument, "binds 2 parameter(s) but the statement uses 1"});
    poisons.push_back({Sql(3, "INSERT INTO p VALUES (:id, 5)", {Int(5)}), Code::kInvalidArgument,
                       "parameter :id is not positional"});
    poisons.push_back({Sql(3, "INSERT INTO p VALUES (6, 6); INSERT INTO p VALUES (7, 7)"),
                       Code::kInvalidArgument, "more than one statement"});
    poisons.push_back({Sql(3, "COMMIT"), Code::kPermissionDenied, "transaction control"});
    poisons.push_back({Sql(3, "SAVEPOINT x"), Code::kPermissionDenied, "SAVEPOINT"});
    poisons.push_back({Sql(3, "PRAGMA synchronous = OFF"), Code::kPermissionDenied,
                       "PRAGMA synchronous"});
    poisons.push_back({Sql(3, "ATTACH DATABASE ':memory:' AS other"), Code::kPermissionDenied,
                       "ATTACH"});
    poisons.push_back({Sql(3, "DELETE FROM sluice_watermark"), Code::kPermissionDenied,
                       "sluice_watermark belongs to the service"});
    poisons.push_back({Sql(3, "DROP TABLE sluice_error"), Code::kPermissionDenied,
                       "sluice_error belongs to the service"});
    poisons.push_back({Sql(3, ""), Code::kInvalidArgument, "no SQL text for dialect sqlite"});
    {
      v1::Record unbound = Sql(3, "INSERT INTO p VALUES ($1, 1)");
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
  } else {
    ASSERT_TRUE(Apply(*backend, kKey,
                      {Sql(1, "CREATE TABLE p (id bigint PRIMARY KEY, n integer NOT NULL)"),
                       Sql(2, "INSERT INTO p VALUES (1, 1)")},
                      1)
                    .ok());
    for (const auto& [sql, sqlstate] : std::vector<std::pair<std::string, std::string>>{
             {"SELEC 1", "42601"},
             {"INSERT INTO missing_table VALUES (1)", "42P01"},
             {"UPDATE p SET no_column = 1", "42703"},
             {"INSERT INTO p VALUES (1, 2)", "23505"},
             {"INSERT INTO p VALUES (3, NULL)", "23502"},
             {"INSERT INTO p VALUES (4, 'not a number')", "22P02"},
             {"INSERT INTO p VALUES (5, 99999999999)", "22003"},
             {"SELECT 1; SELECT 2", "42601"},
             {"COMMIT", "not allowed"},
             {"  /* c */ begin", "not allowed"},
             {"SET synchronous_commit = off", "not allowed"},
             {"DELETE FROM sluice_watermark", "sluice_watermark"},
         }) {
      poisons.push_back({Sql(3, sql), Code::kOk, sqlstate});
    }
  }
  for (const Poison& p : poisons) {
    Status s = Apply(*backend, kKey, {p.record}, 3);
    ASSERT_FALSE(s.ok()) << p.message;
    EXPECT_FALSE(s.retryable()) << s.ToString();
    if (p.code != Code::kOk) {
      EXPECT_EQ(s.code(), p.code) << s.ToString();
    }
    EXPECT_THAT(s.message(), HasSubstr(p.message));
    EXPECT_THAT(s.message(), HasSubstr(TargetNamed()));
    EXPECT_THAT(s.message(), HasSubstr(sqlite() ? "record at lsn 3" : "lsn 3"));
    // Nothing of the batch is applied and the connection is still usable.
    auto wm = backend->ReadWatermark(kKey);
    ASSERT_TRUE(wm.ok()) << wm.status().ToString();
    EXPECT_EQ(*wm, 2u);
  }
  // A poison record in the middle of a run fails the whole batch (PostgreSQL pipelines it).
  std::vector<v1::Record> run = {Sql(3, "INSERT INTO p VALUES (10, 1)"),
                                 Sql(4, "INSERT INTO p VALUES (11, 'x')"),
                                 Sql(5, "INSERT INTO p VALUES (12, 1)")};
  Status s = Apply(*backend, kKey, run, 3);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.retryable());
  EXPECT_THAT(s.message(), HasSubstr("lsn 4"));
  EXPECT_EQ(Count("p"), 1);
  EXPECT_EQ(*backend->ReadWatermark(kKey), 2u);
  // The flow goes on: the good records and the error log entry go in with the watermark
  // moving past the poison.
  ErrorEntry error{"samples", 4, "sql", "invalid input syntax", "{}", 123};
  std::vector<ApplyItem> good = {{3, &run[0]}, {5, &run[2]}};
  s = backend->ApplyBatch(kKey, good, std::span<const ErrorEntry>(&error, 1), 5);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 5u);
  EXPECT_EQ(Count("p"), 3);
  EXPECT_EQ(QueryRows("SELECT node, epoch, stream, lsn, target, record_kind, message FROM sluice_error"),
            (Rows{{"node-a", "epoch-1", "samples", "4", std::string(kTarget), "sql",
                   "invalid input syntax"}}));
  if (sqlite()) {
    EXPECT_EQ(Value("PRAGMA journal_mode"), "wal");  // still in WAL
  }
}

// A sample row as a read returns it: (point_id, ts, value, quality, ver, manual).
std::vector<std::string> SampleRow(int64_t point, int64_t ts, double value, int64_t quality,
                                   int64_t ver, bool manual) {
  return Show({Int(point), Int(ts), Double(value), Int(quality), Int(ver), Int(manual ? 1 : 0)});
}

// Samples and corrections of one (point, ts), applied in every order, each in a batch of
// its own (as if each came from its own stream), or all in one batch, end as the same row:
// the highest (manual, version), so the newest correction if there is one, else the
// newest sample.
TEST_P(BackendConformanceTest, ConvergingUpsertIsOrderIndependent) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  constexpr auto kInterval = v1::SAMPLE_INTERVAL_5MIN;
  constexpr int64_t kTs = 1'000'000'000'000'000;
  // The records of one case for `point`, and the row they must end as.
  struct Case {
    std::function<std::vector<v1::Record>(int64_t point)> records;
    std::function<std::vector<std::string>(int64_t point)> expected;
  };
  std::vector<Case> cases;
  // sample v1, correction v2, sample v3 -> the correction.
  cases.push_back({[&](int64_t p) {
                     return std::vector<v1::Record>{Samples(1, kInterval, {{p, kTs, 1.0, 0}}),
                                                    Correction(2, kInterval, p, kTs, 2.0, 4),
                                                    Samples(3, kInterval, {{p, kTs, 3.0, 0}})};
                   },
                   [&](int64_t p) { return SampleRow(p, kTs, 2.0, 4, 2, true); }});
  // Only samples -> the newest sample.
  cases.push_back({[&](int64_t p) {
                     return std::vector<v1::Record>{Samples(1, kInterval, {{p, kTs, 1.0, 0}}),
                                                    Samples(3, kInterval, {{p, kTs, 3.0, 2}}),
                                                    Samples(2, kInterval, {{p, kTs, 2.0, 0}})};
                   },
                   [&](int64_t p) { return SampleRow(p, kTs, 3.0, 2, 3, false); }});
  // Two corrections among samples -> the newest correction.
  cases.push_back({[&](int64_t p) {
                     return std::vector<v1::Record>{Correction(2, kInterval, p, kTs, 2.0, 4),
                                                    Correction(4, kInterval, p, kTs, 4.0, 4),
                                                    Samples(3, kInterval, {{p, kTs, 3.0, 0}}),
                                                    Samples(5, kInterval, {{p, kTs, 5.0, 0}})};
                   },
                   [&](int64_t p) { return SampleRow(p, kTs, 4.0, 4, 4, true); }});
  // A non-manual correction ranks like a sample.
  cases.push_back({[&](int64_t p) {
                     return std::vector<v1::Record>{
                         Correction(2, kInterval, p, kTs, 2.0, 0, /*manual=*/false),
                         Samples(3, kInterval, {{p, kTs, 3.0, 0}}),
                         Samples(1, kInterval, {{p, kTs, 1.0, 0}})};
                   },
                   [&](int64_t p) { return SampleRow(p, kTs, 3.0, 0, 3, false); }});
  // A correction beats any sample, whatever its version: v3 correction, v5 and v7 samples.
  cases.push_back({[&](int64_t p) {
                     return std::vector<v1::Record>{Samples(5, kInterval, {{p, kTs, 1.0, 0}}),
                                                    Samples(7, kInterval, {{p, kTs, 3.0, 0}}),
                                                    Correction(3, kInterval, p, kTs, 2.5, 4)};
                   },
                   [&](int64_t p) { return SampleRow(p, kTs, 2.5, 4, 3, true); }});
  // Samples v5 and v7 with corrections v3 and v9 -> the v9 correction (120 orders).
  cases.push_back({[&](int64_t p) {
                     return std::vector<v1::Record>{Samples(5, kInterval, {{p, kTs, 1.0, 0}}),
                                                    Samples(7, kInterval, {{p, kTs, 3.0, 0}}),
                                                    Correction(3, kInterval, p, kTs, 2.0, 4),
                                                    Correction(9, kInterval, p, kTs, 4.0, 4),
                                                    Samples(6, kInterval, {{p, kTs, 6.0, 0}})};
                   },
                   [&](int64_t p) { return SampleRow(p, kTs, 4.0, 4, 9, true); }});

  // One point per (case, order): point 1 is case 0 in its first order.
  int64_t point = 0;
  int corrections = 0;
  std::vector<std::vector<std::string>> expected;
  for (const Case& c : cases) {
    const size_t n = c.records(0).size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    do {
      ++point;
      std::vector<v1::Record> records = c.records(point);
      Lsn lsn = 1;
      for (size_t i : order) {
        // Each record in a stream of its own, as samples and corrections are.
        WatermarkKey key{"node-a", "epoch-1", fmt::format("p{}-{}", point, i)};
        Status s = Apply(*backend, key, {records[i]}, lsn++);
        ASSERT_TRUE(s.ok()) << s.ToString();
        if (records[i].has_correction()) ++corrections;
      }
      expected.push_back(c.expected(point));
    } while (std::next_permutation(order.begin(), order.end()));
    // All of it in one batch gives the same.
    ++point;
    std::vector<v1::Record> records = c.records(point);
    Status s = Apply(*backend, WatermarkKey{"node-a", "epoch-1", fmt::format("p{}", point)},
                     records, 1);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (const v1::Record& r : records) corrections += r.has_correction() ? 1 : 0;
    expected.push_back(c.expected(point));
  }
  Collected got;
  Status s = Collect(*backend,
                     Statement("SELECT point_id, ts, value, quality, ver, manual FROM sample_5min "
                               "ORDER BY point_id, ts"),
                     1000, 0, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(got.rows.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(Show(got.rows[i]), expected[i]) << "row " << i;

  // Every correction is in the edit log with who, why and the resolved time.
  EXPECT_EQ(Count("sample_edit_log"), corrections);
  got = {};
  s = Collect(*backend,
              Statement("SELECT sample_table, point_id, ts, value, quality, manual, who, why, "
                        "edited_at, ver FROM sample_edit_log WHERE point_id = 1"),
              10, 0, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(got.rows.size(), 1u);
  EXPECT_EQ(Show(got.rows[0]), Show({Text("sample_5min"), Int(1), Int(kTs), Double(2.0), Int(4),
                                     Int(1), Text("operator"), Text("meter replaced"),
                                     Int(1'700'000'000'000'002), Int(2)}));
}

// SQL records bind parameters of every type, out of textual order and reused; a dialect's
// own text overrides the portable one.
TEST_P(BackendConformanceTest, SqlWithEveryParameterTypeRoundTrips) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  // 10 MiB of every byte value; 3 MiB of multi-byte text.
  std::string blob(10 * 1024 * 1024, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  std::string clob;
  while (clob.size() < 3 * 1024 * 1024 + 17) clob += "héllo, 世界 'x' \\ ";
  const std::string text = "héllo ✓ 'quoted' \"x\" \\ text";
  constexpr int64_t kTs = 1'700'000'000'123'456;

  std::vector<v1::SqlValue> params(8);
  params[0].set_int_value(1);
  params[1].set_null_value(true);
  params[2].set_int_value(std::numeric_limits<int64_t>::min());
  params[3].set_double_value(-0.1);
  params[4].set_text_value(text);
  params[5].set_blob_value(blob);
  params[6].set_clob_value(clob);
  params[7].set_timestamp_us(kTs);
  v1::Record create = DialectSql(1,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT, i INTEGER, d REAL, s TEXT, b BLOB, "
      "c TEXT, ts INTEGER) STRICT",
      "CREATE TABLE t (id bigint PRIMARY KEY, n text, i bigint, d double precision, s text, "
      "b bytea, c text, ts bigint)");
  // Parameters out of textual order.
  const std::string insert_text =
      "INSERT INTO t (ts, id, n, i, d, s, b, c) VALUES ($8, $1, $2, $3, $4, $5, $6, $7)";
  v1::Record insert = Sql(2, insert_text, params);
  // The same statement again (PostgreSQL has it prepared now), with other values.
  params[0].set_int_value(2);
  params[3].set_double_value(std::nan(""));  // NaN is stored as NULL
  params[5].set_blob_value(std::string("\0\1\2", 3));
  v1::Record insert2 = Sql(3, insert_text, params);
  // The dialect's text overrides the portable one; one parameter used twice.
  v1::Record update = DialectSql(4,
      "UPDATE t SET s = s || ?2 || ?2 WHERE id = ?1 -- trailing comment",
      "UPDATE t SET s = s || $2 || $2 WHERE id = $1 -- trailing comment");
  update.mutable_sql()->set_text("this is no dialect's SQL");
  *update.mutable_sql()->add_params() = Int(1);
  *update.mutable_sql()->add_params() = Text("twice");
  Status s = Apply(*backend, kKey, {create, insert, insert2, update}, 1);
  ASSERT_TRUE(s.ok()) << s.ToString();

  Collected got;
  s = Collect(*backend, Statement("SELECT id, n, i, d, s, c, ts FROM t ORDER BY id"), 10, 0, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(got.rows.size(), 2u);
  EXPECT_EQ(Show(got.rows[0]), Show({Int(1), Null(), Int(std::numeric_limits<int64_t>::min()),
                                     Double(-0.1), Text(text + "twicetwice"), Text(clob), Int(kTs)}));
  EXPECT_EQ(Show(got.rows[1]), Show({Int(2), Null(), Int(std::numeric_limits<int64_t>::min()),
                                     Null(), Text(text), Text(clob), Int(kTs)}));
  // The blobs round-trip byte for byte.
  got = {};
  s = Collect(*backend, Statement("SELECT b FROM t ORDER BY id"), 10, 0, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(got.rows.size(), 2u);
  ASSERT_EQ(got.rows[0][0].kind_case(), v1::SqlValue::kBlobValue);
  EXPECT_EQ(got.rows[0][0].blob_value().size(), blob.size());
  EXPECT_TRUE(got.rows[0][0].blob_value() == blob) << "the blob differs";
  EXPECT_EQ(Show(got.rows[1][0]), Show(Blob(std::string("\0\1\2", 3))));
}

// Every kind of record lands in its table in the batch's transaction; outcomes and switch
// markers only move the watermark. Trigger and recall rows keep the higher version.
TEST_P(BackendConformanceTest, EveryRecordKindLandsInItsTable) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  v1::Record events;
  events.set_version(11);
  for (int i = 0; i < 2; ++i) {
    auto* e = events.mutable_events()->add_events();
    e->set_ts_us(100 + i);
    e->set_point_id(7);
    e->set_kind("breaker_trip");
    e->set_severity(3);
    e->set_source("scada");
    e->set_text(fmt::format("tëxt {}", i));
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
  marker.mutable_switch_marker()->set_to_target("x");

  Status s = Apply(*backend, kKey, {events, triggers, recall, intent, outcome, marker}, 1);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 6u);

  EXPECT_EQ(QueryRows("SELECT ver, seq, ts, point_id, kind, severity, source, text FROM event_log "
                      "ORDER BY seq"),
            (Rows{{"11", "0", "100", "7", "breaker_trip", "3", "scada", "tëxt 0"},
                  {"11", "1", "101", "7", "breaker_trip", "3", "scada", "tëxt 1"}}));
  EXPECT_EQ(QueryRows("SELECT trigger_type, occur_time, ver, int_1, int_2, int_50, float_1, "
                      "float_2, float_3, str_1, str_2, str_50 FROM burst_sample"),
            (Rows{{"4", "5000", "12", "0", "10", "490", "1.5", "2.5", kNull, "first", kNull,
                   kNull}}));
  EXPECT_EQ(Value("SELECT count(*) FROM recall_sample WHERE point_id = 8 AND event_ts = 1000 "
                  "AND ver = 13"),
            "3");
  EXPECT_EQ(QueryRows("SELECT name, unit FROM point WHERE point_id = 8"),
            (Rows{{"bus 8 voltage", "kV"}}));

  // A replayed trigger with an older version does not overwrite; a newer one replaces the
  // whole row.
  t->set_int_values(0, -1);
  triggers.set_version(10);
  ASSERT_TRUE(Apply(*backend, kKey, {triggers}, 7).ok());
  EXPECT_EQ(Value("SELECT int_1 FROM burst_sample"), "0");
  v1::Record newer;
  newer.set_version(20);
  auto* t2 = newer.mutable_triggers()->add_samples();
  t2->set_trigger_type(4);
  t2->set_occur_time_us(5'000);
  t2->add_int_values(9);
  // Recall rows likewise: an older one is ignored, a newer one wins.
  v1::Record older_recall;
  older_recall.set_version(1);
  auto* r1 = older_recall.mutable_recall()->add_rows();
  r1->set_point_id(8);
  r1->set_event_ts_us(1'000);
  r1->set_ts_us(990);
  r1->set_value(100);
  v1::Record newer_recall;
  newer_recall.set_version(21);
  auto* r2 = newer_recall.mutable_recall()->add_rows();
  r2->set_point_id(8);
  r2->set_event_ts_us(1'000);
  r2->set_ts_us(1'000);
  r2->set_value(200);
  ASSERT_TRUE(Apply(*backend, kKey, {newer, older_recall, newer_recall}, 8).ok());
  EXPECT_EQ(QueryRows("SELECT ver, int_1, int_2, float_1, str_1 FROM burst_sample"),
            (Rows{{"20", "9", kNull, kNull, kNull}}));
  Collected got;
  ASSERT_TRUE(Collect(*backend, Statement("SELECT ts, value, ver FROM recall_sample ORDER BY ts"),
                      10, 0, &got)
                  .ok());
  ASSERT_EQ(got.rows.size(), 3u);
  EXPECT_EQ(Show(got.rows[0]), Show({Int(990), Double(0), Int(13)}));
  EXPECT_EQ(Show(got.rows[1]), Show({Int(1000), Double(200), Int(21)}));
  EXPECT_EQ(Show(got.rows[2]), Show({Int(1010), Double(0.5), Int(13)}));

  // Too many values in a trigger sample is the record's fault.
  v1::Record overflow;
  overflow.set_version(22);
  auto* t3 = overflow.mutable_triggers()->add_samples();
  for (int i = 0; i < 51; ++i) t3->add_int_values(i);
  s = Apply(*backend, kKey, {overflow}, 11);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.retryable()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 10u);
}

// --- Rejections (sluice_error) and operator retries (ApplyRetry) ---

// A rejection is written with the watermark moving past it (skipped) or alone (blocked);
// the same record failing again counts an attempt. An operator's retry of a skipped record
// applies it once, out of its order; a blocked record applied in its order later is
// resolved and never retried on top.
TEST_P(BackendConformanceTest, RejectionsAreRecordedResolvedAndRetriedOnce) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(Apply(*backend, kKey, {Sql(1, "CREATE TABLE t (id bigint PRIMARY KEY)")}, 1).ok());
  const auto rejections = [&] {
    return QueryRows("SELECT lsn, attempts, coalesce(resolution, 'open'), "
                     "CASE WHEN resolved_at IS NULL THEN 'unresolved' ELSE 'resolved' END "
                     "FROM sluice_error ORDER BY lsn");
  };

  v1::Record bad = Sql(2, "INSERT INTO late (id) VALUES (2)");  // no such table yet
  Status s = Apply(*backend, kKey, {bad}, 2);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.retryable()) << s.ToString();
  // Skipped: its rejection goes in with the watermark moving past it.
  ErrorEntry error{"samples", 2, "sql", "no table late", "{}", 123};
  s = backend->ApplyBatch(kKey, {}, std::span<const ErrorEntry>(&error, 1), 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 2u);
  // Not checked here: the same rejection written again at that watermark. SQLite counts
  // an attempt (sqlite_backend_test); PostgreSQL drops it as a replay of a committed batch.
  EXPECT_EQ(rejections(), (Rows{{"2", "1", "open", "unresolved"}}));

  // A retry before the cause is fixed fails and leaves the row open.
  auto retried = backend->ApplyRetry(kKey, {2, &bad});
  ASSERT_FALSE(retried.ok());
  EXPECT_FALSE(retried.status().retryable()) << retried.status().ToString();
  EXPECT_EQ(rejections(), (Rows{{"2", "1", "open", "unresolved"}}));
  // Fixed by the operator: the retry applies it once; a retry whose answer was lost does
  // not apply it again. The watermark is neither read nor moved.
  Exec("CREATE TABLE late (id bigint)");
  retried = backend->ApplyRetry(kKey, {2, &bad});
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(*retried, RetryResult::kApplied);
  retried = backend->ApplyRetry(kKey, {2, &bad});
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(*retried, RetryResult::kAlreadyRetried);
  EXPECT_EQ(Count("late"), 1);
  EXPECT_EQ(rejections(), (Rows{{"2", "1", "retried", "resolved"}}));
  EXPECT_EQ(*backend->ReadWatermark(kKey), 2u);
  // A record the target never rejected is not applied by a retry.
  v1::Record never = Sql(1, "INSERT INTO t (id) VALUES (1)");
  retried = backend->ApplyRetry(kKey, {1, &never});
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(*retried, RetryResult::kNoRejection);
  EXPECT_EQ(Count("t"), 0);

  // Blocked: the rejection goes in alone, the watermark unmoved; applied in its order
  // later, its row is resolved and a retry finds nothing to do.
  v1::Record blocked = Sql(3, "INSERT INTO t (id) VALUES (3)");
  ErrorEntry block{"samples", 3, "sql", "blocked", "{}", 124};
  s = backend->ApplyBatch(kKey, {}, std::span<const ErrorEntry>(&block, 1), 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 2u);
  s = Apply(*backend, kKey, {blocked}, 3);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*backend->ReadWatermark(kKey), 3u);
  EXPECT_EQ(rejections(), (Rows{{"2", "1", "retried", "resolved"}, {"3", "1", "applied", "resolved"}}));
  retried = backend->ApplyRetry(kKey, {3, &blocked});
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(*retried, RetryResult::kAppliedInOrder);
  EXPECT_EQ(Count("t"), 1);
}

// --- Synchronous writes (ApplyIntent) and reads (Query) ---

TEST_P(BackendConformanceTest, IntentAppliesOnceWithItsWatermarkAndReturnsRows) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  // A trigger writes rows of its own on every update of m: they are not the statement's.
  ASSERT_TRUE(Apply(*backend, kModelKey,
                    {Sql(1, "CREATE TABLE m (id bigint PRIMARY KEY, name text NOT NULL, "
                            "v double precision)"),
                     Sql(2, "CREATE TABLE audit (id bigint)"),
                     DialectSql(3, "CREATE VIEW unused AS SELECT 1",
                                "CREATE FUNCTION m_audit() RETURNS trigger LANGUAGE plpgsql AS "
                                "'BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END'"),
                     DialectSql(4,
                                "CREATE TRIGGER m_audit AFTER UPDATE ON m BEGIN "
                                "INSERT INTO audit VALUES (new.id); END",
                                "CREATE TRIGGER m_audit AFTER UPDATE ON m FOR EACH ROW "
                                "EXECUTE FUNCTION m_audit()")},
                    1)
                  .ok());

  v1::Record insert = Intent(5,
      "INSERT INTO m (id, name, v) VALUES ($1, $2, $3), ($4, $5, NULL) RETURNING id, name, v",
      {Int(10), Text("ten"), Double(0.5), Int(11), Text("eleven")});
  auto result = backend->ApplyIntent(kModelKey, {5, &insert}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_EQ(result->columns, (std::vector<std::string>{"id", "name", "v"}));
  ASSERT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(Show(result->rows[0]),
            (std::vector<std::string>{"int 10", "text 'ten'", Show(Double(0.5))}));
  EXPECT_EQ(Show(result->rows[1]), (std::vector<std::string>{"int 11", "text 'eleven'", "null"}));
  EXPECT_FALSE(result->truncated);
  EXPECT_FALSE(result->already_applied);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 5u);

  // The answer was lost and the intent is applied again: nothing happens twice, at or
  // below the watermark.
  for (Lsn replay : {Lsn{5}, Lsn{2}}) {
    auto again = backend->ApplyIntent(kModelKey, {replay, &insert}, 100);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->rows_affected, 0);
    EXPECT_TRUE(again->columns.empty());
    EXPECT_TRUE(again->rows.empty());
    EXPECT_TRUE(again->already_applied);
  }
  EXPECT_EQ(Count("m"), 2);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 5u);

  // Rows affected without RETURNING (the trigger's rows not counted).
  v1::Record update = Intent(6, "UPDATE m SET v = coalesce(v, 0) + 1");
  result = backend->ApplyIntent(kModelKey, {6, &update}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_TRUE(result->columns.empty());
  EXPECT_TRUE(result->rows.empty());
  EXPECT_EQ(Count("audit"), 2);
  // The same text twice (PostgreSQL reuses its prepared statement); RETURNING rows cut at
  // max_rows.
  v1::Record returning = Intent(7, "UPDATE m SET v = v * $1 RETURNING id", {Double(2)});
  result = backend->ApplyIntent(kModelKey, {7, &returning}, 1);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_EQ(result->rows.size(), 1u);
  EXPECT_TRUE(result->truncated);
  result = backend->ApplyIntent(kModelKey, {8, &returning}, 0);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows.size(), 2u);
  EXPECT_FALSE(result->truncated);
  // DDL and SELECT affect no rows: not the count of the statement before.
  v1::Record ddl = Intent(9, "CREATE INDEX m_name ON m (name)");
  result = backend->ApplyIntent(kModelKey, {9, &ddl}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 0);
  v1::Record select = Intent(10, "SELECT id FROM m ORDER BY id");
  result = backend->ApplyIntent(kModelKey, {10, &select}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 0);
  EXPECT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 10u);
  Collected got;
  ASSERT_TRUE(Collect(*backend, Statement("SELECT id, v FROM m ORDER BY id"), 10, 0, &got).ok());
  ASSERT_EQ(got.rows.size(), 2u);
  EXPECT_EQ(Show(got.rows[0]), Show({Int(10), Double(6)}));
  EXPECT_EQ(Show(got.rows[1]), Show({Int(11), Double(4)}));
}

TEST_P(BackendConformanceTest, RejectedIntentLeavesNothingAndTheWatermarkUnmoved) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(Apply(*backend, kModelKey,
                    {Sql(1, "CREATE TABLE m (id bigint PRIMARY KEY, name text NOT NULL)"),
                     Sql(2, "INSERT INTO m VALUES (1, 'one')")},
                    1)
                  .ok());
  // What each dialect answers; an empty message: the case is not one of this dialect's.
  struct Case {
    v1::Record record;
    Code sqlite_code;
    std::string sqlite_message;
    Code postgres_code;
    std::string postgres_message;
  };
  std::vector<Case> cases;
  // The first row is inserted before the second fails: the whole intent is undone.
  cases.push_back({Intent(3, "INSERT INTO m VALUES (2, 'two'), (1, 'again') RETURNING id"),
                   Code::kAlreadyExists, "UNIQUE constraint failed: m.id", Code::kAlreadyExists,
                   "23505"});
  cases.push_back({Intent(3, "INSERT INTO m VALUES ($1, NULL)", {Int(3)}), Code::kInvalidArgument,
                   "NOT NULL constraint failed", Code::kInvalidArgument, "23502"});
  cases.push_back({Intent(3, "UPDATE nowhere SET x = 1"), Code::kInvalidArgument,
                   "no such table: nowhere", Code::kInvalidArgument, "42P01"});
  cases.push_back({Intent(3, "INSERT INTO m VALUES ($1, $2)", {Int(4)}), Code::kInvalidArgument,
                   "uses $2 but the record binds 1", Code::kOk, ""});
  cases.push_back({Intent(3, "INSERT INTO m VALUES ($1, 'x'); DELETE FROM m", {Int(4)}),
                   Code::kInvalidArgument, "more than one statement", Code::kInvalidArgument,
                   "42601"});
  cases.push_back({Intent(3, "DELETE FROM sluice_watermark"), Code::kPermissionDenied,
                   "sluice_watermark belongs to the service", Code::kInvalidArgument,
                   "sluice_watermark"});
  cases.push_back({Intent(3, "COMMIT"), Code::kPermissionDenied, "transaction control",
                   Code::kInvalidArgument, "not allowed"});
  cases.push_back({Sql(3, "INSERT INTO m VALUES (5, 'five')"), Code::kInvalidArgument,
                   "ApplyIntent takes an intent record", Code::kInvalidArgument,
                   "ApplyIntent takes an intent record"});
  for (const Case& c : cases) {
    const Code code = sqlite() ? c.sqlite_code : c.postgres_code;
    const std::string& message = sqlite() ? c.sqlite_message : c.postgres_message;
    if (message.empty()) continue;
    auto result = backend->ApplyIntent(kModelKey, {3, &c.record}, 10);
    ASSERT_FALSE(result.ok()) << message;
    const Status& s = result.status();
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_FALSE(s.retryable()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(message));
    EXPECT_THAT(s.message(), HasSubstr(TargetNamed()));
    auto wm = backend->ReadWatermark(kModelKey);  // the connection is still usable
    ASSERT_TRUE(wm.ok()) << wm.status().ToString();
    EXPECT_EQ(*wm, 2u);
    EXPECT_EQ(QueryRows("SELECT id, name FROM m ORDER BY id"), (Rows{{"1", "one"}}));
  }
  // The writer is fine afterwards: the next intent applies, and so do batches.
  v1::Record good = Intent(3, "INSERT INTO m VALUES (2, 'two')");
  auto result = backend->ApplyIntent(kModelKey, {3, &good}, 10);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 1);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 3u);
  Status s = Apply(*backend, kModelKey, {Sql(4, "INSERT INTO m VALUES (4, 'four')")}, 4);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count("m"), 3);
}

TEST_P(BackendConformanceTest, QueryStreamsEveryTypeExactlyInBatches) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  Collected got;
  Status s;
  // Every value type of the dialect: 10,000 rows; every 7th has NULLs; the last four
  // through an intent with parameters of every type, with edge values.
  if (sqlite()) {
    // SQLite has storage classes, not column types: a value reads back by its own class.
    ASSERT_TRUE(Apply(*backend, kModelKey,
                      {Sql(1, "CREATE TABLE r (id INTEGER PRIMARY KEY, i INTEGER, d REAL, "
                              "s TEXT, b BLOB, ts INTEGER)"),
                       Sql(2, "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n "
                              "WHERE k < 9996) INSERT INTO r SELECT k, "
                              "CASE WHEN k % 7 = 0 THEN NULL ELSE k * 1000003 - 5000000000 END, "
                              "CASE WHEN k % 7 = 0 THEN NULL ELSE k / 8.0 END, "
                              "CASE WHEN k % 7 = 0 THEN NULL ELSE 'row ' || k END, "
                              "CASE WHEN k % 7 = 0 THEN NULL ELSE CAST('b' || k AS BLOB) END, "
                              "1700000000000000 + k FROM n")},
                      1)
                    .ok());
    std::string bytes("\0\x01\xff\x80z", 5);
    v1::SqlValue clob;
    clob.set_clob_value(std::string(100'000, 'c'));
    v1::Record edges = Intent(3,
        "INSERT INTO r VALUES (9997, $1, $2, $3, $4, $5), (9998, $6, $7, $8, $9, 0), "
        "(9999, 0, $10, '', x'', 0), (10000, NULL, NULL, NULL, NULL, NULL)",
        {Int(std::numeric_limits<int64_t>::min()), Double(-0.1), Text("héllo ✓ 'q'"), Blob(bytes),
         Timestamp(-1), Int(std::numeric_limits<int64_t>::max()),
         Double(std::numeric_limits<double>::infinity()), clob, Blob(std::string(1, '\0')),
         Double(std::numeric_limits<double>::denorm_min())});
    auto applied = backend->ApplyIntent(kModelKey, {3, &edges}, 0);
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    EXPECT_EQ(applied->rows_affected, 4);

    s = Collect(*backend, Statement("SELECT id, i, d, s, b, ts FROM r ORDER BY id"), 1000, 0, &got);
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
  } else {
    // 2024-03-01T00:00:00Z.
    constexpr int64_t kBase = 1'709'251'200'000'000;
    ASSERT_TRUE(Apply(*backend, kModelKey,
                      {Sql(1, "CREATE TABLE r (id bigint PRIMARY KEY, i integer, si smallint, "
                              "d double precision, f real, n numeric(20, 4), s text, b bytea, "
                              "tz timestamptz, t timestamp, ok boolean, j jsonb, us bigint)"),
                       Sql(2, "INSERT INTO r SELECT k, CASE WHEN k % 7 = 0 THEN NULL ELSE "
                              "k * 1000 - 5000000 END, (k % 300)::smallint - 150, "
                              "CASE WHEN k % 7 = 0 THEN NULL ELSE k / 8.0 END, "
                              "k / 4.0, k * 1.2345, 'row ' || k, convert_to('b' || k, 'UTF8'), "
                              "to_timestamp(1700000000 + k) + k * interval '1 microsecond', "
                              "timestamp '2024-03-01 00:00:00' + k * interval '1 second', "
                              "k % 2 = 0, jsonb_build_object('k', k), 1700000000000000 + k "
                              "FROM generate_series(1, 9996) k")},
                      1)
                    .ok());
    std::string bytes;
    for (int c = 0; c < 256; ++c) bytes.push_back(static_cast<char>(c));
    v1::Record edges = Intent(3,
        "INSERT INTO r VALUES "
        "(9997, -2147483648, -32768, $1, 'NaN', 'NaN', $2, $3, "
        "'epoch'::timestamptz + $4 * interval '1 microsecond', 'infinity', true, '[]', $5), "
        "(9998, 2147483647, 32767, $6, '-Infinity', 1234567890123456.7891, '', ''::bytea, "
        "'0044-03-15 12:00:00+00 BC', '-infinity', false, 'null', $7), "
        "(9999, 0, 0, $8, 0.1, -0.0001, $9, NULL, '2024-03-01 05:30:00+05:30', "
        "'1969-12-31 23:59:59.999999', NULL, NULL, NULL), "
        "(10000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        {Double(-0.1), Text("héllo ✓ 'q' \\ \"x\""), Blob(bytes), Int(-1),
         Int(std::numeric_limits<int64_t>::min()), Double(std::numeric_limits<double>::infinity()),
         Int(std::numeric_limits<int64_t>::max()), Double(std::numeric_limits<double>::denorm_min()),
         Text(std::string(100'000, 'c'))});
    auto applied = backend->ApplyIntent(kModelKey, {3, &edges}, 0);
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    EXPECT_EQ(applied->rows_affected, 4);

    s = Collect(*backend, Statement("SELECT * FROM r ORDER BY id"), 1000, 0, &got);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(got.columns, (std::vector<std::string>{"id", "i", "si", "d", "f", "n", "s", "b", "tz",
                                                     "t", "ok", "j", "us"}));
    EXPECT_EQ(got.batches, std::vector<size_t>(10, 1000));
    ASSERT_EQ(got.rows.size(), 10'000u);
    for (int64_t k = 1; k <= 9996; ++k) {
      const int64_t n = k * 12345;
      std::vector<v1::SqlValue> want = {
          Int(k), Int(k * 1000 - 5000000), Int(k % 300 - 150), Double(k / 8.0),
          Double(static_cast<float>(k / 4.0)), Text(fmt::format("{}.{:04}", n / 10000, n % 10000)),
          Text(fmt::format("row {}", k)), Blob(fmt::format("b{}", k)),
          Timestamp((1'700'000'000 + k) * 1'000'000 + k), Timestamp(kBase + k * 1'000'000),
          Int(k % 2 == 0 ? 1 : 0), Text(fmt::format("{{\"k\": {}}}", k)),
          Int(1'700'000'000'000'000 + k)};
      if (k % 7 == 0) want[1] = want[3] = Null();
      ASSERT_EQ(Show(got.rows[k - 1]), Show(want)) << "row " << k;
    }
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    EXPECT_EQ(Show(got.rows[9996]),
              Show({Int(9997), Int(-2147483648), Int(-32768), Double(-0.1),
                    Double(std::numeric_limits<double>::quiet_NaN()), Text("NaN"),
                    Text("héllo ✓ 'q' \\ \"x\""), Blob(bytes), Timestamp(-1), Timestamp(kMax),
                    Int(1), Text("[]"), Int(kMin)}));
    // 44 BC is astronomical year -43 (proleptic Gregorian, as PostgreSQL counts).
    const int64_t ides = std::stoll(
        Value("SELECT (extract(epoch FROM tz) * 1000000)::bigint FROM r WHERE id = 9998"));
    EXPECT_LT(ides, -63'000'000'000'000'000);
    EXPECT_EQ(Show(got.rows[9997]),
              Show({Int(9998), Int(2147483647), Int(32767),
                    Double(std::numeric_limits<double>::infinity()),
                    Double(-std::numeric_limits<double>::infinity()),
                    Text("1234567890123456.7891"), Text(""), Blob(""), Timestamp(ides),
                    Timestamp(kMin), Int(0), Text("null"), Int(kMax)}));
    EXPECT_EQ(Show(got.rows[9998]),
              Show({Int(9999), Int(0), Int(0), Double(std::numeric_limits<double>::denorm_min()),
                    Double(static_cast<double>(0.1f)), Text("-0.0001"),
                    Text(std::string(100'000, 'c')), Null(), Timestamp(kBase), Timestamp(-1),
                    Null(), Null(), Null()}));
    std::vector<v1::SqlValue> nulls(13, Null());
    nulls[0] = Int(10000);
    EXPECT_EQ(Show(got.rows[9999]), Show(nulls));
  }

  // max_rows cuts the read (and PostgreSQL's cursor), parameters bound as in SQL records.
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
  // The sink's error stops the read and is returned as it is; the connection goes on.
  int calls = 0;
  s = backend->Query(Statement("SELECT id FROM r"), 100, 0, [&](const auto&, auto&) {
    ++calls;
    return Status::Aborted("client went away");
  });
  EXPECT_EQ(s, Status::Aborted("client went away"));
  EXPECT_EQ(calls, 1);
  // A bad read is permanent and names the target; the connection goes on.
  got = {};
  s = Collect(*backend, Statement("SELECT no_column FROM r"), 10, 0, &got);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.retryable()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(TargetNamed()));
  if (sqlite()) {
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("no such column: no_column"));
  } else {
    EXPECT_THAT(s.message(), HasSubstr("42703"));
  }
  got = {};
  ASSERT_TRUE(Collect(*backend, Statement("SELECT count(*) FROM r"), 10, 0, &got).ok());
  EXPECT_EQ(got.rows.at(0).at(0).int_value(), 10'000);

  if (postgres()) {
    // Batches that divide the rows exactly; a text parameter typed by the server.
    got = {};
    s = Collect(*backend, Statement("SELECT id FROM r WHERE s LIKE $1", {Text("row 1%")}), 37, 0,
                &got);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(got.rows.size(), 1111u);  // 1, 10-19, 100-199, 1000-1999
    EXPECT_EQ(got.batches.size(), 31u);
    // A statement other than a query runs without a cursor.
    got = {};
    ASSERT_TRUE(Collect(*backend, Statement("SHOW TimeZone"), 1000, 0, &got).ok());
    ASSERT_EQ(got.rows.size(), 1u);
    EXPECT_EQ(got.rows[0][0].text_value(), "UTC");
    // An error in the middle of the rows (SQLite divides by zero into NULL).
    got = {};
    s = Collect(*backend, Statement("SELECT 1 / (id - 5000) FROM r ORDER BY id"), 1000, 0, &got);
    EXPECT_FALSE(s.retryable()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("22012"));
    got = {};
    ASSERT_TRUE(Collect(*backend, Statement("SELECT count(*) FROM r"), 10, 0, &got).ok());
    EXPECT_EQ(got.rows.at(0).at(0).int_value(), 10'000);
  }
}

TEST_P(BackendConformanceTest, TenMebibyteBlobRoundTripsThroughIntentAndQuery) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(Apply(*backend, kModelKey,
                    {DialectSql(1, "CREATE TABLE lob (id INTEGER PRIMARY KEY, b BLOB)",
                                "CREATE TABLE lob (id bigint PRIMARY KEY, b bytea)")},
                    1)
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

TEST_P(BackendConformanceTest, WriteHiddenInQueryFailsAndChangesNothing) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  std::vector<v1::Record> setup = {Sql(1, "CREATE TABLE t (id bigint PRIMARY KEY, v text)"),
                                   Sql(2, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")};
  // The writes each dialect must refuse, with what its message says.
  std::vector<std::pair<std::string, std::string>> writes;
  if (sqlite()) {
    writes = {
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
  } else {
    setup.push_back(Sql(3, "CREATE SEQUENCE q"));
    setup.push_back(Sql(4, "CREATE FUNCTION sneaky() RETURNS bigint LANGUAGE sql AS "
                           "'INSERT INTO t VALUES (9, ''z'') RETURNING id'"));
    writes = {
        {"DELETE FROM t", "25006"},
        {"UPDATE t SET v = 'x'", "25006"},
        {"INSERT INTO t VALUES (3, 'c') RETURNING id", "25006"},
        {"WITH x AS (INSERT INTO t VALUES (3, 'c') RETURNING id) SELECT * FROM x", "0A000"},
        {"WITH x AS (DELETE FROM t RETURNING id) SELECT count(*) FROM x", "0A000"},
        {"SELECT sneaky()", "25006"},
        {"SELECT nextval('q')", "25006"},
        {"SELECT * FROM t FOR UPDATE", "25006"},
        {"CREATE TABLE u (x int)", "25006"},
        {"TRUNCATE t", "25006"},
        {"COMMIT", "not allowed"},
        {"SET default_transaction_read_only = off", "not allowed"},
        {"SELECT 1; DELETE FROM t", "42601"},
    };
  }
  ASSERT_TRUE(Apply(*backend, kModelKey, setup, 1).ok());
  const Lsn applied = setup.size();
  for (const auto& [sql, why] : writes) {
    Collected got;
    Status s = Collect(*backend, Statement(sql), 100, 0, &got);
    ASSERT_FALSE(s.ok()) << sql;
    EXPECT_FALSE(s.retryable()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(why)) << sql;
    EXPECT_THAT(s.message(), HasSubstr(TargetNamed()));
    EXPECT_TRUE(got.batches.empty()) << sql;
  }
  EXPECT_EQ(QueryRows("SELECT id, v FROM t ORDER BY id"), (Rows{{"1", "a"}, {"2", "b"}}));
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), applied);
  if (sqlite()) {
    EXPECT_EQ(Value("PRAGMA journal_mode"), "wal");
  } else {
    EXPECT_EQ(Value("SELECT last_value FROM q"), "1");
    // A setting changed inside a read does not outlive it.
    Collected got;
    ASSERT_TRUE(Collect(*backend, Statement("SELECT set_config('synchronous_commit', 'off', false)"),
                        10, 0, &got)
                    .ok());
    got = {};
    ASSERT_TRUE(Collect(*backend, Statement("SHOW synchronous_commit"), 10, 0, &got).ok());
    EXPECT_EQ(got.rows.at(0).at(0).text_value(), "on");
  }
  // The read connection is still good, and writes still go through intents.
  v1::Record del = Intent(applied + 1, "DELETE FROM t WHERE id = 1");
  auto result = backend->ApplyIntent(kModelKey, {applied + 1, &del}, 0);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 1);
  Collected got;
  ASSERT_TRUE(Collect(*backend, Statement("SELECT v FROM t"), 100, 0, &got).ok());
  ASSERT_EQ(got.rows.size(), 1u);
  EXPECT_EQ(got.rows[0][0].text_value(), "b");
}

// A read in progress neither waits for the writer nor blocks it, and sees one snapshot,
// while intents commit on another connection between its batches.
TEST_P(BackendConformanceTest, QueryReadsASnapshotWhileIntentsCommit) {
  auto reader = Connected();
  auto writer = Connected();
  ASSERT_NE(reader, nullptr);
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(Apply(*writer, kModelKey,
                    {Sql(1, "CREATE TABLE t (id bigint PRIMARY KEY)"),
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
                             if (rows.empty()) return Status::OK();
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
  EXPECT_EQ(Count("t"), 0);
  EXPECT_EQ(*writer->ReadWatermark(kModelKey), 5u);
}

INSTANTIATE_TEST_SUITE_P(Dialects, BackendConformanceTest, ::testing::Values("sqlite", "postgres"),
                         DialectName);

}  // namespace
}  // namespace sluice::store::testing
