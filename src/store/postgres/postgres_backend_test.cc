// PostgresBackend against real PostgreSQL servers (tests/support/pg_server.h).
// Rows are compared with an expected set computed here, independently of the backend.

#include "store/postgres/postgres_backend.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <thread>

#include "common/log.h"
#include "store/postgres/copy_writer.h"
#include "store/postgres/node_claim.h"
#include "store/schema.h"
#include "support/pg_server.h"

namespace sluice::store::postgres {
namespace {

using sluice::testing::PgServer;
using Rows = std::vector<std::vector<std::string>>;

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const ::sluice::Status st_ = (expr);                      \
    ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                       \
  do {                                                        \
    const ::sluice::Status st_ = (expr);                      \
    EXPECT_TRUE(st_.ok()) << #expr << ": " << st_.ToString(); \
  } while (0)

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kHour = 3'600'000'000;
// 2024-03-01T00:00:00Z: far from "now", so these partitions are made on demand.
constexpr int64_t kBase = 1'709'251'200'000'000;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Records built by a test; ApplyItem points into them.
class Journal {
 public:
  v1::Record& Add(uint64_t version) {
    v1::Record& r = records_.emplace_back();
    r.set_version(version);
    r.set_admitted_at_us(kBase + static_cast<int64_t>(version));
    items_.push_back({++lsn_, &r});
    return r;
  }
  v1::Record& Samples(uint64_t version, v1::SampleInterval interval = v1::SAMPLE_INTERVAL_1S) {
    v1::Record& r = Add(version);
    r.mutable_samples()->set_interval(interval);
    return r;
  }
  static void Row(v1::Record& r, int64_t point, int64_t ts, double value, uint32_t quality = 0) {
    auto* s = r.mutable_samples();
    s->add_point_id(point);
    s->add_ts_us(ts);
    s->add_value(value);
    s->add_quality(quality);
  }
  v1::Record& Correction(uint64_t version, int64_t point, int64_t ts, double value, bool manual,
                         v1::SampleInterval interval = v1::SAMPLE_INTERVAL_1S) {
    v1::Record& r = Add(version);
    auto* c = r.mutable_correction();
    c->set_interval(interval);
    c->set_point_id(point);
    c->set_ts_us(ts);
    c->set_value(value);
    c->set_quality(4);
    c->set_manual(manual);
    c->set_who("operator");
    c->set_why("test");
    return r;
  }
  v1::Record& Sql(uint64_t version, const std::string& text) {
    v1::Record& r = Add(version);
    r.mutable_sql()->set_text(text);
    return r;
  }
  std::span<const ApplyItem> items() const { return items_; }
  std::span<const ApplyItem> last(size_t n) const {
    return std::span<const ApplyItem>(items_).subspan(items_.size() - n);
  }
  Lsn head() const { return lsn_; }

 private:
  std::deque<v1::Record> records_;
  std::vector<ApplyItem> items_;
  Lsn lsn_ = 0;
};

const WatermarkKey kKey{"node-1", "epoch-1", "samples"};

// Partition creation and schema steps log at info; keep test output to what matters.
const bool kQuietLogs = [] {
  log::Init("warn");
  return true;
}();

class PostgresBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PgServer::CreateAndStart();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  std::unique_ptr<PostgresBackend> NewBackend(const std::string& dbname = "postgres",
                                              PostgresOptions pg = {}) {
    BackendOptions options;
    options.name = "pg-" + dbname;
    options.connection = server_->ConnInfo(dbname);
    return std::make_unique<PostgresBackend>(options, pg);
  }
  std::unique_ptr<PostgresBackend> Connected(const std::string& dbname = "postgres",
                                             PostgresOptions pg = {}) {
    auto b = NewBackend(dbname, pg);
    Status st = b->Connect();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return b;
  }

  Rows Query(const std::string& sql, const std::string& dbname = "postgres") {
    auto rows = server_->QueryRows(sql, dbname);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? std::move(rows).value() : Rows{};
  }
  std::string Value(const std::string& sql, const std::string& dbname = "postgres") {
    auto v = server_->QueryValue(sql, dbname);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }
  int64_t Count(const std::string& table, const std::string& dbname = "postgres") {
    return std::stoll(Value("SELECT count(*) FROM " + table, dbname));
  }
  std::vector<struct SampleRow> SampleTable(const std::string& table,
                                            const std::string& dbname = "postgres");

  std::unique_ptr<PgServer> server_;
};

// A sample row as the tables hold it, compared exactly.
struct SampleRow {
  int64_t point_id;
  int64_t ts;
  std::optional<double> value;  // NULL for NaN
  int64_t quality;
  int64_t ver;
  bool manual;
  bool operator==(const SampleRow&) const = default;
};

std::ostream& operator<<(std::ostream& os, const SampleRow& r) {
  return os << fmt::format("({}, {}, {}, {}, {}, {})", r.point_id, r.ts,
                           r.value ? fmt::format("{}", *r.value) : "NULL", r.quality, r.ver,
                           r.manual);
}

std::vector<SampleRow> ParseSampleRows(const Rows& rows) {
  std::vector<SampleRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    SampleRow s;
    s.point_id = std::stoll(r[0]);
    s.ts = std::stoll(r[1]);
    if (r[2] != PgServer::kNull) s.value = std::strtod(r[2].c_str(), nullptr);
    s.quality = std::stoll(r[3]);
    s.ver = std::stoll(r[4]);
    s.manual = r[5] == "t";
    out.push_back(s);
  }
  return out;
}

std::vector<SampleRow> PostgresBackendTest::SampleTable(const std::string& table,
                                                        const std::string& dbname) {
  return ParseSampleRows(Query(fmt::format("SELECT point_id, ts, value, quality, ver, manual "
                                           "FROM {} ORDER BY point_id, ts",
                                           table),
                               dbname));
}

TEST_F(PostgresBackendTest, SchemaIsCreatedAndReconnectIsIdempotent) {
  auto backend = Connected();
  ASSERT_TRUE(backend->connected());
  EXPECT_EQ(backend->dialect(), "postgres");
  for (std::string_view table : schema::TableNames()) {
    EXPECT_EQ(Value(fmt::format("SELECT count(*) FROM pg_class WHERE relname = '{}'", table)), "1")
        << table;
  }
  EXPECT_EQ(Value("SELECT max(version) FROM sluice_schema_version"),
            std::to_string(schema::LatestSchemaVersion("postgres")));
  EXPECT_EQ(Value("SELECT relkind FROM pg_class WHERE relname = 'sample_1s'"), "p");
  // Partitions ahead of the data: now and the next span, for every sample table.
  const int64_t now_start = AlignDown(NowMicros(), kDay);
  for (v1::SampleInterval interval : schema::SampleIntervals()) {
    std::string table(schema::SampleTableName(interval));
    EXPECT_EQ(
        Value(fmt::format("SELECT count(*) FROM pg_class WHERE relname IN ('{}', '{}')",
                          PartitionName(table, now_start), PartitionName(table, now_start + kDay))),
        "2")
        << table;
  }
  const std::string versions = Value("SELECT count(*) FROM sluice_schema_version");
  const std::string partitions = Value("SELECT count(*) FROM pg_inherits");

  ASSERT_OK(backend->Connect());
  ASSERT_OK(backend->Ping());
  auto second = Connected();
  ASSERT_OK(second->Ping());
  EXPECT_EQ(Value("SELECT count(*) FROM sluice_schema_version"), versions);
  EXPECT_EQ(Value("SELECT count(*) FROM pg_inherits"), partitions);
  auto wm = second->ReadWatermark(kKey);
  ASSERT_TRUE(wm.ok());
  EXPECT_EQ(*wm, 0u);
}

