#pragma once
// CRC32C (Castagnoli), the checksum of the journal's frames. Uses the SSE4.2 crc32
// instruction when the CPU has it, a table otherwise; both give the same values.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::crc32c {

// CRC32C of data, continuing from `init` (the CRC of the bytes before it; 0 to start).
uint32_t Extend(uint32_t init, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// A CRC stored next to the data it covers is masked (leveldb's trick), so that the CRC of
// a string that itself contains CRCs stays well distributed.
inline uint32_t Mask(uint32_t crc) {
  constexpr uint32_t kMaskDelta = 0xa282ead8u;
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}
inline uint32_t Unmask(uint32_t masked) {
  constexpr uint32_t kMaskDelta = 0xa282ead8u;
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

// True when the hardware instruction is in use.
bool IsHardwareAccelerated();

}  // namespace sluice::crc32c
