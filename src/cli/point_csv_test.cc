// The point catalog CSV of `sluice points import`: columns by header in any order, quoted
// fields, and errors that name the line and the column.
#include "cli/point_csv.h"

#include <sstream>

#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

Result<std::vector<v1::CatalogPoint>> Parse(const std::string& text) {
  std::istringstream in(text);
  return ParsePointCsv(in, "points.csv");
}

void ExpectError(const std::string& text, std::initializer_list<std::string_view> parts) {
  auto r = Parse(text);
  ASSERT_FALSE(r.ok()) << text;
  for (auto part : parts)
    EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
}

TEST(PointCsvTest, ColumnsByHeaderQuotedFieldsOptionalLimits) {
  auto r = Parse(
      "# the feeder points\n"
      "name,id,description,kind,unit,lo,hi,deadband,station,element\n"
      "BUS1.KV,1,\"Bus 1, voltage \"\"A\"\"\",analog,kV,,120.5,0.1,,\n"
      "\n"
      "60105400.Z,2,Water level,0,m,1,9,0,60105400,Z\n"
      "BRK7,3,Breaker 7,status,,,,,,\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  const auto& a = (*r)[0];
  EXPECT_EQ(a.id(), 1);
  EXPECT_EQ(a.name(), "BUS1.KV");
  EXPECT_EQ(a.description(), "Bus 1, voltage \"A\"");
  EXPECT_FALSE(a.has_lo());
  EXPECT_TRUE(a.has_hi());
  EXPECT_EQ(a.hi(), 120.5);
  EXPECT_EQ(a.deadband(), 0.1);
  EXPECT_EQ((*r)[1].station(), "60105400");
  EXPECT_EQ((*r)[1].element(), "Z");
  EXPECT_EQ((*r)[2].kind(), 1);
}

TEST(PointCsvTest, ErrorsNameLineAndColumn) {
  ExpectError("id,name,lo\n1,A,1\n2,B,abc\n", {"points.csv line 3, column 3 (lo)", "'abc'"});
  ExpectError("id,name\n0,A\n", {"line 2, column 1 (id)", "'0'"});
  ExpectError("id,name,kind\n1,A,valve\n", {"line 2, column 3 (kind)", "analog, status, counter"});
  ExpectError("id,name,colour\n", {"line 1, column 3", "'colour'"});
  ExpectError("id,description\n", {"line 1", "'name'"});
  ExpectError("id,name\n1,A,extra\n", {"line 2", "3 fields", "2 columns"});
  ExpectError("id,name\n1,\"A\n", {"line 2", "quoted"});
  ExpectError("id,name\n1,\n", {"line 2, column 2 (name)", "empty"});
  ExpectError("", {"no header"});
}

}  // namespace
}  // namespace sluice::cli
