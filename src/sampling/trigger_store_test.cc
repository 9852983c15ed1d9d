// Triggered samples in a real database: a TriggerBatch built with trigger.h, applied to
// the SQLite backend and to a real PostgreSQL server (the backend conformance fixture),
// lands in burst_sample column for column as the trigger type defines, NULL where no
// value was given.
#include <cstdlib>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sampling/trigger.h"
#include "store/backend_conformance_test_util.h"

namespace sluice::sampling {
namespace {

using store::testing::Rows;

class TriggerRowsTest : public store::testing::BackendConformanceTest {};

// What one burst_sample row should hold, by the test's own reckoning.
struct ExpectedRow {
  int32_t type = 0;
  int64_t occur_time_us = 0;
  std::vector<std::optional<int64_t>> ints;         // 50, nullopt = NULL
  std::vector<std::optional<double>> floats;        // 50
  std::vector<std::optional<std::string>> strings;  // 50
};

// The row a sample should become: value i of each kind in column i + 1, NULL after.
ExpectedRow Expect(const TriggerType& type, int64_t occur, const std::map<std::string, TriggerValue>& given) {
  ExpectedRow row;
  row.type = type.id;
  row.occur_time_us = occur;
  row.ints.resize(record::kMaxTriggerValues);
  row.floats.resize(record::kMaxTriggerValues);
  row.strings.resize(record::kMaxTriggerValues);
  for (size_t i = 0; i < type.int_columns.size(); ++i) {
    if (auto it = given.find(type.int_columns[i]); it != given.end()) row.ints[i] = std::get<int64_t>(it->second);
  }
  for (size_t i = 0; i < type.float_columns.size(); ++i) {
    if (auto it = given.find(type.float_columns[i]); it != given.end()) row.floats[i] = std::get<double>(it->second);
  }
  for (size_t i = 0; i < type.string_columns.size(); ++i) {
    if (auto it = given.find(type.string_columns[i]); it != given.end()) {
      row.strings[i] = std::get<std::string>(it->second);
    }
  }
  return row;
}

TEST_P(TriggerRowsTest, RowsLandAsTheTypeDefines) {
  // A full type (50 of each kind) and a small one, as an operator would define them.
  TriggerType full;
  full.id = 21;
  full.name = "protection event";
  for (int i = 1; i <= record::kMaxTriggerValues; ++i) {
    full.int_columns.push_back(fmt::format("counter_{}", i));
    full.float_columns.push_back(fmt::format("reading_{}", i));
    full.string_columns.push_back(fmt::format("label_{}", i));
  }
  TriggerType fault;
  fault.id = 3;
  fault.name = "breaker fault";
  fault.int_columns = {"breaker", "phase", "count"};
  fault.float_columns = {"current_ka", "duration_ms"};
  fault.string_columns = {"relay", "text"};

  constexpr int64_t kT = 1'765'000'000'000'000;
  std::map<std::string, TriggerValue> full_values;
  for (int i = 0; i < record::kMaxTriggerValues; ++i) {
    // Ints past 2^32 and negative, floats with an exact short decimal form, UTF-8 text.
    full_values[full.int_columns[i]] = int64_t{(i % 2 ? -1 : 1) * ((int64_t{1} << 33) + i)};
    full_values[full.float_columns[i]] = i * 0.5 - 7.25;
    full_values[full.string_columns[i]] = fmt::format("标签 {} 'quoted'", i);
  }
  // The fault type: the leading columns of each kind only; the rest must stay NULL.
  const std::map<std::string, TriggerValue> fault_values = {
      {"breaker", int64_t{4001}}, {"phase", int64_t{2}}, {"current_ka", 12.5}, {"relay", std::string("R7")}};

  v1::Record record;
  record.set_version(5);
  auto* batch = record.mutable_triggers();
  std::vector<ExpectedRow> expected;
  {
    NamedTriggerValues named(full_values.begin(), full_values.end());
    auto s = BuildTriggerSample(full, kT, named);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    *batch->add_samples() = *s;
    expected.push_back(Expect(full, kT, full_values));
  }
  {
    NamedTriggerValues named(fault_values.begin(), fault_values.end());
    auto s = BuildTriggerSample(fault, kT + 1, named);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    *batch->add_samples() = *s;
    expected.push_back(Expect(fault, kT + 1, fault_values));
  }
  {
    // The same type positionally, at another time: ints and strings only.
    PositionalTriggerValues positional;
    positional.ints = {4002, 1, 3};
    positional.strings = {"R8", "auto-reclose failed"};
    auto s = BuildTriggerSample(fault, kT + 2, positional);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    *batch->add_samples() = *s;
    expected.push_back(Expect(fault, kT + 2,
                              {{"breaker", int64_t{4002}}, {"phase", int64_t{1}}, {"count", int64_t{3}},
                               {"relay", std::string("R8")}, {"text", std::string("auto-reclose failed")}}));
  }
  // What admission would check passes too.
  Status valid = record::Validate(record, record::Limits{}, kT);
  ASSERT_TRUE(valid.ok()) << valid.ToString();

  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  Status applied = Apply(*backend, store::testing::kKey, {record}, 1);
  ASSERT_TRUE(applied.ok()) << applied.ToString();

  std::string columns = "trigger_type, occur_time, ver";
  for (const char* kind : {"int", "float", "str"}) {
    for (int i = 1; i <= record::kMaxTriggerValues; ++i) columns += fmt::format(", {}_{}", kind, i);
  }
  const Rows rows = QueryRows(fmt::format("SELECT {} FROM burst_sample ORDER BY occur_time", columns));
  ASSERT_EQ(rows.size(), expected.size());
  constexpr int n = record::kMaxTriggerValues;
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& got = rows[r];
    const ExpectedRow& want = expected[r];
    ASSERT_EQ(got.size(), static_cast<size_t>(3 + 3 * n));
    EXPECT_EQ(got[0], std::to_string(want.type));
    EXPECT_EQ(got[1], std::to_string(want.occur_time_us));
    EXPECT_EQ(got[2], "5");
    for (int i = 0; i < n; ++i) {
      const std::string where = fmt::format("row {} column {}", r, i + 1);
      const std::string& gi = got[3 + i];
      const std::string& gf = got[3 + n + i];
      const std::string& gs = got[3 + 2 * n + i];
      EXPECT_EQ(gi, want.ints[i] ? std::to_string(*want.ints[i]) : kNull) << "int_" << where;
      if (want.floats[i]) {
        // The dialects print doubles differently; the value read back must be exact.
        EXPECT_NE(gf, kNull) << "float_" << where;
        if (gf != kNull) {
          EXPECT_EQ(std::strtod(gf.c_str(), nullptr), *want.floats[i]) << "float_" << where;
        }
      } else {
        EXPECT_EQ(gf, kNull) << "float_" << where;
      }
      EXPECT_EQ(gs, want.strings[i] ? *want.strings[i] : std::string(kNull)) << "str_" << where;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dialects, TriggerRowsTest, ::testing::Values("sqlite", "postgres"),
                         store::testing::DialectName);

}  // namespace
}  // namespace sluice::sampling
