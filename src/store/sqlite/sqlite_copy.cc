#include "store/sqlite/sqlite_copy.h"

#include <sqlite3.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "store/sqlite/sqlite_backend.h"
#include "store/sqlite/sqlite_backend_sql.h"
#include "store/sqlite/sqlite_writer.h"

namespace sluice::store::sqlite {
namespace {

int Bind(sqlite3_stmt* stmt, int index, const CopyValue& v) {
  switch (v.index()) {
    case 0: return sqlite3_bind_null(stmt, index);
    case 1: return sqlite3_bind_int64(stmt, index, std::get<int64_t>(v));
    case 2: return sqlite3_bind_double(stmt, index, std::get<double>(v));
    default: {
      const std::string& s = std::get<std::string>(v);
      return sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    }
  }
}

CopyRow ReadCopyRow(sqlite3_stmt* stmt, const CopyTableSpec& table) {
  CopyRow row;
  row.reserve(table.columns.size());
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const int col = static_cast<int>(i);
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL) {
      row.emplace_back(std::monostate{});
      continue;
    }
    switch (table.columns[i].type) {
      case CopyColumnType::kInteger:
      case CopyColumnType::kBool: row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, col))); break;
      case CopyColumnType::kReal: row.emplace_back(sqlite3_column_double(stmt, col)); break;
      case CopyColumnType::kText: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
        row.emplace_back(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, col))));
        break;
      }
    }
  }
  return row;
}

class SqliteSnapshot final : public SnapshotReader {
 public:
  SqliteSnapshot(sqlite3* db, std::string where) : db_(db), where_(std::move(where)) {}
  ~SqliteSnapshot() override {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
  }

  // Starts the read transaction: BEGIN alone takes no snapshot, the first read does.
  Status Begin() {
    SLUICE_RETURN_IF_ERROR(Exec("PRAGMA query_only = 1"));
    SLUICE_RETURN_IF_ERROR(Exec("BEGIN"));
    return Exec("SELECT count(*) FROM sluice_watermark");
  }

  Result<std::vector<CopyRow>> ReadWatermarks() override {
    return ReadRows(WatermarkTable(), {}, 0);
  }

  Result<int64_t> CountRows(const CopyTableSpec& table) override {
    const std::string sql = fmt::format("SELECT count(*) FROM {}", table.name);
    const std::string context = fmt::format("{}: counting the rows of {}", where_, table.name);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_), context);
    StatementUse use{stmt, true};
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) return SqliteError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_), context);
    return static_cast<int64_t>(sqlite3_column_int64(stmt, 0));
  }

  Result<std::vector<CopyRow>> ReadRows(const CopyTableSpec& table, const CopyRow& after,
                                        size_t limit) override {
    const std::string context = fmt::format("{}: reading {}", where_, table.name);
    if (!after.empty() && after.size() != table.key_columns) {
      return Status::InvalidArgument(fmt::format("{}: a key of {} values, the table's has {}",
                                                 context, after.size(), table.key_columns));
    }
    std::string sql = fmt::format("SELECT {} FROM {}", ColumnList(table), table.name);
    if (!after.empty()) sql += " WHERE " + KeyAbove(table, "?");
    sql += fmt::format(" ORDER BY {}", KeyList(table));
    if (limit > 0) sql += fmt::format(" LIMIT {}", limit);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_), context);
    StatementUse use{stmt, true};
    for (size_t i = 0; i < after.size(); ++i) {
      rc = Bind(stmt, static_cast<int>(i + 1), after[i]);
      if (rc != SQLITE_OK) return SqliteError(rc, sqlite3_errmsg(db_), context);
    }
    std::vector<CopyRow> rows;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) rows.push_back(ReadCopyRow(stmt, table));
    if (rc != SQLITE_DONE) return SqliteError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_), context);
    return rows;
  }

 private:
  Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    std::string why = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    if (rc != SQLITE_OK) {
      return SqliteError(sqlite3_extended_errcode(db_), why,
                         fmt::format("{}: opening the snapshot ({})", where_, sql));
    }
    return Status::OK();
  }

  sqlite3* db_;
  const std::string where_;
};

class SqliteLoader final : public TableLoader {
 public:
  SqliteLoader(std::unique_ptr<SqliteBackend> backend, std::shared_ptr<Writer> writer,
               std::string where)
      : backend_(std::move(backend)), writer_(std::move(writer)), where_(std::move(where)) {}

  Status Clear(std::span<const CopyTableSpec* const> tables) override {
    std::lock_guard<std::mutex> lock(writer_->mu());
    const std::string context = fmt::format("{}: emptying the copied tables", where_);
    return InTransaction(context, [&]() -> Status {
      for (const CopyTableSpec* table : tables) {
        SLUICE_RETURN_IF_ERROR(writer_->Exec(fmt::format("DELETE FROM {}", table->name), context));
      }
      return writer_->Exec("DELETE FROM sluice_watermark", context);
    });
  }

