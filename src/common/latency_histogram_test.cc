// LatencyHistogram: bucket edges are "less than or equal", buckets are cumulative, the
// count is the +Inf bucket, and concurrent recording loses nothing.

#include "common/latency_histogram.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(LatencyHistogramTest, BucketsAreCumulativeAndInclusive) {
  LatencyHistogram h({0.001, 0.01, 0.1});
  h.Record(microseconds(1000));  // exactly on the first bound: counted there
  h.Record(microseconds(1001));
  h.Record(milliseconds(50));
  h.Record(milliseconds(2000));  // above every bound: +Inf only
  LatencyHistogram::Snapshot s = h.Read();
  ASSERT_EQ(s.cumulative.size(), s.bounds.size() + 1);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(s.count, 4u);
  EXPECT_NEAR(s.sum_seconds, 0.001 + 0.001001 + 0.05 + 2.0, 1e-9);
}

TEST(LatencyHistogramTest, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  constexpr int kThreads = 4;
  constexpr int kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) h.Record(microseconds((i * (t + 1)) % 20000));
    });
  }
  for (auto& t : threads) t.join();
  LatencyHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kEach);
  for (size_t i = 1; i < s.cumulative.size(); ++i) EXPECT_LE(s.cumulative[i - 1], s.cumulative[i]);
}

}  // namespace
}  // namespace sluice
