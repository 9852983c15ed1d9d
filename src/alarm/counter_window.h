#pragma once
// How much a cumulative counter (e.g. the sampler's missed cycles) grew over a sliding
// window: samples of (time, total) are kept for `window`, plus the newest one at or before
// the window's start, and the increase is newest - oldest. Before a whole window has
// passed, it is the increase since the first sample.
//
// Thread safety: not thread safe; the alarm engine's thread owns it.

#include <chrono>
#include <cstdint>
#include <deque>

namespace sluice::alarm {

class CounterWindow {
 public:
  explicit CounterWindow(std::chrono::microseconds window) : window_(window) {}

  void Add(int64_t at_us, uint64_t total);
  // 0 without samples; a counter that went back (a restart) counts from its new value.
  uint64_t Increase() const;

 private:
  struct Sample {
    int64_t at_us;
    uint64_t total;
  };
  const std::chrono::microseconds window_;
  std::deque<Sample> samples_;
};

}  // namespace sluice::alarm
