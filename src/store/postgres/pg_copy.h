#pragma once
// The PostgreSQL side of a bulk copy (store/copy_io.h): the snapshot is one REPEATABLE
// READ READ ONLY transaction on a connection of its own; the loader writes multi-row
// INSERTs on a connection of its own, one transaction per call, and has the partitions
// of the sample tables made before each batch that needs them (PostgresBackend, which
// also creates or migrates the schema when the loader is opened).

#include <memory>

#include "common/status.h"
#include "store/backend.h"
#include "store/copy_io.h"

namespace sluice::store::postgres {

Result<std::unique_ptr<SnapshotReader>> OpenPostgresSnapshot(const BackendOptions& options);
Result<std::unique_ptr<TableLoader>> OpenPostgresLoader(const BackendOptions& options);

}  // namespace sluice::store::postgres
