#pragma once
// The baseline of `sluice-bench query`: the same questions as the history library's,
// answered by hand-written SQL on the same server and fetched with libpq in binary
// format, into the same plain answers (query_bench_answers.h).
//
//  - raw: one ORDER BY point_id, ts query over the range, streamed through a cursor
//    (FETCH of `fetch_rows` rows) so that 8.6 million rows never sit in one result.
//  - aggregates (Average, Minimum, Maximum, Count, 15 min): GROUP BY point and integer
//    bucket (ts - start) / step, with FILTERed counts of good and bad-or-uncertain rows
//    for Part 13's count based status. Same semantics as the engine for every interval
//    that holds a sample (an empty one is missing from a GROUP BY; with 1 s data there
//    is none).
//  - limit statistics: window functions over the rows and the bound before the range
//    (lead: how long each sample holds; lag and a running max: where each excursion
//    starts), then per interval the usable time, each side's excursions started, total,
//    and longest stretch with its excursion's start. Same semantics as the engine as long
//    as no sample's hold crosses an interval boundary (a gap in the data would need each
//    hold cut at the boundaries, e.g. generate_series per hold); with 1 s samples on a
//    grid of whole seconds none does.
//
// Thread safety: one object per connection, used by one thread.

#include <libpq-fe.h>

#include <cstdint>
#include <span>
#include <vector>

#include "bench/query_bench_answers.h"
#include "common/status.h"
#include "history/interval_walker.h"

namespace sluice::bench {

class BaselineSql {
 public:
  explicit BaselineSql(PGconn* conn) : conn_(conn) {}

  // One digest per point of `point_ids`, in that order (a point without rows: rows 0).
  Result<std::vector<RawDigest>> Raw(std::span<const int64_t> point_ids, int64_t start_us,
                                     int64_t end_us, int fetch_rows);
  Result<std::vector<AggRow>> Aggregates(std::span<const int64_t> point_ids,
                                         const history::TimeGrid& grid);
  // Limits from the point table (lower_limit, upper_limit).
  Result<std::vector<LimitRow>> Limits(std::span<const int64_t> point_ids,
                                       const history::TimeGrid& grid);

 private:
  // Runs `sql` and returns its binary result; the error names `what` and the server's
  // message.
  Result<PGresult*> Exec(const std::string& sql, const char* what, ExecStatusType expected);

  PGconn* conn_;
};

}  // namespace sluice::bench
