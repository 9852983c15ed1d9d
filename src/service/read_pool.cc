#include "service/read_pool.h"

#include <fmt/format.h>

namespace sluice::service {
namespace {
constexpr size_t kIdlePerTarget = 8;
}

ReadPool::Lease::~Lease() {
  if (pool_ != nullptr && backend_ != nullptr && !broken_) pool_->Release(target_, std::move(backend_));
}

Result<ReadPool::Lease> ReadPool::Acquire(const std::string& target) {
  {
    std::lock_guard lk(mu_);
    auto& idle = idle_[target];
    if (!idle.empty()) {
      auto b = std::move(idle.back());
      idle.pop_back();
      return Lease(this, target, std::move(b));
    }
  }
  const config::TargetConfig* t = config_->FindTarget(target);
  if (t == nullptr) return Status::NotFound(fmt::format("no target '{}'", target));
  store::BackendOptions bo;
  bo.name = t->name;
  bo.connection = t->connection;
  SLUICE_ASSIGN_OR_RETURN(auto backend,
                          store::NewBackend(t->dialect == config::Dialect::kPostgres ? "postgres" : "sqlite", bo));
  SLUICE_RETURN_IF_ERROR(backend->Connect().Annotate(fmt::format("connecting to target '{}' for a read", target)));
  return Lease(this, target, std::move(backend));
}

void ReadPool::Release(const std::string& target, std::unique_ptr<store::Backend> backend) {
  std::lock_guard lk(mu_);
  auto& idle = idle_[target];
  if (idle.size() < kIdlePerTarget) idle.push_back(std::move(backend));
}

}  // namespace sluice::service
