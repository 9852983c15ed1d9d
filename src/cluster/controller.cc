#include "cluster/controller.h"

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "common/wall_clock.h"

namespace sluice::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using replicate::ApplierState;

// The stream whose intents the active target decides.
constexpr char kSyncStream[] = "model";

}  // namespace

Result<std::unique_ptr<Controller>> Controller::Create(const config::Config* config, journal::JournalSet* journals,
                                                       admission::Admitter* admitter,
                                                       replicate::Replicator* replicator, HealthMonitor* health,
                                                       ControllerOptions options, DeciderCallback on_decider) {
  std::unique_ptr<Controller> c(
      new Controller(config, journals, admitter, replicator, health, std::move(options), std::move(on_decider)));
  SLUICE_ASSIGN_OR_RETURN(c->resumed_, LoadClusterState(c->options_.fs, c->options_.state_path));
  if (c->resumed_) {
    c->state_.switch_id = c->resumed_->switch_id;
    c->state_.reason = fmt::format("resuming {} after a restart", c->resumed_->Describe());
    for (const std::string* name : {&c->resumed_->active, &c->resumed_->from, &c->resumed_->to}) {
      if (!name->empty() && config->FindTarget(*name) == nullptr) {
        SLUICE_LOG_WARN("{}: target '{}' is no longer configured; the active target is chosen anew",
                        c->options_.state_path, *name);
        c->resumed_.reset();
        break;
      }
    }
  } else {
    c->state_.reason = "waiting for the first probe of every primary";
  }
  c->state_.since_us = NowMicros();
  return c;
}

Controller::~Controller() { Stop(); }

void Controller::Start() {
  started_at_ = Clock::now();
  thread_ = std::thread([this] { Run(); });
}

