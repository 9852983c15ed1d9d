#pragma once
// Watches the health of targets, each with a probe session of its own (store/prober.h),
// on a thread per target. The rules (DESIGN, "states of the service"):
//
//  - Between probes the idle probe session is watched. When it breaks, one
//    reconnect-and-probe follows: a server that answers it stays up (a killed session or
//    an idle timeout is not a failure); a server that refuses (it died) is down at once.
//  - Every `interval` a probe runs with `timeout`: a server that does not answer in time
//    (hung, SIGSTOPped, black-holed network) is down.
//  - A down target is probed again with backoff (from `interval` up to `backoff_max`);
//    the first probe that answers makes it up again.
//
// Every change of a target's health is logged and reported to the callback (on the
// target's thread; keep it short).
//
// Thread safety: safe from any thread after Start().

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/prober.h"

namespace sluice::cluster {

enum class Health { kUnknown, kUp, kDown };
std::string_view HealthName(Health health);

struct TargetHealth {
  std::string target;
  Health health = Health::kUnknown;
  int64_t since_us = 0;      // when it last changed
  std::string detail;        // why it is down (the probe's error)
  double last_probe_ms = 0;  // round trip of the last successful probe
  uint64_t failures = 0;     // times it went down since start
};

struct ProbedTarget {
  std::string name;
  std::string dialect;     // "sqlite" | "postgres"
  std::string connection;  // file path or libpq conninfo
};

struct HealthOptions {
  std::chrono::milliseconds interval{200};
  std::chrono::milliseconds timeout{500};
  std::chrono::milliseconds reconnect_probe_delay{0};
  std::chrono::milliseconds backoff_max{1000};
};

class HealthMonitor {
 public:
  using Callback = std::function<void(const TargetHealth&)>;

  // Fails (naming the target) when a target's dialect has no prober.
  static Result<std::unique_ptr<HealthMonitor>> Create(std::vector<ProbedTarget> targets,
                                                       HealthOptions options, Callback on_change);
  ~HealthMonitor();

  void Start();
  void Stop();

  // kUnknown (with an empty name) for a target that is not watched.
  TargetHealth Get(const std::string& target) const;
  std::vector<TargetHealth> All() const;
  // True once every target has had its first probe answered or failed.
  bool AllKnown() const;

 private:
  struct Watched {
    std::string name;
    std::unique_ptr<store::Prober> prober;
    std::thread thread;
  };
  HealthMonitor(HealthOptions options, Callback on_change)
      : options_(options), on_change_(std::move(on_change)) {}
  void Run(Watched* w);
  void Set(Watched* w, Health health, const std::string& detail, double probe_ms);
  bool Stopping() const;
  // Waits for `d` or until Stop().
  void Sleep(std::chrono::milliseconds d) const;

  const HealthOptions options_;
  const Callback on_change_;
  std::vector<std::unique_ptr<Watched>> watched_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, TargetHealth> health_;  // guarded by mu_
  bool stop_ = false;                           // guarded by mu_
};

}  // namespace sluice::cluster
