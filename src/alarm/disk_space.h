#pragma once
// Free and total bytes of the filesystem holding a directory (statvfs), as an unprivileged
// process may use them (f_bavail).
//
// Thread safety: a pure function.

#include <cstdint>
#include <string>

#include "common/status.h"

namespace sluice::alarm {

struct DiskSpace {
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};

// kIOError naming the directory when statvfs fails.
Result<DiskSpace> MeasureDiskSpace(const std::string& dir);

}  // namespace sluice::alarm
