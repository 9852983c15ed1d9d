#include "store/sqlite/sqlite_prober.h"

#include <thread>

#include <fmt/format.h>

namespace sluice::store::sqlite {

SqliteProber::~SqliteProber() { Close(); }

void SqliteProber::Close() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Status SqliteProber::Probe(std::chrono::milliseconds timeout) {
  if (db_ == nullptr) {
    // Creates the file like the appliers do (whoever comes first), but not its directory.
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      Close();
      return Status::Unavailable(fmt::format("target '{}': cannot open {}: {}", name_, path_, why));
    }
    sqlite3_busy_timeout(db_, static_cast<int>(timeout.count()));
  }
  // Reads page 1 (the schema), so a file that is not a database or cannot be read fails.
  char* err = nullptr;
  int rc = sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string why = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Close();
    if (rc == SQLITE_BUSY) {
      return Status::DeadlineExceeded(
          fmt::format("target '{}': {} stayed locked for {} ms", name_, path_, timeout.count()));
    }
    return Status::Unavailable(fmt::format("target '{}': probing {}: {}", name_, path_, why));
  }
  return Status::OK();
}

Status SqliteProber::WaitForBreak(std::chrono::milliseconds wait) {
  std::this_thread::sleep_for(wait);
  return Status::OK();
}

}  // namespace sluice::store::sqlite
