#include "cluster/catch_up.h"

#include <algorithm>

namespace sluice::cluster {

void CatchUpMeter::Sample(std::chrono::steady_clock::time_point now, uint64_t applied, uint64_t journaled) {
  points_.push_back({now, applied, journaled});
  while (points_.size() > 2 && now - points_.front().at > window_) points_.pop_front();
  current_.lag_records = journaled > applied ? journaled - applied : 0;
  const Point& first = points_.front();
  double seconds = std::chrono::duration<double>(now - first.at).count();
  if (seconds <= 0) return;
  double applied_rate = static_cast<double>(applied - std::min(applied, first.applied)) / seconds;
  double journaled_rate = static_cast<double>(journaled - std::min(journaled, first.journaled)) / seconds;
  current_.apply_per_s = applied_rate;
  double shrink = applied_rate - journaled_rate;
  if (current_.lag_records == 0) {
    current_.eta_s = 0;
  } else if (shrink > 0) {
    current_.eta_s = static_cast<double>(current_.lag_records) / shrink;
  } else {
    current_.eta_s = -1;
  }
}

}  // namespace sluice::cluster
