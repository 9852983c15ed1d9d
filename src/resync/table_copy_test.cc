// The table copy between real targets: SQLite files and databases of a PostgreSQL server
// started once per test binary (support/pg_server.h). The source is filled through
// Backend::ApplyBatch, as appliers fill a target; after a copy, every copied table and
// the watermark rows are read back on both sides through Backend::Query (not through
// the copy's own reader) and compared row by row.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/file_system.h"
#include "resync/batch_prefetch.h"
#include "resync/table_copy.h"
#include "store/backend.h"
#include "store/backend_conformance_test_util.h"
#include "store/copy_io.h"
#include "store/schema.h"
#include "support/pg_servers.h"
#include "support/temp_dir.h"

namespace sluice::resync {
namespace {

using store::testing::Correction;
using store::testing::DialectSql;
using store::testing::Samples;
using store::testing::Show;
using store::testing::Sql;

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

// A table's rows as text that compares exactly (doubles by their bits), in key order.
using Dump = std::map<std::string, std::vector<std::string>>;

sluice::testing::PgServer* Server() { return sluice::testing::SharedPgServer(); }

class TableCopyTest : public ::testing::Test {
 protected:
  // A new, empty target of `dialect`.
  CopyEndpoint NewTarget(const std::string& dialect, const std::string& name) {
    CopyEndpoint e;
    e.dialect = dialect;
    e.options.name = name;
    if (dialect == "postgres") {
      sluice::testing::PgServer* server = Server();
      if (server == nullptr) {
        ADD_FAILURE() << "no PostgreSQL server";
        return e;
      }
      static std::atomic<int> databases{0};
      const std::string db = fmt::format("copy_{}_{}", name, ++databases);
      Status created = server->CreateDatabase(db);
      EXPECT_TRUE(created.ok()) << created.ToString();
      e.options.connection = server->ConnInfo(db);
    } else {
      e.options.connection = dir_.Sub(name + ".db");
    }
    return e;
  }

  std::unique_ptr<store::Backend> Connect(const CopyEndpoint& e) {
    auto backend = store::NewBackend(e.dialect, e.options);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    if (!backend.ok()) return nullptr;
    Status s = (*backend)->Connect();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(backend).value();
  }

  static void Apply(store::Backend& b, const store::WatermarkKey& key,
                    const std::vector<v1::Record>& records, store::Lsn first,
                    std::vector<store::ErrorEntry> errors = {}) {
    std::vector<store::ApplyItem> items;
    for (size_t i = 0; i < records.size(); ++i) items.push_back({first + i, &records[i]});
    const store::Lsn watermark = records.empty() ? first : first + records.size() - 1;
    Status s = b.ApplyBatch(key, items, errors, watermark);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Model rows, samples over several days (several partitions on PostgreSQL) and
  // intervals, corrections, events, trigger and recall rows, a rejection, and two
  // streams' watermarks. `seed` varies the values, so two fills differ.
  void Fill(const CopyEndpoint& e, int seed, int sample_batches = 12) {
    auto b = Connect(e);
    ASSERT_NE(b, nullptr);
    const store::WatermarkKey model{"node-a", "epoch-1", "model"};
    const store::WatermarkKey samples{"node-a", "epoch-1", "samples"};
    const store::WatermarkKey events{"node-a", "epoch-1", "events"};
    uint64_t version = static_cast<uint64_t>(seed) * 100000;
    std::vector<v1::Record> m;
    for (int p = 1; p <= 20; ++p) {
      m.push_back(Sql(++version,
                      "INSERT INTO point (point_id, name, description, unit, lower_limit, "
                      "upper_limit, kind, deadband, station) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                      {store::testing::Int(p), store::testing::Text(fmt::format("P{}-{}", seed, p)),
                       store::testing::Text(fmt::format("Pump {} \"main\" 'n°{}' ✓", p, seed)),
                       store::testing::Text("MW"),
                       p % 3 == 0 ? store::testing::Null() : store::testing::Double(-0.1 * p),
                       store::testing::Double(1.0 / 3.0 * p + seed), store::testing::Int(p % 3),
                       store::testing::Double(0.25), store::testing::Text("ST1")}));
      m.push_back(DialectSql(++version,
                             fmt::format("INSERT INTO sample_define (point_id, sample_interval, "
                                         "mode, enabled) VALUES ({}, 3, 1, {})",
                                         p, p % 2),
                             fmt::format("INSERT INTO sample_define (point_id, sample_interval, "
                                         "mode, enabled) VALUES ({}, 3, 1, {})",
                                         p, p % 2 ? "true" : "false")));
    }
    m.push_back(Sql(++version,
                    "INSERT INTO burst_type (trigger_type, name, int_count, float_count, "
                    "string_count, int_columns) VALUES (7, 'trip', 2, 1, 1, 'a,b')"));
    m.push_back(DialectSql(
        ++version,
        "INSERT INTO recall_define (recall_id, name, point_ids, period_us, on_limit) VALUES "
        "(1, 'r1', '1,2', 1000, 0)",
        "INSERT INTO recall_define (recall_id, name, point_ids, period_us, on_limit) VALUES "
        "(1, 'r1', '1,2', 1000, false)"));
    Apply(*b, model, m, 1);

    store::Lsn lsn = 1;
    const auto intervals = store::schema::SampleIntervals();
    for (int batch = 0; batch < sample_batches; ++batch) {
      std::vector<std::tuple<int64_t, int64_t, double, uint32_t>> rows;
      for (int p = 1; p <= 20; ++p) {
        for (int k = 0; k < 10; ++k) {
          rows.emplace_back(p, kT0 + batch * (kDay / 2) + k * 60'000'000,
                            seed * 1000.0 + batch + p / 7.0 + k, (batch + k) % 4);
        }
      }
      std::vector<v1::Record> records = {
          Samples(++version, intervals[static_cast<size_t>(batch) % 3], rows)};
      records.push_back(Correction(++version, intervals[0], 1 + batch % 20,
                                   kT0 + batch * (kDay / 2), -1.5 * batch, 0x10));
      Apply(*b, samples, records, lsn);
      lsn += records.size();
    }
    std::vector<v1::Record> ev;
    for (int i = 0; i < 5; ++i) {
      v1::Record r;
      r.set_version(++version);
      for (int j = 0; j < 7; ++j) {
        v1::Event* e2 = r.mutable_events()->add_events();
        e2->set_ts_us(kT0 + i * kDay + j);
        e2->set_point_id(j);
        e2->set_kind(j % 2 ? "breaker_trip" : "limit");
        e2->set_severity(j);
        e2->set_source("scada");
        e2->set_text(fmt::format("event {}/{} of seed {}", i, j, seed));
      }
      ev.push_back(std::move(r));
    }
    {
      v1::Record t;
      t.set_version(++version);
      for (int i = 0; i < 4; ++i) {
        v1::TriggerSample* s = t.mutable_triggers()->add_samples();
        s->set_trigger_type(7);
        s->set_occur_time_us(kT0 + i * 1000 + seed);
        s->add_int_values(i);
        s->add_int_values(-i);
        s->add_float_values(i * 0.1);
        s->add_string_values(fmt::format("s{}", i));
      }
      ev.push_back(std::move(t));
      v1::Record rc;
      rc.set_version(++version);
      for (int i = 0; i < 6; ++i) {
        v1::RecallRow* row = rc.mutable_recall()->add_rows();
        row->set_point_id(1 + i % 2);
        row->set_event_ts_us(kT0);
        row->set_ts_us(kT0 + i * 1000);
        row->set_value(i * 2.5 + seed);
        row->set_quality(0);
      }
      ev.push_back(std::move(rc));
    }
    store::ErrorEntry rejected{"events", 999, "sql", "syntax error at or near \"SELEC\"",
                               "{\"sql\":\"SELEC 1\"}", kT0};
    Apply(*b, events, ev, 1, {rejected});
  }

