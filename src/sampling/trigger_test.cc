// Triggered samples (trigger.h): the type's checks and every refusal's message, a full
// 50/50/50 trigger, and the named and positional forms giving the same TriggerSample.
#include "sampling/trigger.h"

#include <google/protobuf/util/message_differencer.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

namespace sluice::sampling {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kOccur = 1'765'000'000'000'000;

TriggerType Fault() {
  TriggerType t;
  t.id = 3;
  t.name = "breaker fault";
  t.int_columns = {"breaker", "phase", "count"};
  t.float_columns = {"current_ka", "duration_ms"};
  t.string_columns = {"relay", "text"};
  return t;
}

// The type's name and id as every message names them.
const char* const kFaultNamed = "trigger type 'breaker fault' (id 3)";

// 50 columns of each kind, named i1..i50, f1..f50, s1..s50.
TriggerType Full() {
  TriggerType t;
  t.id = 9;
  t.name = "full";
  for (int i = 1; i <= record::kMaxTriggerValues; ++i) {
    t.int_columns.push_back(fmt::format("i{}", i));
    t.float_columns.push_back(fmt::format("f{}", i));
    t.string_columns.push_back(fmt::format("s{}", i));
  }
  return t;
}

std::string Message(const Status& s) { return s.message(); }
template <typename T>
std::string Message(const Result<T>& r) {
  return r.ok() ? "(ok)" : r.status().message();
}

bool Same(const v1::TriggerSample& a, const v1::TriggerSample& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST(TriggerTypeTest, AValidTypePasses) {
  EXPECT_TRUE(ValidateTriggerType(Fault()).ok());
  EXPECT_TRUE(ValidateTriggerType(Full()).ok());
  TriggerType no_columns;
  no_columns.id = 1;
  no_columns.name = "heartbeat";
  EXPECT_TRUE(ValidateTriggerType(no_columns).ok());
  TriggerType unicode = Fault();
  unicode.name = "开关故障 (breaker fault)";
  EXPECT_TRUE(ValidateTriggerType(unicode).ok()) << ValidateTriggerType(unicode).ToString();
}

TEST(TriggerTypeTest, EachDefinitionErrorNamesTypeListAndColumn) {
  TriggerType t = Fault();
  t.id = 0;
  Status s = ValidateTriggerType(t);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("trigger type 'breaker fault' (id 0): the id must be > 0"));

  t = Fault();
  t.name = "";
  EXPECT_THAT(Message(ValidateTriggerType(t)), HasSubstr("trigger type 3: the name is empty"));

  t.name = std::string(kMaxTriggerTypeNameBytes + 1, 'x');
  EXPECT_THAT(Message(ValidateTriggerType(t)),
              HasSubstr(fmt::format("trigger type 3: the name is {} bytes long, above the {} allowed",
                                    kMaxTriggerTypeNameBytes + 1, kMaxTriggerTypeNameBytes)));
  t.name = std::string(kMaxTriggerTypeNameBytes, 'x');
  EXPECT_TRUE(ValidateTriggerType(t).ok());

  t.name = "bad\nname";
  EXPECT_THAT(Message(ValidateTriggerType(t)),
              HasSubstr("trigger type 3: the name 'bad\\x0aname' has a control character 0x0a at "
                        "byte 3"));
  t.name = "bad\xff";
  EXPECT_THAT(Message(ValidateTriggerType(t)), HasSubstr("an invalid UTF-8 byte 0xff at byte 3"));
  t.name = "cut\xe5\xbc";
  EXPECT_THAT(Message(ValidateTriggerType(t)), HasSubstr("a truncated UTF-8 sequence at byte 3"));

  t = Fault();
  t.float_columns.resize(record::kMaxTriggerValues + 1, "x");
  EXPECT_THAT(Message(ValidateTriggerType(t)),
              HasSubstr(fmt::format("{}: 51 float columns, at most 50 (burst_sample has "
                                    "float_1..float_50)",
                                    kFaultNamed)));

  t = Fault();
  t.string_columns[1] = "";
  EXPECT_THAT(Message(ValidateTriggerType(t)),
              HasSubstr(fmt::format("{}: string column 2 (str_2) has an empty name", kFaultNamed)));

  for (const std::string& bad : std::vector<std::string>{"2phase", "phase-a", "phase a", std::string(kMaxTriggerColumnNameBytes + 1, 'p')}) {
    t = Fault();
    t.int_columns[1] = bad;
    EXPECT_THAT(Message(ValidateTriggerType(t)),
                HasSubstr(fmt::format("{}: int column 2 (int_2) is named '{}', which is not an "
                                      "identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes)",
                                      kFaultNamed, bad)));
  }
  t = Fault();
  t.int_columns[1] = std::string(kMaxTriggerColumnNameBytes, 'p');
  EXPECT_TRUE(ValidateTriggerType(t).ok());

  // Unique across the three lists, not only within one.
  t = Fault();
  t.string_columns[1] = "phase";
  EXPECT_THAT(Message(ValidateTriggerType(t)),
              HasSubstr(fmt::format("{}: the column name 'phase' is used twice: int column 2 "
                                    "(int_2) and string column 2 (str_2)",
                                    kFaultNamed)));
  t = Fault();
  t.float_columns[1] = "current_ka";
  EXPECT_THAT(Message(ValidateTriggerType(t)),
              HasSubstr("'current_ka' is used twice: float column 1 (float_1) and float column 2 "
                        "(float_2)"));
}

TEST(TriggerSampleTest, NamedValuesGoToTheirColumns) {
  // Given out of order; an int for a float column is taken as its exact double.
  auto built = BuildTriggerSample(Fault(), kOccur,
                                  NamedTriggerValues{{"relay", std::string("R7")},
                                                     {"phase", int64_t{2}},
                                                     {"current_ka", 12.5},
                                                     {"breaker", int64_t{4001}},
                                                     {"duration_ms", int64_t{80}}});
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(built->trigger_type(), 3);
  EXPECT_EQ(built->occur_time_us(), kOccur);
  EXPECT_THAT(built->int_values(), ::testing::ElementsAre(4001, 2));
  EXPECT_THAT(built->float_values(), ::testing::ElementsAre(12.5, 80.0));
  EXPECT_THAT(built->string_values(), ::testing::ElementsAre("R7"));

  // No values at all: every column NULL.
  auto empty = BuildTriggerSample(Fault(), kOccur, NamedTriggerValues{});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->int_values_size() + empty->float_values_size() + empty->string_values_size(), 0);
}

