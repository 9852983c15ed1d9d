#include "store/sqlite/sqlite_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <iterator>

#include <fmt/format.h>

#include "store/sqlite/sqlite_statement.h"

namespace sluice::store::sqlite {
namespace {

// Writers of this process by canonical path. Never destroyed: a backend may outlive
// static destruction order.
struct Registry {
  std::mutex mu;
  std::unordered_map<std::string, std::weak_ptr<Writer>> writers;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;
  return *registry;
}

bool IsMemory(const std::string& path) { return path == ":memory:"; }

std::string CanonicalPath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  if (ec) canonical = std::filesystem::absolute(path, ec);
  if (ec) return path;
  return canonical.lexically_normal().string();
}

// A node id as part of a file name: letters, digits, '.', '_' and '-' as they are,
// anything else %XX, so no id can name another directory.
std::string EncodeForFileName(std::string_view node) {
  std::string out;
  for (unsigned char c : node) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '_' || c == '-' || (c == '.' && !out.empty())) {
      out.push_back(static_cast<char>(c));
    } else {
      fmt::format_to(std::back_inserter(out), "%{:02X}", c);
    }
  }
  return out;
}

bool IsServiceTable(const char* table) {
  return table != nullptr && sqlite3_strnicmp(table, "sluice_", 7) == 0;
}

// A pending statement must be reset before ROLLBACK/COMMIT; keep the reset next to use.
struct StmtReset {
  sqlite3_stmt* stmt;
  ~StmtReset() { sqlite3_reset(stmt); }
};

}  // namespace

std::string_view SqliteCodeName(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_CHECK: return "SQLITE_CONSTRAINT_CHECK";
    case SQLITE_CONSTRAINT_FOREIGNKEY: return "SQLITE_CONSTRAINT_FOREIGNKEY";
    case SQLITE_CONSTRAINT_NOTNULL: return "SQLITE_CONSTRAINT_NOTNULL";
    case SQLITE_CONSTRAINT_PRIMARYKEY: return "SQLITE_CONSTRAINT_PRIMARYKEY";
    case SQLITE_CONSTRAINT_TRIGGER: return "SQLITE_CONSTRAINT_TRIGGER";
    case SQLITE_CONSTRAINT_UNIQUE: return "SQLITE_CONSTRAINT_UNIQUE";
    case SQLITE_CONSTRAINT_ROWID: return "SQLITE_CONSTRAINT_ROWID";
#ifdef SQLITE_CONSTRAINT_DATATYPE
    case SQLITE_CONSTRAINT_DATATYPE: return "SQLITE_CONSTRAINT_DATATYPE";
#endif
    case SQLITE_BUSY_RECOVERY: return "SQLITE_BUSY_RECOVERY";
    case SQLITE_BUSY_SNAPSHOT: return "SQLITE_BUSY_SNAPSHOT";
    case SQLITE_IOERR_FSYNC: return "SQLITE_IOERR_FSYNC";
    case SQLITE_IOERR_WRITE: return "SQLITE_IOERR_WRITE";
    case SQLITE_IOERR_READ: return "SQLITE_IOERR_READ";
    case SQLITE_IOERR_NOMEM: return "SQLITE_IOERR_NOMEM";
    case SQLITE_READONLY_DBMOVED: return "SQLITE_READONLY_DBMOVED";
    default: break;
  }
  switch (rc & 0xff) {
    case SQLITE_OK: return "SQLITE_OK";
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_NOLFS: return "SQLITE_NOLFS";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    case SQLITE_FORMAT: return "SQLITE_FORMAT";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    default: return "SQLITE_UNKNOWN";
  }
}

Status SqliteError(int rc, std::string_view sqlite_message, std::string_view context) {
  std::string msg = fmt::format("{}: {} ({}", context, sqlite_message, SqliteCodeName(rc));
  if (rc > 0xff && SqliteCodeName(rc) == SqliteCodeName(rc & 0xff)) {
    fmt::format_to(std::back_inserter(msg), ", extended code {}", rc);
  }
  msg.push_back(')');
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(msg));
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return Status::ResourceExhausted(std::move(msg));
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return Status(Code::kIOError, std::move(msg), /*retryable=*/true);
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return Status(Code::kPermissionDenied, std::move(msg), /*retryable=*/true);
    case SQLITE_INTERRUPT:
    case SQLITE_ABORT:
    case SQLITE_SCHEMA:
      return Status::Aborted(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status(Code::kCorruption, std::move(msg), /*retryable=*/true);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE ||
          rc == SQLITE_CONSTRAINT_ROWID) {
        return Status::AlreadyExists(std::move(msg));
      }
      return Status::InvalidArgument(std::move(msg));
    case SQLITE_ERROR:
    case SQLITE_MISMATCH:
    case SQLITE_FORMAT:
      return Status::InvalidArgument(std::move(msg));
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return Status::OutOfRange(std::move(msg));
    case SQLITE_AUTH:
      return Status::PermissionDenied(std::move(msg));
    case SQLITE_MISUSE:
      return Status::Internal(std::move(msg));
    default:
      return Status(Code::kInternal, std::move(msg), /*retryable=*/true);
  }
}