TEST_F(PostgresBackendTest, ConcurrentConnectsRaceSafely) {
  ASSERT_OK(server_->CreateDatabase("race"));
  std::vector<std::unique_ptr<PostgresBackend>> backends;
  for (int i = 0; i < 4; ++i) backends.push_back(NewBackend("race"));
  std::vector<Status> results(backends.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < backends.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = backends[i]->Connect(); });
  }
  for (auto& t : threads) t.join();
  for (const Status& st : results) EXPECT_OK(st);
  EXPECT_EQ(Value("SELECT count(*) FROM sluice_schema_version", "race"),
            std::to_string(schema::PostgresSchemaSteps().size()));

  // Concurrent creation of the same missing partitions by four appliers.
  std::vector<Journal> journals(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    auto& r = journals[i].Samples(1);
    for (int d = 0; d < 5; ++d) Journal::Row(r, static_cast<int64_t>(i), kBase + d * kDay, d);
  }
  threads.clear();
  for (size_t i = 0; i < backends.size(); ++i) {
    threads.emplace_back([&, i] {
      WatermarkKey key{"node-1", "epoch-1", fmt::format("s{}", i)};
      results[i] = backends[i]->ApplyBatch(key, journals[i].items(), {}, journals[i].head());
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& st : results) EXPECT_OK(st);
  EXPECT_EQ(Count("sample_1s", "race"), 20);
}

TEST_F(PostgresBackendTest, HundredThousandSamplesRowByRow) {
  auto backend = Connected();
  Journal journal;
  std::vector<SampleRow> expected;
  // 1000 points x 100 samples, 2 hours apart: spans 9 daily partitions. Values are exact
  // binary fractions and odd doubles; every 97th is NaN (stored as NULL).
  auto& r = journal.Samples(42);
  for (int64_t p = 1; p <= 1000; ++p) {
    for (int64_t k = 0; k < 100; ++k) {
      const int64_t ts = kBase + k * 2 * kHour + p;
      double v = static_cast<double>(p) * 0.25 + static_cast<double>(k) / 3.0;
      if ((p * 100 + k) % 97 == 0) v = std::nan("");
      if ((p * 100 + k) % 101 == 0) v = -1e300;
      const uint32_t q = static_cast<uint32_t>((p + k) % 32);
      Journal::Row(r, p, ts, v, q);
      expected.push_back(
          {p, ts, std::isnan(v) ? std::nullopt : std::optional<double>(v), q, 42, false});
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_OK(backend->ApplyBatch(kKey, journal.items(), {}, journal.head()));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::cout << "100000 samples applied in " << ms << " ms\n";

  auto actual = SampleTable("sample_1s");
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(actual[i], expected[i]) << "row " << i;
  }
  auto wm = backend->ReadWatermark(kKey);
  ASSERT_TRUE(wm.ok());
  EXPECT_EQ(*wm, journal.head());
  EXPECT_EQ(Count("sluice_error"), 0);
}

TEST_F(PostgresBackendTest, LateSamplesIntoMissingPartitionsLand) {
  auto backend = Connected();
  Journal journal;
  const int64_t now = NowMicros();
  auto& r = journal.Samples(1, v1::SAMPLE_INTERVAL_1MIN);
  Journal::Row(r, 1, now - 40 * kDay, 1.0);
  Journal::Row(r, 1, now - 400 * kDay, 2.0);
  Journal::Row(r, 1, now + 3 * kDay, 3.0);
  ASSERT_OK(backend->ApplyBatch(kKey, journal.items(), {}, journal.head()));
  EXPECT_EQ(Count("sample_1min"), 3);
  EXPECT_EQ(Value(fmt::format("SELECT count(*) FROM pg_class WHERE relname = '{}'",
                              PartitionName("sample_1min", AlignDown(now - 400 * kDay, kDay)))),
            "1");

  // The backend believes a partition exists that someone dropped meanwhile: the row finds
  // no partition (23514), the batch is rolled back, the partition made, the batch redone.
  ASSERT_OK(server_->Exec(fmt::format(
      "DROP TABLE {}", PartitionName("sample_1min", AlignDown(now - 40 * kDay, kDay)))));
  auto& late = journal.Samples(2, v1::SAMPLE_INTERVAL_1MIN);
  Journal::Row(late, 2, now - 40 * kDay + 5, 4.0);
  ASSERT_OK(backend->ApplyBatch(kKey, journal.last(1), {}, journal.head()));
  EXPECT_EQ(Count("sample_1min"), 3);  // the dropped partition took one row with it
  EXPECT_EQ(Value("SELECT value FROM sample_1min WHERE point_id = 2"), "4");
  EXPECT_EQ(Count("sluice_error"), 0);
  auto wm = backend->ReadWatermark(kKey);
  ASSERT_TRUE(wm.ok());
  EXPECT_EQ(*wm, journal.head());
}

TEST_F(PostgresBackendTest, PartitionsOfAnotherSpanAreRespected) {
  // Partitions made with a one-hour span exist; a backend configured for days fills gaps.
  ASSERT_OK(server_->CreateDatabase("spans"));
  {
    BackendOptions o;
    o.name = "hourly";
    o.connection = server_->ConnInfo("spans");
    o.partition_span_us = kHour;
    PostgresBackend hourly(o);
    ASSERT_OK(hourly.Connect());
    Journal j;
    Journal::Row(j.Samples(1), 1, kBase + 5 * kHour, 1.0);
    ASSERT_OK(hourly.ApplyBatch(kKey, j.items(), {}, j.head()));
  }
  auto daily = Connected("spans");
  Journal j;
  auto& r = j.Samples(2);
  for (int h = 0; h < 24; ++h) Journal::Row(r, 2, kBase + h * kHour, h);
  WatermarkKey key{"node-1", "epoch-1", "other"};
  ASSERT_OK(daily->ApplyBatch(key, j.items(), {}, j.head()));
  EXPECT_EQ(Count("sample_1s", "spans"), 25);
}

// Applies each record of `order` in its own batch.
void ApplyInOrder(PostgresBackend* backend, const Journal& journal, const std::vector<int>& order,
                  const std::string& stream) {
  for (int i : order) {
    const ApplyItem& item = journal.items()[static_cast<size_t>(i)];
    // Each record in a stream of its own, as samples and corrections are.
    WatermarkKey key{"node-1", "epoch-1", fmt::format("{}-{}", stream, i)};
    ASSERT_OK(backend->ApplyBatch(key, std::span<const ApplyItem>(&item, 1), {}, item.lsn));
  }
}

TEST_F(PostgresBackendTest, ConvergingUpsertIsOrderIndependent) {
  auto backend = Connected();
  // Three keys per permutation: A gets samples v5, v7 and corrections v3, v9; B gets the
  // samples and the v3 correction; C only the samples.
  //   A ends as the v9 correction (the newest correction).
  //   B ends as the v3 correction (a correction beats any sample, whatever its version).
  //   C ends as the v7 sample (the newest sample).
  std::vector<int> order = {0, 1, 2, 3, 4};
  int perm = 0;
  std::vector<SampleRow> expected;
  do {
    Journal journal;
    const int64_t a = perm * 10 + 1, b = perm * 10 + 2, c = perm * 10 + 3;
    auto& s5 = journal.Samples(5);
    for (int64_t p : {a, b, c}) Journal::Row(s5, p, kBase, 1.0);
    auto& s7 = journal.Samples(7);
    for (int64_t p : {a, b, c}) Journal::Row(s7, p, kBase, 3.0);
    journal.Correction(3, a, kBase, 2.0, true);
    journal.Correction(3, b, kBase, 2.5, true);
    journal.Correction(9, a, kBase, 4.0, true);
    ApplyInOrder(backend.get(), journal, order, fmt::format("perm{}", perm));
    expected.push_back({a, kBase, 4.0, 4, 9, true});
    expected.push_back({b, kBase, 2.5, 4, 3, true});
    expected.push_back({c, kBase, 3.0, 0, 7, false});
    ++perm;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(perm, 120);
  EXPECT_EQ(SampleTable("sample_1s"), expected);
  EXPECT_EQ(Count("sample_edit_log"), 3 * 120);
}

TEST_F(PostgresBackendTest, DuplicateKeysFallBackToTheUpsert) {
  auto backend = Connected();
  Journal journal;
  auto& first = journal.Samples(10);
  for (int p = 1; p <= 100; ++p) Journal::Row(first, p, kBase, 1.0);
  ASSERT_OK(backend->ApplyBatch(kKey, journal.items(), {}, journal.head()));

  // One batch with: older rows for points 1..50 (lose), newer rows for 51..100 (win),
  // new points 101..150, and point 200 twice with the same version (the first wins), plus
  // a sample run that spans two records of the same table.
  auto& older = journal.Samples(5);
  for (int p = 1; p <= 50; ++p) Journal::Row(older, p, kBase, 2.0);
  auto& newer = journal.Samples(20);
  for (int p = 51; p <= 150; ++p) Journal::Row(newer, p, kBase, 3.0);
  Journal::Row(newer, 200, kBase, 5.0);
  Journal::Row(newer, 200, kBase, 6.0);
  ASSERT_OK(backend->ApplyBatch(kKey, journal.last(2), {}, journal.head()));

  std::vector<SampleRow> expected;
  for (int p = 1; p <= 50; ++p) expected.push_back({p, kBase, 1.0, 0, 10, false});
  for (int p = 51; p <= 150; ++p) expected.push_back({p, kBase, 3.0, 0, 20, false});
  expected.push_back({200, kBase, 5.0, 0, 20, false});
  EXPECT_EQ(SampleTable("sample_1s"), expected);
  EXPECT_EQ(Count("sluice_error"), 0);
}

TEST_F(PostgresBackendTest, ReplayedBatchesAreAppliedOnce) {
  auto backend = Connected();
  Journal journal;
  for (int i = 0; i < 5; ++i) {
    auto& r = journal.Add(static_cast<uint64_t>(i + 1));
    auto* e = r.mutable_events()->add_events();
    e->set_ts_us(kBase + i);
    e->set_kind("breaker_trip");
    e->set_text(fmt::format("event {}", i));
  }
  auto items = journal.items();
  ASSERT_OK(backend->ApplyBatch(kKey, items.subspan(0, 3), {}, 3));
  // The answer was lost and the applier retries the same batch: nothing happens twice.
  ASSERT_OK(backend->ApplyBatch(kKey, items.subspan(0, 3), {}, 3));
  EXPECT_EQ(Count("event_log"), 3);
  // A retry with different batch boundaries: only lsn 4 and 5 are new.
  ASSERT_OK(backend->ApplyBatch(kKey, items.subspan(1, 4), {}, 5));
  EXPECT_EQ(Count("event_log"), 5);
  EXPECT_EQ(Value("SELECT string_agg(text, ',' ORDER BY ver) FROM event_log"),
            "event 0,event 1,event 2,event 3,event 4");
  auto wm = backend->ReadWatermark(kKey);
  ASSERT_TRUE(wm.ok());
  EXPECT_EQ(*wm, 5u);
}

TEST_F(PostgresBackendTest, SqlWithEveryParameterType) {
  auto backend = Connected();
  Journal journal;
  journal.Sql(1,
              "CREATE TABLE model_t (id bigint PRIMARY KEY, d double precision, s text, b bytea, "
              "c text, ts bigint, n integer)");
  // 10 MiB of every byte value.
  std::string blob(10 << 20, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  std::string clob;
  while (clob.size() < 300'000) clob += "héllo, 世界 'x' \\ ";
  auto& ins = journal.Sql(2, "INSERT INTO model_t VALUES ($1, $2, $3, $4, $5, $6, $7)");
  auto* st = ins.mutable_sql();
  st->add_params()->set_int_value(-9'000'000'000'000'000'000);
  st->add_params()->set_double_value(0.1);
  st->add_params()->set_text_value("it's \"quoted\" \\ text");
  st->add_params()->set_blob_value(blob);
  st->add_params()->set_clob_value(clob);
  st->add_params()->set_timestamp_us(kBase + 123);
  st->add_params()->set_null_value(true);
  // The same statement again (now cached), with other values; and dialect texts.
  auto& ins2 = journal.Sql(3, "INSERT INTO model_t VALUES ($1, $2, $3, $4, $5, $6, $7)");
  for (int i = 0; i < 7; ++i) *ins2.mutable_sql()->add_params() = st->params(i);
  ins2.mutable_sql()->mutable_params(0)->set_int_value(2);
  ins2.mutable_sql()->mutable_params(1)->set_double_value(std::nan(""));
  ins2.mutable_sql()->mutable_params(3)->set_blob_value(std::string("\0\1\2", 3));
  auto& upd = journal.Sql(4, "UPDATE model_t SET n = ifnull(n, 1) WHERE id = $1");
  (*upd.mutable_sql()->mutable_dialect_text())["postgres"] =
      "UPDATE model_t SET n = coalesce(n, 1) + 1 WHERE id = $1";
  upd.mutable_sql()->add_params()->set_int_value(2);
  ASSERT_OK(backend->ApplyBatch(kKey, journal.items(), {}, journal.head()));

  Rows rows = Query("SELECT id, d, s, length(b), c, ts, n FROM model_t ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"-9000000000000000000", "0.1", "it's \"quoted\" \\ text",
                                      std::to_string(blob.size()), clob,
                                      std::to_string(kBase + 123), PgServer::kNull}));
  EXPECT_EQ(rows[1][1], PgServer::kNull);  // NaN is NULL
  EXPECT_EQ(rows[1][3], "3");
  EXPECT_EQ(rows[1][6], "2");
  // The blob round-trips byte for byte.
  const std::string hex = Value("SELECT encode(b, 'hex') FROM model_t WHERE id < 0");
  ASSERT_EQ(hex.size(), blob.size() * 2);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < blob.size(); ++i) {
    const auto byte = static_cast<unsigned char>(blob[i]);
    if (hex[2 * i] != kHex[byte >> 4] || hex[2 * i + 1] != kHex[byte & 15]) {
      FAIL() << "blob differs at byte " << i;
    }
  }
}

TEST_F(PostgresBackendTest, StatementCacheIsBounded) {
  PostgresOptions pg;
  pg.statement_cache_capacity = 2;
  pg.statement_cache_max_text = 40;  // longer texts run unnamed
  auto backend = Connected("postgres", pg);
  Journal journal;
  journal.Sql(1, "CREATE TABLE c (id bigint PRIMARY KEY, v text)");
  ASSERT_OK(backend->ApplyBatch(kKey, journal.items(), {}, journal.head()));
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 4; ++k) {
      // Four different texts (one of them long), each used in every round.
      const std::string text =
          k == 3 ? "INSERT INTO c (id, v) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING"
                 : fmt::format("INSERT INTO c VALUES ($1 + {}, $2)", k * 0);
      auto& r = journal.Sql(journal.head() + 1, text);
      r.mutable_sql()->add_params()->set_int_value(round * 10 + k);
      r.mutable_sql()->add_params()->set_text_value(fmt::format("r{}k{}", round, k));
      ASSERT_OK(backend->ApplyBatch(kKey, journal.last(1), {}, journal.head()));
    }
  }
  EXPECT_EQ(Count("c"), 12);
}

