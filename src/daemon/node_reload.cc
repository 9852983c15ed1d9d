// A reload of the config file, as the running node plans and records it
// (docs/reload.md); the daemon (reloading_node.h) then opens the node again with the new
// config.

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/file_system.h"
#include "common/log.h"
#include "common/wall_clock.h"
#include "daemon/node.h"

namespace sluice::daemon {
namespace {

// The running targets an added target may be copied from, best first: the active target,
// then the primaries by priority, then the replicas. Each stays in the new config with
// the same database (a target whose connection changes may not hold what it held).
std::vector<std::string> CopySourcesInOrder(const config::Config& running, const config::Config& next,
                                            const std::string& active) {
  std::vector<std::string> out;
  auto usable = [&](const config::TargetConfig& t) {
    const config::TargetConfig* n = next.FindTarget(t.name);
    return t.role != config::TargetRole::kOneway && n != nullptr && n->dialect == t.dialect &&
           n->connection == t.connection;
  };
  auto add = [&](const config::TargetConfig& t) {
    if (usable(t) && std::find(out.begin(), out.end(), t.name) == out.end()) out.push_back(t.name);
  };
  if (const config::TargetConfig* a = running.FindTarget(active)) add(*a);
  for (const config::TargetConfig* p : running.PrimariesByPriority()) add(*p);
  for (const auto& t : running.targets) add(t);
  return out;
}

}  // namespace

std::string Node::EventsStream() const {
  return config_.FindStream("events") != nullptr ? "events" : config_.StreamsByPriority().front()->name;
}

Result<journal::Lsn> Node::JournalEvent(std::string_view kind, int severity, const std::string& text) {
  v1::Record r;
  auto* ev = r.mutable_events()->add_events();
  ev->set_ts_us(NowMicros());
  ev->set_kind(std::string(kind));
  ev->set_severity(severity);
  ev->set_source(config_.node.id);
  ev->set_text(text);
  return admitter_->Admit(EventsStream(), std::move(r), /*wait=*/true);
}

Result<ReloadPlan> Node::PlanReload() const {
  auto loaded = config::LoadConfigFile(config_.source);
  if (!loaded.ok()) return loaded.status().Annotate("the running config stays");
  ReloadPlan plan;
  plan.next = std::move(loaded).value();
  plan.diff = config::DiffConfigs(config_, plan.next);
  std::vector<std::string> refused = plan.diff.refused;

  // A resync of a target that goes, or from one, would be left half done.
  for (const auto& [target, from] : target_states_->Resyncs()) {
    for (const auto& gone : plan.diff.removed_targets) {
      if (gone == target || gone == from) {
        refused.push_back(fmt::format(
            "target '{}' is removed, but a resync of '{}' from '{}' is under way: let it finish first", gone, target,
            from));
      }
    }
  }

  const std::vector<std::string> sources = CopySourcesInOrder(config_, plan.next, controller_->state().active);
  for (const auto& name : plan.diff.added_targets) {
    const config::TargetConfig* t = plan.next.FindTarget(name);
    if (t->role == config::TargetRole::kOneway) {
      plan.notes.push_back(fmt::format("oneway target '{}' is not served by this version of sluiced; it is ignored", name));
      continue;
    }
    if (sources.empty()) {
      plan.notes.push_back(fmt::format(
          "target '{}' starts empty and applies the journal from what it still holds: no running target to copy it "
          "from",
          name));
      continue;
    }
    std::vector<std::string> why_not;
    std::string chosen;
    for (const auto& s : sources) {
      const cluster::TargetHealth h = health_->Get(s);
      if (Status ok = resync_->CheckSource(s); !ok.ok()) {
        why_not.push_back(ok.message());
      } else if (h.health != cluster::Health::kUp) {
        why_not.push_back(fmt::format("target '{}' is {}{}", s, cluster::HealthName(h.health),
                                      h.detail.empty() ? "" : " (" + h.detail + ")"));
      } else {
        chosen = s;
        break;
      }
    }
    if (chosen.empty()) {
      refused.push_back(fmt::format("target '{}' is new and is copied from a running target first, but none can be "
                                    "copied from now: {}",
                                    name, fmt::join(why_not, "; ")));
    } else {
      plan.resyncs.push_back({name, chosen});
    }
  }
  if (plan.next.node.listen != config_.node.listen) {
    std::vector<std::string> addresses;
    for (const auto& a : plan.next.node.listen) addresses.push_back(a.ToString());
    plan.notes.push_back(fmt::format("sluiced will listen on {}: clients and `sluice --address` must use it",
                                     fmt::join(addresses, ", ")));
  }
  for (const auto& name : plan.diff.removed_targets) {
    if (name == controller_->state().active) {
      plan.notes.push_back(fmt::format("target '{}' is the active target: another primary takes over", name));
    }
  }
  if (!refused.empty()) {
    return Status::FailedPrecondition(
        fmt::format("{}: {}; the running config stays", config_.source, fmt::join(refused, "; ")));
  }
  return plan;
}

Status Node::CommitReload(const ReloadPlan& plan, const std::string& by) {
  // Recorded before the node stops: the node opened with the new config creates these
  // targets stopped and copies them before any applier starts, also after a crash.
  for (size_t i = 0; i < plan.resyncs.size(); ++i) {
    Status s = target_states_->SetResync(plan.resyncs[i].target, plan.resyncs[i].from);
    if (!s.ok()) {
      for (size_t j = 0; j < i; ++j) target_states_->SetResync(plan.resyncs[j].target, "").IgnoreError();
      return s.Annotate("recording the resyncs of the added targets");
    }
  }
  const std::string text = fmt::format("config reloaded ({}): {}", by, plan.Describe());
  SLUICE_LOG_WARN("{}", text);
  auto lsn = JournalEvent("sluice.config", 1, text);
  if (!lsn.ok()) SLUICE_LOG_ERROR("journaling the reload as an event: {}", lsn.status().ToString());
  return Status::OK();
}

void Node::UndoReload(const config::Config& running, const ReloadPlan& plan) {
  if (plan.resyncs.empty()) return;
  auto states = cluster::TargetStateStore::Open(
      FileSystem::Default(), JoinPath(JoinPath(running.node.data_dir, "state"), "targets.json"));
  for (const auto& r : plan.resyncs) {
    Status s = states.ok() ? (*states)->SetResync(r.target, "") : states.status();
    if (!s.ok()) SLUICE_LOG_ERROR("reload: clearing the resync of target '{}': {}", r.target, s.ToString());
  }
}

Result<ReloadPlan> Node::ClaimReload(const std::string& by) {
  std::lock_guard lk(reload_mu_);
  if (reload_claimed_) return Status::FailedPrecondition("a reload is under way already");
  SLUICE_ASSIGN_OR_RETURN(ReloadPlan plan, PlanReload());
  if (!plan.diff.empty()) {
    SLUICE_RETURN_IF_ERROR(CommitReload(plan, by));
    // This node is reopened: no second reload of it. An unchanged file only has the log
    // reopened and the node stays, so it may be asked again.
    reload_claimed_ = true;
  }
  return plan;
}

// Admin.ReloadConfig: planned here, applied by the daemon once the call has answered.
void Node::OfferReload() {
  if (!options_.apply_reload) return;
  context_.reload_config = [this](bool dry_run, const std::string& caller) -> Result<v1::ReloadConfigResponse> {
    v1::ReloadConfigResponse out;
    if (dry_run) {
      SLUICE_ASSIGN_OR_RETURN(ReloadPlan plan, PlanReload());
      plan.Fill(/*applied=*/false, &out);
      return out;
    }
    SLUICE_ASSIGN_OR_RETURN(ReloadPlan plan, ClaimReload(fmt::format("by operator {}", caller)));
    plan.Fill(/*applied=*/true, &out);
    options_.apply_reload(std::move(plan));
    return out;
  };
}

}  // namespace sluice::daemon
