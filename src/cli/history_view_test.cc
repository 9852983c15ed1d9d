// What `sluice query` prints: tables, CSV and JSON made from History answers built here.

#include "cli/history_view.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/values.h"
#include "sluice/v1/records.pb.h"

namespace sluice::cli {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z

v1::ReadRawResponse RawAnswer() {
  v1::ReadRawResponse r;
  auto* p = r.add_points();
  p->set_point_id(7);
  auto* before = p->mutable_bound_before();
  before->set_ts_us(kT0 - 1'000'000);
  before->set_value(1.5);
  auto* s = p->add_samples();
  s->set_ts_us(kT0);
  s->set_value(0.1);
  s->set_quality(v1::QUALITY_INVALID | v1::QUALITY_SUBSTITUTED);
  s->set_manual(true);
  auto* n = p->add_samples();  // a NULL value, pending
  n->set_ts_us(kT0 + 1'000'000);
  n->set_pending(true);
  return r;
}

TEST(HistoryViewTest, QualityTextNamesEveryBitAndUnknownOnes) {
  EXPECT_EQ(QualityText(0), "good");
  EXPECT_EQ(QualityText(v1::QUALITY_INVALID | v1::QUALITY_OLD_DATA), "invalid|old");
  EXPECT_EQ(QualityText(v1::QUALITY_QUESTIONABLE | 0x100), "questionable|0x100");
}

TEST(HistoryViewTest, ValueTextReadsBackExactly) {
  for (double v : {0.1, 1.0 / 3, -2.5e-300, 123456789.125}) {
    EXPECT_EQ(std::stod(ValueText(v)), v) << ValueText(v);
  }
  EXPECT_EQ(ValueText(0.1), "0.1");
  EXPECT_EQ(ValueText(std::nan("")), "nan");
  EXPECT_EQ(ValueText(100000), "100000");
}

TEST(HistoryViewTest, RawCsvHasOneLinePerSampleWithBoundsMarked) {
  const std::string csv = RenderRaw(RawAnswer(), {{7, "bus,A"}}, OutputFormat::kCsv);
  const std::string t0 = config::FormatTimestamp(kT0);
  const std::string t1 = config::FormatTimestamp(kT0 + 1'000'000);
  const std::string tb = config::FormatTimestamp(kT0 - 1'000'000);
  EXPECT_EQ(csv, "point_id,name,ts,value,quality,manual,pending,bound\n"
                 "7,\"bus,A\"," + tb + ",1.5,good,,,before\n"
                 "7,\"bus,A\"," + t0 + ",0.1,invalid|substituted,manual,,\n"
                 "7,\"bus,A\"," + t1 + ",,good,,pending,\n");
}

TEST(HistoryViewTest, RawJsonKeepsNullValuesAndFlags) {
  auto j = nlohmann::json::parse(RenderRaw(RawAnswer(), {}, OutputFormat::kJson));
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["bound"], "before");
  EXPECT_EQ(j[1]["value"], 0.1);
  EXPECT_EQ(j[1]["manual"], true);
  EXPECT_TRUE(j[2]["value"].is_null());
  EXPECT_EQ(j[2]["pending"], true);
  EXPECT_EQ(j[2]["ts_us"], kT0 + 1'000'000);
}

