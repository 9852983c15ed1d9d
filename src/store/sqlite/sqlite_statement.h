#pragma once
// Internal to the SQLite backend: what replicated SQL, synchronous intents and reads
// share (the statement's SQLite text, binding of positional parameters, result rows as
// v1::SqlValue), and the read connection behind SqliteBackend::Query.

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sluice/v1/records.pb.h"
#include "store/backend.h"

namespace sluice::store::sqlite {

// dialect_text["sqlite"] when present, else text.
const std::string& SqliteText(const v1::SqlStatement& statement);

// Fails (permanent kInvalidArgument) when anything but ';', blanks and comments follows
// the first statement of `sql`; `tail` is where sqlite3_prepare left off.
Status CheckSingleStatement(sqlite3* db, std::string_view sql, const char* tail);

// Binds statement.params to the parameters of `stmt`: "$N", "?N" and a nameless "?" are
// positional; named ones (":x", "@x", "$x") are refused. The record must bind exactly
// the parameters the statement uses. Bindings point into `statement` (SQLITE_STATIC):
// it must outlive the statement's use. Errors name the parameter; the caller adds its
// context.
Status BindParams(sqlite3_stmt* stmt, const v1::SqlStatement& statement);

// The result column names of `stmt`.
std::vector<std::string> ColumnNames(sqlite3_stmt* stmt);
// The current row of `stmt` (after SQLITE_ROW), by each value's storage class: NULL ->
// null_value, INTEGER -> int_value, REAL -> double_value, TEXT -> text_value, BLOB ->
// blob_value. (SQLite has no timestamp type: timestamps are INTEGER µs, int_value.)
std::vector<v1::SqlValue> ReadRow(sqlite3_stmt* stmt);

// A read connection of one SqliteBackend, for Query(). WAL lets it read while the shared
// writer writes, and it never takes the writer's mutex. It refuses writes three times
// over: an authorizer that lets only reads through (SELECT, reading columns, functions,
// recursive CTEs) while the user's statement is prepared, a check of
// sqlite3_stmt_readonly() before it runs, and PRAGMA query_only = 1 on the connection. A
// refused statement is a permanent kPermissionDenied and has changed nothing.
//
// Thread safety: one thread at a time.
class ReadConnection {
 public:
  // Opens the existing file `path` (no create) with busy_timeout, trusted_schema = OFF
  // and query_only = ON. Failures are retryable.
  static Result<std::unique_ptr<ReadConnection>> Open(const std::string& path,
                                                      int busy_timeout_ms);
  ~ReadConnection();
  ReadConnection(const ReadConnection&) = delete;
  ReadConnection& operator=(const ReadConnection&) = delete;

  // After an I/O error or corruption the connection must be replaced.
  bool broken() const { return broken_; }

  // Runs `statement` in a deferred (read) transaction and hands its rows to `sink` in
  // batches of `batch_rows` (0: 1000), at most `max_rows` rows (0: all). The sink is
  // called at least once, with no rows for an empty result, so the columns are always
  // known. Messages start with `context`; a sink's error is returned as it is.
  Status Run(const v1::SqlStatement& statement, size_t batch_rows, size_t max_rows,
             const RowSink& sink, std::string_view context);

 private:
  explicit ReadConnection(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql, std::string_view context);
  Status Error(int rc, std::string_view context);
  Status RunInTransaction(sqlite3_stmt* stmt, size_t batch_rows, size_t max_rows,
                          const RowSink& sink, std::string_view context);
  static int Authorize(void* self, int action, const char* a1, const char* a2, const char* a3,
                       const char* a4);

  sqlite3* db_;
  bool broken_ = false;
  bool user_sql_ = false;  // the authorizer judges the user's statement
  std::string denied_;     // why the authorizer refused it
};

}  // namespace sluice::store::sqlite
