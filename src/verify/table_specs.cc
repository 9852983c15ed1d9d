#include "verify/table_specs.h"

#include <array>

#include <fmt/format.h>

#include "store/schema.h"

namespace sluice::verify {
namespace {

using T = ColumnType;

std::vector<TableSpec> BuildTables() {
  std::vector<TableSpec> tables;
  tables.push_back({"point", "", {"point_id"},
                    {{"point_id", T::kInteger}, {"name", T::kText}, {"description", T::kText},
                     {"unit", T::kText}, {"lower_limit", T::kReal}, {"upper_limit", T::kReal},
                     {"updated_at", T::kInteger}, {"kind", T::kInteger},
                     {"lolo_limit", T::kReal}, {"hihi_limit", T::kReal},
                     {"deadband", T::kReal}, {"station", T::kText}, {"element", T::kText}},
                    {}});
  tables.push_back({"sample_define", "", {"point_id", "sample_interval"},
                    {{"point_id", T::kInteger}, {"sample_interval", T::kInteger},
                     {"mode", T::kInteger}, {"enabled", T::kBool}, {"description", T::kText},
                     {"updated_at", T::kInteger}},
                    {}});
  tables.push_back({"burst_type", "", {"trigger_type"},
                    {{"trigger_type", T::kInteger}, {"name", T::kText},
                     {"description", T::kText}, {"int_count", T::kInteger},
                     {"float_count", T::kInteger}, {"string_count", T::kInteger},
                     {"int_columns", T::kText}, {"float_columns", T::kText},
                     {"string_columns", T::kText}},
                    {}});
  tables.push_back({"recall_define", "", {"recall_id"},
                    {{"recall_id", T::kInteger}, {"name", T::kText}, {"point_ids", T::kText},
                     {"period_us", T::kInteger}, {"before_us", T::kInteger},
                     {"after_us", T::kInteger}, {"on_limit", T::kBool},
                     {"updated_at", T::kInteger}},
                    {}});
  for (v1::SampleInterval interval : store::schema::SampleIntervals()) {
    tables.push_back({std::string(store::schema::SampleTableName(interval)), "ts",
                      {"point_id", "ts"},
                      {{"point_id", T::kInteger}, {"ts", T::kInteger}, {"value", T::kReal},
                       {"quality", T::kInteger}, {"ver", T::kInteger}, {"manual", T::kBool}},
                      {}});
  }
  {
    TableSpec burst{"burst_sample", "occur_time", {"trigger_type", "occur_time"},
                    {{"trigger_type", T::kInteger}, {"occur_time", T::kInteger},
                     {"ver", T::kInteger}},
                    {}};
    const int n = store::schema::kBurstColumns;
    for (int i = 1; i <= n; ++i) burst.columns.push_back({fmt::format("int_{}", i), T::kInteger});
    for (int i = 1; i <= n; ++i) burst.columns.push_back({fmt::format("float_{}", i), T::kReal});
    for (int i = 1; i <= n; ++i) burst.columns.push_back({fmt::format("str_{}", i), T::kText});
    tables.push_back(std::move(burst));
  }
  tables.push_back({"recall_sample", "ts", {"point_id", "event_ts", "ts"},
                    {{"point_id", T::kInteger}, {"event_ts", T::kInteger}, {"ts", T::kInteger},
                     {"value", T::kReal}, {"quality", T::kInteger}, {"ver", T::kInteger}},
                    {}});
  // id is target-local; (ver, seq) is the event's place in its admitted record.
  tables.push_back({"event_log", "ts", {"ver", "seq"},
                    {{"ver", T::kInteger}, {"seq", T::kInteger}, {"ts", T::kInteger},
                     {"point_id", T::kInteger}, {"kind", T::kText},
                     {"severity", T::kInteger}, {"source", T::kText}, {"text", T::kText}},
                    {"id"}});
  // id is target-local; one correction record edits one sample of one table.
  tables.push_back({"sample_edit_log", "ts", {"ver", "sample_table", "point_id", "ts"},
                    {{"ver", T::kInteger}, {"sample_table", T::kText},
                     {"point_id", T::kInteger}, {"ts", T::kInteger}, {"value", T::kReal},
                     {"quality", T::kInteger}, {"manual", T::kBool}, {"who", T::kText},
                     {"why", T::kText}, {"edited_at", T::kInteger},
                     {"old_value", T::kReal}, {"old_quality", T::kInteger}},
                    {"id"}});
  return tables;
}

constexpr std::array<SkippedTable, 4> kSkipped = {{
    {"sluice_schema_version", "when each target applied each migration step"},
    {"sluice_watermark", "how far each target has applied (compared by sluice status)"},
    {"sluice_error", "the records each target rejected (sluice errors list)"},
    {"sluice_node_lock", "which process writes each target"},
}};

}  // namespace

std::span<const TableSpec> ComparedTables() {
  static const std::vector<TableSpec> tables = BuildTables();
  return tables;
}

std::span<const SkippedTable> SkippedTables() { return kSkipped; }

const TableSpec* FindTable(std::string_view name) {
  for (const TableSpec& t : ComparedTables()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace sluice::verify
