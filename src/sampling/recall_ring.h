#pragma once
// One recall definition's ring buffer: the last `capacity` ticks of its points, each tick
// a timestamp and one (value, quality) per point, in the definition's point order. Once
// full, a new tick overwrites the oldest. Memory is fixed at construction:
// capacity x (8 + points x 12) bytes.
//
// Thread safety: none; RecallWindows (recall.h) guards it with its mutex.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::sampling {

class RecallRing {
 public:
  // REQUIRES: points >= 1, capacity >= 1.
  RecallRing(size_t points, size_t capacity);

  struct Slot {
    int64_t tick_us;
    std::span<double> values;
    std::span<uint32_t> qualities;
  };
  struct ConstSlot {
    int64_t tick_us;
    std::span<const double> values;
    std::span<const uint32_t> qualities;
  };

  // The slot of a new tick, to be filled by the caller; it replaces the oldest when full.
  // REQUIRES: tick_us > the newest tick held (ticks are stored in time order).
  Slot Append(int64_t tick_us);
  // The i-th oldest tick held, i in [0, size()).
  ConstSlot At(size_t i) const;

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t points() const { return points_; }
  bool empty() const { return size_ == 0; }
  int64_t oldest_us() const { return At(0).tick_us; }          // REQUIRES: !empty()
  int64_t newest_us() const { return At(size_ - 1).tick_us; }  // REQUIRES: !empty()

 private:
  size_t Physical(size_t i) const { return (head_ + capacity_ - size_ + i) % capacity_; }

  const size_t points_;
  const size_t capacity_;
  size_t head_ = 0;  // the physical slot the next Append writes
  size_t size_ = 0;
  std::vector<int64_t> ticks_;       // capacity_
  std::vector<double> values_;       // capacity_ x points_, slot-major
  std::vector<uint32_t> qualities_;  // capacity_ x points_, slot-major
};

}  // namespace sluice::sampling