  // Every copied table and the watermark rows, read through Backend::Query. SQLite reads
  // -0.0 back as 0 and stores a NaN as NULL (store/schema.h); `as_sqlite` does the same
  // to the rows of a source whose copy goes to SQLite.
  Dump Read(const CopyEndpoint& e, bool as_sqlite = false) {
    Dump dump;
    auto b = Connect(e);
    if (b == nullptr) return dump;
    std::vector<const store::CopyTableSpec*> tables;
    for (const store::CopyTableSpec& t : store::CopyTables()) tables.push_back(&t);
    tables.push_back(&store::WatermarkTable());
    for (const store::CopyTableSpec* t : tables) {
      std::vector<std::string> columns, key;
      for (const store::CopyColumn& c : t->columns) columns.push_back(c.name);
      for (size_t i = 0; i < t->key_columns; ++i) key.push_back(columns[i]);
      const std::string sql = fmt::format("SELECT {} FROM {} ORDER BY {}", fmt::join(columns, ", "),
                                          t->name, fmt::join(key, ", "));
      std::vector<std::string>& out = dump[t->name];
      Status s = b->Query(store::testing::Statement(sql), 1000, 0,
                          [&](const std::vector<std::string>&,
                              std::vector<std::vector<v1::SqlValue>>& rows) {
                            for (auto& row : rows) {
                              for (v1::SqlValue& v : row) {
                                if (!as_sqlite || !v.has_double_value()) continue;
                                if (v.double_value() == 0.0) v.set_double_value(0.0);
                                if (std::isnan(v.double_value())) v.set_null_value(true);
                              }
                              out.push_back(fmt::format("{}", fmt::join(Show(row), " | ")));
                            }
                            return Status::OK();
                          });
      EXPECT_TRUE(s.ok()) << e.options.name << ": " << sql << ": " << s.ToString();
    }
    return dump;
  }

  static size_t Rows(const Dump& d) {
    size_t n = 0;
    for (const auto& [table, rows] : d) {
      if (table != "sluice_watermark") n += rows.size();
    }
    return n;
  }

  // Same tables, same rows in the same order; the first difference of each table shown.
  static void ExpectSame(const Dump& source, const Dump& copy) {
    ASSERT_EQ(source.size(), copy.size());
    for (const auto& [table, rows] : source) {
      const auto& other = copy.at(table);
      EXPECT_EQ(rows.size(), other.size()) << table;
      for (size_t i = 0; i < std::min(rows.size(), other.size()); ++i) {
        if (rows[i] != other[i]) {
          ADD_FAILURE() << table << " row " << i << ":\n  source " << rows[i] << "\n  copy   " << other[i];
          break;
        }
      }
    }
  }

  CopyOptions Options(size_t batch_rows = 100) {
    CopyOptions o;
    o.mark_path = dir_.Sub("resync.mark");
    o.batch_rows = batch_rows;
    return o;
  }

  sluice::testing::TempDir dir_{"sluice-table-copy"};
};

// The copy knows every column of every table of the schema, and every table is either
// copied or skipped on purpose.
TEST_F(TableCopyTest, SpecsMatchTheSchemaOfEveryDialect) {
  for (const std::string dialect : {"sqlite", "postgres"}) {
    CopyEndpoint e = NewTarget(dialect, "schema");
    auto b = Connect(e);
    ASSERT_NE(b, nullptr);
    std::vector<const store::CopyTableSpec*> tables;
    for (const store::CopyTableSpec& t : store::CopyTables()) tables.push_back(&t);
    tables.push_back(&store::WatermarkTable());
    for (const store::CopyTableSpec* t : tables) {
      // The result's columns are the table's, in schema order (the sink is called once
      // even for no rows).
      const std::string sql = fmt::format("SELECT * FROM {} LIMIT 0", t->name);
      std::vector<std::string> got, want;
      for (const store::CopyColumn& c : t->columns) want.push_back(c.name);
      Status s = b->Query(store::testing::Statement(sql), 1000, 0,
                          [&](const std::vector<std::string>& columns,
                              std::vector<std::vector<v1::SqlValue>>&) {
                            got = columns;
                            return Status::OK();
                          });
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(got, want) << dialect << " " << t->name;
    }
  }
  for (std::string_view name : store::schema::TableNames()) {
    const bool skipped = name == "sluice_schema_version" || name == "sluice_node_lock";
    EXPECT_NE(skipped, store::FindCopyTable(name) != nullptr) << name;
  }
}

class TableCopyBetweenDialects
    : public TableCopyTest,
      public ::testing::WithParamInterface<std::pair<std::string, std::string>> {};

TEST_P(TableCopyBetweenDialects, CopiesEveryTableAndTheWatermarks) {
  const auto& [from, to] = GetParam();
  CopyEndpoint source = NewTarget(from, "src");
  CopyEndpoint destination = NewTarget(to, "dst");
  ASSERT_NO_FATAL_FAILURE(Fill(source, 1));
  const Dump want = Read(source, to == "sqlite");
  ASSERT_GT(Rows(want), 2000u);
  ASSERT_EQ(want.at("sluice_watermark").size(), 3u);

  std::vector<CopyProgress> seen;
  auto copied = CopyTables(source, destination, Options(),
                           [&](const CopyProgress& p) {
                             seen.push_back(p);
                             return Status::OK();
                           });
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_FALSE(copied->resumed);
  EXPECT_EQ(copied->restart_reason, "");
  EXPECT_EQ(copied->rows_this_run, static_cast<int64_t>(Rows(want)));
  EXPECT_EQ(copied->watermark_rows, 3u);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(seen.back().done);
  EXPECT_EQ(seen.back().rows_copied, static_cast<int64_t>(Rows(want)));
  EXPECT_EQ(seen.back().rows_total, static_cast<int64_t>(Rows(want)));
  EXPECT_EQ(seen.back().tables_done, store::CopyTables().size());
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].rows_copied, seen[i - 1].rows_copied);
  EXPECT_FALSE(FileSystem::Default()->Exists(Options().mark_path));
  ExpectSame(want, Read(destination));