TEST_F(PostgresBackendTest, PoisonStatementsArePermanentWithTheirSqlstate) {
  auto backend = Connected();
  Journal setup;
  setup.Sql(1, "CREATE TABLE p (id bigint PRIMARY KEY, n integer NOT NULL)");
  setup.Sql(2, "INSERT INTO p VALUES (1, 1)");
  ASSERT_OK(backend->ApplyBatch(kKey, setup.items(), {}, 2));

  struct Case {
    std::string sql;
    std::string expect;  // in the message
  };
  const std::vector<Case> cases = {
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
  };
  Lsn lsn = 2;
  for (const Case& c : cases) {
    Journal j;
    auto& r = j.Sql(++lsn, c.sql);
    (void)r;
    ApplyItem item{lsn, j.items()[0].record};
    Status st = backend->ApplyBatch(kKey, std::span<const ApplyItem>(&item, 1), {}, lsn);
    EXPECT_FALSE(st.ok()) << c.sql;
    EXPECT_FALSE(st.retryable()) << c.sql << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("pg-postgres"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find(fmt::format("lsn {}", lsn)), std::string::npos) << st.ToString();
    // Nothing of the batch is applied and the session is still usable.
    auto wm = backend->ReadWatermark(kKey);
    ASSERT_TRUE(wm.ok()) << wm.status().ToString();
    EXPECT_EQ(*wm, 2u);
  }
  // A poison record in the middle of a pipelined run fails the whole batch.
  Journal run;
  run.Sql(3, "INSERT INTO p VALUES (10, 1)");
  run.Sql(4, "INSERT INTO p VALUES (11, 'x')");
  run.Sql(5, "INSERT INTO p VALUES (12, 1)");
  std::vector<ApplyItem> items(run.items().begin(), run.items().end());
  for (size_t i = 0; i < items.size(); ++i) items[i].lsn = 3 + i;
  Status st = backend->ApplyBatch(kKey, items, {}, 5);
  EXPECT_FALSE(st.retryable());
  EXPECT_NE(st.message().find("lsn 4"), std::string::npos) << st.ToString();
  EXPECT_EQ(Count("p"), 1);
  // The error log entry goes in with the watermark moving past the record.
  ErrorEntry error{"samples", 4, "sql", "invalid input syntax", "{}", 123};
  std::vector<ApplyItem> good = {items[0], items[2]};
  ASSERT_OK(backend->ApplyBatch(kKey, good, std::span<const ErrorEntry>(&error, 1), 5));
  EXPECT_EQ(Count("p"), 3);
  EXPECT_EQ(
      Query("SELECT node, epoch, stream, lsn, target, record_kind, message FROM sluice_error"),
      (Rows{{"node-1", "epoch-1", "samples", "4", "pg-postgres", "sql", "invalid input syntax"}}));
}

