#include "daemon/node_alarms.h"

#include <algorithm>

#include <fmt/format.h>

#include "alarm/disk_space.h"
#include "common/file_system.h"
#include "common/log.h"

namespace sluice::daemon {
namespace {

// event_log severities, as the state changes and the sampler's issues use them.
int32_t EventSeverity(const alarm::AlarmEvent& e) {
  if (!e.raised) return 0;
  switch (e.severity) {
    case alarm::Severity::kInfo:
      return 1;
    case alarm::Severity::kWarning:
      return 2;
    case alarm::Severity::kCritical:
      return 3;
  }
  return 2;
}

}  // namespace

NodeAlarms::NodeAlarms(const config::Config& config, admission::Admitter* admitter,
                       replicate::Replicator* replicator, std::string events_stream)
    : config_(config),
      admitter_(admitter),
      replicator_(replicator),
      events_stream_(std::move(events_stream)),
      journal_dir_(JoinPath(config.node.data_dir, "journal")),
      checks_(config.alarms),
      probes_(config),
      engine_(alarm::SpecsFromConfig(config.alarms), config.alarms.history) {}

void NodeAlarms::Start(StatusFn status) {
  probes_.Start();
  engine_.Start(
      config_.alarms.interval,
      [this, status = std::move(status)](int64_t now_us) {
        return checks_.Measure(now_us, Inputs(status()));
      },
      [this](const alarm::AlarmEvent& e) { Journal(e); });
}

alarm::AlarmInputs NodeAlarms::Inputs(const v1::StatusResponse& status) const {
  alarm::AlarmInputs in;
  auto disk = alarm::MeasureDiskSpace(journal_dir_);
  if (disk.ok()) {
    in.disk_free_bytes = disk->free_bytes;
    in.disk_total_bytes = disk->total_bytes;
  } else {
    SLUICE_LOG_WARN("alarms: the journal's free space is not known this time: {}",
                    disk.status().ToString());
  }
  in.journal_bytes = status.journal_bytes();
  in.journal_budget_bytes = status.journal_budget_bytes();
  in.free_space_floor_bytes = config_.journal.free_space_floor;
  if (status.sampling().enabled()) in.sampling_missed_total = status.sampling().missed();
  for (const auto& t : status.targets()) {
    alarm::TargetInputs ti = TargetFromStatus(status, t);
    if (replicate::ErrorLog* log = replicator_->error_log(t.name())) {
      auto open = log->OpenCountsByStream();
      if (open.ok()) {
        uint64_t total = 0;
        for (const auto& [stream, n] : *open) total += n;
        ti.open_errors = total;
      } else {
        SLUICE_LOG_WARN("alarms: the error log of target '{}' cannot be read: {}", t.name(),
                        open.status().ToString());
      }
    }
    probes_.Fill(&ti);
    in.targets.push_back(std::move(ti));
  }
  return in;
}

alarm::TargetInputs NodeAlarms::TargetFromStatus(const v1::StatusResponse& status,
                                                 const v1::TargetStatus& t) {
  alarm::TargetInputs ti;
  ti.name = t.name();
  std::string trouble;
  auto add = [&](const std::string& what) { trouble += (trouble.empty() ? "" : "; ") + what; };
  if (t.health() == "down") add(t.health_detail().empty() ? "down" : "down: " + t.health_detail());
  for (const auto& a : status.appliers()) {
    if (a.target() != t.name()) continue;
    ti.lag_records += a.lag_records();
    // Admin.Status's exact figure (LocateFirstWaiting), so alarm and status agree.
    ti.lag_bytes += a.lag_bytes();
    ti.oldest_unapplied_age_us = std::max(ti.oldest_unapplied_age_us, a.oldest_unapplied_age_us());
    if (a.diverged()) add(fmt::format("diverged on stream '{}'", a.stream()));
    if (a.state() == "needs resync") {
      add(fmt::format("detached on stream '{}' (needs a resync){}", a.stream(),
                      a.last_error().empty() ? "" : ": " + a.last_error()));
    }
    if (a.state() == "blocked") {
      add(fmt::format("blocked on stream '{}'{}", a.stream(),
                      a.last_error().empty() ? "" : ": " + a.last_error()));
    }
  }
  ti.trouble = std::move(trouble);
  return ti;
}

void NodeAlarms::Journal(const alarm::AlarmEvent& e) {
  v1::Record r;
  auto* ev = r.mutable_events()->add_events();
  ev->set_ts_us(e.at_us);
  ev->set_kind("sluice.alarm");
  ev->set_severity(EventSeverity(e));
  ev->set_source(config_.node.id);
  ev->set_text(alarm::Describe(e));
  // Not waiting for durability: the engine's pass stays short; a journal that refuses it
  // (full, failed) is what the alarm may be about, so it is logged, not retried.
  auto lsn = admitter_->Admit(events_stream_, std::move(r), /*wait=*/false);
  if (!lsn.ok()) {
    SLUICE_LOG_ERROR("alarms: journaling '{}' on stream '{}': {}", alarm::Describe(e),
                     events_stream_, lsn.status().ToString());
  }
}

}  // namespace sluice::daemon
