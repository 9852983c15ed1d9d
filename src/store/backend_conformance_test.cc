// The backend conformance suite: what every backend does, written once against
// store/backend.h and run on a real SQLite file and a real PostgreSQL server
// (backend_conformance_test_util.h). Where the dialects differ in what they can say (their
// own error messages, their types), a test names both. What only one backend has (SQLite's
// shared writer and file locks; PostgreSQL's COPY, partitions, sessions) stays in
// sqlite/sqlite_backend_test.cc and postgres/postgres_backend_test.cc. Intents and reads
// are in backend_conformance_sync_test.cc.

#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <tuple>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/backend_conformance_test_util.h"
#include "store/schema.h"

namespace sluice::store::testing {
namespace {

using ::testing::HasSubstr;

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

// A batch overlapping what a committed earlier attempt applied (its commit was not
// confirmed to the applier: a lost connection, an error after the commit point) applies
// only the records past the stored watermark, so a statement that is not idempotent runs
// once; a batch wholly at or below the watermark applies nothing and never moves it back.
TEST_P(BackendConformanceTest, BatchOverlappingTheWatermarkAppliesOnlyWhatIsPastIt) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  const std::string create = sqlite() ? "CREATE TABLE tally (n INTEGER NOT NULL) STRICT"
                                      : "CREATE TABLE tally (n BIGINT NOT NULL)";
  auto add = [](uint64_t version, int64_t n) {
    return Sql(version, "INSERT INTO tally VALUES ($1)", {Int(n)});
  };
  ASSERT_TRUE(Apply(*backend, kKey, {Sql(1, create), add(2, 2), add(3, 3)}, 1).ok());
  // LSNs 2..5 again with 4 and 5 new: 2 and 3 must not run twice.
  Status s = Apply(*backend, kKey, {add(2, 2), add(3, 3), add(4, 4), add(5, 5)}, 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Value("SELECT count(*) FROM tally"), "4");
  EXPECT_EQ(Value("SELECT sum(n) FROM tally"), "14");
  // Wholly applied already: nothing runs, the watermark stays at 5.
  s = Apply(*backend, kKey, {add(3, 3), add(4, 4)}, 3);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Value("SELECT count(*) FROM tally"), "4");
  auto wm = backend->ReadWatermark(kKey);
  ASSERT_TRUE(wm.ok()) << wm.status().ToString();
  EXPECT_EQ(*wm, 5u);
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

INSTANTIATE_TEST_SUITE_P(Dialects, BackendConformanceTest, ::testing::Values("sqlite", "postgres"),
                         DialectName);

}  // namespace
}  // namespace sluice::store::testing
