#pragma once
// The SQLite side of a bulk copy (store/copy_io.h): the snapshot is one read transaction
// on a read-only connection of its own; the loader writes through the file's shared
// writer (sqlite_writer.h), one BEGIN IMMEDIATE transaction per call, with prepared
// INSERTs.

#include <memory>

#include "common/status.h"
#include "store/backend.h"
#include "store/copy_io.h"

namespace sluice::store::sqlite {

Result<std::unique_ptr<SnapshotReader>> OpenSqliteSnapshot(const BackendOptions& options);
// Creates or migrates the schema first (SqliteBackend::Connect).
Result<std::unique_ptr<TableLoader>> OpenSqliteLoader(const BackendOptions& options);

}  // namespace sluice::store::sqlite
