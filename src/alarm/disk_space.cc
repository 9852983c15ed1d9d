#include "alarm/disk_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace sluice::alarm {

Result<DiskSpace> MeasureDiskSpace(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) {
    return Status::IOError(fmt::format("statvfs of {}: {}", dir, std::strerror(errno)));
  }
  DiskSpace d;
  d.free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  d.total_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  return d;
}

}  // namespace sluice::alarm
