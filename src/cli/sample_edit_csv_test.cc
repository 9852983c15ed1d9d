// `sluice modify --file`: edits read with what they set and what they keep, bad lines
// refused naming the file, the line and the column.
#include "cli/sample_edit_csv.h"

#include <sstream>

#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

TEST(SampleEditCsvTest, EditsSetWhatTheyGiveAndKeepTheRest) {
  std::istringstream in(
      "point_id,ts,value,quality\n"
      "# comment\n"
      "7,1714564800000000,12.5\n"
      "\n"
      "8,2024-05-01T12:01:00Z,,2\n"
      "9,2024-05-01 12:02:00+08,-1,0\r\n");
  auto edits = ParseSampleEditCsv(in, "e.csv");
  ASSERT_TRUE(edits.ok()) << edits.status().ToString();
  ASSERT_EQ(edits->size(), 3u);
  EXPECT_EQ((*edits)[0].point_id(), 7);
  EXPECT_EQ((*edits)[0].ts_us(), 1714564800000000);
  EXPECT_EQ((*edits)[0].value(), 12.5);
  EXPECT_FALSE((*edits)[0].has_quality());
  EXPECT_EQ((*edits)[1].ts_us(), 1714564800000000 + 60'000'000);
  EXPECT_FALSE((*edits)[1].has_value());
  EXPECT_EQ((*edits)[1].quality(), 2u);
  EXPECT_EQ((*edits)[2].ts_us(), 1714564800000000 + 120'000'000 - 8 * 3'600'000'000LL);
  EXPECT_EQ((*edits)[2].value(), -1.0);
  EXPECT_TRUE((*edits)[2].has_quality());
}

TEST(SampleEditCsvTest, BadLinesAreNamed) {
  const std::pair<std::string, std::string> cases[] = {
      {"1,1714564800000000\n", "e.csv line 1: 2 columns"},
      {"1,1714564800000000,1\nx1,1714564800000000,1\n", "e.csv line 2, column 1 (point_id)"},
      {"1,yesterday,1\n", "e.csv line 1, column 2 (ts)"},
      {"1,1714564800000000,abc\n", "line 1, column 3 (value): 'abc' is not a finite number"},
      {"1,1714564800000000,inf\n", "column 3 (value): 'inf'"},
      {"1,1714564800000000,1,-2\n", "column 4 (quality): '-2' is not an unsigned integer"},
      {"1,1714564800000000,,\n", "neither value nor quality"},
  };
  for (const auto& [text, part] : cases) {
    std::istringstream in(text);
    auto edits = ParseSampleEditCsv(in, "e.csv");
    ASSERT_FALSE(edits.ok()) << text;
    EXPECT_EQ(edits.status().code(), Code::kInvalidArgument);
    EXPECT_NE(edits.status().message().find(part), std::string::npos)
        << edits.status().message() << "\nlacks: " << part;
  }
}

}  // namespace
}  // namespace sluice::cli
