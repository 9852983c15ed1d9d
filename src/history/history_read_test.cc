// History reads (query.h) over real targets: the same rows written into a SQLite file and
// a real PostgreSQL server (tests/support/pg_server.h) through the backends, as the
// appliers write them. Every read must give identical protos on both, and equal what the
// test computes itself from the rows it wrote: raw pages concatenated are the rows in
// order with their bounds; aggregates, interpolated values and limit statistics are what
// the engines give when the test feeds them the rows directly; the SQL push-down gives
// what streaming gives; pending samples are merged.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "common/log.h"
#include "history/aggregates.h"
#include "history/limit_stats.h"
#include "history/query.h"
#include "sluice/v1/records.pb.h"
#include "store/backend.h"
#include "support/pg_server.h"
#include "support/temp_dir.h"

namespace sluice::history {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
// 2024-03-01T00:00:00Z: partitions on PostgreSQL are made on demand.
constexpr int64_t kBase = 1'709'251'200'000'000;
// The range: an hour and 17 s, so that 7-minute steps leave a partial last interval.
constexpr int64_t kStart = kBase;
constexpr int64_t kEnd = kBase + 60 * kMinute + 17 * kSecond;
constexpr int64_t kAnalog = 1;  // irregular rows, every quality, NULLs, a gap
constexpr int64_t kStatus = 2;  // 0/1 states, stepped
constexpr int64_t kSparse = 3;  // one row before the range, one after: intervals without rows
constexpr int64_t kEmpty = 4;   // no row at all
const std::vector<int64_t> kPoints = {kAnalog, kStatus, kSparse, kEmpty};

struct TestRow {
  int64_t ts_us = 0;
  std::optional<double> value;
  uint32_t quality = 0;
  bool pending = false;
};
using Series = std::map<int64_t, TestRow>;  // by ts

// The rows every test reads, by point; deterministic.
std::map<int64_t, Series> MakeRows() {
  std::map<int64_t, Series> rows;
  std::mt19937_64 rng(20240301);
  std::normal_distribution<double> value(100.0, 15.0);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int64_t> gap(1, 20);
  for (int64_t t = kStart - 5 * kMinute; t < kEnd + 5 * kMinute; t += gap(rng) * kSecond) {
    if (t >= kStart + 20 * kMinute && t < kStart + 31 * kMinute) continue;  // no rows: a gap
    TestRow row{t, value(rng), 0};
    const int p = percent(rng);
    if (p < 10)
      row.quality = v1::QUALITY_QUESTIONABLE;
    else if (p < 15)
      row.quality = v1::QUALITY_INVALID;
    else if (p < 20)
      row.quality = v1::QUALITY_SUBSTITUTED;
    else if (p < 24)
      row.quality = v1::QUALITY_OLD_DATA;
    else if (p < 29)
      row.value.reset();  // NULL
    rows[kAnalog][t] = row;
  }
  // An infinite value is stored as it is and counts as Bad.
  rows[kAnalog][kStart + 40 * kMinute + 500'000] =
      TestRow{kStart + 40 * kMinute + 500'000, std::numeric_limits<double>::infinity(), 0};
  std::uniform_int_distribution<int64_t> state_gap(1, 300);
  int state = 0;
  for (int64_t t = kStart - 3 * kMinute; t < kEnd + 3 * kMinute; t += state_gap(rng) * kSecond) {
    state = percent(rng) < 60 ? 1 - state : state;
    rows[kStatus][t] = TestRow{t, static_cast<double>(state), percent(rng) < 10 ? 2u : 0u};
  }
  rows[kSparse][kStart - 10 * kMinute] = TestRow{kStart - 10 * kMinute, 5.0, 0};
  rows[kSparse][kEnd + 60 * kMinute] = TestRow{kEnd + 60 * kMinute, 6.0, 0};
  rows[kEmpty];
  return rows;
}

const std::map<int64_t, Series>& Rows() {
  static const std::map<int64_t, Series> rows = MakeRows();
  return rows;
}

// Writes the rows as the appliers do: samples records, and SQL records for the NULLs.
Status Fill(store::Backend& backend) {
  std::vector<v1::Record> records(2);
  auto* samples = records[0].mutable_samples();
  samples->set_interval(v1::SAMPLE_INTERVAL_1S);
  records[0].set_version(1);
  records[1].set_version(1);
  std::string nulls;
  for (const auto& [point, series] : Rows()) {
    for (const auto& [ts, row] : series) {
      if (row.value) {
        samples->add_point_id(point);
        samples->add_ts_us(ts);
        samples->add_value(*row.value);
        samples->add_quality(row.quality);
      } else {
        if (!nulls.empty()) nulls += ", ";
        nulls += fmt::format("({}, {}, NULL, {}, 1)", point, ts, row.quality);
      }
    }
  }
  records[1].mutable_sql()->set_text(
      "INSERT INTO sample_1s (point_id, ts, value, quality, ver) VALUES " + nulls);
  const store::WatermarkKey key{"history-test", "1", "samples"};
  SLUICE_RETURN_IF_ERROR(backend.ClaimNode("history-test"));
  for (size_t i = 0; i < records.size(); ++i) {
    const store::ApplyItem item{i + 1, &records[i]};
    SLUICE_RETURN_IF_ERROR(backend.ApplyBatch(key, std::span(&item, 1), {}, i + 1));
  }
  return Status::OK();
}

// Counts the rows a backend hands out, to see whether a read streamed or pushed down.
class CountingBackend final : public store::Backend {
 public:
  explicit CountingBackend(store::Backend* inner) : inner_(inner) {}
  std::string_view dialect() const override { return inner_->dialect(); }
  const std::string& name() const override { return inner_->name(); }
  Status Connect() override { return inner_->Connect(); }
  Status Ping() override { return inner_->Ping(); }
  Status ClaimNode(const std::string& node) override { return inner_->ClaimNode(node); }
  Result<store::Lsn> ReadWatermark(const store::WatermarkKey& key) override {
    return inner_->ReadWatermark(key);
  }
  Status ApplyBatch(const store::WatermarkKey& key, std::span<const store::ApplyItem> items,
                    std::span<const store::ErrorEntry> errors, store::Lsn wm) override {
    return inner_->ApplyBatch(key, items, errors, wm);
  }
  Result<store::RetryResult> ApplyRetry(const store::WatermarkKey& key,
                                        const store::ApplyItem& item) override {
    return inner_->ApplyRetry(key, item);
  }
  Result<store::StatementResult> ApplyIntent(const store::WatermarkKey& key,
                                             const store::ApplyItem& item, size_t max) override {
    return inner_->ApplyIntent(key, item, max);
  }
  Status Query(const v1::SqlStatement& statement, size_t batch_rows, size_t max_rows,
               const store::RowSink& sink) override {
    ++queries;
    return inner_->Query(
        statement, batch_rows, max_rows,
        [&](const std::vector<std::string>& columns, std::vector<std::vector<v1::SqlValue>>& rows) {
          this->rows += rows.size();
          largest_batch = std::max(largest_batch, rows.size());
          return sink(columns, rows);
        });
  }
  size_t queries = 0;
  size_t rows = 0;
  size_t largest_batch = 0;  // rows held at once

 private:
  store::Backend* inner_;
};

std::string Diff(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  MessageDifferencer differ;
  std::string report;
  differ.ReportDifferencesToString(&report);
  return differ.Compare(a, b) ? "" : report;
}
#define EXPECT_SAME(a, b) EXPECT_EQ(Diff((a), (b)), "")

// The test's own view of a row as the engines see it: no finite value, Bad.
RawSample Raw(const TestRow& row) {
  if (row.value && std::isfinite(*row.value)) return RawSample{row.ts_us, *row.value, row.quality};
  return RawSample{row.ts_us, 0, row.quality | v1::QUALITY_INVALID};
}

// Feeds an engine the series of [kStart, kEnd) with its bounds, as a reader would.
template <typename Engine>
void FeedDirectly(Engine& engine, const Series& series, int64_t start, int64_t end) {
  auto first = series.lower_bound(start);
  if (first != series.begin()) {
    ASSERT_TRUE(engine.SetBoundBefore(Raw(std::prev(first)->second)).ok());
  }
  auto last = series.lower_bound(end);
  for (auto it = first; it != last; ++it) ASSERT_TRUE(engine.Add(Raw(it->second)).ok());
  std::optional<RawSample> after;
  if (last != series.end()) after = Raw(last->second);
  ASSERT_TRUE(engine.Finish(after).ok());
}

v1::HistorySample Sample(const TestRow& row) {
  v1::HistorySample s;
  s.set_ts_us(row.ts_us);
  if (row.value) s.set_value(*row.value);
  s.set_quality(row.quality);
  s.set_pending(row.pending);
  return s;
}

v1::ValueStatus StatusOf(Severity severity) {
  return severity == Severity::kGood        ? v1::VALUE_STATUS_GOOD
         : severity == Severity::kUncertain ? v1::VALUE_STATUS_UNCERTAIN
                                            : v1::VALUE_STATUS_BAD;
}

class HistoryReadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    log::Init("warn");
    auto server = testing::PgServer::CreateAndStart();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value().release();
    ASSERT_TRUE(server_->CreateDatabase("history").ok());
    dir_ = new testing::TempDir("sluice-history-read");
    for (auto [dialect, connection] :
         {std::pair<std::string, std::string>{"sqlite", dir_->Sub("t.db")},
          {"postgres", server_->ConnInfo("history")}}) {
      store::BackendOptions options;
      options.name = dialect;
      options.connection = connection;
      auto backend = store::NewBackend(dialect, options);
      ASSERT_TRUE(backend.ok()) << backend.status().ToString();
      Status st = (*backend)->Connect();
      ASSERT_TRUE(st.ok()) << st.ToString();
      st = Fill(**backend);
      ASSERT_TRUE(st.ok()) << dialect << ": " << st.ToString();
      (dialect == "sqlite" ? sqlite_ : postgres_) = backend->release();
    }
  }
  static void TearDownTestSuite() {
    delete sqlite_;
    delete postgres_;
    delete dir_;
    delete server_;
  }

  static std::vector<PointInfo> Infos() {
    return {PointInfo{kAnalog, false, 110.0, 90.0}, PointInfo{kStatus, true, 0.5, {}},
            PointInfo{kSparse, false, {}, 4.0}, PointInfo{kEmpty, false, 1.0, 0.0}};
  }
  static v1::HistoryRange Range() {
    v1::HistoryRange range;
    for (int64_t p : kPoints) range.add_point_ids(p);
    range.set_interval(v1::SAMPLE_INTERVAL_1S);
    range.set_start_us(kStart);
    range.set_end_us(kEnd);
    return range;
  }

  // What the aggregates must be, from the engine fed directly.
  static v1::ReadAggregatesResponse ExpectedAggregates(const std::map<int64_t, Series>& rows,
                                                       const std::vector<Aggregate>& aggregates,
                                                       const v1::AggregateSettings& settings,
                                                       int64_t step_us) {
    v1::ReadAggregatesResponse expected;
    for (const PointInfo& info : Infos()) {
      AggregateConfig config;
      config.stepped = settings.has_stepped() ? settings.stepped() : info.stepped;
      if (settings.has_treat_uncertain_as_bad())
        config.treat_uncertain_as_bad = settings.treat_uncertain_as_bad();
      if (settings.has_percent_data_good())
        config.percent_data_good = static_cast<int>(settings.percent_data_good());
      if (settings.has_percent_data_bad())
        config.percent_data_bad = static_cast<int>(settings.percent_data_bad());
      auto engine = AggregateEngine::Create(aggregates, TimeGrid{kStart, kEnd, step_us}, config);
      EXPECT_TRUE(engine.ok());
      FeedDirectly(**engine, rows.at(info.point_id), kStart, kEnd);
      std::vector<IntervalResult> intervals = (*engine)->TakeClosed();
      for (size_t a = 0; a < aggregates.size(); ++a) {
        v1::AggregateSeries* series = expected.add_series();
        series->set_point_id(info.point_id);
        series->set_aggregate(static_cast<v1::AggregateType>(
            std::find(AllAggregates().begin(), AllAggregates().end(), aggregates[a]) -
            AllAggregates().begin() + 1));
        for (const IntervalResult& interval : intervals) {
          v1::AggregateValueProto* v = series->add_values();
          v->set_ts_us(interval.values[a].ts_us);
          if (interval.values[a].value) v->set_value(*interval.values[a].value);
          v->set_status(StatusOf(interval.values[a].status));
          v->set_partial(interval.span.partial);
        }
      }
    }
    return expected;
  }

  static v1::ReadAggregatesRequest AggregatesRequest(const std::vector<Aggregate>& aggregates,
                                                     int64_t step_us) {
    v1::ReadAggregatesRequest request;
    *request.mutable_range() = Range();
    request.set_step_us(step_us);
    for (Aggregate a : aggregates) {
      request.mutable_aggregates()->Add(
          static_cast<int>(std::find(AllAggregates().begin(), AllAggregates().end(), a) -
                           AllAggregates().begin() + 1));
    }
    return request;
  }

  static std::vector<v1::AggregateSettings> SettingsVariants() {
    std::vector<v1::AggregateSettings> variants(4);
    variants[1].set_treat_uncertain_as_bad(false);
    variants[1].set_percent_data_good(80);
    variants[1].set_percent_data_bad(30);
    variants[2].set_stepped(true);
    variants[3].set_percent_data_bad(0);  // every interval Bad: statuses in the corners
    variants[3].set_percent_data_good(0);
    return variants;
  }

  static inline testing::PgServer* server_ = nullptr;
  static inline testing::TempDir* dir_ = nullptr;
  static inline store::Backend* sqlite_ = nullptr;
  static inline store::Backend* postgres_ = nullptr;
};

// All pages of a raw read.
std::vector<v1::ReadRawResponse> ReadAllPages(store::Backend& backend, v1::ReadRawRequest request,
                                              const PendingSamples* pending) {
  std::vector<v1::ReadRawResponse> pages;
  QueryLimits limits;
  for (int guard = 0; guard < 100000; ++guard) {
    v1::ReadRawResponse& page = pages.emplace_back();
    Status st = ReadRaw(backend, request, pending, limits, &page);
    EXPECT_TRUE(st.ok()) << backend.dialect() << ": " << st.ToString();
    if (!st.ok() || page.continuation().empty()) break;
    request.set_continuation(page.continuation());
  }
  return pages;
}

// Checks the pages of a raw read against the rows: each point's rows in order, exactly
// once, bounds once (before on its first page, after on its last), at most max_values a page.
void ExpectRawPages(const std::vector<v1::ReadRawResponse>& pages,
                    const std::map<int64_t, Series>& rows, uint32_t max_values, bool bounds) {
  std::map<int64_t, std::vector<v1::HistorySample>> got;
  std::map<int64_t, int> befores, afters;
  std::vector<int64_t> order;
  for (const v1::ReadRawResponse& page : pages) {
    size_t in_page = 0;
    for (const v1::PointRawSamples& point : page.points()) {
      if (order.empty() || order.back() != point.point_id()) order.push_back(point.point_id());
      for (const auto& s : point.samples()) got[point.point_id()].push_back(s);
      in_page += static_cast<size_t>(point.samples_size());
      if (point.has_bound_before()) {
        ++befores[point.point_id()];
        EXPECT_TRUE(got[point.point_id()].size() == static_cast<size_t>(point.samples_size()))
            << "bound before of point " << point.point_id() << " not on its first page";
        auto first = rows.at(point.point_id()).lower_bound(kStart);
        ASSERT_NE(first, rows.at(point.point_id()).begin());
        EXPECT_SAME(point.bound_before(), Sample(std::prev(first)->second));
      }
      if (point.has_bound_after()) {
        ++afters[point.point_id()];
        auto after = rows.at(point.point_id()).lower_bound(kEnd);
        ASSERT_NE(after, rows.at(point.point_id()).end());
        EXPECT_SAME(point.bound_after(), Sample(after->second));
      }
    }
    EXPECT_LE(in_page, max_values);
  }
  EXPECT_EQ(order, kPoints);
  for (int64_t point : kPoints) {
    const Series& series = rows.at(point);
    std::vector<v1::HistorySample> expected;
    for (auto it = series.lower_bound(kStart); it != series.lower_bound(kEnd); ++it) {
      expected.push_back(Sample(it->second));
    }
    ASSERT_EQ(got[point].size(), expected.size()) << "point " << point;
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_SAME(got[point][i], expected[i]);
    const bool has_before = series.lower_bound(kStart) != series.begin();
    const bool has_after = series.lower_bound(kEnd) != series.end();
    EXPECT_EQ(befores[point], bounds && has_before ? 1 : 0) << "point " << point;
    EXPECT_EQ(afters[point], bounds && has_after ? 1 : 0) << "point " << point;
  }
}

TEST_F(HistoryReadTest, RawPagesAreTheRowsInOrderAndIdenticalOnBothTargets) {
  for (uint32_t max_values : {1u, 7u, 100u, 0u}) {
    for (bool bounds : {true, false}) {
      SCOPED_TRACE(fmt::format("max_values {} bounds {}", max_values, bounds));
      v1::ReadRawRequest request;
      *request.mutable_range() = Range();
      request.set_max_values(max_values);
      request.set_bounds(bounds);
      const auto on_sqlite = ReadAllPages(*sqlite_, request, nullptr);
      const auto on_postgres = ReadAllPages(*postgres_, request, nullptr);
      ASSERT_EQ(on_sqlite.size(), on_postgres.size());
      for (size_t i = 0; i < on_sqlite.size(); ++i) EXPECT_SAME(on_sqlite[i], on_postgres[i]);
      ExpectRawPages(on_sqlite, Rows(), max_values == 0 ? QueryLimits{}.default_page : max_values,
                     bounds);
      if (max_values == 1) {
        size_t rows = 0;
        for (int64_t p : kPoints)
          rows += std::distance(Rows().at(p).lower_bound(kStart), Rows().at(p).lower_bound(kEnd));
        EXPECT_GE(on_sqlite.size(), rows) << "one row a page";
      }
    }
  }
}

TEST_F(HistoryReadTest, EveryAggregateIsTheEnginesOnBothTargets) {
  std::vector<Aggregate> all(AllAggregates().begin(), AllAggregates().end());
  for (int64_t step : {7 * kMinute, 61 * kSecond, 2 * 3600 * kSecond}) {
    for (const v1::AggregateSettings& settings : SettingsVariants()) {
      SCOPED_TRACE(fmt::format("step {} settings {}", step, settings.ShortDebugString()));
      v1::ReadAggregatesRequest request = AggregatesRequest(all, step);
      *request.mutable_settings() = settings;
      const v1::ReadAggregatesResponse expected = ExpectedAggregates(Rows(), all, settings, step);
      for (store::Backend* backend : {sqlite_, postgres_}) {
        v1::ReadAggregatesResponse got;
        Status st = ReadAggregates(*backend, request, Infos(), nullptr, QueryLimits{}, &got);
        ASSERT_TRUE(st.ok()) << backend->dialect() << ": " << st.ToString();
        EXPECT_SAME(got, expected) << backend->dialect();
      }
    }
  }
}

TEST_F(HistoryReadTest, PushDownGivesTheStreamingResults) {
  const std::vector<std::vector<Aggregate>> lists = {
      {Aggregate::kMinimum, Aggregate::kMaximum, Aggregate::kCount},
      {Aggregate::kCount},
      {Aggregate::kRange, Aggregate::kMinimum},
  };
  for (const auto& aggregates : lists) {
    for (int64_t step : {7 * kMinute, 13 * kSecond, 3 * 3600 * kSecond}) {
      for (const v1::AggregateSettings& settings : SettingsVariants()) {
        SCOPED_TRACE(fmt::format("{} aggregates, step {}, settings {}", aggregates.size(), step,
                                 settings.ShortDebugString()));
        v1::ReadAggregatesRequest request = AggregatesRequest(aggregates, step);
        *request.mutable_settings() = settings;
        const v1::ReadAggregatesResponse expected =
            ExpectedAggregates(Rows(), aggregates, settings, step);
        for (store::Backend* backend : {sqlite_, postgres_}) {
          for (bool push_down : {true, false}) {
            QueryLimits limits;
            limits.push_down = push_down;
            CountingBackend counting(backend);
            v1::ReadAggregatesResponse got;
            Status st = ReadAggregates(counting, request, Infos(), nullptr, limits, &got);
            ASSERT_TRUE(st.ok()) << backend->dialect() << ": " << st.ToString();
            EXPECT_SAME(got, expected) << backend->dialect() << " push_down " << push_down;
            // Pushed down (PostgreSQL only), a point costs at most one row per interval and
            // a bound.
            const size_t intervals = static_cast<size_t>((kEnd - kStart + step - 1) / step);
            if (push_down && backend == postgres_) {
              EXPECT_LE(counting.rows, kPoints.size() * (intervals + 2)) << backend->dialect();
            } else {
              EXPECT_GE(counting.rows, Rows().at(kAnalog).size() / 2) << backend->dialect();
            }
          }
        }
      }
    }
  }
}

TEST_F(HistoryReadTest, InterpolatedIsTheInterpolativeAggregateSlopedOrStepped) {
  for (const v1::AggregateSettings& settings : SettingsVariants()) {
    SCOPED_TRACE(settings.ShortDebugString());
    v1::ReadInterpolatedRequest request;
    *request.mutable_range() = Range();
    request.set_step_us(kMinute);
    *request.mutable_settings() = settings;
    const auto expected =
        ExpectedAggregates(Rows(), {Aggregate::kInterpolative}, settings, kMinute);
    for (store::Backend* backend : {sqlite_, postgres_}) {
      v1::ReadAggregatesResponse got;
      Status st = ReadInterpolated(*backend, request, Infos(), nullptr, QueryLimits{}, &got);
      ASSERT_TRUE(st.ok()) << backend->dialect() << ": " << st.ToString();
      EXPECT_SAME(got, expected) << backend->dialect();
    }
  }
  // The status point steps by its kind, and settings.stepped = false makes it slope:
  // the two differ wherever it is between two different states.
  v1::ReadInterpolatedRequest request;
  *request.mutable_range() = Range();
  request.mutable_range()->clear_point_ids();
  request.mutable_range()->add_point_ids(kAnalog);
  request.set_step_us(kMinute);
  const std::vector<PointInfo> stepped = {PointInfo{kAnalog, true, {}, {}}};
  const std::vector<PointInfo> sloped = {PointInfo{kAnalog, false, {}, {}}};
  v1::ReadAggregatesResponse by_kind, overridden;
  ASSERT_TRUE(ReadInterpolated(*sqlite_, request, stepped, nullptr, QueryLimits{}, &by_kind).ok());
  request.mutable_settings()->set_stepped(false);
  ASSERT_TRUE(
      ReadInterpolated(*sqlite_, request, stepped, nullptr, QueryLimits{}, &overridden).ok());
  v1::ReadAggregatesResponse sloped_by_kind;
  request.clear_settings();
  ASSERT_TRUE(
      ReadInterpolated(*sqlite_, request, sloped, nullptr, QueryLimits{}, &sloped_by_kind).ok());
  EXPECT_SAME(overridden, sloped_by_kind);
  EXPECT_NE(Diff(by_kind, sloped_by_kind), "");
}

v1::ReadLimitStatsResponse ExpectedLimits(const std::map<int64_t, Series>& rows,
                                          const std::vector<PointInfo>& infos,
                                          std::optional<double> high, std::optional<double> low,
                                          int64_t step) {
  v1::ReadLimitStatsResponse expected;
  for (const PointInfo& info : infos) {
    LimitConfig config;
    config.high = high || low ? high : info.high;
    config.low = high || low ? low : info.low;
    auto engine =
        LimitStatsEngine::Create(config, TimeGrid{kStart, kEnd, step}, kDefaultMaxIntervals);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    FeedDirectly(**engine, rows.at(info.point_id), kStart, kEnd);
    v1::LimitSeries* series = expected.add_series();
    series->set_point_id(info.point_id);
    if (config.high) series->set_high(*config.high);
    if (config.low) series->set_low(*config.low);
    for (const LimitIntervalResult& r : (*engine)->TakeClosed()) {
      v1::LimitIntervalProto* out = series->add_intervals();
      out->set_start_us(r.span.start_us);
      out->set_end_us(r.span.end_us);
      out->set_partial(r.span.partial);
      for (auto [stats, proto] :
           {std::pair{&r.above, out->mutable_above()}, std::pair{&r.below, out->mutable_below()}}) {
        proto->set_count(stats->count);
        proto->set_total_us(stats->total_us);
        proto->set_longest_us(stats->longest_us);
        proto->set_longest_start_us(stats->longest_start_us);
      }
      out->set_usable_us(r.usable_us);
      if (r.pass_rate) out->set_pass_rate(*r.pass_rate);
    }
  }
  return expected;
}

TEST_F(HistoryReadTest, LimitStatsAreTheEnginesOnBothTargets) {
  struct Case {
    std::optional<double> high, low;
  };
  for (const Case& c : {Case{}, Case{105.0, 95.0}, Case{{}, 80.0}}) {
    for (int64_t step : {7 * kMinute, 90 * kSecond}) {
      SCOPED_TRACE(
          fmt::format("high {} low {} step {}", c.high.value_or(-1), c.low.value_or(-1), step));
      v1::ReadLimitStatsRequest request;
      *request.mutable_range() = Range();
      request.set_step_us(step);
      if (c.high) request.set_high(*c.high);
      if (c.low) request.set_low(*c.low);
      const auto expected = ExpectedLimits(Rows(), Infos(), c.high, c.low, step);
      for (store::Backend* backend : {sqlite_, postgres_}) {
        v1::ReadLimitStatsResponse got;
        Status st = ReadLimitStats(*backend, request, Infos(), nullptr, QueryLimits{}, &got);
        ASSERT_TRUE(st.ok()) << backend->dialect() << ": " << st.ToString();
        EXPECT_SAME(got, expected) << backend->dialect();
      }
    }
  }
}

TEST_F(HistoryReadTest, PendingSamplesAreMergedIntoEveryRead) {
  // Pending for the analog point: one replaces a stored row, one fills the gap, one is a
  // nearer bound before the range, one a nearer bound after it; the status point gets one
  // past every stored row of the range.
  const Series& analog = Rows().at(kAnalog);
  const int64_t replaced = std::next(analog.lower_bound(kStart), 5)->first;
  const int64_t before = std::prev(analog.lower_bound(kStart))->first + 1;
  const int64_t after = kEnd;  // the first at or after the end
  ASSERT_LT(after, analog.lower_bound(kEnd)->first);
  std::map<int64_t, Series> merged = Rows();
  PendingSamples pending;
  const auto add = [&](int64_t point, TestRow row) {
    row.pending = true;
    merged[point][row.ts_us] = row;
    pending[point].push_back(Sample(row));
  };
  add(kAnalog, TestRow{before, 42.0, 0});
  add(kAnalog, TestRow{replaced, 999.0, v1::QUALITY_SUBSTITUTED});
  add(kAnalog, TestRow{kStart + 25 * kMinute, 7.0, 0});
  add(kAnalog, TestRow{kStart + 25 * kMinute + kSecond, std::nullopt, 0});
  add(kAnalog, TestRow{after, 43.0, v1::QUALITY_QUESTIONABLE});
  add(kStatus, TestRow{kEnd - 1, 1.0, 0});

  v1::ReadRawRequest raw;
  *raw.mutable_range() = Range();
  raw.mutable_range()->set_include_pending(true);
  raw.set_bounds(true);
  raw.set_max_values(50);
  const auto on_sqlite = ReadAllPages(*sqlite_, raw, &pending);
  const auto on_postgres = ReadAllPages(*postgres_, raw, &pending);
  ASSERT_EQ(on_sqlite.size(), on_postgres.size());
  for (size_t i = 0; i < on_sqlite.size(); ++i) EXPECT_SAME(on_sqlite[i], on_postgres[i]);
  ExpectRawPages(on_sqlite, merged, 50, true);

  // Without include_pending they are not seen.
  raw.mutable_range()->set_include_pending(false);
  ExpectRawPages(ReadAllPages(*postgres_, raw, &pending), Rows(), 50, true);

  std::vector<Aggregate> all(AllAggregates().begin(), AllAggregates().end());
  for (const std::vector<Aggregate>& aggregates :
       {all, std::vector<Aggregate>{Aggregate::kCount, Aggregate::kMinimum}}) {
    v1::ReadAggregatesRequest request = AggregatesRequest(aggregates, 7 * kMinute);
    request.mutable_range()->set_include_pending(true);
    const auto expected = ExpectedAggregates(merged, aggregates, {}, 7 * kMinute);
    for (store::Backend* backend : {sqlite_, postgres_}) {
      v1::ReadAggregatesResponse got;
      Status st = ReadAggregates(*backend, request, Infos(), &pending, QueryLimits{}, &got);
      ASSERT_TRUE(st.ok()) << st.ToString();
      EXPECT_SAME(got, expected) << backend->dialect();
    }
  }
  v1::ReadLimitStatsRequest limits;
  *limits.mutable_range() = Range();
  limits.mutable_range()->set_include_pending(true);
  limits.set_step_us(7 * kMinute);
  const auto expected = ExpectedLimits(merged, Infos(), std::nullopt, std::nullopt, 7 * kMinute);
  for (store::Backend* backend : {sqlite_, postgres_}) {
    v1::ReadLimitStatsResponse got;
    ASSERT_TRUE(ReadLimitStats(*backend, limits, Infos(), &pending, QueryLimits{}, &got).ok());
    EXPECT_SAME(got, expected) << backend->dialect();
  }
}

TEST_F(HistoryReadTest, ATokenOfAnotherRequestIsRefused) {
  v1::ReadRawRequest request;
  *request.mutable_range() = Range();
  request.set_max_values(3);
  v1::ReadRawResponse first;
  ASSERT_TRUE(ReadRaw(*sqlite_, request, nullptr, QueryLimits{}, &first).ok());
  ASSERT_FALSE(first.continuation().empty());
  request.mutable_range()->set_start_us(kStart + 1);
  request.set_continuation(first.continuation());
  v1::ReadRawResponse second;
  Status st = ReadRaw(*postgres_, request, nullptr, QueryLimits{}, &second);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("continuation belongs to another request"), std::string::npos)
      << st.ToString();
}

