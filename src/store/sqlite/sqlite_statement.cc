#include "store/sqlite/sqlite_statement.h"

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "store/sqlite/sqlite_functions.h"
#include "store/sqlite/sqlite_writer.h"

namespace sluice::store::sqlite {
namespace {

constexpr size_t kDefaultBatchRows = 1000;

// Returns the parameter number N of "$N", "?N", or of a nameless "?" at `index`; 0 when
// the parameter is not positional (":name", "@name", "$name").
int PositionalNumber(sqlite3_stmt* stmt, int index) {
  const char* name = sqlite3_bind_parameter_name(stmt, index);
  if (name == nullptr) return index;
  if ((name[0] != '$' && name[0] != '?') || name[1] == '\0') return 0;
  long n = 0;
  for (const char* p = name + 1; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return 0;
    n = n * 10 + (*p - '0');
    if (n > INT_MAX) return 0;
  }
  return static_cast<int>(n);
}

// What the authorizer refused a read, for its message.
std::string RefusedAction(int action, const char* a1, const char* a2) {
  const auto arg = [](const char* s) { return s != nullptr ? s : "?"; };
  // DDL writes the schema table first: say what it is.
  if ((action == SQLITE_INSERT || action == SQLITE_UPDATE || action == SQLITE_DELETE) &&
      a1 != nullptr) {
    for (const char* schema_table :
         {"sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema"}) {
      if (sqlite3_stricmp(a1, schema_table) == 0) return "change the schema";
    }
  }
  switch (action) {
    case SQLITE_INSERT: return fmt::format("insert into {}", arg(a1));
    case SQLITE_UPDATE: return fmt::format("update {}.{}", arg(a1), arg(a2));
    case SQLITE_DELETE: return fmt::format("delete from {}", arg(a1));
    case SQLITE_TRANSACTION: return "control the transaction";
    case SQLITE_SAVEPOINT: return "use savepoints";
    case SQLITE_PRAGMA: return fmt::format("run PRAGMA {}", arg(a1));
    case SQLITE_ATTACH:
    case SQLITE_DETACH: return "attach or detach databases";
    case SQLITE_ALTER_TABLE: return fmt::format("alter table {}", arg(a2));
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_VTABLE: return fmt::format("create {}", arg(a1));
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_VTABLE: return fmt::format("drop {}", arg(a1));
    default: return fmt::format("perform action {}", action);
  }
}

}  // namespace

const std::string& SqliteText(const v1::SqlStatement& statement) {
  static const std::string kDialectKey = "sqlite";
  auto it = statement.dialect_text().find(kDialectKey);
  return it != statement.dialect_text().end() ? it->second : statement.text();
}

Status CheckSingleStatement(sqlite3* db, std::string_view sql, const char* tail) {
  const char* end = sql.data() + sql.size();
  while (tail != nullptr && tail < end) {
    sqlite3_stmt* next = nullptr;
    const char* next_tail = nullptr;
    int rc = sqlite3_prepare_v2(db, tail, static_cast<int>(end - tail), &next, &next_tail);
    if (next != nullptr || rc != SQLITE_OK) {
      sqlite3_finalize(next);
      return Status::InvalidArgument(
          "SQL text holds more than one statement; a record carries exactly one");
    }
    if (next_tail == tail) break;
    tail = next_tail;
  }
  return Status::OK();
}

Status BindParams(sqlite3_stmt* stmt, const v1::SqlStatement& statement) {
  const int count = sqlite3_bind_parameter_count(stmt);
  const int given = statement.params_size();
  int highest = 0;
  for (int i = 1; i <= count; ++i) {
    const int n = PositionalNumber(stmt, i);
    if (n == 0) {
      return Status::InvalidArgument(
          fmt::format("parameter {} is not positional; write $1, $2, ...",
                      sqlite3_bind_parameter_name(stmt, i)));
    }
    if (n > given) {
      return Status::InvalidArgument(
          fmt::format("the statement uses ${} but the record binds {} parameter(s)", n, given));
    }
    highest = std::max(highest, n);
    const v1::SqlValue& v = statement.params(n - 1);
    int rc = SQLITE_OK;
    switch (v.kind_case()) {
      case v1::SqlValue::kNullValue:
        rc = sqlite3_bind_null(stmt, i);
        break;
      case v1::SqlValue::kIntValue:
        rc = sqlite3_bind_int64(stmt, i, v.int_value());
        break;
      case v1::SqlValue::kDoubleValue:
        rc = sqlite3_bind_double(stmt, i, v.double_value());
        break;
      case v1::SqlValue::kTextValue:
        rc = sqlite3_bind_text64(stmt, i, v.text_value().data(), v.text_value().size(),
                                 SQLITE_STATIC, SQLITE_UTF8);
        break;
      case v1::SqlValue::kClobValue:
        rc = sqlite3_bind_text64(stmt, i, v.clob_value().data(), v.clob_value().size(),
                                 SQLITE_STATIC, SQLITE_UTF8);
        break;
      case v1::SqlValue::kBlobValue:
        rc = sqlite3_bind_blob64(stmt, i, v.blob_value().data(), v.blob_value().size(),
                                 SQLITE_STATIC);
        break;
      case v1::SqlValue::kTimestampUs:
        rc = sqlite3_bind_int64(stmt, i, v.timestamp_us());
        break;
      case v1::SqlValue::KIND_NOT_SET:
        return Status::InvalidArgument(fmt::format("parameter ${} has no value", n));
    }
    if (rc != SQLITE_OK) {
      return SqliteError(rc, sqlite3_errmsg(sqlite3_db_handle(stmt)),
                         fmt::format("binding ${}", n));
    }
  }
  if (highest < given) {
    return Status::InvalidArgument(fmt::format(
        "the record binds {} parameter(s) but the statement uses {}", given, highest));
  }
  return Status::OK();
}

std::vector<std::string> ColumnNames(sqlite3_stmt* stmt) {
  const int n = sqlite3_column_count(stmt);
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const char* name = sqlite3_column_name(stmt, i);
    names.emplace_back(name != nullptr ? name : "");
  }
  return names;
}

