#pragma once
// A size probe of one target, for the alarms (docs/alarms.md: database_size, table_rows):
// a connection of its own, never an applier's, that measures how big the target's
// database is and how many rows a table holds. Each call is bounded by its timeout (on
// PostgreSQL also as the session's statement_timeout), so a slow server costs the
// caller at most that long.
//
// Thread safety: one thread at a time.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::store {

struct DatabaseSize {
  uint64_t bytes = 0;  // what the alarm compares
  std::string detail;  // how it is made up ("main 1.2GiB, -wal 3.0MiB", tablespaces)
};

class SizeProbe {
 public:
  virtual ~SizeProbe() = default;
  // PostgreSQL: pg_database_size(current_database()), which already counts the
  // database's files in every tablespace; the detail names each tablespace it uses with
  // pg_tablespace_size (the whole tablespace, every database in it). SQLite: the file's
  // size plus its -wal file's.
  virtual Result<DatabaseSize> MeasureDatabase(std::chrono::milliseconds timeout) = 0;
  // Rows of `table`. PostgreSQL: the statistics' live-tuple estimate
  // (pg_stat_user_tables.n_live_tup, over a partitioned table's partitions), which costs
  // no scan; SQLite: count(*), a scan of the table's smallest index. NotFound when the
  // target has no such table.
  virtual Result<uint64_t> CountRows(const std::string& table,
                                     std::chrono::milliseconds timeout) = 0;
};

// A size probe of a target of `dialect` ("sqlite" or "postgres") at `connection` (file
// path or libpq conninfo); `name` is the target's, for messages.
Result<std::unique_ptr<SizeProbe>> NewSizeProbe(std::string_view dialect, std::string name,
                                                std::string connection);

}  // namespace sluice::store
