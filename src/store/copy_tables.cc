#include <algorithm>
#include <bit>
#include <cstddef>

#include <fmt/format.h>

#include "store/copy_io.h"
#include "store/schema.h"

namespace sluice::store {
namespace {

using T = CopyColumnType;

CopyTableSpec Table(std::string name, std::vector<CopyColumn> columns, size_t key_columns,
                    bool sample_table = false, bool identity = false) {
  CopyTableSpec spec;
  spec.name = std::move(name);
  spec.columns = std::move(columns);
  spec.key_columns = key_columns;
  spec.sample_table = sample_table;
  spec.identity = identity;
  return spec;
}

// The columns of store/schema.cc after its last step (table_copy_test checks them against a
// real target of each dialect).
std::vector<CopyTableSpec> BuildTables() {
  std::vector<CopyTableSpec> tables;
  tables.push_back(Table("point",
                    {{"point_id", T::kInteger}, {"name", T::kText}, {"description", T::kText},
                     {"unit", T::kText}, {"lower_limit", T::kReal}, {"upper_limit", T::kReal},
                     {"updated_at", T::kInteger}, {"kind", T::kInteger},
                     {"lolo_limit", T::kReal}, {"hihi_limit", T::kReal},
                     {"deadband", T::kReal}, {"station", T::kText}, {"element", T::kText}},
                    1));
  tables.push_back(Table("sample_define",
                    {{"point_id", T::kInteger}, {"sample_interval", T::kInteger},
                     {"mode", T::kInteger}, {"enabled", T::kBool}, {"description", T::kText},
                     {"updated_at", T::kInteger}},
                    2));
  tables.push_back(Table("burst_type",
                    {{"trigger_type", T::kInteger}, {"name", T::kText},
                     {"description", T::kText}, {"int_count", T::kInteger},
                     {"float_count", T::kInteger}, {"string_count", T::kInteger},
                     {"int_columns", T::kText}, {"float_columns", T::kText},
                     {"string_columns", T::kText}},
                    1));
  tables.push_back(Table("recall_define",
                    {{"recall_id", T::kInteger}, {"name", T::kText}, {"point_ids", T::kText},
                     {"period_us", T::kInteger}, {"before_us", T::kInteger},
                     {"after_us", T::kInteger}, {"on_limit", T::kBool},
                     {"updated_at", T::kInteger}},
                    1));
  for (v1::SampleInterval interval : schema::SampleIntervals()) {
    tables.push_back(Table(std::string(schema::SampleTableName(interval)),
                      {{"point_id", T::kInteger}, {"ts", T::kInteger}, {"value", T::kReal},
                       {"quality", T::kInteger}, {"ver", T::kInteger}, {"manual", T::kBool}},
                      2, /*sample_table=*/true));
  }
  {
    CopyTableSpec burst = Table("burst_sample",
                                {{"trigger_type", T::kInteger}, {"occur_time", T::kInteger},
                                 {"ver", T::kInteger}},
                                2);
    const int n = schema::kBurstColumns;
    for (int i = 1; i <= n; ++i) burst.columns.push_back({fmt::format("int_{}", i), T::kInteger});
    for (int i = 1; i <= n; ++i) burst.columns.push_back({fmt::format("float_{}", i), T::kReal});
    for (int i = 1; i <= n; ++i) burst.columns.push_back({fmt::format("str_{}", i), T::kText});
    tables.push_back(std::move(burst));
  }
  tables.push_back(Table("recall_sample",
                    {{"point_id", T::kInteger}, {"event_ts", T::kInteger}, {"ts", T::kInteger},
                     {"value", T::kReal}, {"quality", T::kInteger}, {"ver", T::kInteger}},
                    3));
  tables.push_back(Table("event_log",
                    {{"id", T::kInteger}, {"ver", T::kInteger}, {"seq", T::kInteger},
                     {"ts", T::kInteger}, {"point_id", T::kInteger}, {"kind", T::kText},
                     {"severity", T::kInteger}, {"source", T::kText}, {"text", T::kText}},
                    1, false, /*identity=*/true));
  tables.push_back(Table("sample_edit_log",
                    {{"id", T::kInteger}, {"ver", T::kInteger}, {"sample_table", T::kText},
                     {"point_id", T::kInteger}, {"ts", T::kInteger}, {"value", T::kReal},
                     {"quality", T::kInteger}, {"manual", T::kBool}, {"who", T::kText},
                     {"why", T::kText}, {"edited_at", T::kInteger},
                     {"old_value", T::kReal}, {"old_quality", T::kInteger}},
                    1, false, /*identity=*/true));
  tables.push_back(Table("sluice_error",
                    {{"node", T::kText}, {"epoch", T::kText}, {"stream", T::kText},
                     {"lsn", T::kInteger}, {"target", T::kText}, {"record_kind", T::kText},
                     {"message", T::kText}, {"payload", T::kText}, {"failed_at", T::kInteger},
                     {"attempts", T::kInteger}, {"resolution", T::kText},
                     {"resolved_at", T::kInteger}},
                    4));
  return tables;
}

}  // namespace

std::span<const CopyTableSpec> CopyTables() {
  static const std::vector<CopyTableSpec> tables = BuildTables();
  return tables;
}

const CopyTableSpec& WatermarkTable() {
  static const CopyTableSpec table = Table("sluice_watermark",
                                           {{"node", T::kText}, {"epoch", T::kText},
                                            {"stream", T::kText}, {"lsn", T::kInteger},
                                            {"updated_at", T::kInteger}},
                                           3);
  return table;
}

const CopyTableSpec* FindCopyTable(std::string_view name) {
  for (const CopyTableSpec& spec : CopyTables()) {
    if (spec.name == name) return &spec;
  }
  if (WatermarkTable().name == name) return &WatermarkTable();
  return nullptr;
}

CopyRow KeyOf(const CopyTableSpec& spec, const CopyRow& row) {
  return CopyRow(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(
                                                std::min(spec.key_columns, row.size())));
}

std::string ColumnList(const CopyTableSpec& table) {
  std::vector<std::string> names;
  for (const CopyColumn& c : table.columns) names.push_back(c.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string KeyList(const CopyTableSpec& table) {
  std::vector<std::string> names;
  for (size_t i = 0; i < table.key_columns; ++i) names.push_back(table.columns[i].name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string KeyAbove(const CopyTableSpec& table, std::string_view placeholder) {
  std::vector<std::string> marks;
  for (size_t i = 0; i < table.key_columns; ++i) marks.push_back(fmt::format("{}{}", placeholder, i + 1));
  return fmt::format("({}) > ({})", KeyList(table), fmt::join(marks, ", "));
}

std::string ShowValue(const CopyValue& value) {
  switch (value.index()) {
    case 0: return "null";
    case 1: return fmt::format("int {}", std::get<int64_t>(value));
    case 2: {
      const double d = std::get<double>(value);
      return fmt::format("real {} ({:016x})", d, std::bit_cast<uint64_t>(d));
    }
    default: return fmt::format("text '{}'", std::get<std::string>(value));
  }
}

}  // namespace sluice::store
