#include "store/backend.h"

#include <fmt/format.h>

#include "store/copy_io.h"
#include "store/prober.h"
#include "store/size_probe.h"
#include "store/sqlite/sqlite_backend.h"
#include "store/sqlite/sqlite_copy.h"
#include "store/sqlite/sqlite_prober.h"
#include "store/sqlite/sqlite_size_probe.h"
#ifdef SLUICE_HAVE_POSTGRES
#include "store/postgres/pg_copy.h"
#include "store/postgres/pg_prober.h"
#include "store/postgres/pg_size_probe.h"
#include "store/postgres/postgres_backend.h"
#endif

namespace sluice::store {

namespace {

// Why a target's dialect has no implementation here: not built in, or unknown.
Status NoSuchDialect(std::string_view dialect, const std::string& target) {
  if (dialect == "postgres") {
    return Status::InvalidArgument(
        fmt::format("target '{}': dialect 'postgres' is not built into this binary", target));
  }
  return Status::InvalidArgument(
      fmt::format("target '{}': unknown dialect '{}' (known: sqlite, postgres)", target, dialect));
}

}  // namespace

Result<std::unique_ptr<Backend>> NewBackend(std::string_view dialect,
                                            const BackendOptions& options) {
  if (dialect == "sqlite") {
    return std::unique_ptr<Backend>(std::make_unique<sqlite::SqliteBackend>(options));
  }
#ifdef SLUICE_HAVE_POSTGRES
  if (dialect == "postgres") {
    return std::unique_ptr<Backend>(std::make_unique<postgres::PostgresBackend>(options));
  }
#endif
  return NoSuchDialect(dialect, options.name);
}

Result<std::unique_ptr<Prober>> NewProber(std::string_view dialect, std::string name,
                                          std::string connection) {
  if (dialect == "sqlite") {
    return std::unique_ptr<Prober>(
        std::make_unique<sqlite::SqliteProber>(std::move(name), std::move(connection)));
  }
#ifdef SLUICE_HAVE_POSTGRES
  if (dialect == "postgres") {
    return std::unique_ptr<Prober>(
        std::make_unique<postgres::PgProber>(std::move(name), std::move(connection)));
  }
#endif
  return NoSuchDialect(dialect, name);
}

Result<std::unique_ptr<SizeProbe>> NewSizeProbe(std::string_view dialect, std::string name,
                                                std::string connection) {
  if (dialect == "sqlite") {
    return std::unique_ptr<SizeProbe>(
        std::make_unique<sqlite::SqliteSizeProbe>(std::move(name), std::move(connection)));
  }
#ifdef SLUICE_HAVE_POSTGRES
  if (dialect == "postgres") {
    return std::unique_ptr<SizeProbe>(
        std::make_unique<postgres::PgSizeProbe>(std::move(name), std::move(connection)));
  }
#endif
  return NoSuchDialect(dialect, name);
}

Result<std::unique_ptr<SnapshotReader>> OpenSnapshotReader(std::string_view dialect,
                                                           const BackendOptions& options) {
  if (dialect == "sqlite") return sqlite::OpenSqliteSnapshot(options);
#ifdef SLUICE_HAVE_POSTGRES
  if (dialect == "postgres") return postgres::OpenPostgresSnapshot(options);
#endif
  return NoSuchDialect(dialect, options.name);
}

Result<std::unique_ptr<TableLoader>> OpenTableLoader(std::string_view dialect,
                                                     const BackendOptions& options) {
  if (dialect == "sqlite") return sqlite::OpenSqliteLoader(options);
#ifdef SLUICE_HAVE_POSTGRES
  if (dialect == "postgres") return postgres::OpenPostgresLoader(options);
#endif
  return NoSuchDialect(dialect, options.name);
}

}  // namespace sluice::store
