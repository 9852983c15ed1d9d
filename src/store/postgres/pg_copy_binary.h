#pragma once
// Internal to the PostgreSQL side of the table copy (pg_copy.cc): copied rows in
// PostgreSQL's binary wire forms, both ways.
//
// Why binary: values then move bit for bit with no text in between. A double is its
// IEEE bits (NaN with its payload, -0.0, infinities; no strtod and no shortest-digits
// printing), a text is its bytes (tabs, newlines, backslashes need no escaping), NULL is
// a length of -1. The copied columns are bigint, double precision, boolean and text on
// PostgreSQL (store/schema.cc), whose binary forms are 8 big-endian bytes, 8 big-endian
// bytes, one byte 0/1 and the UTF-8 bytes.

#include <libpq-fe.h>

#include "common/status.h"
#include "store/copy_io.h"
#include "store/postgres/copy_writer.h"

namespace sluice::store::postgres {

// Appends `row` as one tuple of COPY ... FROM STDIN (FORMAT binary) data for the
// columns of `table` in schema order. kInvalidArgument (nothing appended) when the row
// has the wrong number of values or a value cannot go into its column (a text for a
// number; an integer for a real column is converted, as SQL would).
Status AppendBinaryRow(const CopyTableSpec& table, const CopyRow& row, CopyWriter* out);

// Row `r` of a result in binary format whose columns are those of `table`, in order.
// kCorruption when a value's length does not fit its column's type.
Result<CopyRow> ReadBinaryRow(const PGresult* res, int r, const CopyTableSpec& table);

}  // namespace sluice::store::postgres
