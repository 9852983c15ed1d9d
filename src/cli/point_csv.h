#pragma once
// The input of `sluice points import`: the point catalog in CSV. The first line is a
// header naming the columns, in any order: id and name are required; description, kind
// (analog, status, counter or 0/1/2), unit, lolo, lo, hi, hihi, deadband, station and
// element are optional (an empty limit is not set). Fields may be double-quoted ("a, b"
// with "" for a quote). Empty lines and lines starting with '#' are skipped. Each error
// names the source, the line and the column: "points.csv line 4, column 7 (lo): ...".
//
// Thread safety: pure functions.

#include <istream>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/v1/records.pb.h"

namespace sluice::cli {

// Only the form of each field is checked here; the rules between fields (limits ordered,
// names unique) are the service's, whose error names the point.
Result<std::vector<v1::CatalogPoint>> ParsePointCsv(std::istream& in, const std::string& source);

// Splits one CSV line; kInvalidArgument for an unterminated quote.
Result<std::vector<std::string>> SplitCsvLine(const std::string& line);

}  // namespace sluice::cli
