#pragma once
// Orders the appliers of one target by their streams' priority (StreamConfig::priority,
// higher first: model 100, events 50, sql 40, samples 10).
//
// An applier holds a Pass while it has work: from the moment it has a batch ready to
// apply until it has caught up with its stream (or stops, fails, blocks, waits for an
// intent's outcome). Before each batch it calls Enter(), which returns once no pass of a
// *higher* priority is held. So:
//   - a lower-priority applier does not start a batch while a higher-priority applier of
//     the same target is waiting to start one, applying one, or still has a backlog
//     between two batches;
//   - higher-priority work never waits for lower: Enter() never looks at lower passes,
//     and a batch already started is not interrupted (the higher applier starts at once;
//     on a SQLite target it then waits only for the running transaction to commit);
//   - equal priorities do not order each other.
// That is all priority means here, and deliberately no more: a lower stream waits for as
// long as a higher stream has work, and there is no aging. Starvation is bounded by the
// higher streams' backlog, which is what an operator asks for when they rank model
// changes above samples. Nothing is reordered *within* a stream.
//
// Thread safety: all methods are safe from any thread. A Pass is used by one thread.

#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>

namespace sluice::replicate {

class PriorityGate {
 public:
  // A registration at one priority; empty (not held) when default-constructed.
  // Move-only; destroying a held pass releases it.
  class Pass {
   public:
    Pass() = default;
    Pass(Pass&& other) noexcept;
    Pass& operator=(Pass&& other) noexcept;
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    ~Pass() { Release(); }

    bool held() const { return gate_ != nullptr; }
    int priority() const { return priority_; }
    // Gives up the registration (no-op when not held); waiters below it may start.
    void Release();

   private:
    friend class PriorityGate;
    PriorityGate* gate_ = nullptr;
    int priority_ = 0;
  };

  PriorityGate() = default;
  PriorityGate(const PriorityGate&) = delete;
  PriorityGate& operator=(const PriorityGate&) = delete;
  // REQUIRES: no pass is held.
  ~PriorityGate() = default;

  // Registers `pass` at `priority` unless it is held already (then its own priority
  // counts), and waits up to `timeout` until no pass of a higher priority is held.
  // Returns true when the caller may start its batch. On timeout it returns false and
  // `pass` stays held: waiting to start counts as having work (the caller releases it
  // when it gives up).
  bool Enter(Pass& pass, int priority, std::chrono::milliseconds timeout);

  // Passes held now, at any priority or above `priority`. For status and tests.
  size_t held() const;
  size_t held_above(int priority) const;
  // Waits until at least `count` passes are held, or the timeout passes. For tests.
  bool WaitHeld(size_t count, std::chrono::milliseconds timeout) const;

 private:
  void Release(int priority);
  // REQUIRES: mu_ held.
  bool HigherHeldLocked(int priority) const;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<int, size_t, std::greater<>> held_;  // guarded by mu_; priority -> passes
  size_t total_ = 0;                            // guarded by mu_
};

}  // namespace sluice::replicate