std::vector<std::string> Writer::ConnectionPragmas(int busy_timeout_ms) {
  return {
      "PRAGMA journal_mode = WAL",
      // WAL + FULL: every commit is fsynced before it returns; the watermark moves only
      // with data that is on disk.
      "PRAGMA synchronous = FULL",
      fmt::format("PRAGMA busy_timeout = {}", busy_timeout_ms),
      "PRAGMA cache_size = -32768",  // 32 MiB: large sample batches touch many pages
      "PRAGMA foreign_keys = OFF",
      "PRAGMA trusted_schema = OFF",
  };
}

Result<std::shared_ptr<Writer>> Writer::Acquire(const std::string& path,
                                                const WriterOptions& options) {
  if (path.empty()) return Status::InvalidArgument("SQLite target has an empty file path");
  if (IsMemory(path)) return std::shared_ptr<Writer>(new Writer(path, options));
  std::string canonical = CanonicalPath(path);
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  std::weak_ptr<Writer>& slot = registry.writers[canonical];
  std::shared_ptr<Writer> writer = slot.lock();
  if (writer == nullptr || writer->owner_pid_ != getpid()) {
    writer.reset(new Writer(canonical, options));
    slot = writer;
  }
  return writer;
}

Writer::Writer(std::string path, WriterOptions options)
    : path_(std::move(path)), options_(options), owner_pid_(getpid()) {}

Writer::~Writer() {
  // After fork() the child has a copy of its parent's writer: SQLite forbids using a
  // connection across fork, and closing it could release the parent's locks.
  if (owner_pid_ != getpid()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ != nullptr && !broken_) {
    // A clean shutdown gives its node claims back (a crash leaves the row, which only
    // informs: the file lock is what excludes, and the kernel drops it with the process).
    for (const auto& [node, fd] : node_lock_fds_) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db_, "DELETE FROM sluice_node_lock WHERE node = ?1 AND pid = ?2",
                             -1, &stmt, nullptr) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, node.data(), static_cast<int>(node.size()), SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, owner_pid_);
        sqlite3_step(stmt);  // best effort: ignoring the error is deliberate
      }
      sqlite3_finalize(stmt);
    }
  }
  Close();
  for (const auto& [node, fd] : node_lock_fds_) {
    if (fd >= 0) ::close(fd);
  }
}

Status Writer::Reopen() {
  if (db_ != nullptr && !broken_) return Status::OK();
  Close();
  Status s = Open();
  if (!s.ok()) Close();
  return s;
}

Status Writer::Open() {
  std::string context = fmt::format("opening SQLite file {}", path_);
  int rc = sqlite3_open_v2(path_.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    return SqliteError(rc, msg, context);
  }
  sqlite3_extended_result_codes(db_, 1);
  // Before the first statement: after a crash, whoever opens the file first recovers its
  // WAL index while the others (the health probe, the read connections) wait; without a
  // busy handler the journal_mode pragma below failed at once with "database is locked".
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
  sqlite3_set_authorizer(db_, &Writer::Authorize, this);
  for (const std::string& pragma : ConnectionPragmas(options_.busy_timeout_ms)) {
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db_, pragma.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return LastError(rc, fmt::format("{}: {}", context, pragma));
    rc = sqlite3_step(stmt);
    std::string result;
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_TEXT) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return LastError(rc, fmt::format("{}: {}", context, pragma));
    if (pragma.starts_with("PRAGMA journal_mode") && sqlite3_stricmp(result.c_str(), "wal") != 0) {
      return Status::FailedPrecondition(fmt::format(
          "{}: journal_mode is '{}', not 'wal' (is the file on a file system without shared "
          "memory, or opened by a process that holds it in another mode?)",
          context, result));
    }
  }
  broken_ = false;
  return Status::OK();
}

void Writer::Close() {
  for (auto& [sql, stmt] : cached_) sqlite3_finalize(stmt);
  cached_.clear();
  for (auto& [sql, stmt] : user_lru_) sqlite3_finalize(stmt);
  user_index_.clear();
  user_lru_.clear();
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

int Writer::Authorize(void* self, int action, const char* a1, const char* a2, const char*,
                      const char*) {
  auto* writer = static_cast<Writer*>(self);
  if (!writer->user_sql_) return SQLITE_OK;
  const char* why = nullptr;
  switch (action) {
    case SQLITE_TRANSACTION:
      why = "transaction control (BEGIN/COMMIT/ROLLBACK) is not allowed in replicated SQL: "
            "each batch is one transaction of the applier";
      break;
    case SQLITE_SAVEPOINT:
      why = "SAVEPOINT/RELEASE is not allowed in replicated SQL";
      break;
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      why = "ATTACH/DETACH is not allowed in replicated SQL";
      break;
    case SQLITE_PRAGMA:
      writer->auth_denied_ =
          fmt::format("PRAGMA {} is not allowed in replicated SQL", a1 ? a1 : "");
      return SQLITE_DENY;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_DROP_TABLE:
    case SQLITE_CREATE_TABLE:
      if (IsServiceTable(a1)) {
        writer->auth_denied_ = fmt::format(
            "table {} belongs to the service; replicated SQL may not change it", a1);
        return SQLITE_DENY;
      }
      break;
    case SQLITE_ALTER_TABLE:
      if (IsServiceTable(a2)) {
        writer->auth_denied_ = fmt::format(
            "table {} belongs to the service; replicated SQL may not change it", a2);
        return SQLITE_DENY;
      }
      break;
    default:
      break;
  }
  if (why != nullptr) {
    writer->auth_denied_ = why;
    return SQLITE_DENY;
  }
  return SQLITE_OK;
}

Status Writer::LastError(int rc, std::string_view context) {
  int primary = rc & 0xff;
  if (primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ||
      primary == SQLITE_CANTOPEN || primary == SQLITE_PROTOCOL) {
    broken_ = true;
  }
  if (primary == SQLITE_AUTH && !auth_denied_.empty()) {
    return SqliteError(rc, auth_denied_, context);
  }
  return SqliteError(rc, db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc), context);
}

