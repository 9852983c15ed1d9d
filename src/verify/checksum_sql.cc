#include "verify/checksum_sql.h"

#include <fmt/format.h>

#include "store/row_hash.h"

namespace sluice::verify {
namespace {

bool IsPostgres(std::string_view dialect) { return dialect == "postgres"; }

std::string Quoted(std::string_view name) { return fmt::format("\"{}\"", name); }

// The field's canonical text, never NULL (NULL is 'N').
std::string FieldExpr(std::string_view dialect, const ColumnSpec& column) {
  const std::string c = Quoted(column.name);
  const bool pg = IsPostgres(dialect);
  switch (column.type) {
    case ColumnType::kInteger:
      return pg ? fmt::format("coalesce('i' || {}::text, 'N')", c)
                : fmt::format("coalesce('i' || {}, 'N')", c);
    case ColumnType::kBool:
      // SQLite stores booleans as the integers 0 and 1.
      return pg ? fmt::format("CASE WHEN {0} IS NULL THEN 'N' WHEN {0} THEN 'i1' ELSE 'i0' END", c)
                : fmt::format("coalesce('i' || {}, 'N')", c);
    case ColumnType::kReal:
      // -0.0 = 0 in both dialects; PostgreSQL's NaN equals itself.
      return pg ? fmt::format(
                      "CASE WHEN {0} IS NULL OR {0} = 'NaN'::float8 THEN 'N' WHEN {0} = 0 THEN "
                      "'f0000000000000000' ELSE 'f' || encode(float8send({0}), 'hex') END",
                      c)
                : fmt::format(
                      "CASE WHEN {0} IS NULL THEN 'N' WHEN {0} = 0 THEN 'f0000000000000000' "
                      "ELSE 'f' || {1}({0}) END",
                      c, store::kSqliteFloatBitsFunction);
    case ColumnType::kText:
      return pg ? fmt::format("coalesce('t' || encode(convert_to({}, 'UTF8'), 'hex'), 'N')", c)
                : fmt::format("coalesce('t' || lower(hex({})), 'N')", c);
    case ColumnType::kBlob:
      return pg ? fmt::format("coalesce('b' || encode({}, 'hex'), 'N')", c)
                : fmt::format("coalesce('b' || lower(hex({})), 'N')", c);
  }
  return "'N'";
}

std::string WhereRange(const TableSpec& table, const TimeRange& range) {
  if (!table.timed()) return "";
  std::string where;
  const std::string c = Quoted(table.time_column);
  if (range.from_us) where += fmt::format(" WHERE {} >= {}", c, *range.from_us);
  if (range.to_us) where += fmt::format("{} {} < {}", where.empty() ? " WHERE" : " AND", c, *range.to_us);
  return where;
}

}  // namespace

std::string CanonicalRowExpr(std::string_view dialect, const TableSpec& table) {
  std::string out;
  for (const ColumnSpec& column : table.columns) {
    if (!out.empty()) out += " || '|' || ";
    out += FieldExpr(dialect, column);
  }
  return out;
}

std::string RowHashExpr(std::string_view dialect, const TableSpec& table) {
  const std::string text = CanonicalRowExpr(dialect, table);
  if (IsPostgres(dialect)) {
    return fmt::format("('x' || substr(md5({}), 1, 16))::bit(64)::bigint", text);
  }
  return fmt::format("{}({})", store::kSqliteRowHashFunction, text);
}

std::string BucketSummarySql(std::string_view dialect, const TableSpec& table,
                             const TimeRange& range, int64_t bucket_us) {
  // Rounds down for negative times too: % truncates toward zero in both dialects.
  const std::string bucket =
      table.timed() ? fmt::format("({0} - ((({0} % {1}) + {1}) % {1}))",
                                  Quoted(table.time_column), bucket_us)
                    : "0";
  const std::string checksum =
      IsPostgres(dialect)
          ? "((coalesce(sum(h), 0) % 18446744073709551616 + 18446744073709551616) "
            "% 18446744073709551616)::text"
          : fmt::format("{}(h)", store::kSqliteSum64Function);
  return fmt::format(
      "SELECT b, count(*), {} FROM (SELECT {} AS b, {} AS h FROM {}{}) AS rows_of_bucket "
      "GROUP BY b ORDER BY b",
      checksum, bucket, RowHashExpr(dialect, table), Quoted(table.name),
      WhereRange(table, range));
}

std::string RowHashesSql(std::string_view dialect, const TableSpec& table,
                         const TimeRange& range) {
  std::string keys;
  for (const std::string& k : table.key) keys += Quoted(k) + ", ";
  return fmt::format("SELECT {}{} FROM {}{}", keys, RowHashExpr(dialect, table),
                     Quoted(table.name), WhereRange(table, range));
}

}  // namespace sluice::verify
