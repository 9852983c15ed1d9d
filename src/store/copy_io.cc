// The factories of store/copy_io.h, over the backends this tree has.
#include "store/copy_io.h"

#include <fmt/format.h>

#include "store/sqlite/sqlite_copy.h"
#ifdef SLUICE_HAVE_POSTGRES
#include "store/postgres/pg_copy.h"
#endif

namespace sluice::store {
namespace {

Status UnknownDialect(std::string_view dialect, const std::string& target) {
  return Status::InvalidArgument(fmt::format(
      "target '{}': no table copy for dialect '{}' in this binary (known: sqlite{})", target,
      dialect,
#ifdef SLUICE_HAVE_POSTGRES
      ", postgres"
#else
      ""
#endif
      ));
}

}  // namespace

Result<std::unique_ptr<SnapshotReader>> OpenSnapshotReader(std::string_view dialect,
                                                           const BackendOptions& options) {
  if (dialect == "sqlite") return sqlite::OpenSqliteSnapshot(options);
#ifdef SLUICE_HAVE_POSTGRES
  if (dialect == "postgres") return postgres::OpenPostgresSnapshot(options);
#endif
  return UnknownDialect(dialect, options.name);
}

Result<std::unique_ptr<TableLoader>> OpenTableLoader(std::string_view dialect,
                                                     const BackendOptions& options) {
  if (dialect == "sqlite") return sqlite::OpenSqliteLoader(options);
#ifdef SLUICE_HAVE_POSTGRES
  if (dialect == "postgres") return postgres::OpenPostgresLoader(options);
#endif
  return UnknownDialect(dialect, options.name);
}

}  // namespace sluice::store
