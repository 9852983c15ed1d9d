#include "sampling/point_table.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::sampling {

PointTable::PointTable(size_t max_points)
    : max_points_(std::min<size_t>(max_points, kNoSlot - 1)), slots_(max_points_) {}

size_t PointTable::ShardOf(int64_t point_id) {
  // Point ids are often dense runs; a multiplicative hash spreads neighbours over shards.
  return (static_cast<uint64_t>(point_id) * 0x9E3779B97F4A7C15ull) >> 58;  // top 6 bits
}

Result<PointSlot> PointTable::FindOrAdd(int64_t point_id, const PointValue* value) {
  Shard& shard = shards_[ShardOf(point_id)];
  std::unique_lock lock(shard.mu);
  auto it = shard.slots.find(point_id);
  if (it != shard.slots.end()) {
    // The common case, an existing point: the value is written after the lock is released,
    // so updaters of one shard hold its lock only for the lookup.
    const PointSlot slot = it->second;
    lock.unlock();
    if (value != nullptr) slots_.Store(slot, *value);
    return slot;
  }
  // Slots are handed out by one counter bounded by max_points, so concurrent inserts in
  // other shards never exceed the bound together.
  const PointSlot slot = slots_.Allocate();
  if (slot == kNoSlot) {
    return Status(Code::kResourceExhausted,
                  fmt::format("point {} refused: the real-time point table is full ({} points, "
                              "the configured maximum)",
                              point_id, max_points_));
  }
  // Written before the id is findable: whoever finds a point that Update added sees its
  // value, never an empty slot.
  if (value != nullptr) slots_.Store(slot, *value);
  shard.slots.emplace(point_id, slot);
  added_.fetch_add(1, std::memory_order_release);
  return slot;
}

Status PointTable::Update(int64_t point_id, const PointValue& value) {
  Result<PointSlot> slot = FindOrAdd(point_id, &value);
  return slot.ok() ? Status::OK() : slot.status();
}

Result<PointSlot> PointTable::SlotFor(int64_t point_id) { return FindOrAdd(point_id, nullptr); }

std::optional<PointValue> PointTable::Get(int64_t point_id) const {
  PointSlot slot = kNoSlot;
  FindSlots({&point_id, 1}, {&slot, 1});
  if (slot == kNoSlot) return std::nullopt;
  return slots_.Load(slot);
}

void PointTable::FindSlots(std::span<const int64_t> ids, std::span<PointSlot> out) const {
  std::fill(out.begin(), out.end(), kNoSlot);
  if (ids.size() == 1) {
    const Shard& shard = shards_[ShardOf(ids[0])];
    std::lock_guard lock(shard.mu);
    auto it = shard.slots.find(ids[0]);
    if (it != shard.slots.end()) out[0] = it->second;
    return;
  }
  // Grouped by shard (a counting sort of the indices), so that each shard's lock is taken
  // once per call instead of once per point: with updaters on the same locks, a million
  // acquisitions would meet them a million times.
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
      auto it = shard.slots.find(ids[i]);
      if (it != shard.slots.end()) out[i] = it->second;
    }
  }
}

void PointTable::Snapshot(std::span<const int64_t> ids,
                          std::vector<std::optional<PointValue>>* out) const {
  std::vector<PointSlot> slots(ids.size());
  FindSlots(ids, slots);
  out->resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    (*out)[i] = slots[i] == kNoSlot ? std::nullopt : slots_.Load(slots[i]);
  }
}

}  // namespace sluice::sampling
