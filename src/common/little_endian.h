#pragma once
// Little-endian integers in byte buffers: every on-disk and on-wire format of ours (the
// journal's segments and frames, export bundles) stores its integers this way, whatever
// the host's byte order.

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace sluice {

// Writes `v` into dst[0 .. sizeof(T)).
template <typename T>
void PutLe(char* dst, T v) {
  static_assert(std::is_unsigned_v<T>);
  for (size_t i = 0; i < sizeof(T); ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Reads the T stored at src[0 .. sizeof(T)).
template <typename T>
T GetLe(const char* src) {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<uint8_t>(src[i])) << (8 * i);
  return v;
}

}  // namespace sluice