TEST_F(PostgresBackendTest, OtherRecordKinds) {
  auto backend = Connected();
  Journal journal;
  auto& ev = journal.Add(1);
  for (int i = 0; i < 3; ++i) {
    auto* e = ev.mutable_events()->add_events();
    e->set_ts_us(kBase + i);
    e->set_point_id(i);
    e->set_kind("k");
    e->set_severity(i);
    e->set_source("src");
    e->set_text("tëxt");
  }
  auto& trig = journal.Add(2);
  auto* t = trig.mutable_triggers()->add_samples();
  t->set_trigger_type(7);
  t->set_occur_time_us(kBase);
  t->add_int_values(1);
  t->add_int_values(2);
  t->add_float_values(0.5);
  t->add_string_values("s1");
  auto& rec = journal.Add(3);
  for (int i = 0; i < 4; ++i) {
    auto* r = rec.mutable_recall()->add_rows();
    r->set_point_id(1);
    r->set_event_ts_us(kBase);
    r->set_ts_us(kBase + i);
    r->set_value(i);
  }
  journal.Add(4).mutable_outcome()->set_intent_lsn(1);
  journal.Add(5).mutable_switch_marker()->set_to_target("x");
  auto& intent = journal.Add(6);
  intent.mutable_intent()->set_kind(v1::SyncIntent::KIND_SQL);
  intent.mutable_intent()->mutable_statement()->set_text(
      "INSERT INTO point (point_id, name) VALUES ($1, $2)");
  intent.mutable_intent()->mutable_statement()->add_params()->set_int_value(1);
  intent.mutable_intent()->mutable_statement()->add_params()->set_text_value("P1");
  ASSERT_OK(backend->ApplyBatch(kKey, journal.items(), {}, journal.head()));

  EXPECT_EQ(Query("SELECT ver, seq, ts - " + std::to_string(kBase) +
                  ", point_id, kind, severity, source, text FROM event_log ORDER BY seq"),
            (Rows{{"1", "0", "0", "0", "k", "0", "src", "tëxt"},
                  {"1", "1", "1", "1", "k", "1", "src", "tëxt"},
                  {"1", "2", "2", "2", "k", "2", "src", "tëxt"}}));
  EXPECT_EQ(
      Query("SELECT trigger_type, ver, int_1, int_2, int_3, float_1, float_2, str_1, "
            "str_50 FROM burst_sample"),
      (Rows{{"7", "2", "1", "2", PgServer::kNull, "0.5", PgServer::kNull, "s1", PgServer::kNull}}));
  EXPECT_EQ(Count("recall_sample"), 4);
  EXPECT_EQ(Value("SELECT name FROM point WHERE point_id = 1"), "P1");

  // Newer trigger and recall rows replace older ones; older ones do not.
  Journal j2;
  auto& trig2 = j2.Add(10);
  auto* t2 = trig2.mutable_triggers()->add_samples();
  t2->set_trigger_type(7);
  t2->set_occur_time_us(kBase);
  t2->add_int_values(9);
  auto& rec2 = j2.Add(1);  // older than the rows there
  auto* r2 = rec2.mutable_recall()->add_rows();
  r2->set_point_id(1);
  r2->set_event_ts_us(kBase);
  r2->set_ts_us(kBase);
  r2->set_value(100);
  auto& rec3 = j2.Add(11);
  auto* r3 = rec3.mutable_recall()->add_rows();
  r3->set_point_id(1);
  r3->set_event_ts_us(kBase);
  r3->set_ts_us(kBase + 1);
  r3->set_value(200);
  std::vector<ApplyItem> items(j2.items().begin(), j2.items().end());
  for (size_t i = 0; i < items.size(); ++i) items[i].lsn = 7 + i;
  ASSERT_OK(backend->ApplyBatch(kKey, items, {}, 9));
  EXPECT_EQ(Query("SELECT ver, int_1, int_2, float_1, str_1 FROM burst_sample"),
            (Rows{{"10", "9", PgServer::kNull, PgServer::kNull, PgServer::kNull}}));
  EXPECT_EQ(
      Query("SELECT ts - " + std::to_string(kBase) + ", value, ver FROM recall_sample ORDER BY ts"),
      (Rows{{"0", "0", "3"}, {"1", "200", "11"}, {"2", "2", "3"}, {"3", "3", "3"}}));

  // Too many values in a trigger sample is the record's fault.
  Journal j3;
  auto* t3 = j3.Add(20).mutable_triggers()->add_samples();
  for (int i = 0; i < 51; ++i) t3->add_int_values(i);
  ApplyItem item{10, j3.items()[0].record};
  Status st = backend->ApplyBatch(kKey, std::span<const ApplyItem>(&item, 1), {}, 10);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(st.retryable());
}