void Controller::Stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  active_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Controller::Poke() {
  {
    std::lock_guard lk(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

ClusterState Controller::state() const {
  std::lock_guard lk(mu_);
  ClusterState st = state_;
  if (!persist_error_.empty()) st.reason = fmt::format("{}; still {}", persist_error_, st.reason);
  return st;
}

SyncWritePass& SyncWritePass::operator=(SyncWritePass&& o) noexcept {
  if (this != &o) {
    Release();
    controller_ = std::exchange(o.controller_, nullptr);
  }
  return *this;
}

void SyncWritePass::Release() {
  if (Controller* c = std::exchange(controller_, nullptr)) c->EndSyncWrite();
}

void Controller::EndSyncWrite() {
  bool last;
  {
    std::lock_guard lk(mu_);
    last = --sync_in_flight_ == 0;
    if (last) poked_ = true;
  }
  if (last) cv_.notify_all();  // a manual switchover may wait for this
}

void Controller::Run() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    EvaluateLocked();
    SampleCatchUpLocked();
    // Quick while something is to happen (a switch completes when the new target has
    // applied its markers, which takes milliseconds); health changes poke at once.
    auto tick = state_.phase == Phase::kActive || state_.phase == Phase::kIsolated ? std::chrono::milliseconds(50)
                                                                                   : std::chrono::milliseconds(2);
    cv_.wait_for(lk, tick, [&] { return stop_ || poked_; });
    poked_ = false;
  }
}

std::string Controller::IneligibleLocked(const std::string& target) const {
  const config::TargetConfig* t = config_->FindTarget(target);
  if (t == nullptr) return "is not configured";
  if (t->role != config::TargetRole::kPrimary) {
    return fmt::format("is a {} (only primaries can be active)", config::TargetRoleName(t->role));
  }
  if (!replicator_->target_enabled(target)) return "is disabled by an operator";
  TargetHealth h = health_->Get(target);
  if (h.health == Health::kUnknown) return "has not been probed yet";
  if (h.health == Health::kDown) return "is down: " + h.detail;
  size_t appliers = 0;
  for (const auto& a : replicator_->Status()) {
    if (a.target != target) continue;
    ++appliers;
    if (a.state == ApplierState::kNeedsResync) {
      return fmt::format("needs resync (stream '{}': {})", a.stream, a.last_error);
    }
    if (a.diverged) return fmt::format("has diverged on stream '{}'", a.stream);
    const config::StreamConfig* s = config_->FindStream(a.stream);
    if (a.state == ApplierState::kBlocked && s != nullptr && s->ordered) {
      return fmt::format("is blocked at LSN {} of ordered stream '{}'", a.blocked_lsn, a.stream);
    }
    if (a.state == ApplierState::kStopped) return fmt::format("has its stream '{}' stopped", a.stream);
  }
  if (appliers < config_->streams.size()) return "has not all its appliers running";
  return "";
}

std::string Controller::BestCandidateLocked(const std::string& except, std::string* why) const {
  for (const config::TargetConfig* t : config_->PrimariesByPriority()) {
    if (t->name == except) continue;
    std::string no = IneligibleLocked(t->name);
    if (no.empty()) return t->name;
    if (why) *why += fmt::format("{}'{}' {}", why->empty() ? "" : "; ", t->name, no);
  }
  return "";
}

void Controller::EvaluateLocked() {
  // A change that could not be saved is tried again below if it is still wanted; if it
  // is not, the state in memory is the saved one and serves again.
  persist_error_.clear();
  switch (state_.phase) {
    case Phase::kStarting: {
      if (!health_->AllKnown() && Clock::now() - started_at_ < options_.first_probe_wait) return;
      // Kept until a change is saved: a first decision that cannot be saved is made
      // again, still knowing what was resumed.
      const std::optional<ClusterState> resumed = resumed_;
      struct Forget {
        Controller* c;
        ~Forget() {
          if (c->state_.phase != Phase::kStarting) c->resumed_.reset();
        }
      } forget{this};
      if (resumed && resumed->phase == Phase::kActive && IneligibleLocked(resumed->active).empty()) {
        BecomeActiveLocked(resumed->active, "it was active before sluiced restarted");
        return;
      }
      std::string from = !resumed ? "" : resumed->phase == Phase::kActive ? resumed->active : resumed->from;
      std::string to;
      std::string why;
      if (resumed && resumed->phase == Phase::kSwitching && IneligibleLocked(resumed->to).empty()) {
        to = resumed->to;  // finish the switch a restart interrupted
      } else {
        to = BestCandidateLocked("", &why);
      }
      if (to.empty()) {
        IsolateLocked("no primary can serve: " + (why.empty() ? "no primary is configured" : why));
      } else if (resumed) {
        BeginSwitchLocked(from, to, fmt::format("resuming after a restart of sluiced (was {})", resumed->Describe()),
                          false)
            .IgnoreError();  // kept in persist_error_; tried again on the next pass
      } else {
        BeginSwitchLocked("", to, fmt::format("first start: '{}' is the first eligible primary", to), false)
            .IgnoreError();  // kept in persist_error_; tried again on the next pass
      }
      return;
    }
    case Phase::kActive: {
      std::string no = IneligibleLocked(state_.active);
      if (no.empty()) {
        // Again after an isolation that could not be saved had stopped the deciding.
        SetDeciderLocked(state_.active);
        return;
      }
      std::string reason = fmt::format("'{}' {}", state_.active, no);
      std::string why;
      std::string to = BestCandidateLocked(state_.active, &why);
      if (to.empty()) {
        IsolateLocked(fmt::format("{}; no other primary can serve{}", reason, why.empty() ? "" : ": " + why));
      } else {
        BeginSwitchLocked(state_.active, to, reason, false)
            .IgnoreError();  // kept in persist_error_; tried again on the next pass
      }
      return;
    }
    case Phase::kSwitching: {
      std::string no = IneligibleLocked(state_.to);
      if (!no.empty()) {
        std::string reason = fmt::format("'{}' {} while taking over", state_.to, no);
        std::string why;
        std::string to = BestCandidateLocked(state_.to, &why);
        if (to.empty()) {
          IsolateLocked(fmt::format("{}; no other primary can serve{}", reason, why.empty() ? "" : ": " + why));
        } else {
          BeginSwitchLocked(state_.from, to, reason, false)
            .IgnoreError();  // kept in persist_error_; tried again on the next pass
        }
        return;
      }
      if (draining_) {
        // No call gets a pass while switching: once the passes given out before are
        // back, every intent of theirs is journaled, and the last LSN assigned bounds them.
        if (!drain_fixed_ && sync_in_flight_ == 0) {
          if (journal::Journal* j = journals_->stream(kSyncStream)) drain_lsn_ = j->last_assigned_lsn();
          drain_fixed_ = true;
        }
        auto from = replicator_->FindApplier(state_.from, kSyncStream);
        bool drained = from == nullptr || !IneligibleLocked(state_.from).empty() ||
                       (drain_fixed_ && from->status().applied_lsn >= drain_lsn_);
        if (!drained && Clock::now() < drain_until_) return;
        if (!drained) {
          SLUICE_LOG_WARN("'{}' did not finish its sync writes ({} call(s) in flight, up to LSN {}) within {} ms; "
                          "switching anyway",
                          state_.from, sync_in_flight_, drain_lsn_, options_.drain_wait.count());
        }
        draining_ = false;
      }
      if (markers_pending_) CommitSwitchLocked();
      if (!markers_pending_ && MarkersAppliedLocked()) {
        BecomeActiveLocked(state_.to, fmt::format("'{}' has applied every ordered write up to the switch", state_.to));
      }
      return;
    }
    case Phase::kIsolated: {
      std::string why;
      std::string to = BestCandidateLocked("", &why);
      if (!to.empty()) {
        BeginSwitchLocked("", to, fmt::format("'{}' can serve again", to), false)
            .IgnoreError();  // kept in persist_error_; tried again on the next pass
      } else if (!why.empty()) {
        state_.reason = "no primary can serve: " + why;  // shown by status; not a change of state
      }
      return;
    }
  }
}

Status Controller::BeginSwitchLocked(const std::string& from, const std::string& to, const std::string& reason,
                                     bool drain) {
  ClusterState next;
  next.phase = Phase::kSwitching;
  next.from = from;
  next.to = to;
  next.reason = reason;
  next.switch_id = state_.switch_id + 1;
  SLUICE_RETURN_IF_ERROR(ChangedLocked(std::move(next)));
  markers_.clear();
  markers_pending_ = true;
  draining_ = false;
  drain_fixed_ = false;
  drain_lsn_ = 0;
  if (drain && !from.empty() && journals_->stream(kSyncStream) != nullptr) {
    // A manual switchover: the old target first decides the sync writes already
    // journaled or on their way (their callers hold a SyncWritePass; no new one is
    // given out while switching), so none is left to its successor with an unknown
    // outcome, and the old target is not cut off in the middle of deciding one.
    draining_ = true;
    drain_until_ = Clock::now() + options_.drain_wait;
  }
  if (!draining_) CommitSwitchLocked();
  return Status::OK();
}

void Controller::CommitSwitchLocked() {
  SetDeciderLocked(state_.to);
  v1::Record marker;
  auto* m = marker.mutable_switch_marker();
  m->set_from_target(state_.from);
  m->set_to_target(state_.to);
  m->set_switch_id(state_.switch_id);
  std::map<std::string, journal::Lsn> lsns;
  for (const auto& stream : options_.ordered_streams) {
    auto lsn = admitter_->Admit(stream, marker, /*wait=*/false);
    if (!lsn.ok()) {
      SLUICE_LOG_WARN("switching to '{}': cannot journal the switch marker on stream '{}': {}; retrying",
                      state_.to, stream, lsn.status().ToString());
      return;
    }
    lsns[stream] = *lsn;
  }
  SLUICE_FAILPOINT("cluster.after_switch_markers");
  markers_ = std::move(lsns);
  markers_pending_ = false;
}

bool Controller::MarkersAppliedLocked() const {
  for (const auto& [stream, lsn] : markers_) {
    auto a = replicator_->FindApplier(state_.to, stream);
    if (a == nullptr || a->status().applied_lsn < lsn) return false;
  }
  return true;
}

void Controller::BecomeActiveLocked(const std::string& target, const std::string& reason) {
  ClusterState next;
  next.phase = Phase::kActive;
  next.active = target;
  next.reason = reason;
  next.switch_id = state_.switch_id;
  // The decider only once the state file names the target: a restart must not find
  // another target active than the one that decided.
  if (!ChangedLocked(std::move(next)).ok()) return;
  SetDeciderLocked(target);
}

void Controller::IsolateLocked(const std::string& reason) {
  // Nobody deciding is safe whether or not the change can be saved.
  SetDeciderLocked("");
  ClusterState next;
  next.phase = Phase::kIsolated;
  next.reason = reason;
  next.switch_id = state_.switch_id;
  if (!ChangedLocked(std::move(next)).ok()) return;
  markers_.clear();
  markers_pending_ = false;
  draining_ = false;
}

void Controller::SetDeciderLocked(const std::string& target) {
  if (decider_known_ && decider_ == target) return;
  decider_ = target;
  decider_known_ = true;
  if (on_decider_) on_decider_(target);
}

Status Controller::ChangedLocked(ClusterState next) {
  next.since_us = NowMicros();
  // Persisted first, and fail-closed: a change the file does not record would be undone
  // by a restart (a target switched away from could become active again without switch
  // markers while its successor had decided writes). So an unsaved change does not take
  // effect; the controller tries again on its next pass.
  Status s = SaveStateLocked(next);
  if (!s.ok()) {
    persist_error_ = fmt::format("cannot save the service state, so {} waits: {}", next.Describe(), s.ToString());
    SLUICE_LOG_ERROR("{}", persist_error_);
    active_cv_.notify_all();  // waiting synchronous calls are refused now
    return s;
  }
  persist_error_.clear();
  if (next.phase == Phase::kIsolated) {
    SLUICE_LOG_WARN("service state: isolated: {}", next.reason);
  } else {
    SLUICE_LOG_INFO("service state: {}: {}", next.Describe(), next.reason);
  }
  if (journals_->stream(options_.events_stream) != nullptr) {
    v1::Record event;
    auto* e = event.mutable_events()->add_events();
    e->set_ts_us(next.since_us);
    e->set_kind("sluice.state");
    e->set_severity(next.phase == Phase::kActive ? 0 : 2);
    e->set_source(options_.node_id);
    e->set_text(fmt::format("{}: {}", next.Describe(), next.reason));
    // Durable before the change takes effect, so that the history in every target's
    // event_log has every state the service was in. The state file is the authority: a
    // journal that refuses the event does not hold the change up.
    auto lsn = admitter_->Admit(options_.events_stream, std::move(event), /*wait=*/true);
    if (!lsn.ok()) SLUICE_LOG_ERROR("journaling the state change as an event: {}", lsn.status().ToString());
  }
  state_ = std::move(next);
  active_cv_.notify_all();
  return Status::OK();
}

Status Controller::SaveStateLocked(const ClusterState& next) {
  SLUICE_FAILPOINT_RETURN("cluster.save_state");
  return SaveClusterState(options_.fs, options_.state_path, next);
}

Result<std::string> Controller::WaitActive(SyncWritePass* pass) {
  std::unique_lock lk(mu_);
  const auto deadline = Clock::now() + options_.switch_deadline;
  const auto grant = [&]() -> Result<std::string> {
    if (!persist_error_.empty()) {
      return Status::Unavailable(fmt::format("service paused ({}): {}", state_.Describe(), persist_error_));
    }
    if (pass != nullptr) {
      pass->Release();
      pass->controller_ = this;
      ++sync_in_flight_;
    }
    return state_.active;
  };
  while (true) {
    if (state_.phase == Phase::kActive) return grant();
    if (state_.phase == Phase::kIsolated) {
      return Status::Unavailable(fmt::format("service paused (isolated): {}", state_.reason));
    }
    if (stop_ || active_cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
      if (state_.phase == Phase::kActive) return grant();
      return Status::Unavailable(fmt::format("service paused ({}): {}; no target became active within {} ms",
                                             state_.Describe(), state_.reason, options_.switch_deadline.count()));
    }
  }
}

Result<std::string> Controller::RequestSwitch(const std::string& target) {
  std::lock_guard lk(mu_);
  const config::TargetConfig* t = config_->FindTarget(target);
  if (t == nullptr) return Status::NotFound(fmt::format("no target '{}' in the config", target));
  if (state_.phase == Phase::kActive && state_.active == target) {
    return fmt::format("'{}' is active already; nothing to do", target);
  }
  if (state_.phase == Phase::kSwitching || state_.phase == Phase::kStarting) {
    return Status::FailedPrecondition(
        fmt::format("cannot switch to '{}' now: the service is {}; try again when it is active", target,
                    state_.Describe()));
  }
  std::string no = IneligibleLocked(target);
  if (!no.empty()) {
    std::string msg = fmt::format("cannot switch to '{}': it {}", target, no);
    if (health_->Get(target).health != Health::kUp && t->role == config::TargetRole::kPrimary &&
        replicator_->target_enabled(target)) {
      return Status::Unavailable(std::move(msg));
    }
    return Status::FailedPrecondition(std::move(msg));
  }
  std::string from = state_.phase == Phase::kActive ? state_.active : "";
  SLUICE_RETURN_IF_ERROR(
      BeginSwitchLocked(from, target, fmt::format("switchover to '{}' requested by an operator", target), true));
  cv_.notify_all();
  return fmt::format("switching from '{}' to '{}'", from.empty() ? "none" : from, target);
}

void Controller::SampleCatchUpLocked() {
  auto now = Clock::now();
  if (now - last_sample_ < std::chrono::milliseconds(500)) return;
  last_sample_ = now;
  std::map<std::string, uint64_t> heads;
  uint64_t journaled = 0;
  for (const auto& s : config_->streams) {
    if (journal::Journal* j = journals_->stream(s.name)) {
      heads[s.name] = j->durable_lsn();
      journaled += j->durable_lsn();
    }
  }
  std::map<std::string, uint64_t> applied;
  std::map<std::pair<std::string, std::string>, uint64_t> applied_on_stream;
  for (const auto& c : journals_->Cursors()) {
    if (!heads.count(c.stream)) continue;
    uint64_t lsn = std::min<uint64_t>(c.lsn, heads[c.stream]);
    applied[c.name] += lsn;
    applied_on_stream[{c.name, c.stream}] = lsn;
  }
  for (const auto& t : config_->targets) {
    if (t.role == config::TargetRole::kOneway) continue;
    catch_up_[t.name].Sample(now, applied[t.name], journaled);
    for (const auto& [stream, head] : heads) {
      stream_catch_up_[{t.name, stream}].Sample(now, applied_on_stream[{t.name, stream}], head);
    }
  }
}

std::vector<TargetView> Controller::Targets() const {
  std::lock_guard lk(mu_);
  std::vector<TargetView> out;
  for (const auto& t : config_->targets) {
    if (t.role == config::TargetRole::kOneway) continue;
    TargetView v;
    v.name = t.name;
    v.health = health_->Get(t.name);
    v.ineligible = IneligibleLocked(t.name);
    auto it = catch_up_.find(t.name);
    if (it != catch_up_.end()) v.catch_up = it->second.Get();
    for (auto s = stream_catch_up_.lower_bound({t.name, ""});
         s != stream_catch_up_.end() && s->first.first == t.name; ++s) {
      v.by_stream[s->first.second] = s->second.Get();
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace sluice::cluster
