#include "bench/query_bench_library.h"

namespace sluice::bench {

// Until history/query.h lands (branch history-read).
Result<std::vector<RawDigest>> LibraryReader::Raw(std::span<const int64_t>, int64_t, int64_t,
                                                  uint32_t) {
  return Status::FailedPrecondition("history/query.h is not built yet");
}
Result<std::vector<AggRow>> LibraryReader::Aggregates(std::span<const int64_t>,
                                                      const history::TimeGrid&, size_t*) {
  return Status::FailedPrecondition("history/query.h is not built yet");
}
Result<std::vector<LimitRow>> LibraryReader::Limits(std::span<const int64_t>,
                                                    const history::TimeGrid&) {
  return Status::FailedPrecondition("history/query.h is not built yet");
}

}  // namespace sluice::bench
