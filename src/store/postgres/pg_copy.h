#pragma once
// The PostgreSQL side of a bulk copy (store/copy_io.h): the snapshot is one REPEATABLE
// READ READ ONLY transaction on a connection of its own, read with binary results; the
// loader writes with COPY ... FROM STDIN (FORMAT binary) on a connection of its own, one
// transaction per call, and has the partitions of the sample tables made before each
// batch that needs them (PostgresBackend, which also creates or migrates the schema when
// the loader is opened). Binary both ways keeps every value bit for bit
// (pg_copy_binary.h).

#include <memory>

#include "common/status.h"
#include "store/backend.h"
#include "store/copy_io.h"

namespace sluice::store::postgres {

Result<std::unique_ptr<SnapshotReader>> OpenPostgresSnapshot(const BackendOptions& options);
Result<std::unique_ptr<TableLoader>> OpenPostgresLoader(const BackendOptions& options);

}  // namespace sluice::store::postgres
