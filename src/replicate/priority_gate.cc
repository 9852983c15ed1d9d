#include "replicate/priority_gate.h"

#include <utility>

namespace sluice::replicate {

PriorityGate::Pass::Pass(Pass&& other) noexcept
    : gate_(std::exchange(other.gate_, nullptr)), priority_(other.priority_) {}

PriorityGate::Pass& PriorityGate::Pass::operator=(Pass&& other) noexcept {
  if (this != &other) {
    Release();
    gate_ = std::exchange(other.gate_, nullptr);
    priority_ = other.priority_;
  }
  return *this;
}

void PriorityGate::Pass::Release() {
  if (gate_ != nullptr) std::exchange(gate_, nullptr)->Release(priority_);
}

bool PriorityGate::Enter(Pass& pass, int priority, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  if (!pass.held()) {
    pass.gate_ = this;
    pass.priority_ = priority;
    held_[priority]++;
    total_++;
    // Lower waiters must see the new registration (they keep waiting), and WaitHeld too.
    cv_.notify_all();
  }
  return cv_.wait_for(lk, timeout, [&] { return !HigherHeldLocked(pass.priority_); });
}

void PriorityGate::Release(int priority) {
  {
    std::lock_guard lk(mu_);
    auto it = held_.find(priority);
    if (it != held_.end() && --it->second == 0) held_.erase(it);
    total_--;
  }
  cv_.notify_all();
}

bool PriorityGate::HigherHeldLocked(int priority) const {
  // held_ is ordered highest first, so its first entry says it all.
  return !held_.empty() && held_.begin()->first > priority;
}

size_t PriorityGate::held() const {
  std::lock_guard lk(mu_);
  return total_;
}

size_t PriorityGate::held_above(int priority) const {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& [p, count] : held_) {
    if (p <= priority) break;
    n += count;
  }
  return n;
}

bool PriorityGate::WaitHeld(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return total_ >= count; });
}

}  // namespace sluice::replicate
