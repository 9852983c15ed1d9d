#include "store/backend.h"
#include "store/prober.h"
#include "store/size_probe.h"

#include <fmt/format.h>

#include "store/sqlite/sqlite_backend.h"
#include "store/sqlite/sqlite_prober.h"
#include "store/sqlite/sqlite_size_probe.h"
#ifdef SLUICE_HAVE_POSTGRES
#include "store/postgres/pg_prober.h"
#include "store/postgres/pg_size_probe.h"
#include "store/postgres/postgres_backend.h"
#endif

namespace sluice::store {

Result<std::unique_ptr<Backend>> NewBackend(std::string_view dialect,
                                            const BackendOptions& options) {
  if (dialect == "sqlite") {
    return std::unique_ptr<Backend>(std::make_unique<sqlite::SqliteBackend>(options));
  }
  if (dialect == "postgres") {
#ifdef SLUICE_HAVE_POSTGRES
    return std::unique_ptr<Backend>(std::make_unique<postgres::PostgresBackend>(options));
#else
    return Status::InvalidArgument(
        fmt::format("target '{}': dialect 'postgres' is not built into this binary", options.name));
#endif
  }
  return Status::InvalidArgument(fmt::format(
      "target '{}': unknown dialect '{}' (known: sqlite, postgres)", options.name, dialect));
}

Result<std::unique_ptr<Prober>> NewProber(std::string_view dialect, std::string name,
                                          std::string connection) {
  if (dialect == "sqlite") {
    return std::unique_ptr<Prober>(std::make_unique<sqlite::SqliteProber>(std::move(name), std::move(connection)));
  }
  if (dialect == "postgres") {
#ifdef SLUICE_HAVE_POSTGRES
    return std::unique_ptr<Prober>(std::make_unique<postgres::PgProber>(std::move(name), std::move(connection)));
#else
    return Status::InvalidArgument(
        fmt::format("target '{}': dialect 'postgres' is not built into this binary", name));
#endif
  }
  return Status::InvalidArgument(
      fmt::format("target '{}': unknown dialect '{}' (known: sqlite, postgres)", name, dialect));
}

Result<std::unique_ptr<SizeProbe>> NewSizeProbe(std::string_view dialect, std::string name,
                                                std::string connection) {
  if (dialect == "sqlite") {
    return std::unique_ptr<SizeProbe>(
        std::make_unique<sqlite::SqliteSizeProbe>(std::move(name), std::move(connection)));
  }
  if (dialect == "postgres") {
#ifdef SLUICE_HAVE_POSTGRES
    return std::unique_ptr<SizeProbe>(
        std::make_unique<postgres::PgSizeProbe>(std::move(name), std::move(connection)));
#else
    return Status::InvalidArgument(
        fmt::format("target '{}': dialect 'postgres' is not built into this binary", name));
#endif
  }
  return Status::InvalidArgument(
      fmt::format("target '{}': unknown dialect '{}' (known: sqlite, postgres)", name, dialect));
}

}  // namespace sluice::store
