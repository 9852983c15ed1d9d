#include "bench/process_memory.h"

#include <fmt/format.h>
#include <malloc.h>

#include <fstream>
#include <string>

namespace sluice::bench {
namespace {

Result<int64_t> StatusField(const std::string& name) {
  std::ifstream in("/proc/self/status");
  if (!in) return Status::IOError("cannot read /proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(name + ":")) {
      return static_cast<int64_t>(std::stoll(line.substr(name.size() + 1))) * 1024;  // kB
    }
  }
  return Status::NotFound(fmt::format("/proc/self/status has no {}", name));
}

}  // namespace

Result<int64_t> ResidentBytes() { return StatusField("VmRSS"); }
Result<int64_t> PeakResidentBytes() { return StatusField("VmHWM"); }

Status ResetPeakResident() {
  ::malloc_trim(0);
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  if (!out) return Status::IOError("cannot reset the peak RSS through /proc/self/clear_refs");
  return Status::OK();
}

}  // namespace sluice::bench
