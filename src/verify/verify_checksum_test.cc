// The canonical row text and checksum of `sluice verify` on real targets: the same
// records applied to a SQLite and a PostgreSQL target give the same counts and checksums
// per bucket (floats 0.1, -0.0, NaN, infinities, the smallest subnormal; NULLs; long and
// non-ASCII text), a row changed behind Sluice's back is found and named, and the
// compared columns are the schema's.

#include <sqlite3.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/backend.h"
#include "store/row_hash.h"
#include "store/schema.h"
#include "support/pg_servers.h"
#include "support/temp_dir.h"
#include "verify/verifier.h"

namespace sluice::verify {
namespace {

constexpr int64_t kDay = kDayUs;
constexpr int64_t kT0 = 1'700'006'400'000'000;  // 2023-11-15T00:00:00Z, a day's start

sluice::testing::PgServer* Server() { return sluice::testing::SharedPgServer(); }

std::unique_ptr<store::Backend> Connected(std::string_view dialect, const std::string& name,
                                          const std::string& connection) {
  store::BackendOptions o;
  o.name = name;
  o.connection = connection;
  auto b = store::NewBackend(dialect, o);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  if (!b.ok()) return nullptr;
  Status s = (*b)->Connect();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::move(b).value();
}

// The rows the test applies: sample rows of two days with awkward values, events with
// long and non-ASCII text, a point with NULL limits, a manual correction.
struct Load {
  std::vector<v1::Record> records;
  std::map<std::string, int64_t> rows;  // table -> rows the load writes
};

Load MakeLoad() {
  Load load;
  const std::vector<double> values = {0.1,
                                      -0.0,
                                      std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::denorm_min(),
                                      1e300,
                                      -123456.789,
                                      1.0 / 3.0};
  uint64_t version = 1;
  for (int day = 0; day < 2; ++day) {
    v1::Record r;
    r.set_version(version++);
    auto* batch = r.mutable_samples();
    batch->set_interval(v1::SAMPLE_INTERVAL_1S);
    for (size_t i = 0; i < values.size(); ++i) {
      batch->add_point_id(static_cast<int64_t>(i) + 1);
      batch->add_ts_us(kT0 + day * kDay + static_cast<int64_t>(i) * 1'000'000);
      batch->add_value(values[i]);
      batch->add_quality(static_cast<uint32_t>(i % 3));
      ++load.rows["sample_1s"];
    }
    load.records.push_back(std::move(r));
  }
  {
    v1::Record r;
    r.set_version(version++);
    // Built by append: `std::string(5000, 'x') + "..."` trips GCC 12's -Warray-bounds
    // false positive at -O2 when inlined into SetUp (seen with the precompiled header).
    std::string long_text(5000, 'x');
    long_text += " Überspannung 过电压 |N|";
    for (int i = 0; i < 3; ++i) {
      auto* e = r.mutable_events()->add_events();
      e->set_ts_us(kT0 + i);
      e->set_point_id(i);
      e->set_kind("breaker_trip");
      e->set_text(i == 0 ? long_text : "");
      e->set_source(i == 1 ? "N" : "");
      ++load.rows["event_log"];
    }
    load.records.push_back(std::move(r));
  }
  {
    v1::Record r;
    r.set_version(version++);
    auto* sql = r.mutable_sql();
    sql->set_text("INSERT INTO point (point_id, name, description, lower_limit, deadband) "
                  "VALUES ($1, $2, $3, $4, $5)");
    sql->add_params()->set_int_value(7);
    sql->add_params()->set_text_value("BUS1.KV");
    sql->add_params()->set_text_value("Sammelschiene 1 — 110 kV");
    sql->add_params()->set_null_value(true);
    sql->add_params()->set_double_value(0.1);
    ++load.rows["point"];
    load.records.push_back(std::move(r));
  }
  {
    v1::Record r;
    r.set_version(version++);
    r.set_admitted_at_us(kT0 + 5);
    auto* c = r.mutable_correction();
    c->set_interval(v1::SAMPLE_INTERVAL_1S);
    c->set_point_id(1);
    c->set_ts_us(kT0);
    c->set_value(0.25);
    c->set_quality(4);
    c->set_manual(true);
    c->set_who("operator");
    c->set_why("meter replaced");
    ++load.rows["sample_edit_log"];
    load.records.push_back(std::move(r));
  }
  return load;
}

Status ApplyAll(store::Backend& b, const std::vector<v1::Record>& records) {
  std::vector<store::ApplyItem> items;
  for (size_t i = 0; i < records.size(); ++i) items.push_back({i + 1, &records[i]});
  return b.ApplyBatch({"test", "0001", "samples"}, items, {}, records.size());
}

class VerifyChecksumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(Server(), nullptr);
    static int databases = 0;
    dbname_ = fmt::format("verify_{}", ++databases);
    ASSERT_TRUE(Server()->CreateDatabase(dbname_).ok());
    sqlite_ = Connected("sqlite", "lite", dir_.Sub("lite.db"));
    pg_ = Connected("postgres", "pg", Server()->ConnInfo(dbname_));
    ASSERT_NE(sqlite_, nullptr);
    ASSERT_NE(pg_, nullptr);
    load_ = MakeLoad();
    Status s = ApplyAll(*sqlite_, load_.records);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = ApplyAll(*pg_, load_.records);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  struct Outcome {
    v1::VerifySummary summary;
    std::vector<v1::VerifyBucket> differences;
    std::vector<v1::VerifyRow> rows;
  };

