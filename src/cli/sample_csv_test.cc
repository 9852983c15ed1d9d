#include "cli/sample_csv.h"

#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

using ::testing::HasSubstr;

// 2024-05-01T12:00:00Z in microseconds since 1970.
constexpr int64_t kNoonUs = 1714564800LL * 1'000'000;

int64_t Time(std::string_view text) {
  auto r = ParseSampleTime(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : -1;
}

TEST(ParseSampleTime, MicrosecondsSinceEpoch) {
  EXPECT_EQ(Time("1714564800000000"), kNoonUs);
  EXPECT_EQ(Time("0"), 0);
}

TEST(ParseSampleTime, EveryOffsetFormOfIso8601) {
  EXPECT_EQ(Time("2024-05-01T12:00:00Z"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T12:00:00z"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T12:00:00+00:00"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T12:00:00+0000"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T12:00:00+00"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T20:00:00+08:00"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T20:00:00+0800"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T20:00:00+08"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T08:30:00-0330"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01T07:00:00-05"), kNoonUs);
  // No offset: UTC.
  EXPECT_EQ(Time("2024-05-01T12:00:00"), kNoonUs);
}

TEST(ParseSampleTime, PostgresqlOutput) {
  // What `SELECT ts::timestamptz` prints with TimeZone = UTC, and with a zone east of it.
  EXPECT_EQ(Time("2024-05-01 12:00:00+00"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01 12:00:00.25+00"), kNoonUs + 250'000);
  EXPECT_EQ(Time("2024-05-01 13:00:00.000001+01"), kNoonUs + 1);
  EXPECT_EQ(Time("2024-05-01 17:30:00+05:30"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01 12:00:00"), kNoonUs);
  EXPECT_EQ(Time("2024-05-01 11:00:00-01"), kNoonUs);
}

TEST(ParseSampleTime, RefusesWhatIsNoTimeAndSaysWhy) {
  for (const char* bad : {"", "yesterday", "2024-05-01", "2024-05-01T12:00:00+8",
                          "2024-05-01T12:00:00+080", "2024-05-01T12:00:00+08:0",
                          "2024-05-01T12:00:00+08:00:00", "2024-05-01T12:00:00+ab",
                          "2024-05-01T12:00:00ZZ", "2024-13-01T12:00:00Z",
                          "2024-05-01T12:00:00+24:00", "12.5"}) {
    auto r = ParseSampleTime(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr(fmt::format("'{}'", bad)));
  }
  EXPECT_THAT(ParseSampleTime("2024-05-01T12:00:00+080").status().message(),
              HasSubstr("the offset '+080' is not Z, +hh, +hhmm or +hh:mm"));
}

Result<std::vector<v1::Record>> Csv(const std::string& text, size_t rows_per_record = 1000) {
  std::istringstream in(text);
  return ParseSampleCsv(in, "data.csv", v1::SAMPLE_INTERVAL_1MIN, rows_per_record);
}

TEST(ParseSampleCsv, RowsWithAHeaderAndMixedTimeForms) {
  auto r = Csv(
      "point_id,ts,value,quality\n"
      "7,2024-05-01 12:00:00+00,1.5,192\n"
      "# a comment\n"
      "\n"
      "8,1714564800000000,-2\n"
      "9,2024-05-01T13:00:00+0100,3e2,\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  const v1::SampleBatch& b = (*r)[0].samples();
  EXPECT_EQ(b.interval(), v1::SAMPLE_INTERVAL_1MIN);
  ASSERT_EQ(b.point_id_size(), 3);
  EXPECT_EQ(b.point_id(0), 7);
  EXPECT_EQ(b.point_id(2), 9);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.ts_us(i), kNoonUs) << i;
  EXPECT_EQ(b.value(0), 1.5);
  EXPECT_EQ(b.value(1), -2);
  EXPECT_EQ(b.value(2), 300);
  EXPECT_EQ(b.quality(0), 192u);
  EXPECT_EQ(b.quality(1), 0u);
}

TEST(ParseSampleCsv, CutsRowsIntoRecords) {
  std::string text;
  for (int i = 0; i < 7; ++i) text += fmt::format("{},{},{}\n", i, i, i);
  auto r = Csv(text, 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].samples().point_id_size(), 3);
  EXPECT_EQ((*r)[1].samples().point_id_size(), 3);
  EXPECT_EQ((*r)[2].samples().point_id_size(), 1);
  EXPECT_EQ((*r)[2].samples().point_id(0), 6);
}

TEST(ParseSampleCsv, ErrorsNameTheLineAndTheColumn) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"1,2024-05-01T12:00:00Z,1\n2,2024-05-01 12:00:00+0,1\n",
       "data.csv line 2, column 2 (ts): '2024-05-01 12:00:00+0' is neither"},
      {"point_id,ts,value\n\nx,0,1\n", "data.csv line 3, column 1 (point_id): 'x' is not an integer"},
      {"1,0,one\n", "data.csv line 1, column 3 (value): 'one' is not a number"},
      {"1,0,1,-4\n", "data.csv line 1, column 4 (quality): '-4' is not an unsigned integer"},
      {"1,0\n", "data.csv line 1: 2 columns, expected point_id,ts,value[,quality]"},
  };
  for (const Case& c : cases) {
    auto r = Csv(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace sluice::cli
