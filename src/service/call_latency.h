#pragma once
// How long gRPC calls take, per method ("Admin.Status"): one LatencyHistogram each, for
// /metrics (docs/http.md). Recorded in one place, AdmitCall (service_context.h): a call's
// Admission holds a Timer from the moment it is admitted (past the call gate and
// authentication) until the method returns. Calls refused there are not timed. A server
// stream (Model.WatchChanges, Download.ReadTable) is timed as a whole; each request on an
// Ingest.CommitStream is timed on its own, from its arrival to its answer.
//
// Thread safety: safe from any thread.

#include <chrono>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/latency_histogram.h"

namespace sluice::service {

class CallLatency {
 public:
  // Records the time since it started into one method's histogram when it goes (or
  // never, after Cancel()). Movable; an empty Timer records nothing.
  class Timer {
   public:
    Timer() = default;
    explicit Timer(LatencyHistogram* histogram)
        : histogram_(histogram), start_(std::chrono::steady_clock::now()) {}
    Timer(Timer&& other) noexcept : histogram_(other.histogram_), start_(other.start_) {
      other.histogram_ = nullptr;
    }
    Timer& operator=(Timer&& other) noexcept {
      if (this != &other) {
        Finish();
        histogram_ = other.histogram_;
        start_ = other.start_;
        other.histogram_ = nullptr;
      }
      return *this;
    }
    ~Timer() { Finish(); }
    void Cancel() { histogram_ = nullptr; }

   private:
    void Finish() {
      if (histogram_ != nullptr) histogram_->Record(std::chrono::steady_clock::now() - start_);
      histogram_ = nullptr;
    }
    LatencyHistogram* histogram_ = nullptr;
    std::chrono::steady_clock::time_point start_;
  };

  Timer Start(std::string_view method);

  struct Method {
    std::string name;
    LatencyHistogram::Snapshot latency;
  };
  // Every method called at least once, by name.
  std::vector<Method> Read() const;

 private:
  mutable std::shared_mutex mu_;
  // Histograms are never removed, so a Timer's pointer stays valid.
  std::map<std::string, std::unique_ptr<LatencyHistogram>, std::less<>> methods_;  // guarded by mu_
};

}  // namespace sluice::service
