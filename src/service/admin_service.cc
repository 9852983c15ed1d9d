#include "service/admin_service.h"

#include <algorithm>
#include <chrono>

#include <set>

#include <fmt/format.h>

#include "common/log.h"
#include "common/wall_clock.h"
#include "journal/format.h"
#include "journal/reader.h"
#include "journal/space_account.h"
#include "record/record_codec.h"
#include "rpc/status_mapping.h"

namespace sluice::service {
namespace {

using config::TokenRole;
using replicate::ApplierState;
// AdminService::Status (the RPC) hides sluice::Status inside the class.
using SluiceStatus = ::sluice::Status;

// Bytes of the journal a consumer at `applied` has still to read: the frames (header and
// payload) of every record after it. Exact when `first` locates the first of them (the
// rest of its segment, then every later segment but its header); otherwise estimated
// within that segment, in proportion to the records left.
uint64_t LagBytes(const journal::Journal& j, journal::Lsn applied, const AdminService::FirstWaiting& first) {
  uint64_t bytes = 0;
  for (const auto& seg : j.Segments()) {
    if (seg.last_lsn < seg.first_lsn || seg.last_lsn <= applied) continue;
    if (seg.first_lsn > applied) {
      bytes += seg.bytes - std::min<uint64_t>(seg.bytes, journal::kSegmentHeaderSize);
      continue;
    }
    if (first.found && first.segment_number == seg.number) {
      bytes += seg.bytes - std::min(seg.bytes, first.offset);
      continue;
    }
    uint64_t records = seg.last_lsn - seg.first_lsn + 1;
    uint64_t frames = seg.bytes - std::min<uint64_t>(seg.bytes, journal::kSegmentHeaderSize);
    bytes += frames * (seg.last_lsn - applied) / records;
  }
  return bytes;
}

// How bad an applier state is, for the one-word state of a target.
int Severity(std::string_view state) {
  if (state == "needs resync") return 6;
  if (state == "blocked") return 5;
  if (state == "down") return 4;
  if (state == "connecting") return 3;
  if (state == "stopped") return 2;
  if (state == "disabled") return 1;
  return 0;  // running
}

// Bytes of closed segments that retention keeps for a cursor at `lsn` (the live segment is
// never deleted, so it is held by nobody).
uint64_t HeldBytes(const journal::Journal& j, journal::Lsn lsn) {
  auto segments = j.Segments();
  uint64_t bytes = 0;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    if (segments[i].last_lsn > lsn) bytes += segments[i].bytes;
  }
  return bytes;
}

std::string Names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

AdminService::FirstWaiting AdminService::LocateFirstWaiting(const std::string& stream, journal::Lsn lsn) {
  {
    std::lock_guard lk(admitted_mu_);
    auto it = first_waiting_cache_.find({stream, lsn});
    if (it != first_waiting_cache_.end()) return it->second;
  }
  FirstWaiting out;
  journal::Journal* j = ctx_.journals->stream(stream);
  if (j == nullptr || lsn > j->durable_lsn() || lsn < j->first_lsn()) return out;
  auto reader = journal::Reader::Open(j, lsn);
  if (!reader.ok()) return out;
  journal::ReadBatch batch;
  if (!(*reader)->Read(1, 1, &batch).ok() || batch.empty()) return out;
  const auto& rv = batch.records().front();
  auto record = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
  out.found = true;
  out.admitted_at_us = record.ok() ? record->admitted_at_us() : 0;
  // The reader stands after the record now; its frame starts one frame back.
  out.segment_number = (*reader)->segment_number();
  uint64_t frame = journal::kFrameHeaderSize + rv.payload.size();
  out.offset = (*reader)->next_offset() - std::min<uint64_t>((*reader)->next_offset(), frame);
  std::lock_guard lk(admitted_mu_);
  if (first_waiting_cache_.size() > 4096) first_waiting_cache_.clear();
  first_waiting_cache_[{stream, lsn}] = out;
  return out;
}

// The resync jobs of this run, and those recorded as interrupted (a target that stays
// stopped until its resync is continued) that no job has taken up.
void AdminService::AddResyncs(v1::StatusResponse* out) const {
  std::set<std::string> shown;
  if (ctx_.resync != nullptr) {
    for (const auto& job : ctx_.resync->List()) {
      FillResyncProgress(job, out->add_resyncs());
      shown.insert(job.target);
    }
  }
  if (ctx_.target_states == nullptr) return;
  for (const auto& [target, from] : ctx_.target_states->Resyncs()) {
    if (shown.contains(target)) continue;
    auto* r = out->add_resyncs();
    r->set_target(target);
    r->set_from(from);
    r->set_state("interrupted");
    r->set_rows_total(-1);
    r->set_eta_s(-1);
  }
}

v1::StatusResponse AdminService::BuildStatus() {
  const config::Config& cfg = *ctx_.config;
  v1::StatusResponse out;
  out.set_node_id(cfg.node.id);
  out.set_opened_us(ctx_.opened_us);
  cluster::ClusterState st = ctx_.cluster->state();
  out.set_state(std::string(cluster::PhaseName(st.phase)));
  out.set_active_target(st.active);
  out.set_state_since_us(st.since_us);
  out.set_state_reason(st.reason);
  if (st.phase == cluster::Phase::kSwitching) {
    out.set_switch_from(st.from);
    out.set_switch_to(st.to);
  }
  std::map<std::string, cluster::TargetView> views;
  for (auto& v : ctx_.cluster->Targets()) views[v.name] = std::move(v);

  std::map<std::string, journal::Lsn> heads;
  for (const auto& s : cfg.streams) {
    journal::Journal* j = ctx_.journals->stream(s.name);
    if (j == nullptr) continue;
    auto* ss = out.add_streams();
    ss->set_name(s.name);
    ss->set_ordered(s.ordered);
    ss->set_first_lsn(j->first_lsn());
    ss->set_head_lsn(j->durable_lsn());
    ss->set_bytes(j->DiskBytes());
    ss->set_priority(s.priority);
    heads[s.name] = j->durable_lsn();
  }

  std::map<std::pair<std::string, std::string>, replicate::ApplierStatus> running;
  for (auto& a : ctx_.replicator->Status()) running[{a.target, a.stream}] = std::move(a);
  int64_t now = NowMicros();

  for (const auto& t : cfg.targets) {
    // Not served: sluiced has no one-way exporter (Node logs that at start).
    if (t.role == config::TargetRole::kOneway) continue;
    bool enabled = ctx_.replicator->target_enabled(t.name);
    std::string worst = enabled ? "running" : "disabled";
    uint64_t target_lag = 0;  // exact, from the journal: what the appliers rows above say
    for (const auto& s : cfg.streams) {
      journal::Journal* j = ctx_.journals->stream(s.name);
      if (j == nullptr) continue;
      auto* as = out.add_appliers();
      as->set_target(t.name);
      as->set_stream(s.name);
      journal::Lsn applied = 0;
      auto it = running.find({t.name, s.name});
      if (it != running.end()) {
        const auto& a = it->second;
        applied = a.applied_lsn;
        as->set_state(std::string(replicate::ApplierStateName(a.state)));
        as->set_last_error(a.last_error);
        as->set_diverged(a.diverged);
        as->set_rejected(a.rejected);
      } else {
        // A target taken out: its cursor says how far it got.
        auto cursor = ctx_.journals->GetCursor(s.name, t.name);
        if (cursor.ok()) {
          applied = cursor->lsn;
          as->set_state(cursor->needs_resync ? "needs resync" : "disabled");
          as->set_last_error(cursor->resync_reason);
        } else {
          as->set_state("disabled");
        }
      }
      as->set_applied_lsn(applied);
      journal::Lsn head = heads[s.name];
      if (head > applied) {
        as->set_lag_records(head - applied);
        FirstWaiting first = LocateFirstWaiting(s.name, applied + 1);
        as->set_lag_bytes(LagBytes(*j, applied, first));
        if (first.admitted_at_us > 0) {
          as->set_oldest_unapplied_us(first.admitted_at_us);
          as->set_oldest_unapplied_age_us(std::max<int64_t>(0, now - first.admitted_at_us));
        }
      }
      // The controller's meter of this stream gives the pace. It samples every half second,
      // so it may not have seen what waits now: until it has, the ETA is unknown (-1), never
      // the 0 of a meter that saw nothing waiting.
      as->set_eta_s(head > applied ? -1 : 0);
      if (auto v = views.find(t.name); v != views.end()) {
        if (auto c = v->second.by_stream.find(s.name); c != v->second.by_stream.end()) {
          as->set_apply_per_s(c->second.apply_per_s);
          if (head > applied && c->second.lag_records > 0) as->set_eta_s(c->second.eta_s);
        }
      }
      target_lag += as->lag_records();
      if (Severity(as->state()) > Severity(worst)) worst = as->state();
    }
    auto* ts = out.add_targets();
    ts->set_name(t.name);
    ts->set_role(std::string(config::TargetRoleName(t.role)));
    ts->set_priority(t.priority);
    ts->set_dialect(std::string(config::DialectName(t.dialect)));
    ts->set_enabled(enabled);
    ts->set_active(st.phase == cluster::Phase::kActive && t.name == st.active);
    ts->set_state(worst);
    // The target's lag is the sum of its streams' exact lags, not the meter's last sample
    // (up to half a second old): a page must not say "caught up" above a row that lags.
    ts->set_lag_records(target_lag);
    ts->set_eta_s(target_lag > 0 ? -1 : 0);
    if (auto v = views.find(t.name); v != views.end()) {
      ts->set_health(std::string(cluster::HealthName(v->second.health.health)));
      ts->set_health_detail(v->second.health.detail);
      ts->set_health_since_us(v->second.health.since_us);
      if (t.role == config::TargetRole::kPrimary) ts->set_ineligible(v->second.ineligible);
      ts->set_apply_per_s(v->second.catch_up.apply_per_s);
      // As per stream: the meter's ETA only once it has seen the lag.
      if (target_lag > 0 && v->second.catch_up.lag_records > 0) ts->set_eta_s(v->second.catch_up.eta_s);
    }
  }

  for (const auto& c : ctx_.journals->Cursors()) {
    auto* cs = out.add_cursors();
    cs->set_stream(c.stream);
    cs->set_name(c.name);
    cs->set_lsn(c.lsn);
    cs->set_needs_resync(c.needs_resync);
    cs->set_reason(c.resync_reason);
    // '#' cannot start a target's name: such cursors are the service's own.
    cs->set_configured(c.name.starts_with('#') || cfg.FindTarget(c.name) != nullptr);
    journal::Journal* j = ctx_.journals->stream(c.stream);
    if (j != nullptr && !c.needs_resync) cs->set_held_bytes(HeldBytes(*j, c.lsn));
  }

  journal::SpaceAccount& space = ctx_.journals->space();
  space.RefreshFreeSpace().IgnoreError();  // the last measurement stays; it is only shown
  out.set_journal_bytes(space.total_used());
  out.set_journal_budget_bytes(space.budget_bytes());
  uint64_t free = space.available_bytes();
  out.set_free_bytes(free == UINT64_MAX ? 0 : free);
  if (ctx_.sampling_status) ctx_.sampling_status(out.mutable_sampling());
  AddResyncs(&out);
  return out;
}

grpc::Status AdminService::Status(grpc::ServerContext* context, const v1::StatusRequest*,
                                  v1::StatusResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.Status");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  *response = BuildStatus();
  return grpc::Status::OK;
}

grpc::Status AdminService::ListErrors(grpc::ServerContext* context,
                                      const v1::ListErrorsRequest* request,
                                      v1::ListErrorsResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.ListErrors");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  return rpc::ToGrpcStatus(ListErrorLog(*request, response));
}

SluiceStatus AdminService::ListErrorLog(const v1::ListErrorsRequest& request,
                                        v1::ListErrorsResponse* response) {
  const config::Config& cfg = *ctx_.config;
  if (!request.target().empty() && ctx_.replicator->error_log(request.target()) == nullptr) {
    return SluiceStatus::NotFound(fmt::format("no target '{}'", request.target()));
  }
  if (!request.stream().empty() && cfg.FindStream(request.stream()) == nullptr) {
    return SluiceStatus::NotFound(fmt::format("no stream '{}'", request.stream()));
  }
  replicate::ErrorFilter filter;
  if (!request.stream().empty()) filter.stream = request.stream();
  if (request.since_us() != 0) filter.since_us = request.since_us();
  if (request.until_us() != 0) filter.until_us = request.until_us();
  filter.include_resolved = request.include_resolved();
  for (const auto& t : cfg.targets) {
    if (!request.target().empty() && t.name != request.target()) continue;
    replicate::ErrorLog* log = ctx_.replicator->error_log(t.name);
    if (log == nullptr) continue;
    SLUICE_ASSIGN_OR_RETURN(auto list, log->List(filter));
    for (const auto& e : list) {
      auto* out = response->add_errors();
      out->set_target(t.name);
      out->set_stream(e.stream);
      out->set_lsn(e.lsn);
      out->set_kind(e.kind);
      out->set_message(e.message);
      out->set_payload_json(e.payload_json);
      out->set_failed_at_us(e.failed_at_us);
      out->set_state(e.state);
    }
  }
  return SluiceStatus::OK();
}

SluiceStatus AdminService::RunErrorAction(Action action, const v1::ErrorActionRequest& request,
                                          v1::ErrorActionResponse* response) {
  const std::string& target = request.target();
  std::string_view verb = action == Action::kRetry ? "retry" : "discard";
  if (target.empty())
    return SluiceStatus::InvalidArgument(fmt::format("{}: no target named", verb));
  replicate::ErrorLog* log = ctx_.replicator->error_log(target);
  if (log == nullptr) return SluiceStatus::NotFound(fmt::format("no target '{}'", target));
  if (!request.stream().empty() && ctx_.config->FindStream(request.stream()) == nullptr) {
    return SluiceStatus::NotFound(fmt::format("no stream '{}'", request.stream()));
  }
  if (!request.all() && request.lsn() == 0) {
    return SluiceStatus::InvalidArgument(fmt::format("{}: give an LSN, or all", verb));
  }
  std::lock_guard lk(action_mu_);
  if (!ctx_.replicator->target_enabled(target)) {
    return SluiceStatus::FailedPrecondition(
        fmt::format("target '{}' is disabled; enable it (sluice target enable {}) to {} its errors",
                    target, target, verb));
  }
  replicate::ErrorFilter filter;
  if (!request.stream().empty()) filter.stream = request.stream();
  SLUICE_ASSIGN_OR_RETURN(auto open, log->List(filter));
  if (!request.all()) {
    std::vector<std::string> streams;
    for (const auto& e : open) {
      if (e.lsn == request.lsn()) streams.push_back(e.stream);
    }
    if (streams.empty()) {
      return SluiceStatus::NotFound(
          fmt::format("target '{}' has no open error at LSN {}{}", target, request.lsn(),
                      request.stream().empty() ? "" : " of stream '" + request.stream() + "'"));
    }
    if (streams.size() > 1) {
      return SluiceStatus::InvalidArgument(
          fmt::format("target '{}' has open errors at LSN {} on streams {}: name the stream",
                      target, request.lsn(), Names(streams)));
    }
    open.erase(std::remove_if(open.begin(), open.end(),
                              [&](const auto& e) { return e.lsn != request.lsn(); }),
               open.end());
  }
  for (const auto& e : open) {
    auto applier = ctx_.replicator->FindApplier(target, e.stream);
    SluiceStatus s =
        applier == nullptr
            ? SluiceStatus::FailedPrecondition(
                  fmt::format("no applier for target '{}' stream '{}'", target, e.stream))
            : (action == Action::kRetry ? applier->Retry(e.lsn) : applier->Discard(e.lsn));
    if (s.ok()) {
      response->set_done(response->done() + 1);
      SLUICE_LOG_INFO("operator: {} of target '{}' stream '{}' LSN {} done", verb, target, e.stream,
                      e.lsn);
    } else {
      if (!request.all()) return s;
      response->add_failures(fmt::format("stream '{}' LSN {}: {}", e.stream, e.lsn, s.ToString()));
    }
  }
  return SluiceStatus::OK();
}

grpc::Status AdminService::RetryErrors(grpc::ServerContext* context,
                                       const v1::ErrorActionRequest* request,
                                       v1::ErrorActionResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.RetryErrors");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  return rpc::ToGrpcStatus(RunErrorAction(Action::kRetry, *request, response));
}

grpc::Status AdminService::DiscardErrors(grpc::ServerContext* context,
                                         const v1::ErrorActionRequest* request,
                                         v1::ErrorActionResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.DiscardErrors");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  return rpc::ToGrpcStatus(RunErrorAction(Action::kDiscard, *request, response));
}

grpc::Status AdminService::SetTargetEnabled(grpc::ServerContext* context,
                                            const v1::SetTargetEnabledRequest* request,
                                            v1::SetTargetEnabledResponse*) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.SetTargetEnabled");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  const std::string& name = request->target();
  const config::TargetConfig* t = ctx_.config->FindTarget(name);
  if (t == nullptr || ctx_.replicator->error_log(name) == nullptr) {
    std::vector<std::string> names;
    for (const auto& c : ctx_.config->targets) {
      if (ctx_.replicator->error_log(c.name) != nullptr) names.push_back(c.name);
    }
    return rpc::ToGrpcStatus(
        SluiceStatus::NotFound(fmt::format("no target '{}' (targets: {})", name, Names(names))));
  }
  std::lock_guard lk(action_mu_);
  if (auto from = ctx_.target_states->resync_from(name); from && request->enabled()) {
    // Its database holds an incomplete copy: its appliers start when the copy is done.
    return rpc::ToGrpcStatus(SluiceStatus::FailedPrecondition(fmt::format(
        "target '{}' is being resynced from '{}': it starts by itself once the copy is done (sluice status "
        "shows how far it is)",
        name, *from)));
  }
  // Persisted first: once the caller hears OK, a restart keeps the choice.
  SluiceStatus s = ctx_.target_states->SetEnabled(name, request->enabled());
  if (s.ok()) {
    s = request->enabled() ? ctx_.replicator->StartTarget(name) : ctx_.replicator->StopTarget(name);
  }
  if (!s.ok()) return rpc::ToGrpcStatus(s);
  SLUICE_LOG_INFO("operator ({}): target '{}' {}", caller->caller.name, name,
                  request->enabled() ? "enabled: it catches up from its watermark"
                                     : "disabled: its cursors hold what it has not applied");
  ctx_.cluster->Poke();  // a disabled active target is switched away from at once
  return grpc::Status::OK;
}

