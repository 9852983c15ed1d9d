#include "sampling/point_table.h"

#include <fmt/format.h>

namespace sluice::sampling {

PointTable::PointTable(size_t max_points) : max_points_(max_points) {}

size_t PointTable::ShardOf(int64_t point_id) {
  // Point ids are often dense runs; a multiplicative hash spreads neighbours over shards.
  return (static_cast<uint64_t>(point_id) * 0x9E3779B97F4A7C15ull) >> 58;  // top 6 bits
}

Status PointTable::Update(int64_t point_id, const PointValue& value) {
  Shard& shard = shards_[ShardOf(point_id)];
  std::lock_guard lock(shard.mu);
  auto it = shard.points.find(point_id);
  if (it != shard.points.end()) {
    it->second = value;
    return Status::OK();
  }
  // Reserve a place before inserting, so concurrent inserts in other shards never exceed
  // the bound together.
  if (size_.fetch_add(1, std::memory_order_relaxed) >= max_points_) {
    size_.fetch_sub(1, std::memory_order_relaxed);
    return Status(Code::kResourceExhausted,
                  fmt::format("point {} refused: the real-time point table is full ({} points, "
                              "the configured maximum)",
                              point_id, max_points_));
  }
  shard.points.emplace(point_id, value);
  return Status::OK();
}

std::optional<PointValue> PointTable::Get(int64_t point_id) const {
  const Shard& shard = shards_[ShardOf(point_id)];
  std::lock_guard lock(shard.mu);
  auto it = shard.points.find(point_id);
  if (it == shard.points.end()) return std::nullopt;
  return it->second;
}

void PointTable::Snapshot(std::span<const int64_t> ids,
                          std::vector<std::optional<PointValue>>* out) const {
  out->assign(ids.size(), std::nullopt);
  // Grouped by shard (a counting sort of the indices), so that each shard's lock is taken
  // once per snapshot instead of once per point: with updaters on the same locks, a
  // million acquisitions would meet them a million times.
  std::array<uint32_t, kShards + 1> start{};
  std::vector<uint8_t> shard_of(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    shard_of[i] = static_cast<uint8_t>(ShardOf(ids[i]));
    ++start[shard_of[i] + 1];
  }
  for (size_t s = 0; s < kShards; ++s) start[s + 1] += start[s];
  std::vector<uint32_t> order(ids.size());
  std::array<uint32_t, kShards> fill{};
  for (size_t i = 0; i < ids.size(); ++i) {
    order[start[shard_of[i]] + fill[shard_of[i]]++] = static_cast<uint32_t>(i);
  }
  for (size_t s = 0; s < kShards; ++s) {
    if (start[s] == start[s + 1]) continue;
    const Shard& shard = shards_[s];
    std::lock_guard lock(shard.mu);
    for (uint32_t k = start[s]; k < start[s + 1]; ++k) {
      const uint32_t i = order[k];
      auto it = shard.points.find(ids[i]);
      if (it != shard.points.end()) (*out)[i] = it->second;
    }
  }
}

}  // namespace sluice::sampling