  // The destination goes on as a target: an applier continues from the copied watermark,
  // and new ids follow the copied ones.
  auto b = Connect(destination);
  ASSERT_NE(b, nullptr);
  const store::WatermarkKey events{"node-a", "epoch-1", "events"};
  auto wm = b->ReadWatermark(events);
  ASSERT_TRUE(wm.ok()) << wm.status().ToString();
  EXPECT_EQ(*wm, 7u);
  v1::Record more;
  more.set_version(999999);
  more.mutable_events()->add_events()->set_kind("after_resync");
  more.mutable_events()->mutable_events(0)->set_ts_us(kT0);
  ASSERT_NO_FATAL_FAILURE(Apply(*b, events, {more}, *wm + 1));
  const Dump after = Read(destination);
  ASSERT_EQ(after.at("event_log").size(), want.at("event_log").size() + 1);
  EXPECT_NE(after.at("event_log").back().find("after_resync"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Dialects, TableCopyBetweenDialects,
    ::testing::Values(std::pair<std::string, std::string>{"sqlite", "sqlite"},
                      std::pair<std::string, std::string>{"sqlite", "postgres"},
                      std::pair<std::string, std::string>{"postgres", "sqlite"},
                      std::pair<std::string, std::string>{"postgres", "postgres"}),
    [](const auto& info) { return info.param.first + "_to_" + info.param.second; });

// Values a text form could bend arrive bit for bit: NaN (PostgreSQL only: SQLite stores
// it as NULL), -0.0, infinities, the smallest subnormal and the largest double, NULL;
// texts with tabs, newlines, carriage returns, backslashes and "\N" (the escapes of COPY's
// text format), quotes, non-ASCII, an empty text and a long one. On SQLite, -0.0 reads
// back as 0 and a NaN as NULL (Read's as_sqlite).
class TableCopyExactValues
    : public TableCopyTest,
      public ::testing::WithParamInterface<std::pair<std::string, std::string>> {};

TEST_P(TableCopyExactValues, KeepsEveryValueBitForBit) {
  const auto& [from, to] = GetParam();
  CopyEndpoint source = NewTarget(from, "src");
  CopyEndpoint destination = NewTarget(to, "dst");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const std::vector<v1::SqlValue> reals = {
      store::testing::Double(-0.0), store::testing::Double(kInf),
      store::testing::Double(-kInf), store::testing::Double(std::numeric_limits<double>::denorm_min()),
      store::testing::Double(std::numeric_limits<double>::max()), store::testing::Double(0.1),
      store::testing::Double(-1e-300), store::testing::Double(1.0 / 3.0), store::testing::Null()};
  const std::vector<std::string> texts = {"tab\there", "new\nline\r\n", "back\\slash \\N \\. \\\\",
                                          "quote ' and \"", "", "ünïcödé ✓ 𝄞",
                                          std::string(70'000, 'x') + "\t"};
  {
    auto b = Connect(source);
    ASSERT_NE(b, nullptr);
    std::vector<v1::Record> m;
    uint64_t version = 0;
    for (size_t i = 0; i < std::max(reals.size(), texts.size()); ++i) {
      // The NaN as a literal: a bound NaN parameter is written as NULL on every dialect.
      v1::Record r = DialectSql(
          ++version,
          "INSERT INTO point (point_id, name, description, unit, lower_limit, upper_limit, "
          "deadband, hihi_limit, station) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
          "INSERT INTO point (point_id, name, description, unit, lower_limit, upper_limit, "
          "deadband, hihi_limit, station) VALUES ($1, $2, $3, $4, $5, $6, $7, 'NaN'::float8, $8)");
      for (const v1::SqlValue& v :
           {store::testing::Int(static_cast<int64_t>(i + 1)),
            store::testing::Text(fmt::format("P{}", i)), store::testing::Text(texts[i % texts.size()]),
            // Only lower_limit takes the NULL (reals' last): the others are NOT NULL.
            store::testing::Text(texts[(i + 1) % texts.size()]), reals[i % reals.size()],
            reals[(i + 1) % (reals.size() - 1)], reals[(i + 2) % (reals.size() - 1)],
            store::testing::Text(texts[(i + 2) % texts.size()])}) {
        *r.mutable_sql()->add_params() = v;
      }
      m.push_back(std::move(r));
    }
    v1::Record ev;
    ev.set_version(++version);
    for (size_t i = 0; i < texts.size(); ++i) {
      v1::Event* e = ev.mutable_events()->add_events();
      e->set_ts_us(kT0 + static_cast<int64_t>(i));
      e->set_kind(texts[i]);
      e->set_text(texts[(i + 3) % texts.size()]);
    }
    m.push_back(std::move(ev));
    Apply(*b, {"node-a", "epoch-1", "model\tstream"}, m, 1);
  }
  const Dump want = Read(source, to == "sqlite");
  ASSERT_EQ(want.at("point").size(), std::max(reals.size(), texts.size()));
  if (from == "postgres") {
    ASSERT_NE(want.at("point").front().find(to == "sqlite" ? "null" : "nan"), std::string::npos);
  }
  auto copied = CopyTables(source, destination, Options(4), nullptr);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  ExpectSame(want, Read(destination));
}

INSTANTIATE_TEST_SUITE_P(
    Dialects, TableCopyExactValues,
    ::testing::Values(std::pair<std::string, std::string>{"postgres", "postgres"},
                      std::pair<std::string, std::string>{"postgres", "sqlite"},
                      std::pair<std::string, std::string>{"sqlite", "postgres"}),
    [](const auto& info) { return info.param.first + "_to_" + info.param.second; });

// Stopped after some batches (the progress callback fails, as a crash would stop it
// after the mark), then run again: it goes on after the mark and ends with the source's
// rows exactly, none twice. A row committed past the mark (a crash between a batch's
// commit and its mark) is removed on resume.
class TableCopyResume : public TableCopyTest,
                        public ::testing::WithParamInterface<std::pair<std::string, std::string>> {};

TEST_P(TableCopyResume, ResumesAfterTheMark) {
  const auto& [from, to] = GetParam();
  CopyEndpoint source = NewTarget(from, "src");
  CopyEndpoint destination = NewTarget(to, "dst");
  ASSERT_NO_FATAL_FAILURE(Fill(source, 2));
  const Dump want = Read(source, to == "sqlite");
  const CopyOptions options = Options(150);

  // Stop once well into the sample tables.
  const int64_t stop_after = static_cast<int64_t>(Rows(want)) / 150 / 2;
  int64_t stopped_at_rows = 0;
  auto first = CopyTables(source, destination, options, [&](const CopyProgress& p) {
    if (p.batches == stop_after) {
      stopped_at_rows = p.rows_copied;
      return Status::Aborted("injected stop");
    }
    return Status::OK();
  });
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), Code::kAborted);
  EXPECT_EQ(first.status().message(), "injected stop");
  ASSERT_TRUE(FileSystem::Default()->Exists(options.mark_path));
  auto contents = ReadWholeFile(FileSystem::Default(), options.mark_path);
  ASSERT_TRUE(contents.ok());
  auto mark = DecodeMark(*contents, options.mark_path);
  ASSERT_TRUE(mark.ok()) << mark.status().ToString();
  EXPECT_EQ(mark->rows_copied, stopped_at_rows);
  // Incomplete: no watermarks yet.
  EXPECT_TRUE(Read(destination).at("sluice_watermark").empty());

  // A batch that committed after the mark (a crash before the mark was replaced): a row
  // past the mark's key in the mark's table.
  const store::CopyTableSpec* spec = store::FindCopyTable(mark->table);
  ASSERT_NE(spec, nullptr);
  ASSERT_TRUE(spec->sample_table) << mark->table;
  {
    auto b = Connect(destination);
    ASSERT_NE(b, nullptr);
    const int64_t point = std::get<int64_t>(mark->after[0]);
    v1::SampleInterval interval = v1::SAMPLE_INTERVAL_UNSPECIFIED;
    for (v1::SampleInterval i : store::schema::SampleIntervals()) {
      if (store::schema::SampleTableName(i) == mark->table) interval = i;
    }
    ASSERT_NO_FATAL_FAILURE(Apply(*b, {"node-x", "epoch-x", "samples"},
                                  {Samples(1, interval, {{point + 100, kT0, 1.0, 0}})}, 1));
  }

  std::vector<CopyProgress> seen;
  auto second = CopyTables(source, destination, options, [&](const CopyProgress& p) {
    seen.push_back(p);
    return Status::OK();
  });
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->resumed);
  EXPECT_EQ(second->restart_reason, "");
  EXPECT_EQ(second->rows_this_run, static_cast<int64_t>(Rows(want)) - stopped_at_rows);
  EXPECT_EQ(second->progress.rows_copied, static_cast<int64_t>(Rows(want)));
  ASSERT_FALSE(seen.empty());
  EXPECT_GT(seen.front().rows_copied, stopped_at_rows);
  ExpectSame(want, Read(destination));
  EXPECT_FALSE(FileSystem::Default()->Exists(options.mark_path));
}

INSTANTIATE_TEST_SUITE_P(
    Dialects, TableCopyResume,
    ::testing::Values(std::pair<std::string, std::string>{"sqlite", "postgres"},
                      std::pair<std::string, std::string>{"postgres", "sqlite"}),
    [](const auto& info) { return info.param.first + "_to_" + info.param.second; });

// The source applied more since the mark: the copy starts over and says why.
TEST_F(TableCopyTest, RestartsFromScratchWhenTheSourceMovedOn) {
  CopyEndpoint source = NewTarget("sqlite", "src");
  CopyEndpoint destination = NewTarget("sqlite", "dst");
  ASSERT_NO_FATAL_FAILURE(Fill(source, 3));
  const CopyOptions options = Options(100);
  auto first = CopyTables(source, destination, options, [&](const CopyProgress& p) {
    return p.batches == 5 ? Status::Aborted("injected stop") : Status::OK();
  });
  ASSERT_FALSE(first.ok());
  ASSERT_TRUE(FileSystem::Default()->Exists(options.mark_path));

  auto b = Connect(source);
  ASSERT_NE(b, nullptr);
  ASSERT_NO_FATAL_FAILURE(Apply(*b, {"node-a", "epoch-1", "model"},
                                {Sql(5'000'000, "UPDATE point SET unit = 'kV' WHERE point_id = 1")},
                                1000));
  const Dump want = Read(source);
  auto second = CopyTables(source, destination, options, nullptr);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->resumed);
  EXPECT_NE(second->restart_reason.find("moved on"), std::string::npos) << second->restart_reason;
  EXPECT_NE(second->restart_reason.find(options.mark_path), std::string::npos);
  EXPECT_EQ(second->rows_this_run, static_cast<int64_t>(Rows(want)));
  ExpectSame(want, Read(destination));
}

