#include "service/call_gate.h"

namespace sluice::service {

CallGate::Pass CallGate::Enter() {
  std::lock_guard lk(mu_);
  if (draining_) return Pass();
  ++in_progress_;
  return Pass(this);
}

void CallGate::Exit() {
  std::lock_guard lk(mu_);
  if (--in_progress_ == 0) cv_.notify_all();
}

bool CallGate::Drain(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  draining_ = true;
  return cv_.wait_for(lk, timeout, [&] { return in_progress_ == 0; });
}

bool CallGate::draining() const {
  std::lock_guard lk(mu_);
  return draining_;
}

}  // namespace sluice::service
