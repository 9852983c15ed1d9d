#include "sampling/recall_ring.h"

#include <cassert>

namespace sluice::sampling {

RecallRing::RecallRing(size_t points, size_t capacity)
    : points_(points),
      capacity_(capacity),
      ticks_(capacity),
      values_(capacity * points),
      qualities_(capacity * points) {
  assert(points >= 1 && capacity >= 1);
}

RecallRing::Slot RecallRing::Append(int64_t tick_us) {
  assert(empty() || tick_us > newest_us());
  const size_t slot = head_;
  head_ = (head_ + 1) % capacity_;
  if (size_ < capacity_) ++size_;
  ticks_[slot] = tick_us;
  return {tick_us, std::span<double>(values_).subspan(slot * points_, points_),
          std::span<uint32_t>(qualities_).subspan(slot * points_, points_)};
}

RecallRing::ConstSlot RecallRing::At(size_t i) const {
  assert(i < size_);
  const size_t slot = Physical(i);
  return {ticks_[slot], std::span<const double>(values_).subspan(slot * points_, points_),
          std::span<const uint32_t>(qualities_).subspan(slot * points_, points_)};
}

}  // namespace sluice::sampling
