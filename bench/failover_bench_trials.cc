// `sluice-bench failover`'s fault trials: fail the active server, time the first
// synchronous write the other target decides, bring the server back.

#include <fmt/format.h>
#include <signal.h>

#include <thread>

#include "bench/failover_bench_cases.h"

namespace sluice::bench::failover {

nlohmann::json TrialJson(const Trial& t) {
  nlohmann::json j = {{"fault", t.fault},
                      {"from", t.from},
                      {"to", t.to},
                      {"failover_ms", Round3(t.failover_ms)},
                      {"first_call_sent_ms", Round3(t.first_call_started_ms)},
                      {"down_ms", Round3(t.down_ms)},
                      {"switching_ms", Round3(t.switching_ms)},
                      {"active_ms", Round3(t.active_ms)},
                      {"refused", t.refused},
                      {"unknown", t.unknown},
                      {"recover_ms", Round3(t.recover_ms)}};
  if (t.restart_failures > 0) j["restart_failures"] = t.restart_failures;
  if (!t.error.empty()) j["error"] = t.error;
  return j;
}

Trial RunTrial(Daemon& d, SyncLoop& sync, testing::PgServer* servers[2], bool hang) {
  Trial t;
  t.fault = hang ? "hang" : "crash";
  auto active = WaitStable(d, std::chrono::seconds(300));
  if (!active.ok()) {
    t.error = "before the fault: " + active.status().ToString();
    return t;
  }
  t.from = *active;
  const size_t victim = t.from == kTargets[0] ? 0 : 1;
  t.to = kTargets[1 - victim];
  testing::PgServer* pg = servers[victim];

  const auto t0_sys = SysClock::now();
  const auto t0 = Clock::now();
  t.t0_us = SysMicros(t0_sys);
  Status fault = hang ? pg->KillAll(SIGSTOP) : pg->Kill(SIGKILL);
  if (!fault.ok()) {
    t.error = "fault: " + fault.ToString();
    return t;
  }
  auto first = sync.WaitFirstApplied(t0, t.to, std::chrono::seconds(60));
  if (first) {
    t.failover_ms = Millis(first->end - t0);
    t.first_call_started_ms = Millis(first->start - t0);
    for (const auto& c : sync.Between(t0, first->end)) {
      if (c.kind == SyncCall::kRefused) t.refused++;
      if (c.kind == SyncCall::kUnknown || c.kind == SyncCall::kUnresolved) t.unknown++;
    }
  } else {
    t.error = fmt::format("no synchronous call succeeded on '{}' within 60 s of the fault", t.to);
  }
  // What sluiced recorded: when the victim went down, and when the new target became
  // active (the switching state's time comes from the event_log at the end).
  const auto status_deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < status_deadline) {
    auto s = d.AdminStatus(std::chrono::seconds(5));
    if (s.ok()) {
      const v1::TargetStatus* v = FindTarget(*s, t.from);
      if (v != nullptr && v->health() == "down" && std::isnan(t.down_ms)) {
        t.down_ms = static_cast<double>(v->health_since_us() - t.t0_us) / 1000.0;
      }
      if (s->state() == "active" && s->active_target() == t.to) {
        t.active_ms = static_cast<double>(s->state_since_us() - t.t0_us) / 1000.0;
        if (!std::isnan(t.down_ms)) break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // Bring the server back.
  const auto back = Clock::now();
  Status s = hang ? pg->KillAll(SIGCONT) : pg->Start();
  for (int retry = 0; !s.ok() && !hang && retry < 2; ++retry) {
    // Said loudly, with the server's log: a restart after SIGKILL is expected to work.
    fmt::print(stderr, "  restarting the server of '{}' failed: {}\n  its log: {}\n  trying again\n", t.from,
               s.ToString(), pg->LogTail(2000));
    t.restart_failures++;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    s = pg->Start();
  }
  if (!s.ok()) {
    t.error += (t.error.empty() ? "" : "; ") + ("restart: " + s.ToString() + "; log: " + pg->LogTail(2000));
    return t;
  }
  auto stable = WaitStable(d, std::chrono::seconds(300));
  if (!stable.ok()) {
    t.error += (t.error.empty() ? "" : "; ") + ("after the restart: " + stable.status().ToString());
    return t;
  }
  t.recover_ms = Millis(Clock::now() - back);
  return t;
}

Result<std::vector<std::pair<int64_t, std::string>>> StateEvents(testing::PgServer* pg) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, pg->QueryRows("SELECT ts, text FROM event_log WHERE kind = 'sluice.state' "
                                                   "ORDER BY ts, id",
                                                   kDb));
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& r : rows) out.emplace_back(std::stoll(r.at(0)), r.at(1));
  return out;
}

nlohmann::json Summary(const std::vector<Trial>& trials, const std::string& fault) {
  std::vector<double> failover, down, to_switching, markers, call, sent;
  int errors = 0, refused = 0, unknown = 0;
  for (const auto& t : trials) {
    if (t.fault != fault) continue;
    if (!t.error.empty()) errors++;
    refused += t.refused;
    unknown += t.unknown;
    if (std::isfinite(t.failover_ms)) failover.push_back(t.failover_ms);
    if (std::isfinite(t.down_ms)) down.push_back(t.down_ms);
    if (std::isfinite(t.switching_ms) && std::isfinite(t.down_ms)) to_switching.push_back(t.switching_ms - t.down_ms);
    if (std::isfinite(t.active_ms) && std::isfinite(t.switching_ms)) markers.push_back(t.active_ms - t.switching_ms);
    if (std::isfinite(t.failover_ms) && std::isfinite(t.active_ms)) call.push_back(t.failover_ms - t.active_ms);
    if (std::isfinite(t.first_call_started_ms)) sent.push_back(t.first_call_started_ms);
  }
  return {{"measured", failover.size()},
          {"errors", errors},
          {"p50_ms", Round3(Percentile(failover, 0.5))},
          {"p99_ms", Round3(Percentile(failover, 0.99))},
          {"max_ms", Round3(Percentile(failover, 1.0))},
          {"detect_p50_ms", Round3(Percentile(down, 0.5))},
          {"detect_max_ms", Round3(Percentile(down, 1.0))},
          {"down_to_switching_p50_ms", Round3(Percentile(to_switching, 0.5))},
          {"switching_to_active_p50_ms", Round3(Percentile(markers, 0.5))},
          {"switching_to_active_max_ms", Round3(Percentile(markers, 1.0))},
          {"active_to_call_done_p50_ms", Round3(Percentile(call, 0.5))},
          {"active_to_call_done_max_ms", Round3(Percentile(call, 1.0))},
          {"call_sent_p50_ms", Round3(Percentile(sent, 0.5))},
          {"calls_refused", refused},
          {"calls_unknown", unknown}};
}

}  // namespace sluice::bench::failover