grpc::Status AdminService::Switch(grpc::ServerContext* context, const v1::SwitchRequest* request,
                                  v1::SwitchResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.Switch");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  if (request->target().empty()) {
    return rpc::ToGrpcStatus(SluiceStatus::InvalidArgument("switch: no target named"));
  }
  auto r = ctx_.cluster->RequestSwitch(request->target());
  if (!r.ok()) return rpc::ToGrpcStatus(r.status());
  SLUICE_LOG_INFO("operator ({}): {}", caller->caller.name, *r);
  response->set_message(*r);
  return grpc::Status::OK;
}

grpc::Status AdminService::ForgetTarget(grpc::ServerContext* context, const v1::ForgetTargetRequest* request,
                                        v1::ForgetTargetResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.ForgetTarget");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  const std::string& name = request->target();
  if (name.empty()) return rpc::ToGrpcStatus(SluiceStatus::InvalidArgument("forget: no target named"));
  if (name.starts_with('#')) {
    return rpc::ToGrpcStatus(SluiceStatus::InvalidArgument(
        fmt::format("'{}' is a cursor of the service itself, not of a target; it cannot be forgotten", name)));
  }
  if (const config::TargetConfig* t = ctx_.config->FindTarget(name)) {
    return rpc::ToGrpcStatus(SluiceStatus::FailedPrecondition(fmt::format(
        "target '{}' is configured (line {} of the config); remove it from the config and restart sluiced "
        "before forgetting it, or disable it (sluice target disable {}) to take it out for a while",
        name, t->line, name)));
  }
  std::lock_guard lk(action_mu_);
  auto dropped = ctx_.journals->DropCursors(name);
  if (!dropped.ok()) return rpc::ToGrpcStatus(dropped.status());
  if (*dropped == 0) {
    return rpc::ToGrpcStatus(SluiceStatus::NotFound(fmt::format("no cursor of a target '{}' in the journal", name)));
  }
  // Free what they held now rather than at the next retention pass.
  auto freed = ctx_.journals->RunRetention();
  std::string msg = fmt::format("forgot {} cursor(s) of removed target '{}'", *dropped, name);
  if (freed.ok()) msg += fmt::format("; retention freed {} bytes", freed->bytes_freed);
  SLUICE_LOG_INFO("operator ({}): {}", caller->caller.name, msg);
  response->set_cursors(static_cast<uint32_t>(*dropped));
  response->set_message(msg);
  return grpc::Status::OK;
}

}  // namespace sluice::service
