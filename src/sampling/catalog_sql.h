#pragma once
// The SQL of a catalog change (catalog.h): one parameterised statement whose text is
// valid on SQLite and on PostgreSQL alike (INSERT ... ON CONFLICT (...) DO UPDATE SET ...,
// DELETE ... WHERE ...), journaled as the statement of a synchronous model write so that
// every target makes the same change. `now_us` is the updated_at every row gets: resolved
// before journaling, never computed by a target.
//
// Pure functions; thread-safe.

#include <cstdint>

#include "common/status.h"
#include "sluice/v1/records.pb.h"

namespace sluice::sampling {

// REQUIRES: Catalog::Check(change) is OK (one kind of operation). kInvalidArgument for an
// empty change.
Result<v1::SqlStatement> CatalogSql(const v1::CatalogChange& change, int64_t now_us);

}  // namespace sluice::sampling
