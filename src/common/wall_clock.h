#pragma once
// The wall clock in microseconds since the Unix epoch (UTC), as every timestamp Sluice
// stores and shows is kept.

#include <chrono>
#include <cstdint>

namespace sluice {

inline int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice
