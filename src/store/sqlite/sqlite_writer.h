#pragma once
// Internal to the SQLite backend: the one writer connection per database file.
//
// SQLite allows one writer per file at a time. Rather than have each applier of a target
// open its own connection and fight over the write lock (SQLITE_BUSY, retries, wasted
// fsyncs), the process keeps ONE writer connection per file, in a registry keyed by the
// file's canonical path. Every SqliteBackend of that file holds a shared_ptr to it and
// runs each of its transactions while holding the writer's mutex, so transactions of one
// process are serialized by the mutex and transactions of other processes by SQLite's
// own lock (BEGIN IMMEDIATE + busy_timeout).
//
// The writer also owns what must be per process and per file rather than per backend:
// the prepared-statement cache and the node claims (file locks).
//
// Thread safety: mu() guards everything except path(), key() and the constructor/
// destructor. Callers hold mu() for the whole of a transaction.

#include <sqlite3.h>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace sluice::store::sqlite {

struct WriterOptions {
  int busy_timeout_ms = 5000;
  size_t sql_cache_capacity = 256;       // user SQL statements kept prepared (LRU)
  size_t sql_cache_max_text = 64 * 1024;  // longer texts are prepared for each use
};

// Name of an extended SQLite result code, e.g. "SQLITE_CONSTRAINT_UNIQUE".
std::string_view SqliteCodeName(int extended_rc);

// Turns an SQLite result code into a Status. Transient (retryable): BUSY, LOCKED, FULL,
// NOMEM, IOERR, CANTOPEN, PROTOCOL, READONLY, PERM, INTERRUPT, ABORT, SCHEMA, CORRUPT,
// NOTADB and anything unknown -- conditions of the target, which an operator or time fixes,
// never a reason to put a record in the error log. Permanent: CONSTRAINT (kAlreadyExists
// for a unique/primary key, kInvalidArgument otherwise), ERROR (syntax, no such table or
// column), MISMATCH (kInvalidArgument), TOOBIG, RANGE (kOutOfRange), AUTH
// (kPermissionDenied), MISUSE (kInternal). CORRUPT/NOTADB are kCorruption but retryable:
// the target is damaged, not the record, and skipping records would make it diverge.
// The message is "<context>: <sqlite's message> (<code name>)".
Status SqliteError(int extended_rc, std::string_view sqlite_message, std::string_view context);

class Writer {
 public:
  // The process's writer for the database file `path`, opened (and configured with
  // ConnectionPragmas) if no backend of this process has it open. ":memory:" gets a
  // private connection every time.
  static Result<std::shared_ptr<Writer>> Acquire(const std::string& path,
                                                 const WriterOptions& options);
  // The pragmas a writer runs after opening, in order.
  static std::vector<std::string> ConnectionPragmas(int busy_timeout_ms);

  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  std::mutex& mu() { return mu_; }
  const std::string& path() const { return path_; }

  // REQUIRES: mu() held, for everything below.
  sqlite3* db() { return db_; }
  // After an I/O error or corruption the connection is closed and reopened by the next
  // Reopen(); until then every use fails with a retryable status.
  bool broken() const { return broken_; }
  Status Reopen();

  // A prepared statement owned by the writer, prepared on first use and kept until the
  // writer closes. For the service's own fixed statements.
  Result<sqlite3_stmt*> Cached(const std::string& sql);
  // A prepared statement for replicated (user) SQL: kept in a bounded LRU cache, or, for a
  // text too long to cache, prepared for this use only (then `*owned` is set and the
  // caller finalizes it). Fails (permanent) when `sql` holds more than one statement.
  Result<sqlite3_stmt*> PrepareUser(std::string_view sql, bool* owned);
  // While set, the authorizer refuses what replicated SQL must never do: transaction
  // control, savepoints, ATTACH/DETACH, PRAGMA, and writes to the sluice_* tables.
  void SetUserSql(bool on) {
    user_sql_ = on;
    auth_denied_.clear();
  }

  // Executes a statement without parameters, discarding rows.
  Status Exec(std::string_view sql, std::string_view context);
  // BEGIN IMMEDIATE / COMMIT / ROLLBACK. Rollback() is a no-op outside a transaction.
  Status Begin(std::string_view context);
  Status Commit(std::string_view context);
  void Rollback();

  // The error of the last failed call on db(), classified (see SqliteError); marks the
  // writer broken for I/O errors and corruption.
  Status LastError(int rc, std::string_view context);

  // Node claims: an exclusive flock on "<path>.node-<node>.lock", held by this writer
  // until it closes. Returns true when the lock was taken now, false when this writer
  // already held it; kFailedPrecondition when another process holds it.
  Result<bool> LockNodeFile(const std::string& node, std::string_view context);
  void UnlockNodeFile(const std::string& node);

 private:
  Writer(std::string path, WriterOptions options);
  Status Open();
  void Close();
  static int Authorize(void* self, int action, const char* a1, const char* a2, const char* a3,
                       const char* a4);

  const std::string path_;
  const WriterOptions options_;
  const int64_t owner_pid_;  // a child after fork() never touches its parent's connection

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  bool broken_ = false;
  bool user_sql_ = false;
  std::string auth_denied_;  // why the authorizer refused the last statement, "" if not
  std::unordered_map<std::string, sqlite3_stmt*> cached_;
  // User SQL LRU: most recently used first.
  std::list<std::pair<std::string, sqlite3_stmt*>> user_lru_;
  std::unordered_map<std::string_view, std::list<std::pair<std::string, sqlite3_stmt*>>::iterator>
      user_index_;
  std::map<std::string, int> node_lock_fds_;  // node -> fd holding the flock
};

}  // namespace sluice::store::sqlite
