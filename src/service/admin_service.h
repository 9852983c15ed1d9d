#pragma once
// Admin: what an operator sees and does (role "admin").
//   Status            the service state, every stream's journal, every target, and every
//                     (target, stream) applier with its lag (records, bytes, age of the
//                     oldest unapplied record)
//   ListErrors        the targets' error logs, filtered
//   RetryErrors       re-apply rejected records on one target (one LSN or all open ones)
//   DiscardErrors     give up on rejected records (a blocked stream moves past them)
//   SetTargetEnabled  take a target out for maintenance or bring it back; persisted in
//                     DATA_DIR/state/targets.json, so a restart keeps it
//   Switch            manual switchover to another primary
//   ForgetTarget      drop the journal cursors of a target removed from the config
//   ListAlarms        the active alarms and the recent raises and clears (alarm_rpcs.cc)
//   WatchAlarms       the active alarms, then every raise and clear as it happens
//   Verify            compare the targets' rows (admin_verify.cc, docs/verify.md)
//   ResyncTarget      rebuild a target from a healthy one (admin_resync.cc, docs/resync.md)
//   AcceptDifference  clear a diverged verdict by accepting the difference (admin_resync.cc)
//   ReloadConfig      read the config file again and apply it (admin_reload.cc, docs/reload.md)
//
// Thread safety: the gRPC server calls methods from many threads at once.

#include <map>
#include <mutex>
#include <utility>

#include "service/service_context.h"
#include "sluice/v1/service.grpc.pb.h"

namespace sluice::service {

// A resync job as Admin.ResyncTarget and Admin.Status show it.
void FillResyncProgress(const resync::JobStatus& job, v1::ResyncProgress* out);

class AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(const ServiceContext& context) : ctx_(context) {}

  grpc::Status Status(grpc::ServerContext* context, const v1::StatusRequest* request,
                      v1::StatusResponse* response) override;
  grpc::Status ListErrors(grpc::ServerContext* context, const v1::ListErrorsRequest* request,
                          v1::ListErrorsResponse* response) override;
  grpc::Status RetryErrors(grpc::ServerContext* context, const v1::ErrorActionRequest* request,
                           v1::ErrorActionResponse* response) override;
  grpc::Status DiscardErrors(grpc::ServerContext* context, const v1::ErrorActionRequest* request,
                             v1::ErrorActionResponse* response) override;
  grpc::Status SetTargetEnabled(grpc::ServerContext* context,
                                const v1::SetTargetEnabledRequest* request,
                                v1::SetTargetEnabledResponse* response) override;
  grpc::Status Switch(grpc::ServerContext* context, const v1::SwitchRequest* request,
                      v1::SwitchResponse* response) override;
  grpc::Status ForgetTarget(grpc::ServerContext* context, const v1::ForgetTargetRequest* request,
                            v1::ForgetTargetResponse* response) override;
  grpc::Status Verify(grpc::ServerContext* context, const v1::VerifyRequest* request,
                      grpc::ServerWriter<v1::VerifyResponse>* writer) override;
  grpc::Status ResyncTarget(grpc::ServerContext* context, const v1::ResyncTargetRequest* request,
                            grpc::ServerWriter<v1::ResyncProgress>* writer) override;
  grpc::Status AcceptDifference(grpc::ServerContext* context, const v1::AcceptDifferenceRequest* request,
                                v1::AcceptDifferenceResponse* response) override;
  grpc::Status ReloadConfig(grpc::ServerContext* context, const v1::ReloadConfigRequest* request,
                            v1::ReloadConfigResponse* response) override;

  grpc::Status ListAlarms(grpc::ServerContext* context, const v1::ListAlarmsRequest* request,
                          v1::ListAlarmsResponse* response) override;
  grpc::Status WatchAlarms(grpc::ServerContext* context, const v1::WatchAlarmsRequest* request,
                           grpc::ServerWriter<v1::AlarmUpdate>* writer) override;

  // The full status, without authentication (the daemon logs it, tests read it).
  v1::StatusResponse BuildStatus();

  // The first record a consumer at `applied` waits for: its admission (commit) time and
  // where its frame starts in the journal. `found` is false when it cannot be read (gone to
  // retention, or not durable yet).
  struct FirstWaiting {
    bool found = false;
    int64_t admitted_at_us = 0;
    uint64_t segment_number = 0;
    uint64_t offset = 0;
  };

  // The bodies of ListErrors, RetryErrors/DiscardErrors and ListAlarms, without
  // authentication: for the HTTP endpoint (docs/dashboard.md), which checks the bearer
  // token itself, so both ways in run the same code.
  ::sluice::Status ListErrorLog(const v1::ListErrorsRequest& request,
                                v1::ListErrorsResponse* response);
  enum class Action { kRetry, kDiscard };
  ::sluice::Status RunErrorAction(Action action, const v1::ErrorActionRequest& request,
                                  v1::ErrorActionResponse* response);
  // FailedPrecondition when the node runs no alarm engine.
  ::sluice::Status ListAlarmSnapshot(v1::ListAlarmsResponse* response);

 private:
  FirstWaiting LocateFirstWaiting(const std::string& stream, journal::Lsn lsn);
  void AddResyncs(v1::StatusResponse* out) const;

  const ServiceContext ctx_;
  std::mutex admitted_mu_;
  // (stream, LSN) -> the record there: a lagging target's oldest unapplied record stays
  // the same between status calls, and reading it means scanning into a segment.
  std::map<std::pair<std::string, journal::Lsn>, FirstWaiting>
      first_waiting_cache_;  // guarded by admitted_mu_
  std::mutex action_mu_;  // one retry/discard/enable/disable at a time
};

}  // namespace sluice::service
