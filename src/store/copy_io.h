#pragma once
// Bulk copy of a target's Sluice-managed tables (docs/resync.md), per dialect: a
// consistent snapshot read on a source target and a loader on a destination target.
// resync/table_copy.h drives the two; this file knows tables, rows and SQL only.
//
// What is copied: every table of store/schema.h except sluice_schema_version (each
// destination keeps its own migration history) and sluice_node_lock (claims belong to
// the processes feeding that target). Target-local ids (event_log.id,
// sample_edit_log.id) are copied as they are, so the rows keep their order and their
// key; PostgreSQL's identity is moved past them. sluice_watermark is not in
// CopyTables(): it is read with the snapshot and written last, in the transaction of
// the last batch, so a destination that has watermark rows holds a complete copy.
//
// Values: integers, doubles and texts as CopyValue; a boolean column is an integer 0/1
// (SQLite's form); SQL NULL is std::monostate. A NaN read from PostgreSQL becomes NULL
// on SQLite, as every SQLite write of a NaN does.
//
// Thread safety: a reader or loader is used by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "store/backend.h"

namespace sluice::store {

enum class CopyColumnType { kInteger, kReal, kText, kBool };

struct CopyColumn {
  std::string name;
  CopyColumnType type = CopyColumnType::kInteger;
};

struct CopyTableSpec {
  std::string name;
  // Every column, in schema order; the first `key_columns` are the primary key.
  std::vector<CopyColumn> columns;
  size_t key_columns = 1;
  bool sample_table = false;  // PostgreSQL: partitioned by range of ts
  bool identity = false;      // column 0 is a target-local identity id
};

using CopyValue = std::variant<std::monostate, int64_t, double, std::string>;
using CopyRow = std::vector<CopyValue>;

// The copied tables, in the order they are copied (model tables first).
std::span<const CopyTableSpec> CopyTables();
// sluice_watermark (node, epoch, stream, lsn, updated_at; key the first three).
const CopyTableSpec& WatermarkTable();
// The copied table `name`, or nullptr (the watermark table included).
const CopyTableSpec* FindCopyTable(std::string_view name);
// The key of `row` (its first spec.key_columns values).
CopyRow KeyOf(const CopyTableSpec& spec, const CopyRow& row);
// "c1, c2, c3": every column of `table`, in schema order, for a statement.
std::string ColumnList(const CopyTableSpec& table);
// "k1, k2": its key columns.
std::string KeyList(const CopyTableSpec& table);
// "(k1, k2) > (P1, P2)", P being `placeholder` and the parameter's number ("$" on
// PostgreSQL, "?" on SQLite): a row value comparison, which orders as ORDER BY does.
std::string KeyAbove(const CopyTableSpec& table, std::string_view placeholder);
// "int 3", "text 'a'", "real 1.5", "null": for messages.
std::string ShowValue(const CopyValue& value);

// A consistent snapshot of a source target: every read sees the target as it was when
// the snapshot was opened (PostgreSQL: one REPEATABLE READ READ ONLY transaction;
// SQLite: one read transaction on a connection of its own, which WAL keeps stable while
// the writer goes on). The snapshot ends when the reader is destroyed.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  // The watermark rows, ordered by key.
  virtual Result<std::vector<CopyRow>> ReadWatermarks() = 0;
  virtual Result<int64_t> CountRows(const CopyTableSpec& table) = 0;
  // Up to `limit` rows whose key is above `after` (every row when `after` is empty),
  // ordered by key.
  virtual Result<std::vector<CopyRow>> ReadRows(const CopyTableSpec& table, const CopyRow& after,
                                                size_t limit) = 0;
};

// Writes copied rows into a destination target, whose schema it creates or migrates
// when opened. Each call is one transaction, committed durably.
class TableLoader {
 public:
  virtual ~TableLoader() = default;
  // Deletes every row of `tables` (and of sluice_watermark), in one transaction.
  virtual Status Clear(std::span<const CopyTableSpec* const> tables) = 0;
  // Deletes the rows of `table` whose key is above `after`.
  virtual Status ClearAfter(const CopyTableSpec& table, const CopyRow& after) = 0;
  // Inserts `rows` into `table`. With `watermarks`, in the same transaction: replaces
  // every row of sluice_watermark with them (and moves identities past the copied ids).
  virtual Status WriteRows(const CopyTableSpec& table, std::span<const CopyRow> rows,
                           const std::vector<CopyRow>* watermarks) = 0;
};

// Open a snapshot on, or a loader into, the target `options` names, of `dialect`.
Result<std::unique_ptr<SnapshotReader>> OpenSnapshotReader(std::string_view dialect,
                                                           const BackendOptions& options);
Result<std::unique_ptr<TableLoader>> OpenTableLoader(std::string_view dialect,
                                                     const BackendOptions& options);

}  // namespace sluice::store
