#include "sampling/clock.h"

#include <algorithm>
#include <chrono>

namespace sluice::sampling {

int64_t SystemClock::NowUs() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool SystemClock::WaitUntil(int64_t deadline_us, std::stop_token stop) {
  // Slices of at most 50 ms: a sleep on a steady clock would not notice a step of the
  // wall clock, and a wait on the wall clock's time point is not reliably re-evaluated
  // after a step on every platform.
  constexpr int64_t kSliceUs = 50'000;
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    const int64_t now = NowUs();
    if (now >= deadline_us) return true;
    const auto slice = std::chrono::microseconds(std::min(deadline_us - now, kSliceUs));
    cv_.wait_for(lock, stop, slice, [] { return false; });
  }
  return false;
}

int64_t DrivenClock::NowUs() const {
  std::lock_guard lock(mu_);
  return now_us_;
}

bool DrivenClock::WaitUntil(int64_t deadline_us, std::stop_token stop) {
  std::unique_lock lock(mu_);
  bool counted = false;
  while (now_us_ < deadline_us) {
    if (!counted) {
      ++idle_waiters_;
      counted = true;
    }
    idle_generation_ = generation_;
    cv_.notify_all();  // for AwaitIdleWaiter
    if (!cv_.wait(lock, stop,
                  [&] { return now_us_ >= deadline_us || generation_ != idle_generation_; })) {
      break;  // stop requested
    }
  }
  if (counted) --idle_waiters_;
  return now_us_ >= deadline_us;
}

void DrivenClock::Set(int64_t now_us) {
  std::lock_guard lock(mu_);
  now_us_ = now_us;
  ++generation_;
  cv_.notify_all();
}

void DrivenClock::Advance(int64_t delta_us) {
  std::lock_guard lock(mu_);
  now_us_ += delta_us;
  ++generation_;
  cv_.notify_all();
}

void DrivenClock::AwaitIdleWaiter() {
  std::unique_lock lock(mu_);
  // A waiter is idle for this test step once it has re-checked its deadline after the
  // last Set (idle_generation_ == generation_) and found it still in the future.
  cv_.wait(lock, [&] { return idle_waiters_ > 0 && idle_generation_ == generation_; });
}

}  // namespace sluice::sampling
