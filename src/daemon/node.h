#pragma once
// A Sluice node: everything `sluiced` runs, built from a validated Config.
//
//   JournalSet   DATA_DIR: the streams' journals, cursors, retention, budgets
//   Admitter     validates, stamps and journals records
//   Replicator   one applier per (target, stream)
//   DedupTable   end-to-end de-duplication (DATA_DIR/state/dedup.json + the journal)
//   TargetStateStore  targets taken out by the operator (DATA_DIR/state/targets.json)
//   SyncWriter   synchronous writes: intents, outcomes (decided by the active target)
//   HealthMonitor, Controller  target health, the active target, failover
//                (DATA_DIR/state/cluster.json)
//   NodeSampling the point table, the sampling catalog (DATA_DIR/state/sampling.json,
//                following the model journal) and the sampler
//   TargetResync `sluice target resync` jobs (docs/resync.md; interrupted ones are
//                continued at Start)
//   NodeAlarms   the alarm engine of [alarms]: checks every interval, journals each raise
//                and clear as an event (kind "sluice.alarm")
//   Server       gRPC: Ingest, Admin, Sql, Model, Download, Sampling
//   HttpServer   [http]: /healthz, /api/status, /metrics (docs/http.md), the dashboard
//                and its JSON endpoints (docs/dashboard.md); every gRPC call is timed
//                into CallLatency for /metrics
//
// Lifecycle: Open() (nothing serves yet) → Start() → Shutdown(). Shutdown stops
// accepting calls, lets calls in progress finish (or cancels them at the grace deadline),
// saves the de-duplication snapshot, stops the appliers, and flushes cursors and
// journals: nothing that was acknowledged is lost, and a restart resumes where it was.
//
// Thread safety: Open/Start/Shutdown from one thread.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admission/admitter.h"
#include "cluster/controller.h"
#include "cluster/health_monitor.h"
#include "config/config.h"
#include "daemon/node_alarms.h"
#include "daemon/node_sampling.h"
#include "daemon/reload_plan.h"
#include "http/http_server.h"
#include "http/metrics_source.h"
#include "http/status_metrics.h"
#include "journal/journal_set.h"
#include "replicate/replicator.h"
#include "resync/target_resync.h"
#include "service/admin_service.h"
#include "service/auth.h"
#include "service/call_gate.h"
#include "service/call_latency.h"
#include "service/history_service.h"
#include "admission/dedup_table.h"
#include "service/read_pool.h"
#include "service/server.h"
#include "sync/sync_writer.h"
#include "service/service_context.h"
#include "cluster/target_state.h"