TEST(TriggerSampleTest, EachValueErrorIsNamed) {
  const TriggerType t = Fault();
  auto build = [&](NamedTriggerValues values, const record::Limits& limits = {}) {
    return BuildTriggerSample(t, kOccur, values, limits);
  };

  // An unknown column: named, with the type's columns listed.
  auto r = build({{"breaker", int64_t{1}}, {"voltage", 1.0}});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(Message(r), HasSubstr(fmt::format(
                              "{} has no column 'voltage'; its columns are int: breaker, phase, "
                              "count; float: current_ka, duration_ms; string: relay, text",
                              kFaultNamed)));

  // Wrong kinds, both named: the column's and the value's.
  EXPECT_THAT(Message(build({{"breaker", std::string("B1")}})),
              HasSubstr(fmt::format("{}: int column 'breaker' (int_1) is an int column, but its "
                                    "value 'B1' is a string",
                                    kFaultNamed)));
  EXPECT_THAT(Message(build({{"breaker", 1.5}})),
              HasSubstr("int column 'breaker' (int_1) is an int column, but its value 1.5 is a float"));
  EXPECT_THAT(Message(build({{"relay", int64_t{7}}})),
              HasSubstr("string column 'relay' (str_1) is a string column, but its value 7 is an int"));
  EXPECT_THAT(Message(build({{"current_ka", std::string("high")}})),
              HasSubstr("float column 'current_ka' (float_1) is a float column, but its value "
                        "'high' is a string"));
  // An int for a float column only when the double holds it exactly.
  const int64_t inexact = (int64_t{1} << 53) + 1;
  EXPECT_THAT(Message(build({{"current_ka", inexact}})),
              HasSubstr(fmt::format("float column 'current_ka' (float_1) is a float column, and "
                                    "the int value {} has no exact double",
                                    inexact)));
  EXPECT_TRUE(build({{"current_ka", int64_t{1} << 53}}).ok());

  // A value given twice, both values shown.
  EXPECT_THAT(Message(build({{"breaker", int64_t{1}}, {"phase", int64_t{2}}, {"breaker", int64_t{3}}})),
              HasSubstr(fmt::format("{}: int column 'breaker' (int_1) is given twice (values 1 "
                                    "and 3)",
                                    kFaultNamed)));

  // More values than the type has columns.
  NamedTriggerValues too_many;
  for (int i = 0; i < 8; ++i) too_many.emplace_back("breaker", int64_t{i});
  EXPECT_THAT(Message(build(too_many)),
              HasSubstr(fmt::format("{} has 7 columns (3 int, 2 float, 2 string); 8 values given",
                                    kFaultNamed)));

  // A gap before a given column: it cannot be NULL (trigger.h), the missing ones named.
  EXPECT_THAT(Message(build({{"count", int64_t{5}}})),
              HasSubstr(fmt::format("{}: int column 'count' (int_3) is given but 'breaker' "
                                    "(int_1), 'phase' (int_2) are not",
                                    kFaultNamed)));
  EXPECT_THAT(Message(build({{"breaker", int64_t{1}}, {"text", std::string("x")}})),
              HasSubstr("string column 'text' (str_2) is given but 'relay' (str_1) is not: a "
                        "trigger stores the leading columns of each kind and NULL only after "
                        "the last one given, so give it too"));

  // A string above the limit, at the limit is fine.
  record::Limits limits;
  limits.max_string_length = 10;
  EXPECT_THAT(Message(build({{"relay", std::string(11, 'r')}}, limits)),
              HasSubstr(fmt::format("{}: the value of string column 'relay' (str_1) is 11 bytes "
                                    "long, above limits.max_string_length = 10",
                                    kFaultNamed)));
  EXPECT_TRUE(build({{"relay", std::string(10, 'r')}}, limits).ok());

  // A value for an invalid type: the type's own error.
  TriggerType bad = t;
  bad.id = -1;
  EXPECT_THAT(Message(BuildTriggerSample(bad, kOccur, NamedTriggerValues{})),
              HasSubstr("the id must be > 0"));
  EXPECT_THAT(Message(BuildTriggerSample(bad, kOccur, PositionalTriggerValues{})),
              HasSubstr("the id must be > 0"));
}