// A day of 1 s rows of one point: the read streams in batches (never the whole day at
// once), push-down and streaming agree, and the time of each way is printed (the
// benchmark's question: one point's 15-minute aggregates over a day).
TEST_F(HistoryReadTest, ADayOfSecondsStreamsInBatches) {
  constexpr int64_t kDayPoint = 10;
  constexpr int64_t kDayStart = kBase + 86'400 * kSecond;  // the next day, a partition of its own
  std::map<int64_t, Series> day;
  std::vector<v1::Record> records(1);
  records[0].set_version(1);
  auto* samples = records[0].mutable_samples();
  samples->set_interval(v1::SAMPLE_INTERVAL_1S);
  for (int64_t i = 0; i < 86'400; ++i) {
    const int64_t ts = kDayStart + i * kSecond;
    const double value = 100 + 10 * std::sin(static_cast<double>(i) / 600.0);
    const uint32_t quality = i % 997 == 0 ? v1::QUALITY_INVALID : 0;
    day[kDayPoint][ts] = TestRow{ts, value, quality};
    samples->add_point_id(kDayPoint);
    samples->add_ts_us(ts);
    samples->add_value(value);
    samples->add_quality(quality);
  }
  const store::WatermarkKey key{"history-test", "1", "day"};
  const store::ApplyItem item{1, &records[0]};
  for (store::Backend* backend : {sqlite_, postgres_}) {
    Status st = backend->ApplyBatch(key, std::span(&item, 1), {}, 1);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  // Statistics, as autovacuum gathers them on a live server: without them the planner
  // takes the day for a few rows and sorts it on disk to group it.
  ASSERT_TRUE(server_->Exec("ANALYZE sample_1s", "history").ok());
  v1::ReadAggregatesRequest request;
  request.mutable_range()->add_point_ids(kDayPoint);
  request.mutable_range()->set_interval(v1::SAMPLE_INTERVAL_1S);
  request.mutable_range()->set_start_us(kDayStart);
  request.mutable_range()->set_end_us(kDayStart + 86'400 * kSecond);
  request.set_step_us(15 * kMinute);
  const std::vector<PointInfo> info = {PointInfo{kDayPoint, false, {}, {}}};
  QueryLimits limits;
  limits.batch_rows = 5000;
  for (const std::vector<v1::AggregateType>& aggregates :
       {std::vector<v1::AggregateType>{v1::AGGREGATE_AVERAGE, v1::AGGREGATE_MINIMUM,
                                       v1::AGGREGATE_MAXIMUM, v1::AGGREGATE_COUNT},
        std::vector<v1::AggregateType>{v1::AGGREGATE_MINIMUM, v1::AGGREGATE_MAXIMUM,
                                       v1::AGGREGATE_COUNT}}) {
    request.clear_aggregates();
    for (auto a : aggregates) request.add_aggregates(a);
    for (store::Backend* backend : {sqlite_, postgres_}) {
      std::vector<double> ms;
      v1::ReadAggregatesResponse first;
      for (int run = 0; run < 9; ++run) {
        CountingBackend counting(backend);
        v1::ReadAggregatesResponse got;
        const auto t0 = std::chrono::steady_clock::now();
        Status st = ReadAggregates(counting, request, info, nullptr, limits, &got);
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        ASSERT_TRUE(st.ok()) << st.ToString();
        EXPECT_LE(counting.largest_batch, limits.batch_rows);
        ASSERT_EQ(got.series_size(), static_cast<int>(aggregates.size()));
        EXPECT_EQ(got.series(0).values_size(), 96);
        if (run == 0) first = got;
        EXPECT_SAME(got, first);
      }
      std::sort(ms.begin(), ms.end());
      std::printf("day of 1 s rows, 15-minute %s, %s: p50 %.2f ms\n",
                  aggregates.size() == 4 ? "Average/Minimum/Maximum/Count (streams)"
                  : backend == postgres_ ? "Minimum/Maximum/Count (pushed down)"
                                         : "Minimum/Maximum/Count (streams)",
                  std::string(backend->dialect()).c_str(), ms[ms.size() / 2]);
    }
  }
  // The pushed-down figures are the streaming ones.
  request.clear_aggregates();
  for (auto a : {v1::AGGREGATE_MINIMUM, v1::AGGREGATE_MAXIMUM, v1::AGGREGATE_COUNT})
    request.add_aggregates(a);
  limits.push_down = false;
  v1::ReadAggregatesResponse streamed, pushed;
  ASSERT_TRUE(ReadAggregates(*postgres_, request, info, nullptr, limits, &streamed).ok());
  limits.push_down = true;
  ASSERT_TRUE(ReadAggregates(*postgres_, request, info, nullptr, limits, &pushed).ok());
  EXPECT_SAME(pushed, streamed);
}

}  // namespace
}  // namespace sluice::history
