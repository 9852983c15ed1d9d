#pragma once
// What reached a SQLite target, read from its file while sluiced may be writing it.
//
// Thread safety: free functions; each opens its own connection.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::testing {

// How QueryRows opens the file and prints what it reads. The defaults are a reader that
// waits out sluiced's writes; tests comparing rows to their own text pick the NULL text.
struct QueryOptions {
  bool read_only = false;  // SQLITE_OPEN_READONLY, else SQLITE_OPEN_READWRITE
  int busy_timeout_ms = 10'000;  // 0: a locked database fails at once
  std::string null_text = "<NULL>";
};

// Every row of `sql` on the SQLite file `db`, as text columns. Fails when the file cannot
// be opened, `sql` not prepared, or a step fails (the rows read before it are dropped).
Result<std::vector<std::vector<std::string>>> QueryRows(const std::string& db, const std::string& sql,
                                                        const QueryOptions& options = {});
// `sql` that yields one row with one integer column.
Result<int64_t> QueryInt(const std::string& db, const std::string& sql);
// Count of rows of `table` (WHERE `where`, when given); -1 when it cannot be read.
int64_t CountRows(const std::string& db, const std::string& table, const std::string& where = "");

// The event_log rows the clients wrote, as a WHERE clause: not the service's own events
// (kind "sluice.*": state changes, alarms, sampling issues), which come with what happens
// on the machine (a disk_free alarm on a full disk) and are no test's to count.
inline constexpr char kClientEvents[] = "kind NOT LIKE 'sluice.%'";

}  // namespace sluice::testing