namespace sluice::daemon {

struct NodeOptions {
  // How often the de-duplication snapshot is written (when something changed).
  std::chrono::milliseconds dedup_snapshot_interval{10'000};
  // How long calls in progress may run on after a shutdown begins.
  std::chrono::milliseconds shutdown_grace{5'000};
  int max_server_threads = 64;
  // Admin.ReloadConfig hands an accepted (and committed) reload to the daemon, which
  // applies it once the call has answered (null: Admin.ReloadConfig is refused).
  std::function<void(ReloadPlan)> apply_reload;
};

class Node {
 public:
  // Opens the data directory and everything on it; fails (naming what) when the data
  // directory is locked by another process, a state file is damaged, etc.
  static Result<std::unique_ptr<Node>> Open(config::Config config, NodeOptions options = {});
  ~Node();

  // Serves on the listen addresses and starts the appliers.
  Status Start();
  // Clean shutdown (see above). Idempotent; returns the first error met.
  Status Shutdown();

  // The alarm engine: active alarms and counts by severity (thread safe; e.g. /metrics).
  alarm::AlarmEngine* alarms() { return alarms_ ? alarms_->engine() : nullptr; }

  // The ports bound, in listen order.
  const std::vector<int>& ports() const { return server_.ports(); }
  const config::Config& config() const { return config_; }
  // One paragraph for the startup log: node, data dir, streams, targets, addresses.
  std::string Summary() const;

  // A reload of the config file (docs/reload.md; node_reload.cc): PlanReload, then
  // CommitReload when something changed. One reload per node: a second (Admin.ReloadConfig
  // and SIGHUP at once) is refused while the first is applied.
  Result<ReloadPlan> ClaimReload(const std::string& by);
  // Clears what CommitReload recorded, in the data directory of `running`, when the node
  // could not be opened with the new config. REQUIRES: no node open on that directory.
  static void UndoReload(const config::Config& running, const ReloadPlan& plan);
  // Journals an event of `kind` on the events stream (every target's event_log): severity
  // 0 info, 1 warning, 2 error. Its LSN once durable.
  Result<journal::Lsn> JournalEvent(std::string_view kind, int severity, const std::string& text);

  // One more source of /metrics (the alarm engine's counts, ...), after the node's own.
  // REQUIRES: before Start().
  void AddMetricsSource(std::unique_ptr<http::MetricsSource> source);

 private:
  Node(config::Config config, NodeOptions options)
      : config_(std::move(config)), options_(options) {}
  // Open() in named steps, in this order.
  Status OpenParts();
  Status OpenJournals();
  Status OpenAdmitter();
  Status OpenTargetStates(const std::string& state_dir);
  Status OpenReplicator();
  Status OpenDedup(const std::string& state_dir);
  void OpenServiceContext();
  void OpenSyncWrites();
  // The catalog (DATA_DIR/state/sampling.json, then the model journal), the point table
  // and the sampler.
  Status OpenSampling(const std::string& state_dir);
  // The health monitor and the controller (DATA_DIR/state/cluster.json).
  Status OpenCluster(const std::string& state_dir);
  // The alarm engine (not running until Start()).
  void OpenResync(const std::string& state_dir);
  void OpenAlarms();
  void AddServices();
  // The plan of a reload: the file's config against the running one, and the running
  // target each added target is copied from. Refused, saying why, when the file does not parse, changes node.id or
  // node.data_dir, removes a target in a resync, or adds one that nothing running can be
  // copied from now.
  Result<ReloadPlan> PlanReload() const;
  // Records the added targets' resyncs (the node opened with the new config creates them
  // stopped and copies them before any applier starts) and journals the reload as an
  // event (kind "sluice.config") naming `by`.
  Status CommitReload(const ReloadPlan& plan, const std::string& by);
  // Admin.ReloadConfig, when the daemon applies reloads (NodeOptions::apply_reload).
  void OfferReload();
  std::string EventsStream() const;
  // node_http.cc: the HTTP endpoint when [http] enables it (bound first in Start(), so a
  // taken port fails the start before anything runs), and its metrics sources.
  Status StartHttp();
  void StopHttp();
  http::OpenErrorCounts OpenErrors() const;
  void MaintenanceLoop();
  // Logs the journal cursors of targets that are no longer configured.
  void ReportRemovedTargets();

  const config::Config config_;
  const NodeOptions options_;

  std::unique_ptr<journal::JournalSet> journals_;
  std::unique_ptr<admission::Admitter> admitter_;
  std::unique_ptr<cluster::TargetStateStore> target_states_;
  std::unique_ptr<replicate::Replicator> replicator_;
  std::unique_ptr<admission::DedupTable> dedup_;
  std::unique_ptr<service::Authenticator> auth_;
  std::unique_ptr<sync::SyncWriter> sync_writer_;
  std::unique_ptr<service::ReadPool> read_pool_;
  std::unique_ptr<cluster::HealthMonitor> health_;
  std::unique_ptr<cluster::Controller> controller_;
  std::unique_ptr<NodeSampling> sampling_;
  std::unique_ptr<resync::TargetResync> resync_;
  std::unique_ptr<NodeAlarms> alarms_;
  // Owned by server_; builds the status that the alarms, /api/status and /metrics see.
  service::AdminService* admin_ = nullptr;
  // Owned by server_; /api/history/* run its reads.
  service::HistoryService* history_ = nullptr;
  service::ServiceContext context_;
  service::CallLatency call_latency_;       // before server_: the services record into it
  service::Server server_;
  service::CallGate gate_;
  std::vector<std::unique_ptr<http::MetricsSource>> metrics_sources_;
  std::unique_ptr<http::HttpServer> http_;

  std::mutex reload_mu_;
  bool reload_claimed_ = false;  // guarded by reload_mu_; this node is being reloaded

  bool started_ = false;
  bool shut_down_ = false;
  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool maint_stop_ = false;  // guarded by maint_mu_
  std::thread maint_thread_;
};

}  // namespace sluice::daemon
