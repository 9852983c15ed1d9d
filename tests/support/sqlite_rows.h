#pragma once
// What reached a SQLite target, read from its file while sluiced may be writing it.
//
// Thread safety: free functions; each opens its own connection.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::testing {

// Every row of `sql` on the SQLite file `db`, as text columns (NULL as "<NULL>").
Result<std::vector<std::vector<std::string>>> QueryRows(const std::string& db,
                                                        const std::string& sql);
// `sql` that yields one row with one integer column.
Result<int64_t> QueryInt(const std::string& db, const std::string& sql);
// Count of rows of `table` (WHERE `where`, when given); -1 when it cannot be read.
int64_t CountRows(const std::string& db, const std::string& table, const std::string& where = "");

}  // namespace sluice::testing
