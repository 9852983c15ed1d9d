#pragma once
// The query parameters of the dashboard's JSON endpoints (docs/dashboard.md), read into
// the requests the gRPC service takes. Every refusal is kInvalidArgument naming the
// parameter and the value given ("parameter 'from': \"yesterday\" is not a time: ..."),
// which the endpoint answers with 400.
//
// Thread safety: pure functions.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sluice/v1/service.pb.h"

namespace sluice::http {

// A request's query (or form) parameters, as cpp-httplib hands them over.
using Params = std::multimap<std::string, std::string>;

// GET /api/errors: target, stream (optional), since, until (times), resolved (a boolean:
// also entries already retried or discarded).
Result<v1::ListErrorsRequest> ParseListErrors(const Params& params);

// POST /api/errors/retry and /api/errors/discard: target, stream (optional), and lsn or
// all=true.
Result<v1::ErrorActionRequest> ParseErrorAction(const Params& params);

// GET /api/history/raw: point, interval, from, to (times), max_values (optional),
// bounds (optional boolean).
Result<v1::ReadRawRequest> ParseReadRaw(const Params& params);

// GET /api/history/aggregates: point, interval, from, to, step (a duration, "20s"),
// aggregates (comma-separated, as `sluice query agg` names them: Average,Minimum,...).
Result<v1::ReadAggregatesRequest> ParseReadAggregates(const Params& params);

// Pieces, tested on their own.
// A time: Unix microseconds ("1700000000000000") or RFC 3339 ("2026-12-07T06:00:00Z").
Result<int64_t> ParseTimeParam(std::string_view name, std::string_view value);
// "1s", "SAMPLE_INTERVAL_1S": the proto's SampleInterval names, with or without prefix.
Result<v1::SampleInterval> ParseIntervalParam(std::string_view name, std::string_view value);
// "Average", "time_average", "TIME-AVERAGE": an AggregateType, case and '_'/'-' ignored.
Result<v1::AggregateType> ParseAggregateParam(std::string_view name, std::string_view value);

}  // namespace sluice::http