TEST_F(PostgresBackendTest, KilledServerIsRetryableAndRecovers) {
  auto backend = Connected();
  ASSERT_OK(backend->ClaimNode("node-1"));
  Journal journal;
  Journal::Row(journal.Samples(1), 1, kBase, 1.0);
  ASSERT_OK(backend->ApplyBatch(kKey, journal.items(), {}, journal.head()));

  ASSERT_OK(server_->Kill(SIGKILL));
  Journal::Row(journal.Samples(2), 2, kBase, 2.0);
  Status st = backend->ApplyBatch(kKey, journal.last(1), {}, journal.head());
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.retryable()) << st.ToString();
  EXPECT_FALSE(backend->connected());
  st = backend->Connect();
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.retryable()) << st.ToString();

  ASSERT_OK(server_->WaitForOrphans());
  ASSERT_OK(server_->Start());
  ASSERT_OK(backend->Connect());
  ASSERT_OK(backend->ClaimNode("node-1"));
  auto wm = backend->ReadWatermark(kKey);
  ASSERT_TRUE(wm.ok());
  EXPECT_EQ(*wm, 1u);
  ASSERT_OK(backend->ApplyBatch(kKey, journal.last(1), {}, journal.head()));
  EXPECT_EQ(SampleTable("sample_1s"),
            (std::vector<SampleRow>{{1, kBase, 1.0, 0, 1, false}, {2, kBase, 2.0, 0, 2, false}}));

  // Stopped (immediate) mid-stream, then started again.
  ASSERT_OK(server_->Stop(/*immediate=*/true));
  Journal::Row(journal.Samples(3), 3, kBase, 3.0);
  st = backend->Ping();
  EXPECT_TRUE(st.retryable()) << st.ToString();
  ASSERT_OK(server_->Start());
  ASSERT_OK(backend->Connect());
  ASSERT_OK(backend->ApplyBatch(kKey, journal.last(1), {}, journal.head()));
  EXPECT_EQ(Count("sample_1s"), 3);
}

TEST_F(PostgresBackendTest, FrozenServerTimesOutRetryably) {
  PostgresOptions pg;
  pg.io_timeout = std::chrono::milliseconds(2000);
  pg.connect_timeout = std::chrono::milliseconds(2000);
  auto backend = Connected("postgres", pg);
  ASSERT_OK(backend->ClaimNode("node-1"));
  Journal journal;
  auto& r = journal.Samples(1);
  for (int i = 0; i < 50'000; ++i) Journal::Row(r, i, kBase, i);

  ASSERT_OK(server_->KillAll(SIGSTOP));
  auto t0 = std::chrono::steady_clock::now();
  Status st = backend->ApplyBatch(kKey, journal.items(), {}, journal.head());
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.retryable()) << st.ToString();
  EXPECT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
  EXPECT_LT(elapsed, std::chrono::seconds(8));
  EXPECT_GE(elapsed, std::chrono::milliseconds(1900));

  t0 = std::chrono::steady_clock::now();
  st = backend->Connect();
  elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(st.retryable()) << st.ToString();
  EXPECT_LT(elapsed, std::chrono::seconds(8));

  ASSERT_OK(server_->KillAll(SIGCONT));
  ASSERT_OK(backend->Connect());
  // The old claim session was dropped after the timeout but may still hold the lock on the
  // server for a moment; the claim ends such abandoned sessions of its own process.
  ASSERT_OK(backend->ClaimNode("node-1"));
  ASSERT_OK(backend->ApplyBatch(kKey, journal.items(), {}, journal.head()));
  EXPECT_EQ(Count("sample_1s"), 50'000);
}

TEST_F(PostgresBackendTest, NodeClaimConflictsBetweenProcesses) {
  PostgresOptions daemon1, daemon2;
  daemon1.claim_owner = "daemon-1";
  daemon2.claim_owner = "daemon-2";
  auto a = Connected("postgres", daemon1);
  auto a2 = Connected("postgres", daemon1);  // another stream of the same daemon
  auto b = Connected("postgres", daemon2);
  ASSERT_OK(a->ClaimNode("node-1"));
  ASSERT_OK(a2->ClaimNode("node-1"));
  Status st = b->ClaimNode("node-1");
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_FALSE(st.retryable());
  EXPECT_NE(st.message().find("node-1"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("sluice-claim daemon-1"), std::string::npos) << st.ToString();
  ASSERT_OK(b->ClaimNode("node-2"));
  ASSERT_OK(a->ClaimNode("node-1"));  // again after each Connect: still ours
  EXPECT_EQ(Value("SELECT count(*) FROM sluice_node_lock"), "2");

  // A session of daemon-2 abandoned on the server (after a network failure, say) still
  // holds node-3: daemon-2 ends it rather than lock itself out.
  const std::string ghost_name =
      fmt::format("sluice-claim daemon-2 {:016x}", static_cast<uint64_t>(NodeLockKey("node-3")));
  PGconn* ghost =
      PQconnectdb((server_->ConnInfo() + " application_name='" + ghost_name + "'").c_str());
  ASSERT_EQ(PQstatus(ghost), CONNECTION_OK);
  PGresult* held =
      PQexec(ghost, fmt::format("SELECT pg_advisory_lock({})", NodeLockKey("node-3")).c_str());
  ASSERT_EQ(PQresultStatus(held), PGRES_TUPLES_OK);
  PQclear(held);
  auto b2 = Connected("postgres", daemon2);
  EXPECT_OK(b2->ClaimNode("node-3"));
  PQfinish(ghost);
  EXPECT_EQ(a->ClaimNode("node-3").code(), Code::kFailedPrecondition);
  // Claims of other nodes and owners were left alone.
  EXPECT_OK(a->ClaimNode("node-1"));
  EXPECT_OK(b->ClaimNode("node-2"));
  EXPECT_EQ(Value("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                  "'sluice-claim %'"),
            "3");

  // Once every backend of daemon-1 is gone, its claim is released.
  a.reset();
  a2.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!(st = b->ClaimNode("node-1")).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_OK(st);
}

// --- Synchronous writes (ApplyIntent) and reads (Query) ---

const WatermarkKey kModelKey{"node-1", "epoch-1", "model"};

v1::SqlValue IntV(int64_t v) {
  v1::SqlValue value;
  value.set_int_value(v);
  return value;
}
v1::SqlValue DoubleV(double v) {
  v1::SqlValue value;
  value.set_double_value(v);
  return value;
}
v1::SqlValue TextV(std::string v) {
  v1::SqlValue value;
  value.set_text_value(std::move(v));
  return value;
}
v1::SqlValue BlobV(std::string v) {
  v1::SqlValue value;
  value.set_blob_value(std::move(v));
  return value;
}
v1::SqlValue TimestampV(int64_t us) {
  v1::SqlValue value;
  value.set_timestamp_us(us);
  return value;
}
v1::SqlValue NullV() {
  v1::SqlValue value;
  value.set_null_value(true);
  return value;
}

v1::Record IntentRecord(std::string text, std::vector<v1::SqlValue> params = {}) {
  v1::Record record;
  record.set_version(1);
  record.mutable_intent()->set_kind(v1::SyncIntent::KIND_MODEL);
  auto* statement = record.mutable_intent()->mutable_statement();
  statement->set_text(std::move(text));
  for (auto& p : params) *statement->add_params() = std::move(p);
  return record;
}

v1::SqlStatement Stmt(std::string text, std::vector<v1::SqlValue> params = {}) {
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

TEST_F(PostgresBackendTest, IntentAppliesOnceWithItsWatermarkAndReturnsRows) {
  auto backend = Connected();
  Journal setup;
  setup.Sql(1, "CREATE TABLE m (id bigint PRIMARY KEY, name text NOT NULL, v double precision)");
  ASSERT_OK(backend->ApplyBatch(kModelKey, setup.items(), {}, 1));

  v1::Record insert = IntentRecord(
      "INSERT INTO m VALUES ($1, $2, $3), ($4, $5, NULL) RETURNING id, name, v",
      {IntV(10), TextV("ten"), DoubleV(0.5), IntV(11), TextV("eleven")});
  auto result = backend->ApplyIntent(kModelKey, {2, &insert}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_EQ(result->columns, (std::vector<std::string>{"id", "name", "v"}));
  ASSERT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(Show(result->rows[0]),
            (std::vector<std::string>{"int 10", "text 'ten'", Show(DoubleV(0.5))}));
  EXPECT_EQ(Show(result->rows[1]), (std::vector<std::string>{"int 11", "text 'eleven'", "null"}));
  EXPECT_FALSE(result->truncated);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 2u);

  // Applied again after a lost answer, at or below the watermark: nothing happens.
  for (Lsn replay : {Lsn{2}, Lsn{1}}) {
    auto again = backend->ApplyIntent(kModelKey, {replay, &insert}, 100);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->rows_affected, 0);
    EXPECT_TRUE(again->columns.empty());
    EXPECT_TRUE(again->rows.empty());
  }
  EXPECT_EQ(Count("m"), 2);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 2u);

  v1::Record update = IntentRecord("UPDATE m SET v = coalesce(v, 0) + 1");
  result = backend->ApplyIntent(kModelKey, {3, &update}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_TRUE(result->columns.empty());
  // The same text again: the prepared statement is reused; RETURNING cut at max_rows.
  v1::Record returning = IntentRecord("UPDATE m SET v = v * $1 RETURNING id", {DoubleV(2)});
  result = backend->ApplyIntent(kModelKey, {4, &returning}, 1);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 2);
  EXPECT_EQ(result->rows.size(), 1u);
  EXPECT_TRUE(result->truncated);
  result = backend->ApplyIntent(kModelKey, {5, &returning}, 0);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows.size(), 2u);
  EXPECT_FALSE(result->truncated);
  // DDL and SELECT affect no rows.
  v1::Record ddl = IntentRecord("CREATE INDEX m_name ON m (name)");
  result = backend->ApplyIntent(kModelKey, {6, &ddl}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 0);
  v1::Record select = IntentRecord("SELECT id FROM m ORDER BY id");
  result = backend->ApplyIntent(kModelKey, {7, &select}, 100);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 0);
  EXPECT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 7u);
  EXPECT_EQ(Query("SELECT id, v FROM m ORDER BY id"), (Rows{{"10", "6"}, {"11", "4"}}));
}