// A mark written while copying from one target is not used for another, even one with
// the same watermarks: target-local ids may differ between them.
TEST_F(TableCopyTest, RestartsFromScratchForAnotherSource) {
  CopyEndpoint source = NewTarget("sqlite", "src");
  CopyEndpoint twin = NewTarget("sqlite", "twin");
  CopyEndpoint destination = NewTarget("sqlite", "dst");
  ASSERT_NO_FATAL_FAILURE(Fill(source, 8, 3));
  // The twin is a copy: the same rows and watermark rows (updated_at included).
  CopyOptions to_twin = Options(50);
  to_twin.mark_path = dir_.Sub("twin.mark");
  ASSERT_TRUE(CopyTables(source, twin, to_twin, nullptr).ok());
  ASSERT_EQ(Read(source).at("sluice_watermark"), Read(twin).at("sluice_watermark"));
  const CopyOptions options = Options(50);
  auto first = CopyTables(source, destination, options, [&](const CopyProgress& p) {
    return p.batches == 4 ? Status::Aborted("injected stop") : Status::OK();
  });
  ASSERT_FALSE(first.ok());
  auto second = CopyTables(twin, destination, options, nullptr);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->resumed);
  EXPECT_NE(second->restart_reason.find("another source"), std::string::npos)
      << second->restart_reason;
  ExpectSame(Read(twin), Read(destination));
}

