// The backend conformance suite, synchronous writes (ApplyIntent) and reads (Query): what
// every backend does, written once against store/backend.h and run on a real SQLite file
// and a real PostgreSQL server (backend_conformance_test_util.h). Batches, the schema and
// rejections are in backend_conformance_test.cc.

#include <limits>
#include <random>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/backend_conformance_test_util.h"

namespace sluice::store::testing {
namespace {

using ::testing::HasSubstr;

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
