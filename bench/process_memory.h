#pragma once
// The process's resident memory, for benchmarks that claim memory flat in their input
// (Linux /proc/self). Thread-safe (each call reads or writes /proc on its own).

#include <cstdint>

#include "common/status.h"

namespace sluice::bench {

// VmRSS and VmHWM (the peak since start or the last reset) in bytes.
Result<int64_t> ResidentBytes();
Result<int64_t> PeakResidentBytes();
// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs, Linux >= 4.0), and
// first hands the allocator's free memory back to the system (malloc_trim), so that
// memory freed by earlier work and reused is not hidden from the next peak.
Status ResetPeakResident();

}  // namespace sluice::bench
