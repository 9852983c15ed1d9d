#pragma once
// Application functions the SQLite backend's read connections carry, so that a read can
// compute in the database what PostgreSQL computes with its own functions: the row hash,
// the sum of hashes modulo 2^64 and the bits of a double of `sluice verify`
// (store/row_hash.h names them and defines their results). All are deterministic.
//
// Thread safety: registration is per connection; call it on the thread that owns it.

#include <sqlite3.h>

#include "common/status.h"

namespace sluice::store::sqlite {

// Registers sluice_row_hash, sluice_sum64 and sluice_f64_bits on `db`.
Status RegisterVerifyFunctions(sqlite3* db);

}  // namespace sluice::store::sqlite
