// What an operator does about a target whose rows cannot be trusted (docs/resync.md):
// Admin.ResyncTarget starts or follows a resync job of the node (resync::TargetResync)
// and streams its progress; the job belongs to sluiced, not to the call, so a caller that
// goes leaves it running. Admin.AcceptDifference clears a diverged verdict instead.

#include <chrono>

#include <fmt/format.h>

#include "common/log.h"
#include "common/wall_clock.h"
#include "rpc/status_mapping.h"
#include "service/admin_service.h"

namespace sluice::service {
namespace {

using SluiceStatus = ::sluice::Status;

// How often a follower looks whether its caller went, when the job is quiet (counting
// rows of a large table, say).
constexpr std::chrono::milliseconds kFollowTick{500};

}  // namespace

void FillResyncProgress(const resync::JobStatus& job, v1::ResyncProgress* out) {
  out->set_target(job.target);
  out->set_from(job.from);
  out->set_state(std::string(resync::JobStateName(job.state)));
  out->set_table(job.progress.table);
  out->set_tables_done(static_cast<uint32_t>(job.progress.tables_done));
  out->set_tables_total(static_cast<uint32_t>(job.progress.tables_total));
  out->set_rows_copied(job.progress.rows_copied);
  out->set_rows_total(job.progress.rows_total);
  out->set_rows_per_s(job.rows_per_s);
  out->set_eta_s(job.eta_s);
  out->set_resumed(job.resumed);
  out->set_restart_reason(job.restart_reason);
  out->set_error(job.error);
  out->set_started_us(job.started_us);
  out->set_finished_us(job.finished_us);
}

grpc::Status AdminService::ResyncTarget(grpc::ServerContext* context, const v1::ResyncTargetRequest* request,
                                        grpc::ServerWriter<v1::ResyncProgress>* writer) {
  auto caller = AdmitCall(ctx_, *context, config::TokenRole::kAdmin, "Admin.ResyncTarget");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  if (ctx_.resync == nullptr) {
    return rpc::ToGrpcStatus(SluiceStatus::FailedPrecondition("resync is not offered by this service"));
  }
  const std::string& target = request->target();
  if (target.empty() || request->from().empty()) {
    return rpc::ToGrpcStatus(SluiceStatus::InvalidArgument("resync: name the target and the target to copy from"));
  }
  if (ctx_.cluster != nullptr) {
    const cluster::ClusterState state = ctx_.cluster->state();
    if (state.active == target || state.from == target || state.to == target) {
      return rpc::ToGrpcStatus(SluiceStatus::FailedPrecondition(fmt::format(
          "target '{}' is {} ({}): switch to another primary first (sluice switch NAME)", target,
          state.active == target ? "the active target" : "part of a switch in progress", state.Describe())));
    }
  }
  {
    std::lock_guard lk(action_mu_);
    SluiceStatus s = ctx_.resync->Start(target, request->from());
    if (!s.ok()) return rpc::ToGrpcStatus(s.Annotate("resync"));
  }
  SLUICE_LOG_INFO("operator ({}): resync target '{}' from '{}'", caller->caller.name, target, request->from());
  if (ctx_.cluster != nullptr) ctx_.cluster->Poke();

  uint64_t seen = 0;
  for (;;) {
    std::optional<resync::JobStatus> job = ctx_.resync->WaitChange(target, seen, kFollowTick);
    if (!job) return rpc::ToGrpcStatus(SluiceStatus::Unavailable("sluiced is stopping; the resync continues at its next start"));
    if (job->version > seen || request->no_wait()) {
      seen = job->version;
      v1::ResyncProgress p;
      FillResyncProgress(*job, &p);
      if (!writer->Write(p)) return grpc::Status(grpc::StatusCode::CANCELLED, "resync: the caller went");
    }
    if (request->no_wait()) return grpc::Status::OK;
    if (job->state == resync::JobState::kDone) return grpc::Status::OK;
    if (job->state == resync::JobState::kInterrupted) {
      return rpc::ToGrpcStatus(SluiceStatus::Unavailable("sluiced is stopping; the resync continues at its next start"));
    }
    if (job->state == resync::JobState::kFailed) {
      return grpc::Status(grpc::StatusCode::ABORTED, fmt::format("resync failed: {}", job->error));
    }
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "resync: the caller went");
  }
}

grpc::Status AdminService::AcceptDifference(grpc::ServerContext* context, const v1::AcceptDifferenceRequest* request,
                                            v1::AcceptDifferenceResponse* response) {
  auto caller = AdmitCall(ctx_, *context, config::TokenRole::kAdmin, "Admin.AcceptDifference");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  const std::string& target = request->target();
  if (target.empty()) return rpc::ToGrpcStatus(SluiceStatus::InvalidArgument("accept: no target named"));
  std::string verdicts;
  for (const auto& a : ctx_.replicator->Status()) {
    if (a.target == target && a.diverged) verdicts += fmt::format("{}stream '{}'", verdicts.empty() ? "" : ", ", a.stream);
  }
  Result<size_t> accepted = [&] {
    std::lock_guard lk(action_mu_);
    return ctx_.replicator->AcceptDifference(target);
  }();
  if (!accepted.ok()) return rpc::ToGrpcStatus(accepted.status().Annotate("accept"));
  const std::string text = fmt::format(
      "operator ({}) accepted that target '{}' differs from its peers{}{}; {} rejection(s) no longer count as "
      "evidence of divergence",
      caller->caller.name, target, verdicts.empty() ? "" : " (diverged on " + verdicts + ")",
      request->reason().empty() ? "" : ": " + request->reason(), *accepted);
  SLUICE_LOG_WARN("{}", text);
  v1::Record r;
  auto* ev = r.mutable_events()->add_events();
  ev->set_ts_us(NowMicros());
  ev->set_kind("sluice.accept");
  ev->set_severity(1);
  ev->set_source(ctx_.config->node.id);
  ev->set_text(text);
  const config::Config& cfg = *ctx_.config;
  const std::string events = cfg.FindStream("events") != nullptr ? "events" : cfg.StreamsByPriority().front()->name;
  auto lsn = ctx_.admitter->Admit(events, std::move(r), /*wait=*/true);
  if (!lsn.ok()) SLUICE_LOG_ERROR("journaling the acceptance on stream '{}': {}", events, lsn.status().ToString());
  response->set_rejections(static_cast<uint32_t>(*accepted));
  response->set_message(text);
  if (ctx_.cluster != nullptr) ctx_.cluster->Poke();  // it may become eligible again
  return grpc::Status::OK;
}

}  // namespace sluice::service