TEST_F(PostgresBackendTest, RejectedIntentLeavesNothingAndTheWatermarkUnmoved) {
  auto backend = Connected();
  Journal setup;
  setup.Sql(1, "CREATE TABLE m (id bigint PRIMARY KEY, name text NOT NULL)");
  setup.Sql(2, "INSERT INTO m VALUES (1, 'one')");
  ASSERT_OK(backend->ApplyBatch(kModelKey, setup.items(), {}, 2));
  struct Case {
    v1::Record record;
    Code code;
    std::string message;
  };
  std::vector<Case> cases;
  // The first row goes in before the second fails: the whole intent is undone.
  cases.push_back({IntentRecord("INSERT INTO m VALUES (2, 'two'), (1, 'again') RETURNING id"),
                   Code::kAlreadyExists, "23505"});
  cases.push_back({IntentRecord("INSERT INTO m VALUES ($1, NULL)", {IntV(3)}),
                   Code::kInvalidArgument, "23502"});
  cases.push_back({IntentRecord("UPDATE nowhere SET x = 1"), Code::kInvalidArgument, "42P01"});
  cases.push_back({IntentRecord("INSERT INTO m VALUES ($1, 'x'); DELETE FROM m", {IntV(4)}),
                   Code::kInvalidArgument, "42601"});
  cases.push_back({IntentRecord("DELETE FROM sluice_watermark"), Code::kInvalidArgument,
                   "sluice_watermark"});
  cases.push_back({IntentRecord("COMMIT"), Code::kInvalidArgument, "not allowed"});
  {
    v1::Record sql;
    sql.mutable_sql()->set_text("INSERT INTO m VALUES (5, 'five')");
    cases.push_back({sql, Code::kInvalidArgument, "ApplyIntent takes an intent record"});
  }
  for (const Case& c : cases) {
    auto result = backend->ApplyIntent(kModelKey, {3, &c.record}, 10);
    ASSERT_FALSE(result.ok()) << c.message;
    const Status& st = result.status();
    EXPECT_EQ(st.code(), c.code) << st.ToString();
    EXPECT_FALSE(st.retryable()) << st.ToString();
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("pg-postgres"), std::string::npos) << st.ToString();
    auto wm = backend->ReadWatermark(kModelKey);  // the session is still usable
    ASSERT_TRUE(wm.ok()) << wm.status().ToString();
    EXPECT_EQ(*wm, 2u);
    EXPECT_EQ(Query("SELECT id, name FROM m ORDER BY id"), (Rows{{"1", "one"}}));
  }
  v1::Record good = IntentRecord("INSERT INTO m VALUES (2, 'two')");
  auto result = backend->ApplyIntent(kModelKey, {3, &good}, 10);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 1);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 3u);
  // Batches of the same backend still work after all that.
  Journal more;
  more.Sql(4, "INSERT INTO m VALUES (4, 'four')");
  std::vector<ApplyItem> items = {{4, more.items()[0].record}};
  ASSERT_OK(backend->ApplyBatch(kModelKey, items, {}, 4));
  EXPECT_EQ(Count("m"), 3);
}

