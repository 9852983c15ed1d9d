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

// The schema itself, reconnecting and a newer schema refused: backend_conformance_test.cc.
TEST_F(PostgresBackendTest, SampleTablesArePartitionedAheadOfTheData) {
  auto backend = Connected();
  ASSERT_TRUE(backend->connected());
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
  const std::string partitions = Value("SELECT count(*) FROM pg_inherits");
  // Reconnecting, and a second backend, make no more of them.
  ASSERT_OK(backend->Connect());
  ASSERT_OK(backend->Ping());
  auto second = Connected();
  ASSERT_OK(second->Ping());
  EXPECT_EQ(Value("SELECT count(*) FROM pg_inherits"), partitions);
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

}  // namespace
}  // namespace sluice::store::postgres
