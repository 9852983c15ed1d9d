#include "bench/machine_info.h"

#include <fmt/format.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string_view>
#include <thread>

#ifndef SLUICE_BUILD_TYPE
#define SLUICE_BUILD_TYPE "unknown"
#endif
#ifndef SLUICE_BENCH_SANITIZERS
#define SLUICE_BENCH_SANITIZERS ""
#endif

namespace sluice::bench {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

// The value of the first "key : value" line of a /proc file whose key is `key`.
std::string ProcField(const char* file, std::string_view key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    size_t colon = line.find(':');
    if (colon != std::string::npos && Trim(line.substr(0, colon)) == key) {
      return Trim(std::string_view(line).substr(colon + 1));
    }
  }
  return {};
}

std::string Sanitizers() {
  std::string s = SLUICE_BENCH_SANITIZERS;
#if defined(__SANITIZE_ADDRESS__)
  if (s.find("address") == std::string::npos) s += s.empty() ? "address" : ",address";
#endif
#if defined(__SANITIZE_THREAD__)
  s += s.empty() ? "thread" : ",thread";
#endif
  return s;
}

}  // namespace

MachineInfo GetMachineInfo() {
  MachineInfo m;
  m.cpu = ProcField("/proc/cpuinfo", "model name");
  if (m.cpu.empty()) m.cpu = "unknown";
  m.cores = std::thread::hardware_concurrency();
  std::string mem = ProcField("/proc/meminfo", "MemTotal");  // "16318828 kB"
  if (!mem.empty()) m.memory_bytes = std::stoull(mem) * 1024;
  struct utsname u;
  if (::uname(&u) == 0) m.kernel = fmt::format("{} {}", u.sysname, u.release);
#if defined(__clang__)
  m.compiler =
      fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  m.compiler = fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  m.compiler = "unknown";
#endif
  m.build_type = SLUICE_BUILD_TYPE;
#ifdef NDEBUG
  m.assertions = false;
#else
  m.assertions = true;
#endif
  m.sanitizers = Sanitizers();
#ifdef SLUICE_FAILPOINTS
  m.failpoints = true;
#endif
  return m;
}

nlohmann::json ToJson(const MachineInfo& m) {
  return {
      {"cpu", m.cpu},
      {"cores", m.cores},
      {"memory_bytes", m.memory_bytes},
      {"kernel", m.kernel},
      {"compiler", m.compiler},
      {"build_type", m.build_type},
      {"assertions", m.assertions},
      {"sanitizers", m.sanitizers.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.sanitizers)},
      {"failpoints", m.failpoints},
  };
}

void WarnIfUnrepresentative(const MachineInfo& m) {
  if (m.assertions) {
    fmt::print(stderr,
               "WARNING: assertions are enabled (NDEBUG not defined); figures are not "
               "representative\n");
  }
  if (!m.sanitizers.empty()) {
    fmt::print(stderr, "WARNING: built with sanitizers ({}); figures are not representative\n",
               m.sanitizers);
  }
  if (m.build_type != "Release" && m.build_type != "RelWithDebInfo") {
    fmt::print(stderr, "WARNING: build type is {}, not an optimised build\n", m.build_type);
  }
}

std::string FileSystemType(const std::string& path) {
  struct statfs st;
  if (::statfs(path.c_str(), &st) != 0) return "unknown";
  switch (static_cast<unsigned long>(st.f_type)) {
    case 0xEF53:
      return "ext4";  // also ext2/ext3: same magic
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x2FC12FC1:
      return "zfs";
    case 0x6969:
      return "nfs";
    case 0xF2F52010:
      return "f2fs";
    default:
      return fmt::format("0x{:x}", static_cast<unsigned long>(st.f_type));
  }
}

}  // namespace sluice::bench
