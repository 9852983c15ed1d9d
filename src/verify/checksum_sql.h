#pragma once
// The SQL `sluice verify` runs on a target, per dialect: a row's canonical text, its
// hash, and the per-bucket row count and checksum, all computed in the database so that
// only one line per bucket crosses the network (docs/verify.md defines the text).
//
// Canonical text of a row: its compared columns in schema order, joined by '|', each
//   NULL                         N
//   integer, boolean             i<decimal>                 (true 1, false 0)
//   double                       f<16 hex digits of the IEEE 754 bits>; NaN is N and
//                                -0.0 is 0.0 (SQLite stores NaN as NULL and reads -0.0
//                                as 0.0, so every target can hold only those)
//   text                         t<hex of the UTF-8 bytes>
//   blob                         b<hex of the bytes>
// No field holds '|', so the text names the row unambiguously. Row hash: store/row_hash.h.
// Checksum of a bucket: the sum of its rows' hashes modulo 2^64 (order-independent).
//
// Thread safety: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "verify/table_specs.h"

namespace sluice::verify {

struct TimeRange {
  std::optional<int64_t> from_us;  // inclusive
  std::optional<int64_t> to_us;    // exclusive
};

// The canonical text of a row of `table`, as an SQL expression of `dialect` ("sqlite",
// "postgres").
std::string CanonicalRowExpr(std::string_view dialect, const TableSpec& table);
// The row hash (a 64-bit integer) of a row of `table`.
std::string RowHashExpr(std::string_view dialect, const TableSpec& table);
// One row per non-empty bucket: bucket start (integer: the time column's value rounded
// down to a multiple of `bucket_us`; 0 for a table without time), row count (integer),
// checksum (text: an unsigned decimal). `range` applies to timed tables only.
std::string BucketSummarySql(std::string_view dialect, const TableSpec& table,
                             const TimeRange& range, int64_t bucket_us);
// The key columns and the row hash (last column) of every row of `table` in `range`.
std::string RowHashesSql(std::string_view dialect, const TableSpec& table,
                         const TimeRange& range);

}  // namespace sluice::verify