TEST_F(PostgresBackendTest, QueryStreamsEveryTypeExactlyInBatches) {
  auto backend = Connected();
  Journal setup;
  setup.Sql(1,
            "CREATE TABLE r (id bigint PRIMARY KEY, i integer, si smallint, d double precision, "
            "f real, n numeric(20, 4), s text, b bytea, tz timestamptz, t timestamp, ok boolean, "
            "j jsonb, us bigint)");
  // 10,000 rows; every 7th has NULLs.
  setup.Sql(2,
            "INSERT INTO r SELECT k, CASE WHEN k % 7 = 0 THEN NULL ELSE k * 1000 - 5000000 END, "
            "(k % 300)::smallint - 150, CASE WHEN k % 7 = 0 THEN NULL ELSE k / 8.0 END, "
            "k / 4.0, k * 1.2345, 'row ' || k, convert_to('b' || k, 'UTF8'), "
            "to_timestamp(1700000000 + k) + k * interval '1 microsecond', "
            "timestamp '2024-03-01 00:00:00' + k * interval '1 second', k % 2 = 0, "
            "jsonb_build_object('k', k), 1700000000000000 + k FROM generate_series(1, 9996) k");
  ASSERT_OK(backend->ApplyBatch(kModelKey, setup.items(), {}, 2));
  // Edge values through an intent with parameters.
  std::string bytes;
  for (int c = 0; c < 256; ++c) bytes.push_back(static_cast<char>(c));
  v1::Record edges = IntentRecord(
      "INSERT INTO r VALUES "
      "(9997, -2147483648, -32768, $1, 'NaN', 'NaN', $2, $3, "
      "'epoch'::timestamptz + $4 * interval '1 microsecond', 'infinity', true, '[]', $5), "
      "(9998, 2147483647, 32767, $6, '-Infinity', 1234567890123456.7891, '', ''::bytea, "
      "'0044-03-15 12:00:00+00 BC', '-infinity', false, 'null', $7), "
      "(9999, 0, 0, $8, 0.1, -0.0001, $9, NULL, '2024-03-01 05:30:00+05:30', "
      "'1969-12-31 23:59:59.999999', NULL, NULL, NULL), "
      "(10000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
      {DoubleV(-0.1), TextV("héllo ✓ 'q' \\ \"x\""), BlobV(bytes), IntV(-1),
       IntV(std::numeric_limits<int64_t>::min()), DoubleV(std::numeric_limits<double>::infinity()),
       IntV(std::numeric_limits<int64_t>::max()),
       DoubleV(std::numeric_limits<double>::denorm_min()),
       TextV(std::string(100'000, 'c'))});
  auto applied = backend->ApplyIntent(kModelKey, {3, &edges}, 0);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(applied->rows_affected, 4);

  Collected got;
  ASSERT_OK(Collect(*backend, Stmt("SELECT * FROM r ORDER BY id"), 1000, 0, &got));
  EXPECT_EQ(got.columns, (std::vector<std::string>{"id", "i", "si", "d", "f", "n", "s", "b", "tz",
                                                   "t", "ok", "j", "us"}));
  EXPECT_EQ(got.batches, std::vector<size_t>(10, 1000));
  ASSERT_EQ(got.rows.size(), 10'000u);
  for (int64_t k = 1; k <= 9996; ++k) {
    const int64_t n = k * 12345;
    std::vector<v1::SqlValue> want = {
        IntV(k), IntV(k * 1000 - 5000000), IntV(k % 300 - 150), DoubleV(k / 8.0),
        DoubleV(static_cast<float>(k / 4.0)), TextV(fmt::format("{}.{:04}", n / 10000, n % 10000)),
        TextV(fmt::format("row {}", k)), BlobV(fmt::format("b{}", k)),
        TimestampV((1'700'000'000 + k) * 1'000'000 + k), TimestampV(kBase + k * 1'000'000),
        IntV(k % 2 == 0 ? 1 : 0), TextV(fmt::format("{{\"k\": {}}}", k)),
        IntV(1'700'000'000'000'000 + k)};
    if (k % 7 == 0) want[1] = want[3] = NullV();
    ASSERT_EQ(Show(got.rows[k - 1]), Show(want)) << "row " << k;
  }
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Show(got.rows[9996]),
            Show({IntV(9997), IntV(-2147483648), IntV(-32768), DoubleV(-0.1),
                  DoubleV(std::numeric_limits<double>::quiet_NaN()), TextV("NaN"),
                  TextV("héllo ✓ 'q' \\ \"x\""), BlobV(bytes), TimestampV(-1), TimestampV(kMax),
                  IntV(1), TextV("[]"), IntV(kMin)}));
  // 44 BC is astronomical year -43 (proleptic Gregorian, as PostgreSQL counts).
  const int64_t ides = std::stoll(
      Value("SELECT (extract(epoch FROM tz) * 1000000)::bigint FROM r WHERE id = 9998"));
  EXPECT_LT(ides, -63'000'000'000'000'000);
  EXPECT_EQ(Show(got.rows[9997]),
            Show({IntV(9998), IntV(2147483647), IntV(32767),
                  DoubleV(std::numeric_limits<double>::infinity()),
                  DoubleV(-std::numeric_limits<double>::infinity()),
                  TextV("1234567890123456.7891"), TextV(""), BlobV(""), TimestampV(ides),
                  TimestampV(kMin), IntV(0), TextV("null"), IntV(kMax)}));
  EXPECT_EQ(Show(got.rows[9998]),
            Show({IntV(9999), IntV(0), IntV(0), DoubleV(std::numeric_limits<double>::denorm_min()),
                  DoubleV(static_cast<double>(0.1f)), TextV("-0.0001"),
                  TextV(std::string(100'000, 'c')), NullV(), TimestampV(kBase), TimestampV(-1),
                  NullV(), NullV(), NullV()}));
  std::vector<v1::SqlValue> nulls(13, NullV());
  nulls[0] = IntV(10000);
  EXPECT_EQ(Show(got.rows[9999]), Show(nulls));

  // max_rows cuts the read (and the cursor), parameters bound as in SQL records.
  got = {};
  ASSERT_OK(Collect(*backend, Stmt("SELECT id FROM r WHERE id > $1 ORDER BY id", {IntV(100)}),
                    1000, 2500, &got));
  EXPECT_EQ(got.batches, (std::vector<size_t>{1000, 1000, 500}));
  ASSERT_EQ(got.rows.size(), 2500u);
  EXPECT_EQ(got.rows.front()[0].int_value(), 101);
  EXPECT_EQ(got.rows.back()[0].int_value(), 2600);
  // Batches that divide the rows exactly; a text parameter typed by the server.
  got = {};
  ASSERT_OK(Collect(*backend, Stmt("SELECT id FROM r WHERE s LIKE $1", {TextV("row 1%")}), 37, 0,
                    &got));
  EXPECT_EQ(got.rows.size(), 1111u);  // 1, 10-19, 100-199, 1000-1999
  EXPECT_EQ(got.batches.size(), 31u);
  // An empty result still names its columns.
  got = {};
  ASSERT_OK(Collect(*backend, Stmt("SELECT id AS x, s FROM r WHERE id < 0"), 1000, 0, &got));
  EXPECT_EQ(got.columns, (std::vector<std::string>{"x", "s"}));
  EXPECT_EQ(got.batches, std::vector<size_t>{0});
  // A statement other than a query runs without a cursor.
  got = {};
  ASSERT_OK(Collect(*backend, Stmt("SHOW TimeZone"), 1000, 0, &got));
  ASSERT_EQ(got.rows.size(), 1u);
  EXPECT_EQ(got.rows[0][0].text_value(), "UTC");
  // The sink's error stops the read and is returned as it is; the session goes on.
  int calls = 0;
  Status st = backend->Query(Stmt("SELECT id FROM r"), 100, 0, [&](const auto&, auto&) {
    ++calls;
    return Status::Aborted("client went away");
  });
  EXPECT_EQ(st, Status::Aborted("client went away"));
  EXPECT_EQ(calls, 1);
  // A bad read is permanent and names the target; the session goes on.
  got = {};
  st = Collect(*backend, Stmt("SELECT no_column FROM r"), 10, 0, &got);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(st.retryable()) << st.ToString();
  EXPECT_NE(st.message().find("42703"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("pg-postgres"), std::string::npos) << st.ToString();
  got = {};
  st = Collect(*backend, Stmt("SELECT 1 / (id - 5000) FROM r ORDER BY id"), 1000, 0, &got);
  EXPECT_FALSE(st.retryable()) << st.ToString();
  EXPECT_NE(st.message().find("22012"), std::string::npos) << st.ToString();
  got = {};
  ASSERT_OK(Collect(*backend, Stmt("SELECT count(*) FROM r"), 10, 0, &got));
  EXPECT_EQ(got.rows[0][0].int_value(), 10'000);
}

TEST_F(PostgresBackendTest, TenMebibyteBlobRoundTripsThroughIntentAndQuery) {
  auto backend = Connected();
  Journal setup;
  setup.Sql(1, "CREATE TABLE lob (id bigint PRIMARY KEY, b bytea)");
  ASSERT_OK(backend->ApplyBatch(kModelKey, setup.items(), {}, 1));
  std::string blob(10 << 20, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  v1::Record insert =
      IntentRecord("INSERT INTO lob VALUES ($1, $2) RETURNING length(b)", {IntV(1), BlobV(blob)});
  auto result = backend->ApplyIntent(kModelKey, {2, &insert}, 10);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->rows.size(), 1u);
  EXPECT_EQ(result->rows[0][0].int_value(), static_cast<int64_t>(blob.size()));
  Collected got;
  ASSERT_OK(Collect(*backend, Stmt("SELECT b FROM lob WHERE id = $1", {IntV(1)}), 1000, 0, &got));
  ASSERT_EQ(got.rows.size(), 1u);
  ASSERT_EQ(got.rows[0][0].kind_case(), v1::SqlValue::kBlobValue);
  EXPECT_TRUE(got.rows[0][0].blob_value() == blob) << "the blob differs";
}

TEST_F(PostgresBackendTest, WriteHiddenInQueryFailsAndChangesNothing) {
  auto backend = Connected();
  Journal setup;
  setup.Sql(1, "CREATE TABLE t (id bigint PRIMARY KEY, v text)");
  setup.Sql(2, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  setup.Sql(3, "CREATE SEQUENCE q");
  setup.Sql(4,
            "CREATE FUNCTION sneaky() RETURNS bigint LANGUAGE sql AS "
            "'INSERT INTO t VALUES (9, ''z'') RETURNING id'");
  ASSERT_OK(backend->ApplyBatch(kModelKey, setup.items(), {}, 4));
  struct Case {
    std::string sql;
    std::string expect;
  };
  const std::vector<Case> writes = {
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
  for (const Case& c : writes) {
    Collected got;
    Status st = Collect(*backend, Stmt(c.sql), 100, 0, &got);
    ASSERT_FALSE(st.ok()) << c.sql;
    EXPECT_FALSE(st.retryable()) << st.ToString();
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << c.sql << ": " << st.ToString();
    EXPECT_NE(st.message().find("pg-postgres"), std::string::npos) << st.ToString();
    EXPECT_TRUE(got.batches.empty()) << c.sql;
  }
  EXPECT_EQ(Query("SELECT id, v FROM t ORDER BY id"), (Rows{{"1", "a"}, {"2", "b"}}));
  EXPECT_EQ(Value("SELECT last_value FROM q"), "1");
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 4u);
  // A setting changed inside a read does not outlive it.
  Collected got;
  ASSERT_OK(Collect(*backend, Stmt("SELECT set_config('synchronous_commit', 'off', false)"), 10, 0,
                    &got));
  got = {};
  ASSERT_OK(Collect(*backend, Stmt("SHOW synchronous_commit"), 10, 0, &got));
  EXPECT_EQ(got.rows.at(0).at(0).text_value(), "on");
  // Writes still go through intents on the same session.
  v1::Record del = IntentRecord("DELETE FROM t WHERE id = 1");
  auto result = backend->ApplyIntent(kModelKey, {5, &del}, 0);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, 1);
  got = {};
  ASSERT_OK(Collect(*backend, Stmt("TABLE t"), 10, 0, &got));
  ASSERT_EQ(got.rows.size(), 1u);
  EXPECT_EQ(got.rows[0][1].text_value(), "b");
}

// A read holds one snapshot while an intent commits on another session between batches.
TEST_F(PostgresBackendTest, QueryReadsASnapshotWhileIntentsCommit) {
  auto reader = Connected();
  auto writer = Connected();
  Journal setup;
  setup.Sql(1, "CREATE TABLE t (id bigint PRIMARY KEY)");
  setup.Sql(2, "INSERT INTO t SELECT generate_series(1, 3000)");
  ASSERT_OK(writer->ApplyBatch(kModelKey, setup.items(), {}, 2));
  std::vector<v1::Record> intents;
  for (int i = 0; i < 3; ++i) {
    intents.push_back(IntentRecord("DELETE FROM t WHERE id <= $1", {IntV(1000 * (i + 1))}));
  }
  size_t seen = 0;
  int batch = 0;
  const auto write_between_batches = [&](const auto&, auto& rows) {
    seen += rows.size();
    if (rows.empty()) return Status::OK();
    auto r = writer->ApplyIntent(kModelKey, {Lsn(3 + batch), &intents[batch]}, 0);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->rows_affected, 1000);
    ++batch;
    return Status::OK();
  };
  ASSERT_OK(reader->Query(Stmt("SELECT id FROM t ORDER BY id"), 1000, 0, write_between_batches));
  EXPECT_EQ(seen, 3000u);
  EXPECT_EQ(Count("t"), 0);
  EXPECT_EQ(*writer->ReadWatermark(kModelKey), 5u);
}

// Not a test: the apply path against raw libpq COPY into the same table, same batch size,
// one transaction per batch. Run with --gtest_also_run_disabled_tests; set
// SLUICE_PERF_ROWS and SLUICE_PERF_BATCH to change the load (build Release for figures);
// SLUICE_PERF_FSYNC_OFF=1 takes the disk out, leaving CPU and protocol overhead.
TEST_F(PostgresBackendTest, DISABLED_ApplyVersusRawCopy) {
  if (getenv("SLUICE_PERF_FSYNC_OFF")) {
    server_.reset();
    sluice::testing::PgServerOptions o;
    o.fsync = false;
    o.synchronous_commit = false;
    server_ = std::move(PgServer::CreateAndStart(o)).value();
  }
  const int64_t rows =
      getenv("SLUICE_PERF_ROWS") ? std::stoll(getenv("SLUICE_PERF_ROWS")) : 2'000'000;
  const int64_t batch =
      getenv("SLUICE_PERF_BATCH") ? std::stoll(getenv("SLUICE_PERF_BATCH")) : 10'000;
  const int64_t points = 1000;
  const int64_t base = AlignDown(NowMicros(), kDay);
  ASSERT_OK(server_->CreateDatabase("raw"));
  ASSERT_OK(server_->CreateDatabase("ours"));
  auto raw_schema = Connected("raw");  // same schema and partitions for the baseline
  auto ours = Connected("ours");

  // Baseline: BEGIN; COPY (binary); COMMIT per batch, on a plain blocking connection.
  PGconn* conn = PQconnectdb(server_->ConnInfo("raw").c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
  const auto exec = [&](const char* sql) {
    PGresult* r = PQexec(conn, sql);
    const auto s = PQresultStatus(r);
    PQclear(r);
    return s;
  };
  using Clock = std::chrono::steady_clock;
  Clock::duration raw_time{}, ours_time{};
  const auto raw_batch = [&](int64_t done) {
    const auto t0 = Clock::now();
    ASSERT_EQ(exec("BEGIN"), PGRES_COMMAND_OK);
    ASSERT_EQ(exec("COPY sample_1s (point_id, ts, value, quality, ver, manual) FROM STDIN "
                   "(FORMAT binary)"),
              PGRES_COPY_IN);
    CopyWriter w;
    w.Header();
    for (int64_t i = done; i < std::min(rows, done + batch); ++i) {
      w.SampleRow(i % points, base + (i / points) * 1'000'000, static_cast<double>(i) * 0.5, 0, 1,
                  false);
    }
    w.Trailer();
    ASSERT_EQ(PQputCopyData(conn, w.buffer().data(), static_cast<int>(w.size())), 1);
    ASSERT_EQ(PQputCopyEnd(conn, nullptr), 1);
    PGresult* r = PQgetResult(conn);
    ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
    while ((r = PQgetResult(conn)) != nullptr) PQclear(r);
    ASSERT_EQ(exec("COMMIT"), PGRES_COMMAND_OK);
    raw_time += Clock::now() - t0;
  };
  // Ours: one samples record per batch, as a journal would hold them.
  Lsn lsn = 0;
  const auto ours_batch = [&](int64_t done) {
    const auto t0 = Clock::now();
    v1::Record record;
    record.set_version(++lsn);
    auto* s = record.mutable_samples();
    s->set_interval(v1::SAMPLE_INTERVAL_1S);
    for (int64_t i = done; i < std::min(rows, done + batch); ++i) {
      s->add_point_id(i % points);
      s->add_ts_us(base + (i / points) * 1'000'000);
      s->add_value(static_cast<double>(i) * 0.5);
      s->add_quality(0);
    }
    ApplyItem item{lsn, &record};
    ASSERT_OK(ours->ApplyBatch(kKey, std::span<const ApplyItem>(&item, 1), {}, lsn));
    ours_time += Clock::now() - t0;
  };
  // Batches alternate between the two, and which goes first, so both meet the same
  // background work (checkpoints, autovacuum, other load on the machine).
  for (int64_t done = 0, n = 0; done < rows; done += batch, ++n) {
    if (n % 2 == 0) {
      raw_batch(done);
      ours_batch(done);
    } else {
      ours_batch(done);
      raw_batch(done);
    }
    if (HasFatalFailure()) return;
  }
  PQfinish(conn);
  const double raw_s = std::chrono::duration<double>(raw_time).count();
  const double ours_s = std::chrono::duration<double>(ours_time).count();
  EXPECT_EQ(Count("sample_1s", "ours"), rows);
  EXPECT_EQ(Count("sample_1s", "raw"), rows);
  std::cout << fmt::format(
      "rows {} batch {}: raw COPY {:.0f} rows/s, apply {:.0f} rows/s, ratio {:.3f}\n", rows, batch,
      rows / raw_s, rows / ours_s, raw_s / ours_s);
}

}  // namespace
}  // namespace sluice::store::postgres
