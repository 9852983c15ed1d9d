// The arguments of `sluice trigger`: a type found by id or by name, COLUMN=VALUE values
// parsed by the column's kind, and errors that name the value, the column and the type.
#include "cli/trigger_values.h"

#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

v1::CatalogTriggerType Fault() {
  v1::CatalogTriggerType t;
  t.set_id(3);
  t.set_name("breaker fault");
  for (const char* c : {"breaker", "phase"}) t.add_int_columns(c);
  for (const char* c : {"current_ka", "duration_ms"}) t.add_float_columns(c);
  t.add_string_columns("relay");
  return t;
}

void ExpectError(const std::vector<std::string>& args, std::initializer_list<std::string_view> parts) {
  auto r = ParseTriggerValues(Fault(), args);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  for (auto part : parts)
    EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message() << " lacks " << part;
}

TEST(TriggerValuesTest, ValuesTakeTheirColumnsKind) {
  const int64_t big = (int64_t{1} << 40) + 7;
  auto r = ParseTriggerValues(Fault(), {"relay=R7, line 2", "breaker=" + std::to_string(big),
                                        "current_ka=-12.5", "duration_ms=1e3", "phase=-2",
                                        "relay=a=b"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 6u);
  EXPECT_EQ((*r)[0].column(), "relay");
  EXPECT_EQ((*r)[0].string_value(), "R7, line 2");
  EXPECT_EQ((*r)[1].int_value(), big);
  EXPECT_EQ((*r)[2].float_value(), -12.5);
  EXPECT_EQ((*r)[3].float_value(), 1000.0);
  EXPECT_EQ((*r)[4].value_case(), v1::TriggerColumnValue::kIntValue);
  EXPECT_EQ((*r)[4].int_value(), -2);
  // Only the first '=' separates: the rest is the value.
  EXPECT_EQ((*r)[5].string_value(), "a=b");
  // An int is accepted where a float is expected (the service checks it is exact).
  auto f = ParseTriggerValues(Fault(), {"current_ka=12"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[0].float_value(), 12.0);
  // An empty string is a value of a string column.
  auto e = ParseTriggerValues(Fault(), {"relay="});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)[0].value_case(), v1::TriggerColumnValue::kStringValue);
}

TEST(TriggerValuesTest, ErrorsNameTheValueTheColumnAndTheType) {
  ExpectError({"breaker=1", "phase"}, {"value 2 'phase' is not COLUMN=VALUE", "'breaker fault' (id 3)"});
  ExpectError({"=5"}, {"value 1", "COLUMN=VALUE"});
  ExpectError({"count=5"}, {"has no column 'count'", "int: breaker, phase", "float: current_ka, duration_ms",
                            "string: relay"});
  ExpectError({"breaker=4.5"}, {"value 1: int column 'breaker' (int_1)", "'4.5' is not an integer"});
  ExpectError({"phase="}, {"int column 'phase' (int_2)", "'' is not an integer"});
  ExpectError({"breaker=99999999999999999999"}, {"int_1", "not an integer"});
  ExpectError({"duration_ms=fast"}, {"float column 'duration_ms' (float_2)", "'fast' is not a finite"});
  ExpectError({"current_ka=nan"}, {"float_1", "'nan'"});
  ExpectError({"current_ka=inf"}, {"float_1", "'inf'"});
  ExpectError({"current_ka=1e999"}, {"float_1", "'1e999'"});
  ExpectError({"current_ka=0x10"}, {"float_1", "'0x10'"});
}

TEST(TriggerValuesTest, TypeByIdThenByName) {
  v1::CatalogTriggerType numbered;
  numbered.set_id(7);
  numbered.set_name("3");  // a name that reads as another type's id
  const std::vector<v1::CatalogTriggerType> types = {Fault(), numbered};
  auto by_id = FindTriggerType(types, "3");
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name(), "breaker fault");
  auto by_name = FindTriggerType(types, "breaker fault");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->id(), 3);
  auto seven = FindTriggerType(types, "7");
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(seven->name(), "3");
  auto none = FindTriggerType(types, "trip");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_NE(none.status().message().find("'trip'"), std::string::npos);
  EXPECT_NE(none.status().message().find("3 'breaker fault', 7 '3'"), std::string::npos)
      << none.status().message();
  EXPECT_NE(FindTriggerType({}, "x").status().message().find("none"), std::string::npos);
}

}  // namespace
}  // namespace sluice::cli
