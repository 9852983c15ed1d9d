#pragma once
// What /healthz answers (docs/http.md): 200 "ok" while a target is active, so the node
// serves reads and synchronous writes; 503 with the state and its reason otherwise
// (starting, switching, isolated). Commits are journaled in every state, so a 503 says
// "synchronous calls and reads would wait or be refused here now", not "the node is
// down" (then nothing answers at all).
//
// Thread safety: a pure function.

#include <string>

#include "cluster/cluster_state.h"

namespace sluice::http {

struct HealthAnswer {
  int status = 200;  // 200 or 503
  std::string body;  // one line
};

HealthAnswer JudgeHealth(const cluster::ClusterState& state);

}  // namespace sluice::http
