#pragma once
// Internals of crc32c.cc, exposed so tests can check both implementations against each
// other on the same machine. Production code calls crc32c::Extend.

#include <cstddef>
#include <cstdint>

namespace sluice::crc32c::internal {

// Table-driven (slicing-by-8) CRC32C; runs on any CPU.
uint32_t ExtendPortable(uint32_t init, const char* data, size_t n);

// The SSE4.2 crc32 instruction (ExtendPortable in builds without the hardware path).
// REQUIRES: HardwareAvailable(), else it may die of an illegal instruction.
uint32_t ExtendHardware(uint32_t init, const char* data, size_t n);

// True when this build has the hardware path and the CPU supports it.
bool HardwareAvailable();

}  // namespace sluice::crc32c::internal
