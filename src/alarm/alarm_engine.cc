#include "alarm/alarm_engine.h"

#include <algorithm>
#include <cmath>

#include "common/log.h"

namespace sluice::alarm {
namespace {

int64_t SystemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

AlarmEngine::AlarmEngine(std::vector<CheckSpec> specs, size_t history_limit, ClockFn clock)
    : specs_(std::move(specs)),
      history_limit_(std::max<size_t>(1, history_limit)),
      clock_(clock ? std::move(clock) : ClockFn(SystemNowUs)) {}

AlarmEngine::~AlarmEngine() { Stop(); }

std::vector<AlarmEvent> AlarmEngine::Evaluate(const std::vector<Observation>& observations,
                                              const EventSink& before_publish) {
  std::lock_guard eval(eval_mu_);  // only Evaluate changes active_: it stays as read below
  const int64_t now = clock_();
  // First what changes, then each change handed to `before_publish` (logged and journaled),
  // and only then visible to ListAlarms, WatchAlarms and /metrics: whoever sees an alarm
  // raised or cleared and then waits for the journal's head finds its event_log row.
  struct Still {
    std::pair<std::string, std::string> key;
    const Observation* observation;
  };
  std::vector<Still> still_active;
  std::vector<AlarmEvent> events;
  {
    std::lock_guard lk(mu_);
    for (const Observation& o : observations) {
      auto spec = std::find_if(specs_.begin(), specs_.end(),
                               [&](const CheckSpec& s) { return s.name == o.check; });
      if (spec == specs_.end()) continue;
      auto key = std::make_pair(o.check, o.subject);
      const bool was = active_.count(key) > 0;
      const bool now_active = NextActive(*spec, was, o.value);
      if (was && now_active) still_active.push_back({std::move(key), &o});
      if (was == now_active) continue;
      AlarmEvent e;
      e.raised = now_active;
      e.check = o.check;
      e.subject = o.subject;
      e.severity = spec->severity;
      e.value = o.value;
      e.threshold = now_active ? spec->raise : spec->clear;
      e.unit = spec->unit;
      e.detail = o.detail;
      e.at_us = now;
      e.seq = ++seq_;
      events.push_back(std::move(e));
    }
  }
  if (before_publish) {
    for (const AlarmEvent& e : events) before_publish(e);
  }
  std::lock_guard lk(mu_);
  last_pass_us_ = now;
  for (const Still& s : still_active) {
    ActiveAlarm& a = active_.at(s.key);
    a.value = s.observation->value;
    a.detail = s.observation->detail;
  }
  for (const AlarmEvent& e : events) {
    const auto key = std::make_pair(e.check, e.subject);
    if (e.raised) {
      active_[key] =
          ActiveAlarm{e.check, e.subject, e.severity, e.value, e.threshold, e.unit, e.detail, now};
    } else {
      active_.erase(key);
    }
    history_.push_back(e);
    if (history_.size() > history_limit_) history_.pop_front();
    for (Watch* w : watches_) {
      if (w->queue_.size() >= kMaxWatchBacklog) {
        w->overflow_ = true;
      } else {
        w->queue_.push_back(e);
      }
    }
  }
  if (!events.empty()) cv_.notify_all();
  return events;
}

void AlarmEngine::Start(std::chrono::microseconds interval, MeasureFn measure, EventSink sink) {
  thread_ = std::thread([this, interval, measure = std::move(measure), sink = std::move(sink)] {
    Loop(interval, measure, sink);
  });
}

void AlarmEngine::Loop(std::chrono::microseconds interval, const MeasureFn& measure,
                       const EventSink& sink) {
  std::unique_lock lk(mu_);
  while (!stopped_) {
    lk.unlock();
    Evaluate(measure(clock_()), [&sink](const AlarmEvent& e) {
      if (e.raised && e.severity != Severity::kInfo) {
        SLUICE_LOG_WARN("{}", Describe(e));
      } else {
        SLUICE_LOG_INFO("{}", Describe(e));
      }
      if (sink) sink(e);
    });
    lk.lock();
    cv_.wait_for(lk, interval, [&] { return stopped_; });
  }
}

void AlarmEngine::Stop() {
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

AlarmSnapshot AlarmEngine::SnapshotLocked() const {
  AlarmSnapshot s;
  for (const auto& [key, a] : active_) {
    s.active.push_back(a);
    ++s.counts[static_cast<size_t>(a.severity)];
  }
  s.history.assign(history_.begin(), history_.end());
  s.last_seq = seq_;
  s.last_pass_us = last_pass_us_;
  return s;
}

AlarmSnapshot AlarmEngine::GetSnapshot() const {
  std::lock_guard lk(mu_);
  return SnapshotLocked();
}

SeverityCounts AlarmEngine::Counts() const {
  std::lock_guard lk(mu_);
  SeverityCounts counts{};
  for (const auto& [key, a] : active_) ++counts[static_cast<size_t>(a.severity)];
  return counts;
}

std::unique_ptr<AlarmEngine::Watch> AlarmEngine::Subscribe() {
  std::unique_ptr<Watch> w(new Watch(this));
  std::lock_guard lk(mu_);
  // Under the same lock as the events: nothing falls between the snapshot and the queue.
  w->initial_ = SnapshotLocked();
  watches_.push_back(w.get());
  return w;
}

AlarmEngine::Watch::~Watch() {
  std::lock_guard lk(engine_->mu_);
  std::erase(engine_->watches_, this);
}

AlarmEngine::Watch::Result AlarmEngine::Watch::Next(std::chrono::milliseconds timeout,
                                                    AlarmEvent* event) {
  std::unique_lock lk(engine_->mu_);
  engine_->cv_.wait_for(lk, timeout,
                        [&] { return !queue_.empty() || overflow_ || engine_->stopped_; });
  if (!queue_.empty()) {
    *event = std::move(queue_.front());
    queue_.pop_front();
    return Result::kEvent;
  }
  if (overflow_) return Result::kOverflow;
  if (engine_->stopped_) return Result::kClosed;
  return Result::kTimeout;
}

}  // namespace sluice::alarm
