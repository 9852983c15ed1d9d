#pragma once
// How fast a target catches up: from samples of (time, LSNs applied, LSNs journaled)
// over the last seconds, the rate at which its lag shrinks and when it will be caught
// up at that rate.
//
// Thread safety: none; the controller owns it.

#include <chrono>
#include <cstdint>
#include <deque>

namespace sluice::cluster {

struct CatchUp {
  uint64_t lag_records = 0;   // journaled but not applied, over every stream
  double apply_per_s = 0;     // records applied per second, recently
  double eta_s = -1;          // seconds until caught up at the current pace; -1: not shrinking
};

class CatchUpMeter {
 public:
  explicit CatchUpMeter(std::chrono::milliseconds window = std::chrono::seconds(5)) : window_(window) {}
  // `applied` and `journaled`: sums over the streams of the applied LSN and the head.
  void Sample(std::chrono::steady_clock::time_point now, uint64_t applied, uint64_t journaled);
  CatchUp Get() const { return current_; }

 private:
  struct Point {
    std::chrono::steady_clock::time_point at;
    uint64_t applied;
    uint64_t journaled;
  };
  std::chrono::milliseconds window_;
  std::deque<Point> points_;
  CatchUp current_;
};

}  // namespace sluice::cluster
