#pragma once
// The side of `sluice-bench query` under test: the history library (history/query.h)
// reading through a PostgreSQL store::Backend, its responses folded into the same plain
// answers as the baseline's (query_bench_answers.h).
//
// Thread safety: one object per backend, used by one thread.

#include <cstdint>
#include <span>
#include <vector>

#include "bench/query_bench_answers.h"
#include "common/status.h"
#include "history/interval_walker.h"
#include "sluice/v1/service.pb.h"
#include "store/backend.h"

namespace sluice::bench {

class LibraryReader {
 public:
  // `backend` is connected and outlives the reader.
  explicit LibraryReader(store::Backend* backend) : backend_(backend) {}

  // Every page of ReadRaw (max_values per page), folded page by page.
  Result<std::vector<RawDigest>> Raw(std::span<const int64_t> point_ids, int64_t start_us,
                                     int64_t end_us, uint32_t page_values);
  // ReadAggregates of kAggCaseAggregates; `response_bytes` (when not null) gets the
  // response's serialized size.
  Result<std::vector<AggRow>> Aggregates(std::span<const int64_t> point_ids,
                                         const history::TimeGrid& grid,
                                         size_t* response_bytes = nullptr);
  // ReadLimitStats with the points' limits from the point table.
  Result<std::vector<LimitRow>> Limits(std::span<const int64_t> point_ids,
                                       const history::TimeGrid& grid);

 private:
  store::Backend* backend_;
};

}  // namespace sluice::bench
