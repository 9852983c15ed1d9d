// The node's HTTP endpoint ([http], docs/http.md): what it serves is the node's own state,
// read through the same parts Admin.Status reads, and the dashboard (docs/dashboard.md),
// whose JSON endpoints call the Admin and History services' own code.
#include <filesystem>

#include <fmt/format.h>

#include "alarm/alarm_engine.h"
#include "common/log.h"
#include "daemon/node.h"
#include "http/call_metrics.h"

namespace sluice::daemon {
namespace {

// Where `cmake --install` puts the dashboard's files (web/).
constexpr char kDefaultWebRoot[] = SLUICE_DEFAULT_WEB_ROOT;

// The alarm engine's active alarms by severity (docs/alarms.md), read at each scrape.
class AlarmMetrics : public http::MetricsSource {
 public:
  explicit AlarmMetrics(const alarm::AlarmEngine* engine) : engine_(engine) {}
  void Collect(http::MetricsWriter& out) override {
    const alarm::SeverityCounts counts = engine_->Counts();
    out.Family("sluice_alarms_active", http::MetricsWriter::Type::kGauge,
               "Alarms raised and not cleared, by severity (sluice alarms lists them).");
    for (auto severity : {config::AlarmSeverity::kInfo, config::AlarmSeverity::kWarning,
                          config::AlarmSeverity::kCritical}) {
      out.Sample({{"severity", std::string(config::AlarmSeverityName(severity))}},
                 counts[static_cast<size_t>(severity)]);
    }
  }

 private:
  const alarm::AlarmEngine* engine_;  // owned by the node, outlives the HTTP server
};

}  // namespace

void Node::AddMetricsSource(std::unique_ptr<http::MetricsSource> source) {
  metrics_sources_.push_back(std::move(source));
}

http::OpenErrorCounts Node::OpenErrors() const {
  http::OpenErrorCounts counts;
  for (const auto& t : config_.targets) {
    replicate::ErrorLog* log = replicator_->error_log(t.name);
    if (log == nullptr) continue;
    auto open = log->OpenCountsByStream();
    if (!open.ok()) {
      // Shown as 0 rather than failing the whole page; the log says why.
      SLUICE_LOG_WARN("/metrics: reading the error log of target '{}': {}", t.name,
                      open.status().ToString());
      continue;
    }
    for (const auto& [stream, n] : *open) counts[{t.name, stream}] = n;
  }
  return counts;
}

Status Node::StartHttp() {
  if (!config_.http.enabled) return Status::OK();
  // The node's own sources first, then those added by AddMetricsSource.
  std::vector<std::unique_ptr<http::MetricsSource>> own;
  own.push_back(std::make_unique<http::StatusMetrics>([this] { return admin_->BuildStatus(); },
                                                      [this] { return OpenErrors(); }));
  own.push_back(std::make_unique<http::CallMetrics>(&call_latency_));
  if (alarms() != nullptr) own.push_back(std::make_unique<AlarmMetrics>(alarms()));
  for (auto& s : metrics_sources_) own.push_back(std::move(s));
  metrics_sources_ = std::move(own);

  http::HttpServerOptions o;
  o.listen = config_.http.listen;
  o.config_line = config_.http.line;
  o.auth = auth_.get();
  o.status = [this] { return admin_->BuildStatus(); };
  o.cluster_state = [this] { return controller_->state(); };
  for (auto& s : metrics_sources_) o.metrics.push_back(s.get());
  o.admin = admin_;
  o.history = history_;
  o.web_root = config_.http.web_root;
  if (o.web_root.empty()) {
    // Not configured: the installed files, when they are there; a node built and run
    // from a build tree without them still serves its API.
    std::error_code ec;
    if (std::filesystem::is_directory(kDefaultWebRoot, ec)) {
      o.web_root = kDefaultWebRoot;
    } else {
      SLUICE_LOG_WARN(
          "HTTP endpoint: no dashboard: {} is not there and [http] web_root is not set "
          "(docs/dashboard.md)",
          kDefaultWebRoot);
    }
  }
  http_ = std::make_unique<http::HttpServer>(std::move(o));
  return http_->Start();
}

void Node::StopHttp() {
  if (http_) http_->Stop();
}

}  // namespace sluice::daemon
