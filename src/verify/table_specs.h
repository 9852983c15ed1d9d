#pragma once
// Which Sluice-managed tables `sluice verify` compares, by what key and time column, and
// which it skips and why (docs/verify.md). The columns are those of store/schema.cc
// (verify_tables_test checks them against a real target), minus the target-local ones:
// a column whose value differs between targets by design is never compared.
//
// Thread safety: immutable after first use; safe from any thread.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::verify {

// How a column's value becomes canonical text (checksum_sql.h).
enum class ColumnType { kInteger, kReal, kText, kBool, kBlob };

struct ColumnSpec {
  std::string name;
  ColumnType type = ColumnType::kInteger;
};

struct TableSpec {
  std::string name;
  // The time column (µs UTC) that buckets the table; empty: the table is one bucket.
  std::string time_column;
  // What names a row across targets (the primary key; for tables whose key is
  // target-local, the record's version and the row's place in it).
  std::vector<std::string> key;
  // Every compared column, key and time column included, in schema order.
  std::vector<ColumnSpec> columns;
  // A column of the table that is not compared (target-local ids), for the docs and the
  // schema check.
  std::vector<std::string> ignored_columns;

  bool timed() const { return !time_column.empty(); }
};

struct SkippedTable {
  std::string_view name;
  std::string_view why;
};

// Every compared table, in a fixed order (model tables first).
std::span<const TableSpec> ComparedTables();
// The Sluice-managed tables a target holds for itself, never compared.
std::span<const SkippedTable> SkippedTables();
// The compared table `name`; nullptr when there is none.
const TableSpec* FindTable(std::string_view name);

}  // namespace sluice::verify
