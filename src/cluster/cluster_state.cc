#include "cluster/cluster_state.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sluice::cluster {

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kStarting: return "starting";
    case Phase::kActive: return "active";
    case Phase::kSwitching: return "switching";
    case Phase::kIsolated: return "isolated";
  }
  return "unknown";
}

std::string ClusterState::Describe() const {
  switch (phase) {
    case Phase::kActive: return fmt::format("active({})", active);
    case Phase::kSwitching:
      return fmt::format("switching({} -> {})", from.empty() ? "none" : from, to);
    default: return std::string(PhaseName(phase));
  }
}

Result<std::optional<ClusterState>> LoadClusterState(FileSystem* fs, const std::string& path) {
  if (!fs->Exists(path)) return std::optional<ClusterState>();
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, path));
  const auto bad = [&](std::string_view why) {
    return Status::Corruption(fmt::format(
        "{}: not a valid service state file ({}); fix it, or remove it to let sluiced choose "
        "the active target anew (highest-priority primary that has applied everything)",
        path, why));
  };
  ClusterState st;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.at("format").get<int>() != 1) return bad(fmt::format("format {} is not 1", j.at("format").dump()));
    std::string phase = j.at("state").get<std::string>();
    if (phase == "active") {
      st.phase = Phase::kActive;
    } else if (phase == "switching") {
      st.phase = Phase::kSwitching;
    } else if (phase == "isolated") {
      st.phase = Phase::kIsolated;
    } else {
      return bad(fmt::format("unknown state '{}' (active, switching, isolated)", phase));
    }
    st.active = j.value("active", "");
    st.from = j.value("from", "");
    st.to = j.value("to", "");
    st.since_us = j.value("since_us", int64_t{0});
    st.reason = j.value("reason", "");
    st.switch_id = j.value("switch_id", uint64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  if (st.phase == Phase::kActive && st.active.empty()) return bad("state 'active' without an active target");
  if (st.phase == Phase::kSwitching && st.to.empty()) return bad("state 'switching' without 'to'");
  return std::optional<ClusterState>(st);
}

Status SaveClusterState(FileSystem* fs, const std::string& path, const ClusterState& st) {
  nlohmann::json j = {{"format", 1},         {"state", PhaseName(st.phase)}, {"active", st.active},
                      {"from", st.from},     {"to", st.to},                  {"since_us", st.since_us},
                      {"reason", st.reason}, {"switch_id", st.switch_id}};
  return WriteFileAtomically(fs, path, j.dump(1) + "\n").Annotate(fmt::format("saving the service state to {}", path));
}

}  // namespace sluice::cluster