// A destination holding other rows (another history, other watermarks) ends with the
// source's rows only.
TEST_F(TableCopyTest, ExtraRowsInTheDestinationAreGone) {
  for (const std::string to : {"sqlite", "postgres"}) {
    CopyEndpoint source = NewTarget("sqlite", "src" + to);
    CopyEndpoint destination = NewTarget(to, "dst");
    ASSERT_NO_FATAL_FAILURE(Fill(source, 4, 3));
    ASSERT_NO_FATAL_FAILURE(Fill(destination, 5, 6));
    {
      auto b = Connect(destination);
      ASSERT_NO_FATAL_FAILURE(Apply(*b, {"node-z", "epoch-z", "other"},
                                    {Samples(1, v1::SAMPLE_INTERVAL_1D, {{42, kT0 + 50 * kDay, 1, 0}})}, 1));
    }
    const Dump want = Read(source);
    ASSERT_NE(want, Read(destination));
    auto copied = CopyTables(source, destination, Options(), nullptr);
    ASSERT_TRUE(copied.ok()) << copied.status().ToString();
    ExpectSame(want, Read(destination));
  }
}

// A byte limit smaller than a batch of batch_rows rows: every table goes in batches of
// its own size (the sample tables' several rows, burst_sample's one), and the copy is
// whole and exact.
TEST_F(TableCopyTest, ByteLimitMakesSmallerBatchesOfWideTables) {
  CopyEndpoint source = NewTarget("postgres", "src");
  CopyEndpoint destination = NewTarget("postgres", "dst");
  ASSERT_NO_FATAL_FAILURE(Fill(source, 1, /*sample_batches=*/3));  // a batch per few rows
  const Dump want = Read(source);
  CopyOptions options = Options(1000);
  options.batch_bytes = 2000;
  auto copied = CopyTables(source, destination, options, nullptr);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->rows_this_run, static_cast<int64_t>(Rows(want)));
  EXPECT_GT(copied->progress.batches, static_cast<int64_t>(Rows(want) / 16));  // 7 sample rows a batch
  ExpectSame(want, Read(destination));
}

