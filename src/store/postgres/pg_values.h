#pragma once
// Internal to the PostgreSQL backend: result values (text format) as v1::SqlValue, for
// the rows of reads and the RETURNING rows of synchronous writes.
//
// By column type:
//   NULL                                    -> null_value
//   smallint, integer, bigint, oid          -> int_value
//   boolean                                 -> int_value 1 / 0
//   real, double precision                  -> double_value, exact (the server writes
//                                              floats shortest-exact; NaN and +-Infinity
//                                              included)
//   bytea                                   -> blob_value
//   timestamp, timestamptz                  -> timestamp_us: µs since the Unix epoch UTC
//                                              (a timestamp without time zone is read as
//                                              UTC); 'infinity' / '-infinity' are
//                                              INT64_MAX / INT64_MIN
//   numeric                                 -> text_value, the exact decimal ("12.50",
//                                              "NaN"): a double would round it
//   anything else (text, varchar, date,     -> text_value, PostgreSQL's text form
//   interval, uuid, json, arrays, ...)
// Time columns the schema keeps as bigint µs simply come back as int_value.
//
// REQUIRES: the session's DateStyle is ISO (set by PostgresBackend::Connect).

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sluice/v1/records.pb.h"
#include "store/backend.h"

namespace sluice::store::postgres {

// Microseconds since the Unix epoch of an ISO timestamp as PostgreSQL writes it:
// "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]", or "infinity" / "-infinity".
// Without an offset the time is taken as UTC. kInvalidArgument when `text` is not one.
Result<int64_t> ParseTimestamp(std::string_view text);

// The value of one field of a text-format result.
Result<v1::SqlValue> FieldValue(const PGresult* res, int row, int column);

// The column names of `res`.
std::vector<std::string> ColumnNames(const PGresult* res);

// Rows [first, first + count) of `res`, appended to `rows`. Errors name the row and column.
Status AppendRows(const PGresult* res, int first, int count,
                  std::vector<std::vector<v1::SqlValue>>* rows);

// What a statement's result says: its columns, its rows up to `max_rows` (0: all;
// `truncated` when there were more) and, for INSERT, UPDATE, DELETE and MERGE, the rows
// it affected (0 for any other command: SELECT, DDL, CALL).
Status ReadStatementResult(const PGresult* res, size_t max_rows, StatementResult* out);

}  // namespace sluice::store::postgres
