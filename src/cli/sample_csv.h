#pragma once
// The input of `sluice commit`: sample rows in CSV and their timestamps, parsed into the
// sample records the Ingest service takes. Kept apart from the command so the parser can
// be tested without a service.
//
// Thread safety: pure functions.

#include <charconv>
#include <cstdint>
#include <functional>
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

// The whole of `text` as a number of type T (no sign for unsigned, no blanks).
template <typename T>
bool ParseCsvNumber(std::string_view text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// One data line of a "point_id,ts,value[,quality]" file, its point and time parsed.
struct SampleCsvLine {
  const std::string* source = nullptr;
  size_t line_no = 0;
  std::vector<std::string_view> fields;  // trimmed; 3 or 4
  int64_t point_id = 0;
  int64_t ts_us = 0;
  // "SOURCE line N, column C (NAME): what", kInvalidArgument.
  Status Bad(size_t column, std::string_view what) const;
};

// Reads the lines of such a file and hands each data line to `row`, which stops the read
// with an error. Skips empty lines, lines starting with '#' and a first line that does
// not start with a number (a header); refuses, naming source, line and column, a line
// without 3 or 4 columns, a point_id that is not an integer and a ts that
// ParseSampleTime does not read. Shared by `sluice commit` and `sluice modify --file`.
Status ReadSampleCsvLines(std::istream& in, const std::string& source,
                          const std::function<Status(const SampleCsvLine&)>& row);

// Lines "point_id,ts,value[,quality]" -> sample records of up to rows_per_record rows
// each, of the given interval. A first line that does not start with a number is a
// header; empty lines and lines starting with '#' are skipped. Errors name `source`, the
// line and the column: "data.csv line 3, column 2 (ts): ...".
// REQUIRES: rows_per_record >= 1.
Result<std::vector<v1::Record>> ParseSampleCsv(std::istream& in, const std::string& source,
                                               v1::SampleInterval interval,
                                               size_t rows_per_record);

}  // namespace sluice::cli
