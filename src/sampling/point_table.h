#pragma once
// The real-time point table: the current value of every point, as the sampler reads it.
//
// Bounded: at most `max_points` distinct point ids. An update of a new point beyond that
// is refused with RESOURCE_EXHAUSTED naming the limit; it is never silently dropped, and
// the points already in the table keep updating.
//
// Each point gets a stable slot (point_slots.h) on its first update; its value lives there,
// under a per-slot sequence lock, and the slot never moves. The id -> slot map is split
// into kShards shards by point id, each a mutex and a hash map, consulted on Update by id
// (once per call) and by whoever resolves ids to slots. The sampler resolves its
// definitions once (FindSlots) and then reads slots (Load) without touching the map.
// Slots are handed out in order of first update, so points first updated in id order are
// walked sequentially.
//
// Thread safety: all methods may be called concurrently from any threads. A value is
// always read whole (never half of two updates); different points are not one atomic cut.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "sampling/point_slots.h"

namespace sluice::sampling {

class PointTable {
 public:
  // A max_points above kNoSlot - 1 is taken as kNoSlot - 1 (slots are 32-bit indices).
  explicit PointTable(size_t max_points);
  PointTable(const PointTable&) = delete;
  PointTable& operator=(const PointTable&) = delete;

  // Sets the point's current value, adding the point if it is new.
  Status Update(int64_t point_id, const PointValue& value);
  std::optional<PointValue> Get(int64_t point_id) const;
  // out[i] = the value of ids[i], or nullopt for a point never updated. Each value is
  // read whole (never half of two updates); different points are not one atomic cut.
  void Snapshot(std::span<const int64_t> ids, std::vector<std::optional<PointValue>>* out) const;

  // --- Slots: for readers and writers that resolve an id once and then skip the map.

  // The point's slot, adding the point (with no value yet) if it is new; RESOURCE_EXHAUSTED
  // as Update when the table is full. The slot stays valid for the table's life.
  Result<PointSlot> SlotFor(int64_t point_id);
  // out[i] = the slot of ids[i], or kNoSlot for a point not in the table.
  // REQUIRES: out.size() == ids.size().
  void FindSlots(std::span<const int64_t> ids, std::span<PointSlot> out) const;
  // REQUIRES: `slot` came from this table (SlotFor, FindSlots).
  void Store(PointSlot slot, const PointValue& value) { slots_.Store(slot, value); }
  // nullopt: the point has a slot but was never given a value.
  std::optional<PointValue> Load(PointSlot slot) const { return slots_.Load(slot); }
  // How many points have been added so far; it only grows. Read it before resolving ids:
  // when it has not changed since, an id that had no slot still has none.
  uint64_t points_added() const { return added_.load(std::memory_order_acquire); }

  size_t size() const { return added_.load(std::memory_order_relaxed); }
  size_t max_points() const { return max_points_; }

 private:
  static constexpr size_t kShards = 64;
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<int64_t, PointSlot> slots;  // GUARDED_BY(mu)
  };
  static size_t ShardOf(int64_t point_id);
  // The slot of `point_id`, added when new; `value`, when given, is stored in it (before
  // the id can be found, for a new point).
  Result<PointSlot> FindOrAdd(int64_t point_id, const PointValue* value);

  const size_t max_points_;
  PointSlots slots_;
  std::atomic<uint64_t> added_{0};  // incremented after the new id is in its shard's map
  std::array<Shard, kShards> shards_;
};

}  // namespace sluice::sampling