  Outcome Verify(VerifyOptions options) {
    if (options.tables.empty()) {
      for (const TableSpec& t : ComparedTables()) options.tables.push_back(&t);
    }
    std::vector<VerifyTarget> targets = {{"lite", sqlite_.get()}, {"pg", pg_.get()}};
    Outcome out;
    auto summary = RunVerify(
        targets, options,
        [&](const v1::VerifyResponse& r) {
          if (r.has_difference()) out.differences.push_back(r.difference());
          if (r.has_row()) out.rows.push_back(r.row());
          return true;
        },
        [] { return false; });
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
    if (summary.ok()) out.summary = *summary;
    return out;
  }

  sluice::testing::TempDir dir_{"sluice-verify"};
  std::string dbname_;
  std::unique_ptr<store::Backend> sqlite_;
  std::unique_ptr<store::Backend> pg_;
  Load load_;
};

TEST(RowHashTest, Md5MatchesTheRfcVectors) {
  auto hex = [](std::string_view s) {
    std::string out;
    for (uint8_t b : store::Md5(s)) out += fmt::format("{:02x}", b);
    return out;
  };
  EXPECT_EQ(hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
  EXPECT_EQ(store::RowHash("abc"), static_cast<int64_t>(0x900150983cd24fb0ULL));
}

TEST_F(VerifyChecksumTest, SameRowsGiveTheSameFiguresOnBothDialects) {
  // Both backends store the NaN of a record as NULL; a NaN PostgreSQL holds anyway (a
  // program writing it directly) is a value SQLite cannot hold: it compares as NULL.
  ASSERT_TRUE(Server()->Exec("UPDATE sample_1s SET value = 'NaN' WHERE point_id = 3", dbname_).ok());
  ASSERT_EQ(Server()->QueryRows("SELECT count(*) FROM sample_1s WHERE value = 'NaN'", dbname_)->at(0).at(0), "2");
  Outcome o = Verify({});
  EXPECT_TRUE(o.summary.equal());
  EXPECT_TRUE(o.differences.empty());
  // Totals: what the load wrote, per table and target; sample_1s spans two day buckets.
  std::map<std::string, std::map<std::string, int64_t>> totals;
  std::map<std::string, int64_t> buckets;
  for (const auto& t : o.summary.totals()) {
    totals[t.table()][t.target()] = t.rows();
    if (t.target() == "pg") buckets[t.table()] = t.buckets();
  }
  for (const TableSpec& t : ComparedTables()) {
    const int64_t expected = load_.rows.contains(t.name) ? load_.rows.at(t.name) : 0;
    EXPECT_EQ(totals[t.name]["lite"], expected) << t.name;
    EXPECT_EQ(totals[t.name]["pg"], expected) << t.name;
  }
  EXPECT_EQ(buckets["sample_1s"], 2);

  // The row hash PostgreSQL computes is the C++ one of the same canonical text.
  for (const std::string& text : std::vector<std::string>{"i1|f3fb999999999999a|tc3bc|N", std::string(3000, 'z')}) {
    v1::SqlStatement st;
    st.set_text(fmt::format("SELECT ('x' || substr(md5('{}'), 1, 16))::bit(64)::bigint", text));
    int64_t got = 0;
    Status s = pg_->Query(st, 10, 0, [&](const auto&, auto& rows) {
      if (!rows.empty()) got = rows[0][0].int_value();
      return Status::OK();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(got, store::RowHash(text)) << text;
  }
}

TEST_F(VerifyChecksumTest, ARowChangedInOneTargetIsNamedWithItsBucket) {
  const int64_t ts = kT0 + kDay + 1'000'000;  // point 2, the second day: -0.0
  ASSERT_TRUE(Server()->Exec(fmt::format("UPDATE sample_1s SET value = 0.1 WHERE point_id = 2 AND ts = {}", ts),
                             dbname_).ok());
  VerifyOptions options;
  options.rows = true;
  Outcome o = Verify(options);
  EXPECT_FALSE(o.summary.equal());
  ASSERT_EQ(o.differences.size(), 1u);
  EXPECT_EQ(o.differences[0].table(), "sample_1s");
  EXPECT_EQ(o.differences[0].start_us(), kT0 + kDay);
  EXPECT_EQ(o.differences[0].end_us(), kT0 + 2 * kDay);
  ASSERT_EQ(o.differences[0].targets_size(), 2);
  EXPECT_EQ(o.differences[0].targets(0).rows(), o.differences[0].targets(1).rows());
  EXPECT_NE(o.differences[0].targets(0).checksum(), o.differences[0].targets(1).checksum());
  ASSERT_EQ(o.rows.size(), 1u);
  EXPECT_EQ(o.rows[0].kind(), "changed");
  EXPECT_EQ(o.rows[0].target(), "pg");
  EXPECT_NE(o.rows[0].key().find(fmt::format("point_id=2 ts={}", ts)), std::string::npos) << o.rows[0].key();

  // A narrow leaf: the bucket is split until few rows remain, and the same row is found.
  options.leaf_rows = 1;
  o = Verify(options);
  ASSERT_EQ(o.rows.size(), 1u);
  EXPECT_EQ(o.rows[0].kind(), "changed");

  // A range that leaves the changed day out is equal.
  options.range.to_us = kT0 + kDay;
  o = Verify(options);
  EXPECT_TRUE(o.summary.equal());
}

TEST_F(VerifyChecksumTest, MissingAndExtraRowsInATableWithoutTime) {
  ASSERT_TRUE(Server()->Exec("DELETE FROM point WHERE point_id = 7", dbname_).ok());
  ASSERT_TRUE(Server()->Exec("INSERT INTO point (point_id, name) VALUES (8, 'X')", dbname_).ok());
  VerifyOptions options;
  options.rows = true;
  options.tables = {FindTable("point")};
  Outcome o = Verify(options);
  ASSERT_EQ(o.differences.size(), 1u);
  EXPECT_FALSE(o.differences[0].timed());
  std::map<std::string, std::string> kinds;
  for (const auto& r : o.rows) kinds[r.key()] = r.kind();
  EXPECT_EQ(kinds, (std::map<std::string, std::string>{{"point_id=7", "missing"}, {"point_id=8", "extra"}}));
}

// Every table of the schema is compared or skipped by name, and a compared table's
// columns plus its ignored ones are the columns a real target has.
TEST_F(VerifyChecksumTest, ComparedColumnsAreTheSchemas) {
  std::set<std::string> named;
  for (const TableSpec& t : ComparedTables()) named.insert(t.name);
  for (const SkippedTable& t : SkippedTables()) EXPECT_TRUE(named.insert(std::string(t.name)).second) << t.name;
  std::set<std::string> schema;
  for (std::string_view t : store::schema::TableNames()) schema.insert(std::string(t));
  EXPECT_EQ(named, schema);

  for (const TableSpec& t : ComparedTables()) {
    std::set<std::string> spec;
    for (const ColumnSpec& c : t.columns) spec.insert(c.name);
    for (const std::string& c : t.ignored_columns) spec.insert(c);
    for (const std::string& k : t.key) EXPECT_TRUE(spec.contains(k)) << t.name << "." << k;
    if (t.timed()) {
      EXPECT_TRUE(spec.contains(t.time_column)) << t.name;
    }
    auto rows = Server()->QueryRows(
        fmt::format("SELECT column_name FROM information_schema.columns WHERE table_name = '{}'", t.name),
        dbname_);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    std::set<std::string> actual;
    for (const auto& r : *rows) actual.insert(r[0]);
    EXPECT_EQ(spec, actual) << t.name;
  }
}

}  // namespace
}  // namespace sluice::verify
