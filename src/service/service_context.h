#pragma once
// What every gRPC service of a node works with. The node (src/daemon/node.h) owns all of
// it and outlives the services; the services only borrow.

#include <functional>

#include "admission/admitter.h"
#include "alarm/alarm_engine.h"
#include "cluster/controller.h"
#include "config/config.h"
#include "journal/journal_set.h"
#include "replicate/replicator.h"
#include "resync/target_resync.h"
#include "service/auth.h"
#include "service/call_gate.h"
#include "service/call_latency.h"
#include "admission/dedup_table.h"
#include "cluster/target_state.h"
#include "sluice/v1/service.pb.h"

namespace sluice::service {

class ReadPool;

struct ServiceContext {
  const config::Config* config = nullptr;
  int64_t opened_us = 0;  // when the node's parts were opened (Admin.Status)
  journal::JournalSet* journals = nullptr;
  admission::Admitter* admitter = nullptr;
  replicate::Replicator* replicator = nullptr;
  admission::DedupTable* dedup = nullptr;
  cluster::TargetStateStore* target_states = nullptr;
  const Authenticator* auth = nullptr;
  cluster::Controller* cluster = nullptr;  // the service state and the active target
  // Read connections on the targets (History's pending data reads the active target's
  // watermark rows through it).
  ReadPool* reads = nullptr;
  // Every call enters it first (see Admit() below); refused once the node shuts down.
  CallGate* gate = nullptr;
  // Every admitted call is timed into it, per method (null: not timed).
  CallLatency* latency = nullptr;
  // Fills Admin.Status's sampling part (null: sampling is not enabled).
  std::function<void(v1::SamplingStatus*)> sampling_status;
  // The alarm engine (Admin.ListAlarms, Admin.WatchAlarms; null: no alarms).
  alarm::AlarmEngine* alarms = nullptr;
  // Admin.ResyncTarget's jobs (null: resync is not offered, as in tools).
  resync::TargetResync* resync = nullptr;
  // Admin.ReloadConfig: plans a reload of the config file and, unless `dry_run`, has the
  // daemon apply it once the call has answered (null: not offered, as in tools).
  std::function<Result<v1::ReloadConfigResponse>(bool dry_run, const std::string& caller)> reload_config;
};

// The start of every method: the call gate (kUnavailable while shutting down), then
// authentication for `role`. `method` names the call in messages ("Admin.Status") and in
// the latency histograms. The pass is held, and the call timed, until the call returns.
struct Admission {
  CallGate::Pass pass;
  Caller caller;
  CallLatency::Timer timer;
};
// A timer of `method` in the context's latency histograms (empty when there are none).
CallLatency::Timer StartCallTimer(const ServiceContext& context, std::string_view method);
Result<Admission> AdmitCall(const ServiceContext& context, const grpc::ServerContext& call,
                            config::TokenRole role, std::string_view method);

}  // namespace sluice::service