TEST(BatchRowsTest, LimitsWideTablesByBytes) {
  const store::CopyTableSpec* sample = nullptr;
  const store::CopyTableSpec* burst = nullptr;
  for (const store::CopyTableSpec& t : store::CopyTables()) {
    if (t.name == "sample_1min") sample = &t;
    if (t.name == "burst_sample") burst = &t;
  }
  ASSERT_NE(sample, nullptr);
  ASSERT_NE(burst, nullptr);
  const CopyOptions defaults;
  // The defaults: sample rows by batch_rows, burst_sample rows by bytes.
  EXPECT_EQ(BatchRows(*sample, defaults.batch_rows, defaults.batch_bytes), defaults.batch_rows);
  const size_t burst_rows = BatchRows(*burst, defaults.batch_rows, defaults.batch_bytes);
  EXPECT_LT(burst_rows, defaults.batch_rows);
  EXPECT_GT(burst_rows, 1000u);
  EXPECT_LE(burst_rows * burst->columns.size() * sizeof(store::CopyValue), defaults.batch_bytes);
  EXPECT_EQ(BatchRows(*burst, 100, 0), 100u);  // no byte limit
  EXPECT_EQ(BatchRows(*burst, 100, 1), 1u);    // at least one row
}

TEST_F(TableCopyTest, CorruptMarkFileIsAClearError) {
  CopyEndpoint source = NewTarget("sqlite", "src");
  CopyEndpoint destination = NewTarget("sqlite", "dst");
  ASSERT_NO_FATAL_FAILURE(Fill(source, 6, 2));
  const CopyOptions options = Options(50);
  auto first = CopyTables(source, destination, options, [&](const CopyProgress& p) {
    return p.batches == 3 ? Status::Aborted("injected stop") : Status::OK();
  });
  ASSERT_FALSE(first.ok());
  auto good = ReadWholeFile(FileSystem::Default(), options.mark_path);
  ASSERT_TRUE(good.ok());

  const auto expect_error = [&](const std::string& contents, const std::string& what) {
    ASSERT_TRUE(WriteFileAtomically(FileSystem::Default(), options.mark_path, contents).ok());
    auto copied = CopyTables(source, destination, options, nullptr);
    ASSERT_FALSE(copied.ok()) << what;
    EXPECT_EQ(copied.status().code(), Code::kCorruption) << copied.status().ToString();
    EXPECT_NE(copied.status().message().find(options.mark_path), std::string::npos)
        << copied.status().ToString();
    EXPECT_NE(copied.status().message().find(what), std::string::npos) << copied.status().ToString();
  };
  // One byte changed in the key: the checksum tells.
  std::string flipped = *good;
  const size_t key_line = flipped.find("\ni ");
  ASSERT_NE(key_line, std::string::npos) << flipped;
  flipped[key_line + 3] = flipped[key_line + 3] == '1' ? '2' : '1';
  expect_error(flipped, "checksum mismatch");
  expect_error(good->substr(0, good->size() - 5), "does not end with a newline");
  expect_error("", "empty");
  expect_error("hello\n", "not 'crc32c <hex>'");
  // Well-formed but wrong: a table the copy does not know, a key of the wrong shape.
  ResumeMark bad_table{"abc", "no_such_table", {int64_t{1}}, 10};
  expect_error(EncodeMark(bad_table), "'no_such_table' is not a copied table");
  ResumeMark bad_key{"abc", "point", {int64_t{1}, int64_t{2}}, 10};
  expect_error(EncodeMark(bad_key), "2 key values, but the key of point has 1 columns");
  ResumeMark bad_type{"abc", "point", {std::string("x")}, 10};
  expect_error(EncodeMark(bad_type), "does not fit column point.point_id");

  // With the good mark back, the copy resumes and completes.
  ASSERT_TRUE(WriteFileAtomically(FileSystem::Default(), options.mark_path, *good).ok());
  auto copied = CopyTables(source, destination, options, nullptr);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_TRUE(copied->resumed);
  ExpectSame(Read(source), Read(destination));
}