std::vector<v1::SqlValue> ReadRow(sqlite3_stmt* stmt) {
  const int n = sqlite3_column_count(stmt);
  std::vector<v1::SqlValue> row(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    v1::SqlValue& v = row[static_cast<size_t>(i)];
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER:
        v.set_int_value(sqlite3_column_int64(stmt, i));
        break;
      case SQLITE_FLOAT:
        v.set_double_value(sqlite3_column_double(stmt, i));
        break;
      case SQLITE_TEXT: {
        // The pointer first, then the size (sqlite3_column_bytes may convert otherwise).
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        const int size = sqlite3_column_bytes(stmt, i);
        v.set_text_value(text != nullptr ? std::string(text, static_cast<size_t>(size)) : "");
        break;
      }
      case SQLITE_BLOB: {
        const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt, i));
        const int size = sqlite3_column_bytes(stmt, i);
        v.set_blob_value(blob != nullptr ? std::string(blob, static_cast<size_t>(size)) : "");
        break;
      }
      default:
        v.set_null_value(true);
        break;
    }
  }
  return row;
}

// --- ReadConnection ---

Result<std::unique_ptr<ReadConnection>> ReadConnection::Open(const std::string& path,
                                                             int busy_timeout_ms) {
  const std::string context = fmt::format("opening a read connection to {}", path);
  sqlite3* db = nullptr;
  // Read-write without create: the file is the writer's, and a read connection in WAL
  // mode may need to write the shared-memory index. query_only keeps the data untouched.
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(rc, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc), context);
    sqlite3_close_v2(db);
    return s.WithRetryable(true);
  }
  std::unique_ptr<ReadConnection> conn(new ReadConnection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_set_authorizer(db, &ReadConnection::Authorize, conn.get());
  const std::string pragmas = fmt::format(
      "PRAGMA busy_timeout = {}; PRAGMA trusted_schema = OFF; PRAGMA query_only = ON",
      busy_timeout_ms);
  SLUICE_RETURN_IF_ERROR(conn->Exec(pragmas.c_str(), context).WithRetryable(true));
  SLUICE_RETURN_IF_ERROR(RegisterVerifyFunctions(db).Annotate(context));
  return conn;
}

