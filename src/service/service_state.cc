#include "service/service_state.h"

#include <map>

#include <fmt/format.h>

#include "common/log.h"

namespace sluice::service {

ServiceState ServiceStateTracker::Current(const ServiceContext& context) {
  std::map<std::string, std::vector<replicate::ApplierStatus>> by_target;
  for (auto& a : context.replicator->Status()) by_target[a.target].push_back(std::move(a));
  size_t streams = context.config->streams.size();

  ServiceState out;
  std::string reasons;
  for (const config::TargetConfig* t : context.config->PrimariesByPriority()) {
    std::string why;
    if (!context.replicator->target_enabled(t->name)) {
      why = "disabled";
    } else {
      const auto& appliers = by_target[t->name];
      for (const auto& a : appliers) {
        if (a.state != replicate::ApplierState::kRunning && why.empty()) {
          why = fmt::format("stream '{}' {}", a.stream, replicate::ApplierStateName(a.state));
          if (!a.last_error.empty()) why += fmt::format(" ({})", a.last_error);
        }
      }
      if (why.empty() && appliers.size() < streams) why = "not all appliers exist";
    }
    if (why.empty()) {
      out.state = "active";
      out.active_target = t->name;
      break;
    }
    reasons += fmt::format("{}{}: {}", reasons.empty() ? "" : "; ", t->name, why);
  }
  if (out.active_target.empty()) {
    out.state = "isolated";
    out.reason = reasons.empty() ? "no primary-role target is configured"
                                 : "no primary-role target can serve: " + reasons;
  }

  std::string key = out.state == "active" ? "active:" + out.active_target : out.state;
  std::lock_guard lk(mu_);
  if (key != last_state_) {
    int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    if (!last_state_.empty()) {
      if (out.state == "active") {
        SLUICE_LOG_INFO("service state: active, target '{}'", out.active_target);
      } else {
        SLUICE_LOG_WARN("service state: isolated ({})", out.reason);
      }
    }
    last_state_ = key;
    since_us_ = now;
  }
  out.since_us = since_us_;
  return out;
}

}  // namespace sluice::service
