#include "bench/failover_bench_setup.h"

#include <fmt/format.h>

#include <optional>
#include <thread>
#include <utility>

#include "support/config_builder.h"

namespace sluice::bench::failover {

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const auto n = static_cast<double>(v.size());
  const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(q * n)));
  return v[std::min(rank, v.size()) - 1];
}

Daemon::Daemon(std::string binary, std::string dir, const std::vector<std::string>& conninfos,
               int ordered_batch_delay_ms)
    : Sluiced(std::move(binary), std::move(dir)) {
  set_die_with_parent(true);
  testing::ConfigBuilder config("bench");
  config.Listen(port()).JournalLines("ack = \"durable\"").NoAuth();
  if (ordered_batch_delay_ms >= 0) {
    // The default streams, with another batch_delay for the ordered ones.
    std::string streams;
    for (const auto& [name, priority] :
         std::vector<std::pair<std::string, int>>{{"model", 100}, {"events", 50}, {"sql", 40}}) {
      streams += fmt::format("\n[[stream]]\nname = \"{}\"\nordered = true\npriority = {}\nbatch_delay = \"{}ms\"\n",
                             name, priority, ordered_batch_delay_ms);
    }
    streams += "\n[[stream]]\nname = \"samples\"\nordered = false\npriority = 10\n";
    config.Extra(streams);
  }
  for (size_t i = 0; i < kTargets.size(); ++i) {
    config.Primary(kTargets[i], "postgres", conninfos[i], 100 - 10 * static_cast<int>(i));
  }
  config_status_ = WriteConfig("# Written by sluice-bench failover.\n" + config.Toml());
}

Status Daemon::Start() {
  SLUICE_RETURN_IF_ERROR(config_status_);
  SLUICE_RETURN_IF_ERROR(Sluiced::Start());
  return WaitReady(
      [](const v1::StatusResponse& s) {
        bool running = s.state() == "active" && s.appliers_size() > 0;
        for (const auto& a : s.appliers()) running = running && a.state() == "running";
        return running;
      },
      std::chrono::seconds(120));
}

const v1::TargetStatus* FindTarget(const v1::StatusResponse& s, const std::string& name) {
  for (const auto& t : s.targets()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

bool CaughtUp(const v1::StatusResponse& s, const std::map<std::string, uint64_t>& heads,
              const std::string& target, std::string* why) {
  size_t seen = 0;
  for (const auto& a : s.appliers()) {
    if (!target.empty() && a.target() != target) continue;
    ++seen;
    auto it = heads.find(a.stream());
    const uint64_t head = it == heads.end() ? 0 : it->second;
    if (a.state() != "running" || a.applied_lsn() < head) {
      *why = fmt::format("{}/{}: {} applied {} of {} {}", a.target(), a.stream(), a.state(),
                         a.applied_lsn(), head, a.last_error());
      return false;
    }
  }
  if (seen == 0) {
    *why = "no applier of " + target;
    return false;
  }
  return true;
}

std::map<std::string, uint64_t> Heads(const v1::StatusResponse& s) {
  std::map<std::string, uint64_t> heads;
  for (const auto& st : s.streams()) heads[st.name()] = st.head_lsn();
  return heads;
}

Result<std::string> WaitStable(const Daemon& d, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::optional<std::map<std::string, uint64_t>> heads;
  std::string last;
  while (Clock::now() < deadline) {
    auto s = d.AdminStatus(std::chrono::seconds(5));
    if (!s.ok()) {
      last = s.status().ToString();
    } else {
      bool ready = s->state() == "active";
      last = fmt::format("state {} ({})", s->state(), s->state_reason());
      for (const auto& name : kTargets) {
        const v1::TargetStatus* t = FindTarget(*s, name);
        if (t == nullptr || t->health() != "up" || !t->ineligible().empty()) {
          ready = false;
          if (t != nullptr) last = fmt::format("{} is {}: {}", name, t->health(), t->ineligible());
        }
      }
      if (!ready) {
        heads.reset();
      } else {
        if (!heads) heads = Heads(*s);
        if (CaughtUp(*s, *heads, "", &last)) {
          std::string active = s->active_target();
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          auto again = d.AdminStatus(std::chrono::seconds(5));
          if (again.ok() && again->state() == "active" && again->active_target() == active) return active;
          heads.reset();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded(fmt::format("the service did not settle in time: {}", last));
}

Result<std::map<std::string, uint64_t>> WaitCaughtUp(const Daemon& d, const std::string& target,
                                                     std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::optional<std::map<std::string, uint64_t>> heads;
  std::string last;
  while (Clock::now() < deadline) {
    auto s = d.AdminStatus(std::chrono::seconds(10));
    if (s.ok()) {
      if (!heads) heads = Heads(*s);
      if (CaughtUp(*s, *heads, target, &last)) return *heads;
    } else {
      last = s.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status::DeadlineExceeded(fmt::format("not caught up in time: {}", last));
}

}  // namespace sluice::bench::failover