TEST(HistoryViewTest, AggregateNamesRoundTrip) {
  EXPECT_EQ(AggregateTypeName(v1::AGGREGATE_TIME_AVERAGE), "TimeAverage");
  EXPECT_EQ(AggregateTypeName(v1::AGGREGATE_DURATION_IN_STATE_NON_ZERO), "DurationInStateNonZero");
  const auto* e = v1::AggregateType_descriptor();
  for (int i = 0; i < e->value_count(); ++i) {
    const auto t = static_cast<v1::AggregateType>(e->value(i)->number());
    if (t == v1::AGGREGATE_UNSPECIFIED) continue;
    auto parsed = ParseAggregateType(AggregateTypeName(t));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(*ParseAggregateType("standard_deviation_sample"), v1::AGGREGATE_STANDARD_DEVIATION_SAMPLE);
  auto bad = ParseAggregateType("Median");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'Median' is not one of Interpolative, Average"), std::string::npos)
      << bad.status().message();
}

TEST(HistoryViewTest, AggregatesCsvHasAColumnPerAggregateWithStatusAndActualTime) {
  v1::ReadAggregatesResponse r;
  const int64_t step = 900'000'000;
  auto* avg = r.add_series();
  avg->set_point_id(3);
  avg->set_aggregate(v1::AGGREGATE_AVERAGE);
  auto* max = r.add_series();
  max->set_point_id(3);
  max->set_aggregate(v1::AGGREGATE_MAXIMUM_ACTUAL_TIME);
  for (int k = 0; k < 2; ++k) {
    auto* a = avg->add_values();
    a->set_ts_us(kT0 + k * step);
    if (k == 0) a->set_value(2.25);
    a->set_status(k == 0 ? v1::VALUE_STATUS_GOOD : v1::VALUE_STATUS_BAD);
    a->set_partial(k == 1);
    auto* m = max->add_values();
    m->set_ts_us(kT0 + k * step + 5'000'000);
    m->set_value(4 + k);
    m->set_status(v1::VALUE_STATUS_UNCERTAIN);
    m->set_partial(k == 1);
  }
  const std::string csv = RenderAggregates(r, {{3, "p3"}}, kT0, step, OutputFormat::kCsv);
  auto t = [](int64_t us) { return config::FormatTimestamp(us); };
  EXPECT_EQ(csv,
            "point_id,name,start,Average,Average_status,MaximumActualTime,MaximumActualTime_time,"
            "MaximumActualTime_status,partial\n"
            "3,p3," + t(kT0) + ",2.25,good,4," + t(kT0 + 5'000'000) + ",uncertain,\n"
            "3,p3," + t(kT0 + step) + ",,bad,5," + t(kT0 + step + 5'000'000) + ",uncertain,partial\n");
  const std::string table = RenderAggregates(r, {{3, "p3"}}, kT0, step, OutputFormat::kTable);
  EXPECT_NE(table.find("4?"), std::string::npos) << table;
  EXPECT_NE(table.find("(? uncertain, ! bad)"), std::string::npos) << table;
  auto j = nlohmann::json::parse(RenderAggregates(r, {}, kT0, step, OutputFormat::kJson));
  EXPECT_EQ(j[0]["aggregate"], "Average");
  EXPECT_TRUE(j[0]["values"][1]["value"].is_null());
  EXPECT_EQ(j[0]["values"][1]["status"], "bad");
  EXPECT_EQ(j[1]["values"][0]["ts_us"], kT0 + 5'000'000);
}

TEST(HistoryViewTest, LimitsTableShowsThePassRateAsAPercentage) {
  v1::ReadLimitStatsResponse r;
  auto* s = r.add_series();
  s->set_point_id(9);
  s->set_high(10);
  auto* i = s->add_intervals();
  i->set_start_us(kT0);
  i->set_end_us(kT0 + 3'600'000'000);
  i->mutable_above()->set_count(2);
  i->mutable_above()->set_total_us(90'000'000);
  i->mutable_above()->set_longest_us(60'000'000);
  i->mutable_above()->set_longest_start_us(kT0 + 60'000'000);
  i->set_usable_us(3'600'000'000);
  i->set_pass_rate(0.975);
  const std::string table = RenderLimits(r, {}, OutputFormat::kTable);
  EXPECT_NE(table.find("97.50%"), std::string::npos) << table;
  EXPECT_NE(table.find(config::FormatTimestamp(kT0 + 60'000'000)), std::string::npos) << table;
  const std::string csv = RenderLimits(r, {}, OutputFormat::kCsv);
  EXPECT_NE(csv.find(",10,,2,90000,60000,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",0.975,"), std::string::npos) << csv;
  auto j = nlohmann::json::parse(RenderLimits(r, {}, OutputFormat::kJson));
  EXPECT_TRUE(j[0]["low"].is_null());
  EXPECT_EQ(j[0]["intervals"][0]["above"]["count"], 2);
  EXPECT_EQ(j[0]["intervals"][0]["pass_rate"], 0.975);
}

TEST(HistoryViewTest, UnknownOutputFormatIsRefusedNamingTheChoices) {
  auto f = ParseOutputFormat("xml");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "output format 'xml' is not one of table, csv, json");
}

}  // namespace
}  // namespace sluice::cli