TEST(TriggerSampleTest, PositionalErrorsAreNamed) {
  const TriggerType t = Fault();
  PositionalTriggerValues v;
  v.ints = {1, 2, 3, 4};
  auto r = BuildTriggerSample(t, kOccur, v);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(Message(r), HasSubstr(fmt::format(
                              "{} has 3 int columns (breaker, phase, count); 4 int values given",
                              kFaultNamed)));
  v = {};
  v.floats = {1, 2, 3};
  EXPECT_THAT(Message(BuildTriggerSample(t, kOccur, v)),
              HasSubstr("has 2 float columns (current_ka, duration_ms); 3 float values given"));
  TriggerType no_strings = t;
  no_strings.string_columns.clear();
  v = {};
  v.strings = {"x"};
  EXPECT_THAT(Message(BuildTriggerSample(no_strings, kOccur, v)),
              HasSubstr("has 0 string columns (none); 1 string values given"));
  record::Limits limits;
  limits.max_string_length = 4;
  v.strings = {"R7", "too long"};
  EXPECT_THAT(Message(BuildTriggerSample(t, kOccur, v, limits)),
              HasSubstr("the value of string column 'text' (str_2) is 8 bytes long, above "
                        "limits.max_string_length = 4"));
}

// A trigger of 50 ints, 50 floats and 50 strings, given by name in reverse order and by
// position: the same sample, each value in its column.
TEST(TriggerSampleTest, FullTriggerNamedAndPositionalAgree) {
  const TriggerType t = Full();
  auto int_at = [](int i) { return int64_t{1} << i; };        // distinct per column
  auto float_at = [](int i) { return i + 0.25; };
  auto string_at = [](int i) { return fmt::format("value {}", i); };

  NamedTriggerValues named;
  PositionalTriggerValues positional;
  for (int i = record::kMaxTriggerValues - 1; i >= 0; --i) {
    named.emplace_back(t.string_columns[i], string_at(i));
    named.emplace_back(t.float_columns[i], float_at(i));
    named.emplace_back(t.int_columns[i], int_at(i));
  }
  for (int i = 0; i < record::kMaxTriggerValues; ++i) {
    positional.ints.push_back(int_at(i));
    positional.floats.push_back(float_at(i));
    positional.strings.push_back(string_at(i));
  }
  auto by_name = BuildTriggerSample(t, kOccur, named);
  auto by_position = BuildTriggerSample(t, kOccur, positional);
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  ASSERT_TRUE(by_position.ok()) << by_position.status().ToString();
  EXPECT_TRUE(Same(*by_name, *by_position))
      << by_name->DebugString() << "\nvs\n" << by_position->DebugString();
  ASSERT_EQ(by_name->int_values_size(), record::kMaxTriggerValues);
  ASSERT_EQ(by_name->float_values_size(), record::kMaxTriggerValues);
  ASSERT_EQ(by_name->string_values_size(), record::kMaxTriggerValues);
  for (int i = 0; i < record::kMaxTriggerValues; ++i) {
    EXPECT_EQ(by_name->int_values(i), int_at(i)) << t.int_columns[i];
    EXPECT_EQ(by_name->float_values(i), float_at(i)) << t.float_columns[i];
    EXPECT_EQ(by_name->string_values(i), string_at(i)) << t.string_columns[i];
  }

  // A leading part of each kind, both ways: still the same.
  NamedTriggerValues some = {{"s1", string_at(0)}, {"i2", int_at(1)}, {"i1", int_at(0)}};
  PositionalTriggerValues first;
  first.ints = {int_at(0), int_at(1)};
  first.strings = {string_at(0)};
  auto a = BuildTriggerSample(t, kOccur, some);
  auto b = BuildTriggerSample(t, kOccur, first);
  ASSERT_TRUE(a.ok() && b.ok()) << Message(a) << Message(b);
  EXPECT_TRUE(Same(*a, *b)) << a->DebugString() << "\nvs\n" << b->DebugString();
}

TEST(TriggerSampleTest, ValueKindNames) {
  EXPECT_EQ(TriggerValueKindName(TriggerValue{int64_t{1}}), "int");
  EXPECT_EQ(TriggerValueKindName(TriggerValue{1.0}), "float");
  EXPECT_EQ(TriggerValueKindName(TriggerValue{std::string("x")}), "string");
}

}  // namespace
}  // namespace sluice::sampling
