// SqliteBackend: connecting (the shared writer), the schema and its migrations, ping, the
// node claim and the watermark read. Applying is in sqlite_apply.cc, intents and reads in
// sqlite_sync.cc.
#include "store/sqlite/sqlite_backend.h"

#include <unistd.h>

#include <climits>

#include <fmt/format.h>

#include "store/schema.h"
#include "store/sqlite/sqlite_backend_sql.h"
#include "store/sqlite/sqlite_statement.h"
#include "store/sqlite/sqlite_writer.h"

namespace sluice::store::sqlite {
namespace {

constexpr std::string_view kDialect = "sqlite";

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

std::vector<std::string> SqliteBackend::ConnectionPragmas(int busy_timeout_ms) {
  return Writer::ConnectionPragmas(busy_timeout_ms);
}

SqliteBackend::SqliteBackend(BackendOptions options, SqliteOptions sqlite_options)
    : options_(std::move(options)), sqlite_options_(sqlite_options) {}

SqliteBackend::~SqliteBackend() = default;

std::string SqliteBackend::Where() const {
  return fmt::format("target '{}' (sqlite {})", options_.name,
                     writer_ != nullptr ? writer_->path() : options_.connection);
}

std::string SqliteBackend::RecordContext(std::string_view kind, Lsn lsn) const {
  return fmt::format("{}: {} record at lsn {}", Where(), kind, lsn);
}

Status SqliteBackend::CheckConnected() const {
  if (writer_ == nullptr) {
    return Status::Unavailable(fmt::format("{}: not connected (call Connect())", Where()));
  }
  return Status::OK();
}

Status SqliteBackend::Connect() {
  if (writer_ == nullptr) {
    WriterOptions writer_options;
    writer_options.busy_timeout_ms = sqlite_options_.busy_timeout_ms;
    auto writer = Writer::Acquire(options_.connection, writer_options);
    if (!writer.ok()) return writer.status().Annotate(Where());
    writer_ = std::move(writer).value();
  }
  std::lock_guard<std::mutex> lock(writer_->mu());
  Status s = writer_->Reopen();
  if (!s.ok()) return s.Annotate(fmt::format("target '{}'", options_.name));
  return MigrateLocked();
}

Status SqliteBackend::MigrateLocked() {
  Writer& w = *writer_;
  SLUICE_RETURN_IF_ERROR(w.Exec(schema::BootstrapStatement(),
                                fmt::format("{}: creating sluice_schema_version", Where())));
  auto read_version = [&]() -> Result<int> {
    SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, w.Cached(Sql().version_read));
    StatementUse use{stmt, false};
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) return w.LastError(rc, fmt::format("{}: reading schema version", Where()));
    return static_cast<int>(sqlite3_column_int64(stmt, 0));
  };
  SLUICE_ASSIGN_OR_RETURN(int current, read_version());
  const int latest = schema::LatestSchemaVersion(kDialect);
  if (current > latest) {
    return Status::FailedPrecondition(fmt::format(
        "{}: schema version {} is newer than this binary knows ({}); upgrade sluice", Where(),
        current, latest));
  }
  for (const schema::MigrationStep& step : schema::SqliteSchemaSteps()) {
    if (step.version <= current) continue;
    std::string context =
        fmt::format("{}: schema step {} ({})", Where(), step.version, step.description);
    SLUICE_RETURN_IF_ERROR(w.Begin(context));
    // Another process may have migrated between our read and our BEGIN IMMEDIATE.
    auto again = read_version();
    Status s = again.status();
    if (again.ok()) {
      s = Status::OK();
      if (*again >= step.version) {
        current = *again;
        s = w.Commit(context);
        if (!s.ok()) w.Rollback();
        SLUICE_RETURN_IF_ERROR(s);
        continue;
      }
    }
    for (size_t i = 0; s.ok() && i < step.statements.size(); ++i) {
      s = w.Exec(step.statements[i], fmt::format("{}, statement {}", context, i + 1));
    }
    if (s.ok()) {
      auto stmt = w.Cached(Sql().version_insert);
      s = stmt.status();
      if (stmt.ok()) {
        s = Status::OK();
        StatementUse use{*stmt, false};
        sqlite3_bind_int64(*stmt, 1, step.version);
        BindText(*stmt, 2, step.description);
        sqlite3_bind_int64(*stmt, 3, NowMicros());
        int rc = sqlite3_step(*stmt);
        if (rc != SQLITE_DONE) s = w.LastError(rc, context + ": recording the version");
      }
    }
    if (s.ok()) s = w.Commit(context);
    if (!s.ok()) {
      w.Rollback();
      return s;
    }
    current = step.version;
  }
  return Status::OK();
}

