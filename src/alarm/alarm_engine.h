#pragma once
// The alarm engine: keeps the alarms that are raised, applies each pass of observations
// to them through the checks' hysteresis (alarm.h), and tells everyone who asks:
//   - Start(): a thread measures every `interval` (MeasureFn), evaluates, logs each raise
//     and clear (one line: check, subject, value, threshold) and hands it to the
//     EventSink (the node journals it into every target's event_log); Stop() ends it;
//   - GetSnapshot(): the active alarms, the recent raises and clears (bounded), counts by
//     severity (for Admin.ListAlarms and /metrics);
//   - Watch(): the current set, then every raise and clear in order (Admin.WatchAlarms).
//
// Thread safety: every method may be called from any thread. Evaluate() is serialised
// with itself; Stop() joins the thread and ends every watch (Next() returns kClosed).

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "alarm/alarm.h"

namespace sluice::alarm {

// Active alarms by severity, indexed by Severity (info, warning, critical).
using SeverityCounts = std::array<uint64_t, 3>;

struct AlarmSnapshot {
  std::vector<ActiveAlarm> active;  // in order of (check, subject)
  std::vector<AlarmEvent> history;  // oldest first, at most the history limit
  SeverityCounts counts{};          // of `active`
  uint64_t last_seq = 0;            // of the last event so far
  int64_t last_pass_us = 0;         // when the checks last ran (0: not yet)
};

class AlarmEngine {
 public:
  using MeasureFn = std::function<std::vector<Observation>(int64_t now_us)>;
  using EventSink = std::function<void(const AlarmEvent&)>;
  using ClockFn = std::function<int64_t()>;  // microseconds since the epoch

  // `specs`: the enabled checks; an observation of another check is ignored.
  AlarmEngine(std::vector<CheckSpec> specs, size_t history_limit, ClockFn clock = {});
  ~AlarmEngine();
  AlarmEngine(const AlarmEngine&) = delete;
  AlarmEngine& operator=(const AlarmEngine&) = delete;

  // One pass: applies the observations; returns the raises and clears, in order. Each
  // of them goes to `before_publish` (the thread: log and journal) before it is visible
  // to GetSnapshot(), Counts() and the watches.
  std::vector<AlarmEvent> Evaluate(const std::vector<Observation>& observations,
                                   const EventSink& before_publish = {});

  // Runs a pass at once, then every `interval`, on a thread of its own. REQUIRES: once.
  void Start(std::chrono::microseconds interval, MeasureFn measure, EventSink sink);
  // Ends the thread (a pass in progress finishes) and every watch. Idempotent.
  void Stop();

  AlarmSnapshot GetSnapshot() const;
  SeverityCounts Counts() const;
  const std::vector<CheckSpec>& specs() const { return specs_; }

  // A subscriber: the snapshot at the moment it subscribed, then every event after it.
  class Watch {
   public:
    enum class Result { kEvent, kTimeout, kClosed, kOverflow };
    // Waits up to `timeout` for the next event.
    Result Next(std::chrono::milliseconds timeout, AlarmEvent* event);
    const AlarmSnapshot& initial() const { return initial_; }
    ~Watch();

   private:
    friend class AlarmEngine;
    explicit Watch(AlarmEngine* engine) : engine_(engine) {}
    AlarmEngine* engine_;
    AlarmSnapshot initial_;
    std::deque<AlarmEvent> queue_;  // guarded by engine_->mu_
    bool overflow_ = false;         // guarded by engine_->mu_
  };
  // REQUIRES: the Watch goes before the engine.
  std::unique_ptr<Watch> Subscribe();

  // A watch holding more events than this was not read for far too long: it ends
  // (kOverflow) rather than growing without bound.
  static constexpr size_t kMaxWatchBacklog = 10000;

 private:
  AlarmSnapshot SnapshotLocked() const;
  void Loop(std::chrono::microseconds interval, const MeasureFn& measure, const EventSink& sink);

  const std::vector<CheckSpec> specs_;
  const size_t history_limit_;
  const ClockFn clock_;

  std::mutex eval_mu_;  // one Evaluate at a time
  mutable std::mutex mu_;
  std::condition_variable cv_;  // events for watches; stop for the thread
  std::map<std::pair<std::string, std::string>, ActiveAlarm> active_;  // guarded by mu_
  std::deque<AlarmEvent> history_;                                     // guarded by mu_
  uint64_t seq_ = 0;                                                   // guarded by mu_
  int64_t last_pass_us_ = 0;                                           // guarded by mu_
  std::vector<Watch*> watches_;                                        // guarded by mu_
  bool stopped_ = false;                                               // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::alarm
