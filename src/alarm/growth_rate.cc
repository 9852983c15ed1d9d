#include "alarm/growth_rate.h"

namespace sluice::alarm {

void GrowthRate::Add(int64_t at_us, uint64_t bytes) {
  samples_.push_back({at_us, bytes});
  // Keep one sample at or beyond the window's start, so the rate spans the whole window.
  while (samples_.size() > 2 && samples_[1].at_us <= at_us - window_.count()) samples_.pop_front();
}

std::optional<double> GrowthRate::BytesPerSecond() const {
  if (samples_.size() < 2) return std::nullopt;
  const Sample& first = samples_.front();
  const Sample& last = samples_.back();
  const int64_t span = last.at_us - first.at_us;
  if (span <= 0 || span < window_.count() / 4) return std::nullopt;
  return (static_cast<double>(last.bytes) - static_cast<double>(first.bytes)) * 1e6 /
         static_cast<double>(span);
}

}  // namespace sluice::alarm
