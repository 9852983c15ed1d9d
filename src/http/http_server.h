#pragma once
// The node's HTTP endpoint (docs/http.md), served with cpp-httplib on threads of its own:
//   GET /healthz     no token: 200 "ok" while a target is active, else 503 and why
//   GET /api/status  role "read": the Admin.Status answer as JSON (as `sluice status --json`)
//   GET /metrics     role "read": the Prometheus text format 0.0.4, from every MetricsSource
//   GET /api/alarms, /api/errors, /api/history/raw, /api/history/aggregates  role "read";
//   POST /api/errors/retry, /api/errors/discard  role "admin" (api_endpoints.h)
//   GET /            the dashboard's static files from `web_root` (docs/dashboard.md)
// Any other path gets 404 naming the endpoints.
//
// Start() binds the address (failing with the address named when it cannot, e.g. when
// another process has it) and serves; Stop() closes the socket and returns once the
// threads have ended: an idle keep-alive connection holds them at most kKeepAlive, a
// request in progress at most its read/write timeouts, so a shutdown never hangs on a
// client.
//
// Thread safety: Start/Stop from one thread; the handlers run on the server's threads and
// call the functions and sources of the options from there.

#include <functional>
#include <memory>
#include <vector>

#include "cluster/cluster_state.h"
#include "common/status.h"
#include "config/values.h"
#include "http/metrics_source.h"
#include "service/admin_service.h"
#include "service/auth.h"
#include "service/history_service.h"
#include "sluice/v1/service.pb.h"

namespace sluice::http {

struct HttpServerOptions {
  config::ListenAddress listen;
  int config_line = 0;                           // of [http], for the bind error (0: not known)
  const service::Authenticator* auth = nullptr;  // must outlive the server
  std::function<v1::StatusResponse()> status;    // Admin.Status's answer
  std::function<cluster::ClusterState()> cluster_state;  // for /healthz
  std::vector<MetricsSource*> metrics;                   // not owned; must outlive the server
  // The dashboard's JSON endpoints call these (not owned; null: those endpoints answer 503).
  service::AdminService* admin = nullptr;
  service::HistoryService* history = nullptr;
  // The dashboard's files (index.html, ...); "" serves no dashboard. Must be a directory.
  std::string web_root;
  int threads = 4;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status Start();
  void Stop();  // idempotent

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::http