  Status ClearAfter(const CopyTableSpec& table, const CopyRow& after) override {
    std::lock_guard<std::mutex> lock(writer_->mu());
    const std::string context =
        fmt::format("{}: deleting the rows of {} past the resume mark", where_, table.name);
    if (after.size() != table.key_columns) {
      return Status::InvalidArgument(fmt::format("{}: a key of {} values, the table's has {}",
                                                 context, after.size(), table.key_columns));
    }
    return InTransaction(context, [&]() -> Status {
      SLUICE_ASSIGN_OR_RETURN(
          sqlite3_stmt * stmt,
          writer_->Cached(fmt::format("DELETE FROM {} WHERE {}", table.name, KeyAbove(table, "?"))));
      StatementUse use{stmt, false};
      for (size_t i = 0; i < after.size(); ++i) {
        int rc = Bind(stmt, static_cast<int>(i + 1), after[i]);
        if (rc != SQLITE_OK) return writer_->LastError(rc, context);
      }
      int rc = sqlite3_step(stmt);
      if (rc != SQLITE_DONE) return writer_->LastError(rc, context);
      return Status::OK();
    });
  }

  Status WriteRows(const CopyTableSpec& table, std::span<const CopyRow> rows,
                   const std::vector<CopyRow>* watermarks) override {
    std::lock_guard<std::mutex> lock(writer_->mu());
    const std::string context = fmt::format("{}: writing {}", where_, table.name);
    return InTransaction(context, [&]() -> Status {
      SLUICE_RETURN_IF_ERROR(Insert(table, rows, context));
      if (watermarks == nullptr) return Status::OK();
      SLUICE_RETURN_IF_ERROR(writer_->Exec("DELETE FROM sluice_watermark", context));
      return Insert(WatermarkTable(), *watermarks, context);
    });
  }

 private:
  // REQUIRES: writer_->mu() held.
  template <typename F>
  Status InTransaction(const std::string& context, F&& body) {
    if (writer_->broken()) SLUICE_RETURN_IF_ERROR(writer_->Reopen());
    SLUICE_RETURN_IF_ERROR(writer_->Begin(context));
    Status s = body();
    if (s.ok()) s = writer_->Commit(context);
    if (!s.ok()) writer_->Rollback();
    return s;
  }

  Status Insert(const CopyTableSpec& table, std::span<const CopyRow> rows,
                const std::string& context) {
    if (rows.empty()) return Status::OK();
    std::vector<std::string> marks;
    for (size_t i = 0; i < table.columns.size(); ++i) marks.push_back(fmt::format("?{}", i + 1));
    SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                            writer_->Cached(fmt::format("INSERT INTO {} ({}) VALUES ({})",
                                                        table.name, ColumnList(table),
                                                        fmt::join(marks, ", "))));
    for (const CopyRow& row : rows) {
      StatementUse use{stmt, false};
      if (row.size() != table.columns.size()) {
        return Status::InvalidArgument(fmt::format("{}: a row of {} values, the table has {} columns",
                                                   context, row.size(), table.columns.size()));
      }
      for (size_t i = 0; i < row.size(); ++i) {
        int rc = Bind(stmt, static_cast<int>(i + 1), row[i]);
        if (rc != SQLITE_OK) return writer_->LastError(rc, context);
      }
      int rc = sqlite3_step(stmt);
      if (rc != SQLITE_DONE) return writer_->LastError(rc, context);
    }
    return Status::OK();
  }

  std::unique_ptr<SqliteBackend> backend_;  // keeps the schema and the writer's registry entry
  std::shared_ptr<Writer> writer_;
  const std::string where_;
};

}  // namespace

Result<std::unique_ptr<SnapshotReader>> OpenSqliteSnapshot(const BackendOptions& options) {
  const std::string where = fmt::format("target '{}' (sqlite, {})", options.name, options.connection);
  sqlite3* db = nullptr;
  // Read-write open (no create) with query_only: a read-only open of a WAL file fails
  // when its -shm file does not exist yet.
  int rc = sqlite3_open_v2(options.connection.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(rc, db != nullptr ? sqlite3_errmsg(db) : "out of memory",
                           fmt::format("{}: opening the snapshot", where));
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  auto snapshot = std::make_unique<SqliteSnapshot>(db, where);
  SLUICE_RETURN_IF_ERROR(snapshot->Begin());
  return std::unique_ptr<SnapshotReader>(std::move(snapshot));
}

Result<std::unique_ptr<TableLoader>> OpenSqliteLoader(const BackendOptions& options) {
  const std::string where = fmt::format("target '{}' (sqlite, {})", options.name, options.connection);
  auto backend = std::make_unique<SqliteBackend>(options);
  SLUICE_RETURN_IF_ERROR(backend->Connect());
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Writer> writer,
                          Writer::Acquire(options.connection, WriterOptions{}));
  return std::unique_ptr<TableLoader>(
      std::make_unique<SqliteLoader>(std::move(backend), std::move(writer), where));
}

}  // namespace sluice::store::sqlite
