#include "store/postgres/pg_copy_binary.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace sluice::store::postgres {
namespace {

uint64_t Be64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

Status Unfit(const CopyTableSpec& table, size_t column, const CopyValue& v) {
  return Status::InvalidArgument(fmt::format("{}.{}: {} does not fit the column", table.name,
                                             table.columns[column].name, ShowValue(v)));
}

}  // namespace

Status AppendBinaryRow(const CopyTableSpec& table, const CopyRow& row, CopyWriter* out) {
  if (row.size() != table.columns.size()) {
    return Status::InvalidArgument(fmt::format("{}: a row of {} values, the table has {} columns",
                                               table.name, row.size(), table.columns.size()));
  }
  // Checked before anything is appended, so a refused row leaves the buffer whole.
  for (size_t i = 0; i < row.size(); ++i) {
    const CopyValue& v = row[i];
    bool fits = true;
    switch (table.columns[i].type) {
      case CopyColumnType::kInteger:
      case CopyColumnType::kBool: fits = v.index() == 0 || v.index() == 1; break;
      case CopyColumnType::kReal: fits = v.index() != 3; break;
      case CopyColumnType::kText: fits = v.index() == 0 || v.index() == 3; break;
    }
    if (!fits) return Unfit(table, i, v);
  }
  out->Row(static_cast<uint16_t>(row.size()));
  for (size_t i = 0; i < row.size(); ++i) {
    const CopyValue& v = row[i];
    if (v.index() == 0) {
      out->Null();
      continue;
    }
    switch (table.columns[i].type) {
      case CopyColumnType::kInteger: out->Int64(std::get<int64_t>(v)); break;
      case CopyColumnType::kBool: out->Bool(std::get<int64_t>(v) != 0); break;
      case CopyColumnType::kReal:
        out->Float8(v.index() == 2 ? std::get<double>(v)
                                   : static_cast<double>(std::get<int64_t>(v)));
        break;
      case CopyColumnType::kText: out->Text(std::get<std::string>(v)); break;
    }
  }
  return Status::OK();
}

Result<CopyRow> ReadBinaryRow(const PGresult* res, int r, const CopyTableSpec& table) {
  CopyRow row;
  row.reserve(table.columns.size());
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const int c = static_cast<int>(i);
    if (PQgetisnull(res, r, c)) {
      row.emplace_back(std::monostate{});
      continue;
    }
    const char* data = PQgetvalue(res, r, c);
    const int len = PQgetlength(res, r, c);
    const CopyColumnType type = table.columns[i].type;
    const bool fits = type == CopyColumnType::kText || (type == CopyColumnType::kBool ? len == 1 : len == 8);
    if (!fits) {
      return Status::Corruption(fmt::format("{}.{}: a binary value of {} bytes, not one of the column's type",
                                            table.name, table.columns[i].name, len));
    }
    switch (type) {
      case CopyColumnType::kInteger: row.emplace_back(static_cast<int64_t>(Be64(data))); break;
      case CopyColumnType::kReal: row.emplace_back(std::bit_cast<double>(Be64(data))); break;
      case CopyColumnType::kBool: row.emplace_back(int64_t{data[0] != 0 ? 1 : 0}); break;
      case CopyColumnType::kText: row.emplace_back(std::string(data, static_cast<size_t>(len))); break;
    }
  }
  return row;
}

}  // namespace sluice::store::postgres