ReadConnection::~ReadConnection() { sqlite3_close_v2(db_); }

Status ReadConnection::Error(int rc, std::string_view context) {
  const int primary = rc & 0xff;
  if (primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ||
      primary == SQLITE_CANTOPEN || primary == SQLITE_PROTOCOL) {
    broken_ = true;
  }
  if (primary == SQLITE_AUTH && !denied_.empty()) return SqliteError(rc, denied_, context);
  return SqliteError(rc, sqlite3_errmsg(db_), context);
}

Status ReadConnection::Exec(const char* sql, std::string_view context) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, fmt::format("{}: {}", context, sql));
  return Status::OK();
}

int ReadConnection::Authorize(void* self, int action, const char* a1, const char* a2,
                              const char*, const char*) {
  auto* conn = static_cast<ReadConnection*>(self);
  if (!conn->user_sql_) return SQLITE_OK;
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    default:
      if (!conn->denied_.empty()) return SQLITE_DENY;  // the first refusal is the reason
      conn->denied_ = fmt::format(
          "a read may not {}: it runs in a read-only transaction (send writes as writes)",
          RefusedAction(action, a1, a2));
      return SQLITE_DENY;
  }
}

Status ReadConnection::Run(const v1::SqlStatement& statement, size_t batch_rows,
                           size_t max_rows, const RowSink& sink, std::string_view context) {
  if (broken_) return Status::Unavailable(fmt::format("{}: connection needs reopening", context));
  const std::string& text = SqliteText(statement);
  if (text.empty()) {
    return Status::InvalidArgument(fmt::format("{}: no SQL text for dialect sqlite", context));
  }
  if (text.size() > static_cast<size_t>(INT32_MAX)) {
    return Status::OutOfRange(
        fmt::format("{}: SQL text of {} bytes is too long", context, text.size()));
  }
  SLUICE_RETURN_IF_ERROR(Exec("BEGIN DEFERRED", context));
  user_sql_ = true;
  denied_.clear();
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, text.data(), static_cast<int>(text.size()), 0, &stmt, &tail);
  Status s;
  if (rc != SQLITE_OK) {
    s = Error(rc, context);
  } else if (stmt == nullptr) {
    s = Status::InvalidArgument(fmt::format("{}: SQL text holds no statement", context));
  } else {
    s = CheckSingleStatement(db_, text, tail).Annotate(context);
    if (s.ok() && !sqlite3_stmt_readonly(stmt)) {
      s = Status::PermissionDenied(fmt::format(
          "{}: the statement would write; a read runs in a read-only transaction (send writes "
          "as writes)",
          context));
    }
    if (s.ok()) s = BindParams(stmt, statement).Annotate(context);
    if (s.ok()) s = RunInTransaction(stmt, batch_rows == 0 ? kDefaultBatchRows : batch_rows,
                                     max_rows, sink, context);
  }
  sqlite3_finalize(stmt);
  user_sql_ = false;
  // A read has nothing to keep: ROLLBACK ends it whatever happened (SQLite may have ended
  // it already after an error).
  if (!sqlite3_get_autocommit(db_)) {
    Status end = Exec("ROLLBACK", context);
    if (s.ok()) s = end;
  }
  return s;
}

Status ReadConnection::RunInTransaction(sqlite3_stmt* stmt, size_t batch_rows, size_t max_rows,
                                        const RowSink& sink, std::string_view context) {
  const std::vector<std::string> columns = ColumnNames(stmt);
  std::vector<std::vector<v1::SqlValue>> rows;
  rows.reserve(max_rows == 0 ? batch_rows : std::min(batch_rows, max_rows));
  size_t delivered = 0;
  bool called = false;
  while (max_rows == 0 || delivered < max_rows) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error(rc, context);
    rows.push_back(ReadRow(stmt));
    ++delivered;
    if (rows.size() == batch_rows) {
      called = true;
      SLUICE_RETURN_IF_ERROR(sink(columns, rows));
      rows.clear();
    }
  }
  if (!rows.empty() || !called) SLUICE_RETURN_IF_ERROR(sink(columns, rows));
  return Status::OK();
}

}  // namespace sluice::store::sqlite
