#pragma once
// The journal's net growth rate over a sliding window: samples of (time, bytes) are kept
// for `window`, and the rate is (newest - oldest) / (their time apart). Net: retention
// freeing segments makes it fall, even below zero.
//
// Thread safety: not thread safe; the alarm engine's thread owns it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace sluice::alarm {

class GrowthRate {
 public:
  explicit GrowthRate(std::chrono::microseconds window) : window_(window) {}

  void Add(int64_t at_us, uint64_t bytes);
  // Bytes per second; nullopt until two samples at least a quarter of the window apart
  // exist (a rate over a few milliseconds says nothing).
  std::optional<double> BytesPerSecond() const;

 private:
  struct Sample {
    int64_t at_us;
    uint64_t bytes;
  };
  const std::chrono::microseconds window_;
  std::deque<Sample> samples_;
};

}  // namespace sluice::alarm