TEST_F(TableCopyTest, BadInputIsRefused) {
  CopyEndpoint source = NewTarget("sqlite", "src");
  ASSERT_NO_FATAL_FAILURE(Fill(source, 7, 1));
  auto same = CopyTables(source, source, Options(), nullptr);
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.status().code(), Code::kInvalidArgument);
  EXPECT_NE(same.status().message().find("same database"), std::string::npos);

  CopyEndpoint oracle = NewTarget("sqlite", "dst");
  oracle.dialect = "oracle";
  auto unknown = CopyTables(source, oracle, Options(), nullptr);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'oracle'"), std::string::npos)
      << unknown.status().ToString();

  CopyEndpoint missing = NewTarget("sqlite", "missing");
  auto no_source = CopyTables(missing, NewTarget("sqlite", "d1"), Options(), nullptr);
  ASSERT_FALSE(no_source.ok());
  EXPECT_NE(no_source.status().message().find("target 'missing'"), std::string::npos)
      << no_source.status().ToString();

  CopyOptions no_mark = Options();
  no_mark.mark_path.clear();
  EXPECT_EQ(CopyTables(source, NewTarget("sqlite", "d2"), no_mark, nullptr).status().code(),
            Code::kInvalidArgument);
  CopyOptions no_batch = Options();
  no_batch.batch_rows = 0;
  EXPECT_EQ(CopyTables(source, NewTarget("sqlite", "d3"), no_batch, nullptr).status().code(),
            Code::kInvalidArgument);
}

TEST(ResumeMarkTest, RoundTripsEveryKind) {
  ResumeMark mark{"0123abcd", "sluice_error",
                  {std::string("node \n with\tbytes ✓"), std::string(""), std::monostate{}, int64_t{-5}},
                  123};
  // A NULL key value does not fit a NOT NULL key in real life; the format carries it.
  auto decoded = DecodeMark(EncodeMark(mark), "m");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->source_digest, mark.source_digest);
  EXPECT_EQ(decoded->table, mark.table);
  EXPECT_EQ(decoded->after, mark.after);
  EXPECT_EQ(decoded->rows_copied, 123);
  EXPECT_NE(WatermarkDigest("sqlite:a", {{std::string("a"), int64_t{1}}}),
            WatermarkDigest("sqlite:a", {{std::string("a"), int64_t{2}}}));
  EXPECT_NE(WatermarkDigest("sqlite:a", {{std::string("a"), int64_t{1}}}),
            WatermarkDigest("sqlite:b", {{std::string("a"), int64_t{1}}}));
  EXPECT_EQ(WatermarkDigest("sqlite:a", {{std::string("a"), int64_t{1}}}),
            WatermarkDigest("sqlite:a", {{std::string("a"), int64_t{1}}}));
}

}  // namespace
}  // namespace sluice::resync
