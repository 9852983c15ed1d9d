#pragma once
// The input of `sluice commit`: sample rows in CSV and their timestamps, parsed into the
// sample records the Ingest service takes. Kept apart from the command so the parser can
// be tested without a service.
//
// Thread safety: pure functions.

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sluice/v1/records.pb.h"

namespace sluice::cli {

// A sample's time: microseconds since 1970 ("1714564800000000"), or an ISO 8601 time
// "YYYY-MM-DD[T ]hh:mm:ss[.ffffff]" followed by an offset "Z", "+hh", "+hhmm" or "+hh:mm"
// (or "-"), which is what PostgreSQL prints ("2024-05-01 12:00:00+00"). No offset means UTC.
// kInvalidArgument when the text is none of these.
Result<int64_t> ParseSampleTime(std::string_view text);

// Lines "point_id,ts,value[,quality]" -> sample records of up to rows_per_record rows
// each, of the given interval. A first line that does not start with a number is a
// header; empty lines and lines starting with '#' are skipped. Errors name `source`, the
// line and the column: "data.csv line 3, column 2 (ts): ...".
// REQUIRES: rows_per_record >= 1.
Result<std::vector<v1::Record>> ParseSampleCsv(std::istream& in, const std::string& source,
                                               v1::SampleInterval interval,
                                               size_t rows_per_record);

}  // namespace sluice::cli
