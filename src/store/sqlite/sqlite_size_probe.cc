#include "store/sqlite/sqlite_size_probe.h"

#include <sys/stat.h>

#include <cerrno>

#include <fmt/format.h>

namespace sluice::store::sqlite {
namespace {

// Size of `path`; 0 when it does not exist (a -wal file comes and goes with checkpoints).
Result<uint64_t> FileBytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return uint64_t{0};
    return Status::FromErrno("stat", path, errno);
  }
  return static_cast<uint64_t>(st.st_size);
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes >= (1ull << 30)) return fmt::format("{:.1f}GiB", double(bytes) / double(1ull << 30));
  if (bytes >= (1ull << 20)) return fmt::format("{:.1f}MiB", double(bytes) / double(1ull << 20));
  if (bytes >= (1ull << 10)) return fmt::format("{:.1f}KiB", double(bytes) / double(1ull << 10));
  return fmt::format("{}B", bytes);
}

// "name" with its quotes doubled: an identifier SQLite reads back as `name`.
std::string QuotedIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

SqliteSizeProbe::~SqliteSizeProbe() { Close(); }

void SqliteSizeProbe::Close() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Result<DatabaseSize> SqliteSizeProbe::MeasureDatabase(std::chrono::milliseconds) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    // Not there (yet): nothing to measure, like a server that cannot be reached.
    return Status::Unavailable(
        fmt::format("target '{}': {}", name_, Status::FromErrno("stat", path_, errno).message()));
  }
  const uint64_t main = static_cast<uint64_t>(st.st_size);
  auto wal = FileBytes(path_ + "-wal");
  if (!wal.ok()) return wal.status();
  DatabaseSize out;
  out.bytes = main + *wal;
  out.detail = fmt::format("file {}, -wal {}", HumanBytes(main), HumanBytes(*wal));
  return out;
}

Result<uint64_t> SqliteSizeProbe::CountRows(const std::string& table,
                                            std::chrono::milliseconds timeout) {
  if (db_ == nullptr) {
    // Read-only and never creating: measuring must not make a file the appliers have not.
    int rc =
        sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      Close();
      return Status::Unavailable(fmt::format("target '{}': cannot open {}: {}", name_, path_, why));
    }
  }
  sqlite3_busy_timeout(db_, static_cast<int>(timeout.count()));
  const std::string sql = "SELECT count(*) FROM " + QuotedIdentifier(table);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = sqlite3_errmsg(db_);
    if (why.rfind("no such table", 0) == 0) {
      return Status::NotFound(fmt::format("target '{}' has no table '{}'", name_, table));
    }
    Close();
    return Status::Unavailable(
        fmt::format("target '{}': counting the rows of '{}': {}", name_, table, why));
  }
  rc = sqlite3_step(stmt);
  const int64_t rows = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  const std::string why = rc == SQLITE_ROW ? "" : sqlite3_errmsg(db_);
  sqlite3_finalize(stmt);
  if (rc == SQLITE_ROW) return static_cast<uint64_t>(rows);
  if (rc == SQLITE_BUSY) {
    return Status::DeadlineExceeded(
        fmt::format("target '{}': {} stayed locked for {} ms", name_, path_, timeout.count()));
  }
  return Status::Unavailable(
      fmt::format("target '{}': counting the rows of '{}': {}", name_, table, why));
}

}  // namespace sluice::store::sqlite
