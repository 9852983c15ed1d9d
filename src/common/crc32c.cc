#include "common/crc32c.h"

#include <cstring>

#include "common/crc32c_internal.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE4_2__)
#include <nmmintrin.h>
#define SLUICE_CRC32C_HAVE_SSE42 1
#else
#define SLUICE_CRC32C_HAVE_SSE42 0
#endif

// This whole file is compiled with -msse4.2 so that the intrinsics are available, which
// also lets the compiler use SSE3/SSE4/POPCNT instructions anywhere in it. The portable
// path must run on CPUs without them, so it is compiled for the baseline ISA.
#if SLUICE_CRC32C_HAVE_SSE42
#define SLUICE_CRC32C_BASELINE_ISA __attribute__((target("no-sse3,no-popcnt")))
#else
#define SLUICE_CRC32C_BASELINE_ISA
#endif

namespace sluice::crc32c {
namespace {

// The Castagnoli polynomial 0x1EDC6F41, bit-reversed (CRC32C is a reflected CRC).
constexpr uint32_t kReversedPolynomial = 0x82f63b78u;

// Slicing-by-8 tables: t[0] is the classic byte table; t[k][b] is the CRC contribution
// of byte b followed by k zero bytes, so eight bytes fold in one step. A plain array, not
// std::array: its operator[] is compiled for SSE4.2 here and so could not be inlined into
// the baseline-ISA loop below, costing a call per lookup.
struct SliceTables {
  uint32_t t[8][256];
};

constexpr SliceTables MakeTables() {
  SliceTables tables{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1) ? (crc >> 1) ^ kReversedPolynomial : crc >> 1;
    }
    tables.t[0][byte] = crc;
  }
  for (int k = 1; k < 8; ++k) {
    for (uint32_t byte = 0; byte < 256; ++byte) {
      uint32_t prev = tables.t[k - 1][byte];
      tables.t[k][byte] = (prev >> 8) ^ tables.t[0][prev & 0xff];
    }
  }
  return tables;
}

constexpr SliceTables kTables = MakeTables();

// Byte-wise little-endian load: correct on any host, a single mov on x86.
SLUICE_CRC32C_BASELINE_ISA inline uint32_t LoadLittleEndian32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

using ExtendFunction = uint32_t (*)(uint32_t, const char*, size_t);

ExtendFunction ChooseImplementation() {
  return internal::HardwareAvailable() ? internal::ExtendHardware : internal::ExtendPortable;
}

}  // namespace

namespace internal {

SLUICE_CRC32C_BASELINE_ISA uint32_t ExtendPortable(uint32_t init, const char* data, size_t n) {
  const auto& t = kTables.t;
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  uint32_t crc = ~init;
  while (n >= 8) {
    uint32_t lo = LoadLittleEndian32(p) ^ crc;
    uint32_t hi = LoadLittleEndian32(p + 4);
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  for (; n > 0; --n, ++p) {
    crc = t[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
  }
  return ~crc;
}

#if SLUICE_CRC32C_HAVE_SSE42

uint32_t ExtendHardware(uint32_t init, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  uint64_t crc = ~init;
  // Align first so that the 8-byte loads below never straddle a cache line.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    crc = _mm_crc32_u8(static_cast<uint32_t>(crc), *p++);
    --n;
  }
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    crc = _mm_crc32_u64(crc, word);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = _mm_crc32_u8(static_cast<uint32_t>(crc), *p++);
    --n;
  }
  return ~static_cast<uint32_t>(crc);
}

bool HardwareAvailable() {
  // Extend may run from another translation unit's static initializer, before the
  // runtime has filled in the CPU model that __builtin_cpu_supports reads.
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

#else

uint32_t ExtendHardware(uint32_t init, const char* data, size_t n) {
  return ExtendPortable(init, data, n);
}

bool HardwareAvailable() { return false; }

#endif

}  // namespace internal

uint32_t Extend(uint32_t init, const char* data, size_t n) {
  static const ExtendFunction extend = ChooseImplementation();
  return extend(init, data, n);
}

bool IsHardwareAccelerated() { return internal::HardwareAvailable(); }

}  // namespace sluice::crc32c
