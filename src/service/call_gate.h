#pragma once
// Lets a shutdown finish the calls in progress without waiting for idle clients.
//
// gRPC's Server::Shutdown(deadline) waits until the deadline whenever a client keeps an
// idle connection open, which clients of a history service always do. So the node
// drains first: every call (and every request on a stream) enters the gate, new ones are
// refused with UNAVAILABLE once draining starts, and the node waits until those in
// progress have left before it shuts the server down at once.
//
// Thread safety: safe from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace sluice::service {

class CallGate {
 public:
  // Holds one call in progress; empty (false) when the gate refused it.
  class Pass {
   public:
    Pass() = default;
    explicit Pass(CallGate* gate) : gate_(gate) {}
    Pass(Pass&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Pass& operator=(Pass&& other) noexcept {
      if (this != &other) {
        Release();
        gate_ = other.gate_;
        other.gate_ = nullptr;
      }
      return *this;
    }
    ~Pass() { Release(); }
    explicit operator bool() const { return gate_ != nullptr; }
    void Release() {
      if (gate_ != nullptr) gate_->Exit();
      gate_ = nullptr;
    }

   private:
    CallGate* gate_ = nullptr;
  };

  // An empty Pass once Drain() has begun.
  Pass Enter();
  // Refuses new calls from now on and waits until the calls in progress have left or the
  // timeout passes. Returns true when none is left.
  bool Drain(std::chrono::milliseconds timeout);
  bool draining() const;

 private:
  void Exit();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t in_progress_ = 0;  // guarded by mu_
  bool draining_ = false;     // guarded by mu_
};

}  // namespace sluice::service
