#pragma once
// The real-time point table: the current value of every point, as the sampler reads it.
//
// Bounded: at most `max_points` distinct point ids. An update of a new point beyond that
// is refused with RESOURCE_EXHAUSTED naming the limit; it is never silently dropped, and
// the points already in the table keep updating.
//
// Thread safety: all methods may be called concurrently from any threads. The table is
// split into kShards shards by point id, each with its own mutex held only to copy one
// value in or out, so a few updater threads and the sampler rarely meet on a lock.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace sluice::sampling {

struct PointValue {
  double value = 0;
  uint32_t quality = 0;    // v1::QualityBit bits, as the source sent them
  int64_t source_us = 0;   // when the source measured it (µs UTC)
  int64_t updated_us = 0;  // when the table received it (µs UTC, the sampler's clock)
};

class PointTable {
 public:
  explicit PointTable(size_t max_points);
  PointTable(const PointTable&) = delete;
  PointTable& operator=(const PointTable&) = delete;

  // Sets the point's current value, adding the point if it is new.
  Status Update(int64_t point_id, const PointValue& value);
  std::optional<PointValue> Get(int64_t point_id) const;
  // out[i] = the value of ids[i], or nullopt for a point never updated. Each value is
  // read whole (never half of two updates); different points are not one atomic cut.
  void Snapshot(std::span<const int64_t> ids, std::vector<std::optional<PointValue>>* out) const;

  size_t size() const { return size_.load(std::memory_order_relaxed); }
  size_t max_points() const { return max_points_; }

 private:
  static constexpr size_t kShards = 64;
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<int64_t, PointValue> points;  // GUARDED_BY(mu)
  };
  static size_t ShardOf(int64_t point_id);

  const size_t max_points_;
  std::atomic<size_t> size_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace sluice::sampling
