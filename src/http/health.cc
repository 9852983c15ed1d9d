#include "http/health.h"

#include <fmt/format.h>

namespace sluice::http {

HealthAnswer JudgeHealth(const cluster::ClusterState& state) {
  if (state.phase == cluster::Phase::kActive) return {200, "ok\n"};
  std::string line = fmt::format("unavailable: {}", state.Describe());
  if (!state.reason.empty()) line += ": " + state.reason;
  // One line, whatever the reason holds.
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return {503, line + "\n"};
}

}  // namespace sluice::http
