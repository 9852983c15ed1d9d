#pragma once
// What the trigger tests with a real sluiced share: the trigger types they define, the
// Sampling.Trigger requests they send, and the burst_sample row each one must become, by
// the test's own reckoning (value i of each kind in column i + 1, NULL after), compared
// column by column with what a target holds.
//
// Thread safety: pure functions.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sluice/v1/service.pb.h"

namespace sluice::testing {

// Columns of each kind in burst_sample.
inline constexpr int kBurstColumns = 50;

using TestValue = std::variant<int64_t, double, std::string>;
using NamedValues = std::vector<std::pair<std::string, TestValue>>;

struct ExpectedTriggerRow {
  int32_t type = 0;
  int64_t occur_time_us = 0;
  std::vector<std::optional<int64_t>> ints = std::vector<std::optional<int64_t>>(kBurstColumns);
  std::vector<std::optional<double>> floats = std::vector<std::optional<double>>(kBurstColumns);
  std::vector<std::optional<std::string>> strings =
      std::vector<std::optional<std::string>>(kBurstColumns);
};

inline v1::CatalogTriggerType MakeTriggerType(int32_t id, std::string name,
                                              std::vector<std::string> ints,
                                              std::vector<std::string> floats,
                                              std::vector<std::string> strings) {
  v1::CatalogTriggerType t;
  t.set_id(id);
  t.set_name(std::move(name));
  t.set_description(fmt::format("test type {}", id));
  for (auto& c : ints) t.add_int_columns(std::move(c));
  for (auto& c : floats) t.add_float_columns(std::move(c));
  for (auto& c : strings) t.add_string_columns(std::move(c));
  return t;
}

// The row named values of `type` become: each column takes the value given for it (an int
// given for a float column as that double).
inline ExpectedTriggerRow ExpectNamed(const v1::CatalogTriggerType& type, int64_t occur_time_us,
                                      const NamedValues& values) {
  ExpectedTriggerRow row;
  row.type = type.id();
  row.occur_time_us = occur_time_us;
  auto find = [&](const std::string& column) -> const TestValue* {
    for (const auto& [name, v] : values) {
      if (name == column) return &v;
    }
    return nullptr;
  };
  for (int i = 0; i < type.int_columns_size(); ++i) {
    if (const TestValue* v = find(type.int_columns(i))) row.ints[i] = std::get<int64_t>(*v);
  }
  for (int i = 0; i < type.float_columns_size(); ++i) {
    if (const TestValue* v = find(type.float_columns(i))) {
      row.floats[i] = std::holds_alternative<int64_t>(*v)
                          ? static_cast<double>(std::get<int64_t>(*v))
                          : std::get<double>(*v);
    }
  }
  for (int i = 0; i < type.string_columns_size(); ++i) {
    if (const TestValue* v = find(type.string_columns(i))) row.strings[i] = std::get<std::string>(*v);
  }
  return row;
}

inline ExpectedTriggerRow ExpectPositional(int32_t type, int64_t occur_time_us,
                                           const std::vector<int64_t>& ints,
                                           const std::vector<double>& floats,
                                           const std::vector<std::string>& strings) {
  ExpectedTriggerRow row;
  row.type = type;
  row.occur_time_us = occur_time_us;
  for (size_t i = 0; i < ints.size(); ++i) row.ints[i] = ints[i];
  for (size_t i = 0; i < floats.size(); ++i) row.floats[i] = floats[i];
  for (size_t i = 0; i < strings.size(); ++i) row.strings[i] = strings[i];
  return row;
}

inline v1::TriggerRequest NamedRequest(int64_t occur_time_us, const NamedValues& values) {
  v1::TriggerRequest req;
  req.set_occur_time_us(occur_time_us);
  for (const auto& [column, value] : values) {
    auto* v = req.add_values();
    v->set_column(column);
    if (const auto* i = std::get_if<int64_t>(&value)) v->set_int_value(*i);
    if (const auto* d = std::get_if<double>(&value)) v->set_float_value(*d);
    if (const auto* s = std::get_if<std::string>(&value)) v->set_string_value(*s);
  }
  return req;
}

// "SELECT trigger_type, occur_time, int_1, ..., float_1, ..., str_1, ..., str_50 FROM
// burst_sample ORDER BY occur_time, trigger_type".
inline std::string SelectBurstRows() {
  std::string columns = "trigger_type, occur_time";
  for (const char* kind : {"int", "float", "str"}) {
    for (int i = 1; i <= kBurstColumns; ++i) columns += fmt::format(", {}_{}", kind, i);
  }
  return fmt::format("SELECT {} FROM burst_sample ORDER BY occur_time, trigger_type", columns);
}

// Every column of `got` (rows of SelectBurstRows() as text, NULL as `null_text`) against
// `want`, in order. Floats are compared as numbers: the dialects print doubles differently,
// but the value read back must be the one sent.
inline void ExpectBurstRows(const std::vector<std::vector<std::string>>& got,
                            const std::vector<ExpectedTriggerRow>& want,
                            const std::string& null_text) {
  ASSERT_EQ(got.size(), want.size());
  constexpr int n = kBurstColumns;
  for (size_t r = 0; r < got.size(); ++r) {
    const auto& g = got[r];
    const auto& w = want[r];
    ASSERT_EQ(g.size(), static_cast<size_t>(2 + 3 * n));
    EXPECT_EQ(g[0], std::to_string(w.type)) << "row " << r;
    EXPECT_EQ(g[1], std::to_string(w.occur_time_us)) << "row " << r;
    for (int i = 0; i < n; ++i) {
      const std::string where = fmt::format("_{} of row {} (type {})", i + 1, r, w.type);
      EXPECT_EQ(g[2 + i], w.ints[i] ? std::to_string(*w.ints[i]) : null_text) << "int" << where;
      const std::string& f = g[2 + n + i];
      if (w.floats[i]) {
        EXPECT_NE(f, null_text) << "float" << where;
        if (f != null_text) {
          EXPECT_EQ(std::strtod(f.c_str(), nullptr), *w.floats[i]) << "float" << where;
        }
      } else {
        EXPECT_EQ(f, null_text) << "float" << where;
      }
      EXPECT_EQ(g[2 + 2 * n + i], w.strings[i] ? *w.strings[i] : null_text) << "str" << where;
    }
  }
}

}  // namespace sluice::testing
