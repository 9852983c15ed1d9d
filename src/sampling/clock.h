#pragma once
// The sampler's notion of time, an interface so that tests drive it: NowUs() and a wait
// for a deadline. SystemClock is the wall clock; DrivenClock moves only when a test says.
//
// Thread safety: every method of both clocks may be called from any thread.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>

namespace sluice::sampling {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since 1970-01-01T00:00:00 UTC.
  virtual int64_t NowUs() const = 0;
  // Blocks until NowUs() >= deadline_us (returns true) or `stop` is requested (false).
  // A clock stepped backwards makes the wait longer: the deadline is a time, not a delay.
  virtual bool WaitUntil(int64_t deadline_us, std::stop_token stop) = 0;
};

// The wall clock (CLOCK_REALTIME). WaitUntil re-reads the clock at least every 50 ms, so
// a step of the system clock (NTP, an operator) is seen promptly in either direction.
class SystemClock final : public Clock {
 public:
  int64_t NowUs() const override;
  bool WaitUntil(int64_t deadline_us, std::stop_token stop) override;

 private:
  std::mutex mu_;
  std::condition_variable_any cv_;  // never notified: only the stop token wakes it early
};

// Time for tests: starts at `start_us` and moves only through Set/Advance (backwards too).
// Waiters whose deadline has passed wake up.
class DrivenClock final : public Clock {
 public:
  explicit DrivenClock(int64_t start_us) : now_us_(start_us) {}

  int64_t NowUs() const override;
  bool WaitUntil(int64_t deadline_us, std::stop_token stop) override;

  void Set(int64_t now_us);
  void Advance(int64_t delta_us);
  // Blocks until some thread waits in WaitUntil for a deadline still in the future: for a
  // sampler thread, that it has finished every cycle due at the current time and is idle.
  void AwaitIdleWaiter();

 private:
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  int64_t now_us_;                // GUARDED_BY(mu_)
  int idle_waiters_ = 0;          // GUARDED_BY(mu_): waiters with deadline > now_us_
  int64_t generation_ = 0;        // GUARDED_BY(mu_): bumped by every Set, see AwaitIdleWaiter
  int64_t idle_generation_ = -1;  // GUARDED_BY(mu_): generation an idle waiter last saw
};

}  // namespace sluice::sampling
