#pragma once
// What `sluice query` prints, made from History answers: a plain-text table, CSV or JSON.
// Pure functions of the answers (no I/O), tested on made-up answers (history_view_test.cc).
// Times print as RFC 3339 UTC; values with full precision (%.17g shortened: the shortest
// text that reads back to the same double); an absent value prints empty (CSV, table) or
// null (JSON).
//
// Thread safety: pure functions.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sluice/v1/service.pb.h"

namespace sluice::cli {

enum class OutputFormat { kTable, kCsv, kJson };
// "table", "csv", "json"; the error lists them.
Result<OutputFormat> ParseOutputFormat(std::string_view text);

// Point ids -> the names shown beside them (from the catalog; a missing one prints the id).
using PointNames = std::map<int64_t, std::string>;

// Quality bits as words: "good", or "invalid|substituted" ...
std::string QualityText(uint32_t quality);
// The shortest decimal that reads back to `value` ("0.1", "1e+300", "nan").
std::string ValueText(double value);

// Raw samples, one line per sample: point, name, time, value, quality, manual, pending;
// the bounds (with `bound` = before/after) where the answer has them.
std::string RenderRaw(const v1::ReadRawResponse& response, const PointNames& names,
                      OutputFormat format);
// Aggregates (and interpolated values): one line per point and interval, one column per
// aggregate (with its status: in CSV a column "<Aggregate>_status", in the table a mark
// after the value: "?" uncertain, "!" bad), plus "partial" for the last short interval.
// Interval k starts at start_us + k * step_us (the request's grid); *ActualTime aggregates
// also show their sample's time.
std::string RenderAggregates(const v1::ReadAggregatesResponse& response, const PointNames& names,
                             int64_t start_us, int64_t step_us, OutputFormat format);
// Limit statistics: one line per point and interval.
std::string RenderLimits(const v1::ReadLimitStatsResponse& response, const PointNames& names,
                         OutputFormat format);

// Part 13's name of an aggregate ("TimeAverage"); "" for AGGREGATE_UNSPECIFIED.
std::string_view AggregateTypeName(v1::AggregateType type);
// Case-insensitive Part 13 name ("timeaverage", "TimeAverage") -> the type; the error lists
// the names.
Result<v1::AggregateType> ParseAggregateType(std::string_view text);

}  // namespace sluice::cli
