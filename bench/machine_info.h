#pragma once
// What a benchmark ran on and how it was built, so that figures can be compared (and
// figures from a debug or sanitizer build are recognised as such).

#include <string>

#include <nlohmann/json.hpp>

namespace sluice::bench {

struct MachineInfo {
  std::string cpu;         // model name from /proc/cpuinfo
  unsigned cores = 0;      // hardware threads available
  uint64_t memory_bytes = 0;
  std::string kernel;      // uname -sr
  std::string compiler;
  std::string build_type;  // CMAKE_BUILD_TYPE
  bool assertions = false; // NDEBUG not defined
  std::string sanitizers;  // "" when none
  bool failpoints = false; // test fail points compiled in
};

MachineInfo GetMachineInfo();
nlohmann::json ToJson(const MachineInfo& info);

// Warns on stderr when the build makes the figures unrepresentative (assertions on,
// sanitizers, not an optimised build).
void WarnIfUnrepresentative(const MachineInfo& info);

// The filesystem type of `path` ("ext4", "xfs", "tmpfs", ...; hex magic when unknown).
std::string FileSystemType(const std::string& path);

}  // namespace sluice::bench
