#pragma once
// The state of the service as DESIGN's "States of the service" names it, as far as this
// version knows it: `active` with the active target, or `isolated` when no primary-role
// target can serve. Until the failover issue brings the monitor and switching, the active
// target is the highest-priority enabled primary whose appliers are all running.
//
// Thread safety: ServiceStateTracker is safe from any thread.

#include <cstdint>
#include <mutex>
#include <string>

#include "service/service_context.h"

namespace sluice::service {

struct ServiceState {
  std::string state;          // "active" | "isolated"
  std::string active_target;  // empty when isolated
  std::string reason;         // why it is isolated (each primary and what it is doing)
  int64_t since_us = 0;       // when the state or the active target last changed
};

// Computes the state now and remembers when it last changed.
class ServiceStateTracker {
 public:
  ServiceState Current(const ServiceContext& context);

 private:
  std::mutex mu_;
  std::string last_state_;  // GUARDED_BY(mu_) "active:NAME" or "isolated"
  int64_t since_us_ = 0;    // GUARDED_BY(mu_)
};

}  // namespace sluice::service
