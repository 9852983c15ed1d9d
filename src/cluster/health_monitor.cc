#include "cluster/health_monitor.h"

#include <fmt/format.h>

#include "common/log.h"
#include "common/wall_clock.h"
#include "store/prober.h"

namespace sluice::cluster {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string_view HealthName(Health health) {
  switch (health) {
    case Health::kUnknown: return "unknown";
    case Health::kUp: return "up";
    case Health::kDown: return "down";
  }
  return "unknown";
}

Result<std::unique_ptr<HealthMonitor>> HealthMonitor::Create(std::vector<ProbedTarget> targets,
                                                             HealthOptions options, Callback on_change) {
  std::unique_ptr<HealthMonitor> m(new HealthMonitor(options, std::move(on_change)));
  for (auto& t : targets) {
    auto w = std::make_unique<Watched>();
    w->name = t.name;
    SLUICE_ASSIGN_OR_RETURN(w->prober, store::NewProber(t.dialect, t.name, t.connection));
    TargetHealth h;
    h.target = t.name;
    m->health_[t.name] = h;
    m->watched_.push_back(std::move(w));
  }
  return m;
}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::Start() {
  for (auto& w : watched_) w->thread = std::thread([this, p = w.get()] { Run(p); });
}

void HealthMonitor::Stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  // A probe waiting on a server that does not answer must not hold the stop for the
  // probe timeout.
  for (auto& w : watched_) w->prober->Interrupt();
  for (auto& w : watched_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

bool HealthMonitor::Stopping() const {
  std::lock_guard lk(mu_);
  return stop_;
}

void HealthMonitor::Sleep(std::chrono::milliseconds d) const {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [&] { return stop_; });
}

TargetHealth HealthMonitor::Get(const std::string& target) const {
  std::lock_guard lk(mu_);
  auto it = health_.find(target);
  return it == health_.end() ? TargetHealth{} : it->second;
}

std::vector<TargetHealth> HealthMonitor::All() const {
  std::lock_guard lk(mu_);
  std::vector<TargetHealth> out;
  for (const auto& [name, h] : health_) out.push_back(h);
  return out;
}

bool HealthMonitor::AllKnown() const {
  std::lock_guard lk(mu_);
  for (const auto& [name, h] : health_) {
    if (h.health == Health::kUnknown) return false;
  }
  return true;
}

void HealthMonitor::Set(Watched* w, Health health, const std::string& detail, double probe_ms) {
  TargetHealth copy;
  {
    std::lock_guard lk(mu_);
    TargetHealth& h = health_[w->name];
    if (health == Health::kUp) h.last_probe_ms = probe_ms;
    if (h.health == health) return;
    if (h.health != Health::kUnknown || health == Health::kDown) {
      if (health == Health::kDown) {
        SLUICE_LOG_WARN("target '{}' is down: {}", w->name, detail);
      } else {
        SLUICE_LOG_INFO("target '{}' is up again (probe answered in {:.1f} ms)", w->name, probe_ms);
      }
    }
    if (health == Health::kDown) h.failures++;
    h.health = health;
    h.since_us = NowMicros();
    h.detail = health == Health::kDown ? detail : std::string();
    copy = h;
  }
  if (on_change_) on_change_(copy);
}

void HealthMonitor::Run(Watched* w) {
  const auto probe = [&]() -> Status {
    auto start = Clock::now();
    Status s = w->prober->Probe(options_.timeout);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (s.ok()) Set(w, Health::kUp, {}, ms);
    return s;
  };
  std::chrono::milliseconds backoff = options_.interval;
  while (!Stopping()) {
    if (!w->prober->connected()) {
      // First contact, or a down target: probe, and back off while it stays down.
      Status s = probe();
      if (s.ok()) {
        backoff = options_.interval;
        continue;
      }
      Set(w, Health::kDown, s.message(), 0);
      Sleep(backoff);
      backoff = std::min(options_.backoff_max, backoff * 2);
      continue;
    }
    Status broke = w->prober->WaitForBreak(options_.interval);
    if (Stopping()) break;
    if (!broke.ok()) {
      // The session broke while idle: the server died, restarted, or someone ended the
      // session. One reconnect-and-probe tells which.
      if (options_.reconnect_probe_delay.count() > 0) Sleep(options_.reconnect_probe_delay);
      Status s = probe();
      if (!s.ok()) {
        Set(w, Health::kDown, fmt::format("{}; reconnecting failed: {}", broke.message(), s.message()), 0);
        backoff = options_.interval;
        Sleep(backoff);
      } else {
        SLUICE_LOG_INFO("{}; the server answered a new session at once, so it stays up", broke.message());
      }
      continue;
    }
    Status s = probe();
    if (s.ok()) continue;
    if (s.code() == Code::kDeadlineExceeded) {
      Set(w, Health::kDown, fmt::format("no answer within {} ms ({})", options_.timeout.count(), s.message()), 0);
      backoff = options_.interval;
      continue;  // the next probe reconnects
    }
    // The probe found the session broken: same rule as a break seen while idle.
    if (options_.reconnect_probe_delay.count() > 0) Sleep(options_.reconnect_probe_delay);
    Status again = probe();
    if (!again.ok()) Set(w, Health::kDown, fmt::format("{}; reconnecting failed: {}", s.message(), again.message()), 0);
  }
}

}  // namespace sluice::cluster