Result<sqlite3_stmt*> Writer::Cached(const std::string& sql) {
  auto it = cached_.find(sql);
  if (it != cached_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return LastError(rc, fmt::format("preparing \"{}\"", sql));
  }
  cached_.emplace(sql, stmt);
  return stmt;
}

Result<sqlite3_stmt*> Writer::PrepareUser(std::string_view sql, bool* owned) {
  *owned = false;
  const bool cacheable = sql.size() <= options_.sql_cache_max_text;
  if (cacheable) {
    auto it = user_index_.find(sql);
    if (it != user_index_.end()) {
      user_lru_.splice(user_lru_.begin(), user_lru_, it->second);
      return it->second->second;
    }
  }
  if (sql.size() > static_cast<size_t>(INT32_MAX)) {
    return Status::OutOfRange(fmt::format("SQL text of {} bytes is too long", sql.size()));
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              cacheable ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return LastError(rc, "preparing statement");
  }
  if (stmt == nullptr) return Status::InvalidArgument("SQL text holds no statement");
  // Anything after the first statement must be empty, ';' or comments: a record is one
  // statement, as on PostgreSQL with bound parameters.
  if (Status single = CheckSingleStatement(db_, sql, tail); !single.ok()) {
    sqlite3_finalize(stmt);
    return single;
  }
  if (!cacheable) {
    *owned = true;
    return stmt;
  }
  user_lru_.emplace_front(std::string(sql), stmt);
  user_index_.emplace(user_lru_.front().first, user_lru_.begin());
  while (user_lru_.size() > options_.sql_cache_capacity && user_lru_.size() > 1) {
    auto& victim = user_lru_.back();
    user_index_.erase(victim.first);
    sqlite3_finalize(victim.second);
    user_lru_.pop_back();
  }
  return stmt;
}

Status Writer::Exec(std::string_view sql, std::string_view context) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return LastError(rc, context);
  }
  if (stmt == nullptr) return Status::OK();
  do {
    rc = sqlite3_step(stmt);
  } while (rc == SQLITE_ROW);
  Status s = rc == SQLITE_DONE ? Status::OK() : LastError(rc, context);
  sqlite3_finalize(stmt);
  return s;
}

Status Writer::Begin(std::string_view context) {
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Cached("BEGIN IMMEDIATE"));
  StmtReset reset{stmt};
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return LastError(rc, fmt::format("{}: BEGIN IMMEDIATE", context));
  return Status::OK();
}

Status Writer::Commit(std::string_view context) {
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Cached("COMMIT"));
  StmtReset reset{stmt};
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return LastError(rc, fmt::format("{}: COMMIT", context));
  return Status::OK();
}

void Writer::Rollback() {
  if (db_ == nullptr || sqlite3_get_autocommit(db_)) return;
  // Errors are ignored deliberately: SQLite may already have rolled back (after
  // SQLITE_FULL, IOERR, BUSY or NOMEM in a statement), and there is nothing else to do.
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Result<bool> Writer::LockNodeFile(const std::string& node, std::string_view context) {
  if (node_lock_fds_.contains(node)) return false;
  if (IsMemory(path_)) {
    node_lock_fds_.emplace(node, -1);
    return true;
  }
  std::string lock_path = fmt::format("{}.node-{}.lock", path_, EncodeForFileName(node));
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::FromErrno("opening node lock file", lock_path, errno)
        .Annotate(context)
        .WithRetryable(true);
  }
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition(fmt::format(
          "{}: node '{}' is already claimed by another process (lock file {} is held)", context,
          node, lock_path));
    }
    return Status::FromErrno("locking node lock file", lock_path, err)
        .Annotate(context)
        .WithRetryable(true);
  }
  node_lock_fds_.emplace(node, fd);
  return true;
}

void Writer::UnlockNodeFile(const std::string& node) {
  auto it = node_lock_fds_.find(node);
  if (it == node_lock_fds_.end()) return;
  if (it->second >= 0) ::close(it->second);
  node_lock_fds_.erase(it);
}

}  // namespace sluice::store::sqlite
