#include "daemon/node.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/log.h"
#include "common/wall_clock.h"
#include "service/download_service.h"
#include "service/ingest_service.h"
#include "service/model_service.h"
#include "service/history_service.h"
#include "service/sampling_service.h"
#include "service/sql_service.h"

namespace sluice::daemon {
namespace {

// The de-duplication table's cursor: '#' cannot appear in a target name, so it never
// collides with a target's cursor.
constexpr char kDedupCursor[] = "#dedup";

// How long a shutdown lets calls in progress finish while targets still decide.
constexpr std::chrono::milliseconds kDecideGrace{1000};

std::chrono::milliseconds ToMillis(config::Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  return d.count() > 0 && ms.count() == 0 ? std::chrono::milliseconds(1) : ms;
}

}  // namespace

Result<std::unique_ptr<Node>> Node::Open(config::Config config, NodeOptions options) {
  std::unique_ptr<Node> node(new Node(std::move(config), options));
  SLUICE_RETURN_IF_ERROR(node->OpenParts());
  return node;
}

// The parts in the order they depend on each other; each step names what it opens.
Status Node::OpenParts() {
  const std::string state_dir = JoinPath(config_.node.data_dir, "state");
  SLUICE_RETURN_IF_ERROR(OpenJournals());
  SLUICE_RETURN_IF_ERROR(OpenAdmitter());
  SLUICE_RETURN_IF_ERROR(OpenTargetStates(state_dir));
  SLUICE_RETURN_IF_ERROR(OpenReplicator());
  SLUICE_RETURN_IF_ERROR(OpenDedup(state_dir));
  OpenServiceContext();
  OpenSyncWrites();
  SLUICE_RETURN_IF_ERROR(OpenSampling(state_dir));
  SLUICE_RETURN_IF_ERROR(OpenCluster(state_dir));
  context_.cluster = controller_.get();
  OpenResync(state_dir);
  OpenAlarms();
  OfferReload();
  AddServices();
  return Status::OK();
}

// DATA_DIR/journal: every stream's journal, its cursors and retention. Everything else
// reads or writes through it, so it comes first (and takes DATA_DIR/LOCK).
Status Node::OpenJournals() {
  const config::Config& cfg = config_;
  journal::JournalSetOptions jo;
  jo.fs = FileSystem::Default();
  jo.data_dir = cfg.node.data_dir;
  for (const auto& s : cfg.streams) jo.streams.push_back({s.name, s.reserved});
  jo.segment_bytes = cfg.journal.segment_size;
  jo.max_record_bytes = static_cast<uint32_t>(cfg.journal.max_record_size);
  jo.ack_mode = cfg.journal.ack == config::AckMode::kDurable ? journal::AckMode::kDurable
                                                             : journal::AckMode::kWritten;
  jo.budget_bytes = cfg.journal.budget;
  jo.free_space_floor_bytes = cfg.journal.free_space_floor;
  jo.retention_interval = ToMillis(cfg.journal.retention_interval);
  SLUICE_ASSIGN_OR_RETURN(journals_, journal::JournalSet::Open(jo));
  return Status::OK();
}

// The admitter: validates records against the limits and the SQL of the configured
// dialects, stamps and journals them (DATA_DIR/state/version).
Status Node::OpenAdmitter() {
  const config::Config& cfg = config_;
  admission::AdmissionOptions ao;
  std::set<std::string> dialects;
  for (const auto& t : cfg.targets) {
    if (t.role != config::TargetRole::kOneway)
      dialects.insert(std::string(config::DialectName(t.dialect)));
  }
  ao.target_dialects.assign(dialects.begin(), dialects.end());
  ao.limits.timestamp_min_us = cfg.limits.timestamp_min;
  ao.limits.timestamp_max_ahead_us = cfg.limits.timestamp_max_ahead.count();
  ao.limits.max_string_length = cfg.limits.max_string_length;
  ao.limits.max_lob_size = cfg.limits.max_lob_size;
  SLUICE_ASSIGN_OR_RETURN(admitter_, admission::Admitter::Open(journals_.get(), ao));
  return Status::OK();
}

// DATA_DIR/state/targets.json: targets an operator enabled or disabled, which override
// the config; read before the replicator is given its targets.
Status Node::OpenTargetStates(const std::string& state_dir) {
  SLUICE_ASSIGN_OR_RETURN(target_states_, cluster::TargetStateStore::Open(
                                              FileSystem::Default(),
                                              JoinPath(state_dir, "targets.json")));
  return Status::OK();
}

// The replicator: one applier per (target, stream). Not started yet (Start() does).
Status Node::OpenReplicator() {
  const config::Config& cfg = config_;
  FileSystem* fs = FileSystem::Default();
  replicate::ReplicatorOptions ro;
  ro.fs = fs;
  ro.node_id = cfg.node.id;
  ro.data_dir = cfg.node.data_dir;
  for (const auto& t : cfg.targets) {
    if (t.role == config::TargetRole::kOneway) {
      SLUICE_LOG_WARN(
          "target '{}' (line {}): oneway targets are not served by this version of "
          "sluiced; it is ignored",
          t.name, t.line);
      continue;
    }
    if (t.dialect == config::Dialect::kSqlite) {
      // SQLite creates the file but not its directory ("targets/a.db" under data_dir).
      SLUICE_RETURN_IF_ERROR(fs->CreateDirs(DirName(t.connection))
                                 .Annotate(fmt::format("target '{}': creating the directory of {}",
                                                       t.name, t.connection)));
    }
    replicate::TargetSpec spec;
    spec.name = t.name;
    spec.dialect = std::string(config::DialectName(t.dialect));
    spec.connection = t.connection;
    spec.role = std::string(config::TargetRoleName(t.role));
    spec.priority = t.priority;
    spec.retention.budget_bytes = t.retention_budget;
    spec.retention.policy = t.retention_policy == config::RetentionPolicy::kHold
                                ? journal::RetentionPolicy::kHold
                                : journal::RetentionPolicy::kDetach;
    spec.enabled = t.enabled;
    if (auto chosen = target_states_->enabled(t.name); chosen && *chosen != t.enabled) {
      SLUICE_LOG_WARN(
          "target '{}': {} by an operator (DATA_DIR/state/targets.json), although "
          "the config says enabled = {}",
          t.name, *chosen ? "enabled" : "disabled", t.enabled);
      spec.enabled = *chosen;
    }
    if (auto from = target_states_->resync_from(t.name)) {
      // An incomplete copy: its appliers wait for the resync to finish (OpenResync).
      SLUICE_LOG_WARN("target '{}': a resync from '{}' was under way; the target stays stopped until it is done",
                      t.name, *from);
      spec.enabled = false;
    }
    ro.targets.push_back(std::move(spec));
  }
  for (const config::StreamConfig* s : cfg.StreamsByPriority()) {
    replicate::StreamSpec spec;
    spec.name = s->name;
    spec.ordered = s->ordered;
    spec.on_error = s->on_error == config::OnError::kSkip ? replicate::OnError::kSkip
                                                          : replicate::OnError::kBlock;
    spec.batch_records = s->batch_records;
    spec.batch_bytes = s->batch_bytes;
    spec.batch_delay = s->batch_delay;
    spec.priority = s->priority;
    ro.streams.push_back(std::move(spec));
  }
  SLUICE_ASSIGN_OR_RETURN(replicator_, replicate::Replicator::Create(journals_.get(), ro));
  ReportRemovedTargets();
  return Status::OK();
}

// DATA_DIR/state/dedup.json and the journal after its mark: the last sequence admitted
// per (client, stream), rebuilt before any call is served.
Status Node::OpenDedup(const std::string& state_dir) {
  const config::Config& cfg = config_;
  FileSystem* fs = FileSystem::Default();
  admission::DedupOptions dopt;
  dopt.fs = fs;
  dopt.path = JoinPath(state_dir, "dedup.json");
  dopt.cursor = kDedupCursor;
  dopt.idle_forget = cfg.client_dedup.idle_forget;
  SLUICE_ASSIGN_OR_RETURN(dedup_, admission::DedupTable::Open(journals_.get(), dopt));
  const auto& rs = dedup_->rebuild_stats();
  SLUICE_LOG_INFO("de-duplication table: {} clients ({}; {} journal records scanned, {} tagged)",
                  dedup_->client_count(), rs.snapshot_loaded ? "snapshot loaded" : "no snapshot",
                  rs.records_scanned, rs.tagged_records);
  return Status::OK();
}

// Authentication (the tokens of the config) and the context every service shares.
void Node::OpenServiceContext() {
  auth_ = std::make_unique<service::Authenticator>(config_.auth);

  context_.config = &config_;
  context_.opened_us = NowMicros();
  context_.journals = journals_.get();
  context_.admitter = admitter_.get();
  context_.replicator = replicator_.get();
  context_.dedup = dedup_.get();
  context_.target_states = target_states_.get();
  context_.auth = auth_.get();
  context_.gate = &gate_;
  context_.latency = &call_latency_;
}

// Synchronous writes: the deciding applier (the active target's, on the model stream)
// hands each outcome to the SyncWriter, which journals it and answers the caller; reads
// go to the read pool.
void Node::OpenSyncWrites() {
  sync_writer_ = std::make_unique<sync::SyncWriter>(journals_.get(), admitter_.get());
  read_pool_ = std::make_unique<service::ReadPool>(&config_);
  context_.reads = read_pool_.get();
  replicator_->SetOutcomeSink("model", [w = sync_writer_.get()](const replicate::IntentDecision& d) {
    return w->Decided(d);
  });
  sync_writer_->SetOrphanSink([r = replicator_.get()](const std::string& target, journal::Lsn, const std::string& why) {
    r->NoteDiverged(target, "model", why);
  });
}

Status Node::OpenSampling(const std::string& state_dir) {
  SLUICE_ASSIGN_OR_RETURN(sampling_, NodeSampling::Open(config_, journals_.get(), admitter_.get(), state_dir));
  context_.sampling_status = [s = sampling_.get()](v1::SamplingStatus* out) { s->FillStatus(out); };
  return Status::OK();
}

// `sluice target resync`: the jobs, which journal their beginning and end into the
// events stream like the state changes (every target's event_log has them).
void Node::OpenResync(const std::string& state_dir) {
  resync::ResyncOptions ro;
  ro.config = &config_;
  ro.journals = journals_.get();
  ro.replicator = replicator_.get();
  ro.states = target_states_.get();
  ro.state_dir = state_dir;
  ro.events_stream = EventsStream();
  ro.journal_event = [this](int severity, const std::string& text) {
    return JournalEvent("sluice.resync", severity, text);
  };
  resync_ = std::make_unique<resync::TargetResync>(std::move(ro));
  context_.resync = resync_.get();
}

// Alarms go to the events stream, like the state changes, so every target's event_log
// has them.
void Node::OpenAlarms() {
  alarms_ = std::make_unique<NodeAlarms>(config_, admitter_.get(), replicator_.get(), EventsStream());
  context_.alarms = alarms_->engine();
}

// The gRPC services of this node (not serving until Start()).
void Node::AddServices() {
  service::SyncServices sync;
  sync.writer = sync_writer_.get();
  sync.reads = read_pool_.get();
  server_.AddService(std::make_unique<service::IngestService>(context_));
  auto admin = std::make_unique<service::AdminService>(context_);
  admin_ = admin.get();  // /api/status and /metrics answer what Admin.Status does
  server_.AddService(std::move(admin));
  server_.AddService(std::make_unique<service::SqlService>(context_, sync));
  server_.AddService(std::make_unique<service::ModelService>(context_, sync));
  server_.AddService(std::make_unique<service::DownloadService>(context_, sync));
  server_.AddService(std::make_unique<service::SamplingService>(context_, sync, sampling_->parts()));
  auto history =
      std::make_unique<service::HistoryService>(context_, sync, sampling_->parts().catalog);
  history_ = history.get();  // /api/history/* run the same reads
  server_.AddService(std::move(history));
}

void Node::ReportRemovedTargets() {
  // Cursors of targets that were removed from the config hold the journal for ever:
  // name them at every start, with what they hold and how to let go.
  std::map<std::string, std::vector<std::string>> removed;
  for (const auto& c : journals_->Cursors()) {
    if (c.name.starts_with('#') || config_.FindTarget(c.name) != nullptr) continue;
    journal::Journal* j = journals_->stream(c.stream);
    uint64_t held = 0;
    if (j != nullptr && !c.needs_resync) {
      auto segments = j->Segments();
      for (size_t i = 0; i + 1 < segments.size(); ++i) {
        if (segments[i].last_lsn > c.lsn) held += segments[i].bytes;
      }
    }
    removed[c.name].push_back(fmt::format("{} at LSN {}{}", c.stream, c.lsn,
                                          c.needs_resync ? " (detached)" : fmt::format(", holding {} bytes", held)));
  }
  for (const auto& [name, cursors] : removed) {
    std::string list;
    for (const auto& c : cursors) list += (list.empty() ? "" : "; ") + c;
    SLUICE_LOG_WARN(
        "target '{}' is not in the config any more, but its journal cursors remain ({}): retention keeps "
        "what they have not passed; `sluice target forget {}` drops them",
        name, list, name);
  }
}

Node::~Node() {
  Status s = Shutdown();
  if (!s.ok()) SLUICE_LOG_ERROR("shutdown: {}", s.ToString());
}

Status Node::Start() {
  service::ServerOptions so;
  so.listen = config_.node.listen;
  so.max_message_bytes = config_.limits.max_message_size;
  so.tls = config_.tls;
  so.max_threads = options_.max_server_threads;
  SLUICE_RETURN_IF_ERROR(StartHttp());
  // The first snapshot right away: it moves the de-duplication cursor off LSN 0 and
  // shortens the next rebuild.
  SLUICE_RETURN_IF_ERROR(dedup_->Save());
  SLUICE_RETURN_IF_ERROR(server_.Start(so));
  started_ = true;
  // Interrupted resyncs first: their sources' snapshots are taken before the appliers
  // move them.
  resync_->ResumePending();
  replicator_->Start();
  health_->Start();
  controller_->Start();
  dedup_->StartBackground(options_.dedup_snapshot_interval);
  SLUICE_RETURN_IF_ERROR(sampling_->Start());
  maint_thread_ = std::thread([this] { MaintenanceLoop(); });
  alarms_->Start([admin = admin_] { return admin->BuildStatus(); });
  return Status::OK();
}

Status Node::OpenCluster(const std::string& state_dir) {
  const config::Config& cfg = config_;
  std::vector<cluster::ProbedTarget> probed;
  for (const auto& t : cfg.targets) {
    if (t.role == config::TargetRole::kOneway) continue;
    probed.push_back({t.name, std::string(config::DialectName(t.dialect)), t.connection});
  }
  cluster::HealthOptions ho;
  ho.interval = ToMillis(cfg.health.probe_interval);
  ho.timeout = ToMillis(cfg.health.probe_timeout);
  ho.reconnect_probe_delay = ToMillis(cfg.health.reconnect_probe_delay);
  SLUICE_ASSIGN_OR_RETURN(health_, cluster::HealthMonitor::Create(std::move(probed), ho, [this](const cluster::TargetHealth& h) {
                            // A target that answers again is caught up at once, not after
                            // its appliers' backoff.
                            if (h.health == cluster::Health::kUp) replicator_->RetryTargetNow(h.target);
                            if (controller_) controller_->Poke();
                          }));

  cluster::ControllerOptions co;
  co.state_path = JoinPath(state_dir, "cluster.json");
  co.node_id = cfg.node.id;
  co.switch_deadline = ToMillis(cfg.health.switch_deadline);
  co.drain_wait = co.switch_deadline;
  for (const config::StreamConfig* s : cfg.StreamsByPriority()) {
    if (s->ordered) co.ordered_streams.push_back(s->name);
  }
  co.events_stream = EventsStream();
  // The SyncWriter first: once a target stops deciding, a late decision of its is refused.
  auto on_decider = [this](const std::string& target) {
    sync_writer_->SetDecider(target);
    replicator_->SetIntentDecider(target);
  };
  SLUICE_ASSIGN_OR_RETURN(controller_, cluster::Controller::Create(&config_, journals_.get(), admitter_.get(),
                                                                   replicator_.get(), health_.get(), co, on_decider));
  return Status::OK();
}

void Node::MaintenanceLoop() {
  std::unique_lock lk(maint_mu_);
  int tick = 0;
  // Every second: cursors are saved.
  while (!maint_cv_.wait_for(lk, std::chrono::milliseconds(100), [&] { return maint_stop_; })) {
    lk.unlock();
    if (++tick % 10 == 0) {
      Status s = journals_->FlushCursors();
      if (!s.ok()) SLUICE_LOG_WARN("saving cursors: {}", s.ToString());
    }
    lk.lock();
  }
}

Status Node::Shutdown() {
  if (shut_down_) return Status::OK();
  shut_down_ = true;
  Status first;
  auto note = [&](const Status& s, std::string_view what) {
    if (s.ok()) return;
    SLUICE_LOG_ERROR("shutdown: {}: {}", what, s.ToString());
    if (first.ok()) first = s.Annotate(what);
  };
  // 0. The HTTP endpoint goes first: /healthz stops answering, so a load balancer takes
  //    the node out at once, and no scrape reads parts that are being stopped.
  StopHttp();
  // 0b. The alarm checks stop, and with them every Admin.WatchAlarms, which would
  //     otherwise hold the drain below for its whole grace.
  if (alarms_) alarms_->Stop();
  // 0c. Resyncs stop after their current batch (a restart continues them), and with them
  //     every Admin.ResyncTarget following one.
  if (resync_) resync_->Stop();
  // 1. No switch from here on: the state machine stops before what it journals into.
  if (controller_) controller_->Stop();
  // 2. No new calls; calls in progress get a moment to finish (their records are
  //    acknowledged; a target that answers decides a synchronous write in milliseconds).
  //    Draining first lets the server stop at once afterwards: gRPC would otherwise wait
  //    out the whole deadline for clients that merely keep a connection open.
  const auto decide_grace = std::min(options_.shutdown_grace, kDecideGrace);
  bool drained = gate_.Drain(decide_grace);
  // 3. Nothing waits on a target any more, whatever the targets do (a frozen server
  //    would hold a probe, a connect or a transaction for its whole timeout): the health
  //    probes and the appliers stop, their waits cut short, so an intent being decided is
  //    either decided now or left to the next start. Then callers still waiting for an
  //    outcome get UNKNOWN with the LSN. Nothing is decided after this point.
  if (health_) health_->Stop();
  if (replicator_) replicator_->Stop();
  if (sync_writer_) sync_writer_->Stop();
  // 4. What remains (commits waiting for the journal) finishes or is cancelled at the
  //    deadline (their clients resubmit; de-duplication catches repeats).
  if (!drained && !gate_.Drain(options_.shutdown_grace - decide_grace)) {
    SLUICE_LOG_WARN("shutdown: calls still in progress after {} ms are cancelled",
                    options_.shutdown_grace.count());
  }
  server_.Shutdown(std::chrono::milliseconds(0));
  SLUICE_LOG_INFO("no longer serving calls");
  {
    std::lock_guard lk(maint_mu_);
    maint_stop_ = true;
  }
  maint_cv_.notify_all();
  if (maint_thread_.joinable()) maint_thread_.join();
  // 5. The sampler stops admitting; the catalog is saved.
  if (sampling_) note(sampling_->Stop(), "stopping sampling");
  // 6. The de-duplication snapshot (flushes the journals).
  if (dedup_) note(dedup_->Stop(), "saving the de-duplication table");
  // 7. Cursors and journals (the appliers' watermarks are in the targets).
  if (journals_) {
    note(journals_->FlushCursors(), "saving cursors");
    for (const auto& name : journals_->stream_names()) {
      note(journals_->stream(name)->Flush(), fmt::format("flushing stream '{}'", name));
    }
  }
  replicator_.reset();
  sampling_.reset();
  dedup_.reset();
  admitter_.reset();
  journals_.reset();  // releases the data directory lock
  return first;
}

std::string Node::Summary() const {
  const config::Config& cfg = config_;
  std::string streams, targets, listen;
  for (const config::StreamConfig* s : cfg.StreamsByPriority()) {
    streams += fmt::format("{}{} ({}, priority {})", streams.empty() ? "" : ", ", s->name,
                           s->ordered ? "ordered" : "unordered", s->priority);
  }
  for (const auto& t : cfg.targets) {
    bool enabled = replicator_ && replicator_->target_enabled(t.name);
    targets += fmt::format(
        "{}{} ({} {}{}{})", targets.empty() ? "" : ", ", t.name, config::TargetRoleName(t.role),
        config::DialectName(t.dialect),
        t.role == config::TargetRole::kPrimary ? fmt::format(", priority {}", t.priority) : "",
        enabled ? "" : ", disabled");
  }
  for (size_t i = 0; i < cfg.node.listen.size(); ++i) {
    listen += fmt::format("{}{}", listen.empty() ? "" : ", ", cfg.node.listen[i].ToString());
    if (i < ports().size() && ports()[i] != cfg.node.listen[i].port)
      listen += fmt::format(" (port {})", ports()[i]);
  }
  return fmt::format(
      "node '{}', data dir {}, epoch {}; streams: {}; targets: {}; listening on {}{}{}; HTTP {}",
      cfg.node.id, cfg.node.data_dir, journals_ ? journal::EpochToHex(journals_->epoch()) : "?",
      streams, targets, listen, cfg.tls.enabled() ? " (TLS)" : "",
      cfg.auth.required ? "" : " (authentication not required)",
      cfg.http.enabled ? "on " + cfg.http.listen.ToString() : std::string("off"));
}

}  // namespace sluice::daemon
