#include "service/call_latency.h"

#include <mutex>

namespace sluice::service {

CallLatency::Timer CallLatency::Start(std::string_view method) {
  {
    std::shared_lock lk(mu_);
    auto it = methods_.find(method);
    if (it != methods_.end()) return Timer(it->second.get());
  }
  std::unique_lock lk(mu_);
  auto [it, inserted] = methods_.try_emplace(std::string(method), nullptr);
  if (inserted) it->second = std::make_unique<LatencyHistogram>();
  return Timer(it->second.get());
}

std::vector<CallLatency::Method> CallLatency::Read() const {
  std::shared_lock lk(mu_);
  std::vector<Method> out;
  out.reserve(methods_.size());
  for (const auto& [name, histogram] : methods_) out.push_back({name, histogram->Read()});
  return out;
}

}  // namespace sluice::service
