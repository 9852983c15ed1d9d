#pragma once
// A histogram of durations over fixed bucket bounds, as the Prometheus exposition format
// wants it (cumulative buckets "le" a bound, +Inf, a sum and a count). Recording is a few
// relaxed atomic increments, so it may sit on every call's path.
//
// Thread safety: Record() and Read() from any thread at once. A Read() racing with
// Record() may miss the newest observations, but its buckets are always cumulative and
// its count is always the +Inf bucket (both are derived from one pass over the buckets).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace sluice {

class LatencyHistogram {
 public:
  // `upper_bounds_seconds`: ascending, finite, positive; +Inf is implied.
  explicit LatencyHistogram(std::vector<double> upper_bounds_seconds = DefaultBounds());

  // 0.5 ms to 10 s: a commit waits for an fdatasync (milliseconds), a synchronous write for
  // a database (tens of milliseconds), a switch up to switch_deadline (seconds).
  static std::vector<double> DefaultBounds();

  void Record(std::chrono::nanoseconds duration);

  struct Snapshot {
    std::vector<double> bounds;        // upper bounds in seconds, without +Inf
    std::vector<uint64_t> cumulative;  // observations <= bounds[i]; one more entry: +Inf
    uint64_t count = 0;                // == cumulative.back()
    double sum_seconds = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  std::vector<int64_t> bounds_ns_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace sluice
