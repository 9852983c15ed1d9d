#pragma once
// The state of the service (DESIGN, "states of the service") and its file.
//
//   active(A)          A serves synchronous calls and reads
//   switching(F -> T)  T takes over once it has applied the switch markers of every
//                      ordered stream; synchronous calls wait (up to a deadline)
//   isolated           no primary can serve: commits go on into the journal, replicas
//                      are fed, synchronous calls are refused
//
// Kept in DATA_DIR/state/cluster.json, replaced atomically on every change, so a restart
// of sluiced resumes the same active target (no switch-back through a restart):
//
//   {"format": 1, "state": "switching", "active": "", "from": "pg-a", "to": "pg-b",
//    "since_us": ..., "reason": "...", "switch_id": 7}

#include <cstdint>
#include <optional>
#include <string>

#include "common/file_system.h"
#include "common/status.h"

namespace sluice::cluster {

enum class Phase { kStarting, kActive, kSwitching, kIsolated };
std::string_view PhaseName(Phase phase);

struct ClusterState {
  Phase phase = Phase::kStarting;
  std::string active;  // kActive
  std::string from;    // kSwitching: the target that was active ("" on first start)
  std::string to;      // kSwitching: the target taking over
  int64_t since_us = 0;
  std::string reason;
  uint64_t switch_id = 0;  // grows with every switch; stamped on its markers

  // "active(pg-a)", "switching(pg-a -> pg-b)", "isolated".
  std::string Describe() const;
};

// Reads `path`: nullopt when it does not exist; kCorruption naming the file and what is
// wrong when it cannot be used.
Result<std::optional<ClusterState>> LoadClusterState(FileSystem* fs, const std::string& path);
Status SaveClusterState(FileSystem* fs, const std::string& path, const ClusterState& state);

}  // namespace sluice::cluster