Result<int> SqliteBackend::SchemaVersion() {
  SLUICE_RETURN_IF_ERROR(CheckConnected());
  std::lock_guard<std::mutex> lock(writer_->mu());
  SLUICE_RETURN_IF_ERROR(writer_->Reopen());
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, writer_->Cached(Sql().version_read));
  StatementUse use{stmt, false};
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    return writer_->LastError(rc, fmt::format("{}: reading schema version", Where()));
  }
  return static_cast<int>(sqlite3_column_int64(stmt, 0));
}

Status SqliteBackend::Ping() {
  SLUICE_RETURN_IF_ERROR(CheckConnected());
  std::lock_guard<std::mutex> lock(writer_->mu());
  if (writer_->broken()) {
    return Status::Unavailable(fmt::format("{}: connection needs reopening", Where()));
  }
  // Reads a page of the file, so a vanished or unreadable file shows.
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, writer_->Cached(Sql().version_read));
  StatementUse use{stmt, false};
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) return TargetLevel(writer_->LastError(rc, Where() + ": ping"));
  return Status::OK();
}

Status SqliteBackend::ClaimNode(const std::string& node_id) {
  if (node_id.empty()) {
    return Status::InvalidArgument(fmt::format("{}: claiming an empty node id", Where()));
  }
  SLUICE_RETURN_IF_ERROR(CheckConnected());
  std::lock_guard<std::mutex> lock(writer_->mu());
  Writer& w = *writer_;
  if (w.broken()) {
    return Status::Unavailable(fmt::format("{}: connection needs reopening", Where()));
  }
  std::string context = fmt::format("{}: claiming node '{}'", Where(), node_id);
  auto taken = w.LockNodeFile(node_id, context);
  if (!taken.ok()) {
    if (taken.status().code() != Code::kFailedPrecondition) return taken.status();
    // Name the holder, as far as its row tells.
    std::string holder;
    auto stmt = w.Cached(Sql().node_lock_read);
    if (stmt.ok()) {
      StatementUse use{*stmt, false};
      BindText(*stmt, 1, node_id);
      if (sqlite3_step(*stmt) == SQLITE_ROW) {
        const unsigned char* host = sqlite3_column_text(*stmt, 1);
        holder = fmt::format("; held by pid {} on host {} since {} µs", sqlite3_column_int64(*stmt, 0),
                             host != nullptr ? reinterpret_cast<const char*>(host) : "?",
                             sqlite3_column_int64(*stmt, 2));
      }
    }
    return Status::FailedPrecondition(
        fmt::format("{}{}; two daemons must never feed a target under one node id",
                    taken.status().message(), holder));
  }
  if (!*taken) return Status::OK();  // this process already holds it

  auto write_row = [&]() -> Status {
    SLUICE_RETURN_IF_ERROR(w.Begin(context));
    auto stmt = w.Cached(Sql().node_lock_upsert);
    Status s = stmt.status();
    if (stmt.ok()) {
      s = Status::OK();
      StatementUse use{*stmt, false};
      std::string host = HostName();
      BindText(*stmt, 1, node_id);
      sqlite3_bind_int64(*stmt, 2, getpid());
      BindText(*stmt, 3, host);
      sqlite3_bind_int64(*stmt, 4, NowMicros());
      int rc = sqlite3_step(*stmt);
      if (rc != SQLITE_DONE) s = w.LastError(rc, context);
    }
    if (s.ok()) s = w.Commit(context);
    if (!s.ok()) w.Rollback();
    return s;
  };
  Status s = write_row();
  if (!s.ok()) {
    w.UnlockNodeFile(node_id);
    return TargetLevel(s);
  }
  return Status::OK();
}

Result<Lsn> SqliteBackend::ReadWatermark(const WatermarkKey& key) {
  SLUICE_RETURN_IF_ERROR(CheckConnected());
  std::lock_guard<std::mutex> lock(writer_->mu());
  if (writer_->broken()) {
    return Status::Unavailable(fmt::format("{}: connection needs reopening", Where()));
  }
  return ReadWatermarkLocked(key);
}

Result<Lsn> SqliteBackend::ReadWatermarkLocked(const WatermarkKey& key) {
  Writer& w = *writer_;
  std::string context = fmt::format("{}: reading watermark ({}, {}, {})", Where(), key.node,
                                    key.epoch, key.stream);
  auto stmt = w.Cached(Sql().watermark_read);
  if (!stmt.ok()) return TargetLevel(stmt.status().Annotate(context));
  StatementUse use{*stmt, false};
  BindKey(*stmt, key);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return Lsn{0};
  if (rc != SQLITE_ROW) return TargetLevel(w.LastError(rc, context));
  int64_t lsn = sqlite3_column_int64(*stmt, 0);
  if (lsn < 0) {
    return Status::Corruption(fmt::format("{}: negative lsn {}", context, lsn));
  }
  return static_cast<Lsn>(lsn);
}


}  // namespace sluice::store::sqlite
