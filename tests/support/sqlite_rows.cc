#include "support/sqlite_rows.h"

#include <sqlite3.h>

#include <fmt/format.h>

namespace sluice::testing {

Result<std::vector<std::vector<std::string>>> QueryRows(const std::string& db, const std::string& sql,
                                                        const QueryOptions& options) {
  sqlite3* h = nullptr;
  const int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (sqlite3_open_v2(db.c_str(), &h, flags, nullptr) != SQLITE_OK) {
    std::string msg = h ? sqlite3_errmsg(h) : "out of memory";
    sqlite3_close(h);
    return Status::IOError(fmt::format("{}: {}", db, msg));
  }
  sqlite3_busy_timeout(h, options.busy_timeout_ms);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(h);
    sqlite3_close(h);
    return Status::InvalidArgument(fmt::format("{}: {}: {}", db, sql, msg));
  }
  std::vector<std::vector<std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const unsigned char* t = sqlite3_column_text(st, i);
      row.push_back(t ? reinterpret_cast<const char*>(t) : options.null_text);
    }
    rows.push_back(std::move(row));
  }
  std::string msg = sqlite3_errmsg(h);
  sqlite3_finalize(st);
  sqlite3_close(h);
  if (rc != SQLITE_DONE) return Status::IOError(fmt::format("{}: {}: {}", db, sql, msg));
  return rows;
}

Result<int64_t> QueryInt(const std::string& db, const std::string& sql) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, QueryRows(db, sql));
  if (rows.size() != 1 || rows[0].size() != 1) {
    return Status::InvalidArgument(fmt::format("{}: expected one value", sql));
  }
  return std::stoll(rows[0][0]);
}

int64_t CountRows(const std::string& db, const std::string& table, const std::string& where) {
  auto n = QueryInt(db, "SELECT count(*) FROM " + table + (where.empty() ? "" : " WHERE " + where));
  return n.ok() ? *n : -1;
}

}  // namespace sluice::testing
