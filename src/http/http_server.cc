#include "http/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "common/log.h"
#include "http/api_endpoints.h"
#include "http/bearer_auth.h"
#include "http/health.h"

namespace sluice::http {
namespace {

// How long an idle keep-alive connection may hold a server thread, and so delay Stop().
constexpr time_t kKeepAliveSeconds = 1;
constexpr time_t kReadWriteTimeoutSeconds = 5;
constexpr char kEndpoints[] =
    "/healthz, /api/status, /metrics, /api/alarms, /api/errors, /api/history/raw, "
    "/api/history/aggregates; POST /api/errors/retry, /api/errors/discard; the dashboard at /";

std::optional<std::string> AuthorizationHeader(const httplib::Request& req) {
  if (!req.has_header("Authorization")) return std::nullopt;
  return req.get_header_value("Authorization");
}

void SetText(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(std::move(body), "text/plain; charset=utf-8");
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  bool started = false;

  std::unique_ptr<ApiEndpoints> api;

  // Whether the request may go on; when not, the response says why.
  bool Allowed(const httplib::Request& req, httplib::Response& res,
               config::TokenRole role = config::TokenRole::kRead) {
    AuthAnswer a = CheckBearer(*options.auth, AuthorizationHeader(req), role,
                               fmt::format("{} {}", req.method, req.path));
    if (a.status == 200) return true;
    if (a.status == 401) res.set_header("WWW-Authenticate", "Bearer");
    SetText(res, a.status, a.reason + "\n");
    return false;
  }

  void Healthz(httplib::Response& res) {
    HealthAnswer h = JudgeHealth(options.cluster_state());
    SetText(res, h.status, std::move(h.body));
  }

  void ApiStatus(const httplib::Request& req, httplib::Response& res) {
    if (!Allowed(req, res)) return;
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    o.always_print_primitive_fields = true;
    o.preserve_proto_field_names = true;
    o.add_whitespace = true;
    auto s = google::protobuf::util::MessageToJsonString(options.status(), &json, o);
    if (!s.ok()) {
      SetText(
          res, 500,
          fmt::format("/api/status: the status could not be printed as JSON: {}\n", s.ToString()));
      return;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::move(json), "application/json");
  }

  void Metrics(const httplib::Request& req, httplib::Response& res) {
    if (!Allowed(req, res)) return;
    MetricsWriter out;
    for (MetricsSource* source : options.metrics) source->Collect(out);
    if (!out.error().empty()) {
      // A page a scraper would reject is not served half-right.
      SLUICE_LOG_ERROR("/metrics: {}", out.error());
      SetText(res, 500, fmt::format("/metrics: {}\n", out.error()));
      return;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(out.text(), std::string(kExpositionContentType).c_str());
  }

  // A dashboard endpoint: the token checked for `role`, then `answer`.
  template <typename Answer>
  void Api(const httplib::Request& req, httplib::Response& res, config::TokenRole role,
           Answer answer) {
    if (!Allowed(req, res, role)) return;
    Params params(req.params.begin(), req.params.end());
    ApiAnswer a = answer(params);
    res.status = a.status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::move(a.body), a.content_type);
  }

  void ApiRoutes() {
    api = std::make_unique<ApiEndpoints>(options.admin, options.history);
    using config::TokenRole;
    auto get = [this](const char* path, auto answer) {
      server.Get(path, [this, answer](const httplib::Request& req, httplib::Response& res) {
        Api(req, res, TokenRole::kRead, answer);
      });
    };
    get("/api/alarms", [this](const Params&) { return api->Alarms(); });
    get("/api/errors", [this](const Params& p) { return api->Errors(p); });
    get("/api/history/raw", [this](const Params& p) { return api->HistoryRaw(p); });
    get("/api/history/aggregates", [this](const Params& p) { return api->HistoryAggregates(p); });
    // Retry and discard change what reaches a target: the admin role, as in the gRPC API.
    for (bool retry : {true, false}) {
      server.Post(retry ? "/api/errors/retry" : "/api/errors/discard",
                  [this, retry](const httplib::Request& req, httplib::Response& res) {
                    Api(req, res, TokenRole::kAdmin,
                        [&](const Params& p) { return api->ErrorAction(retry, p); });
                  });
    }
  }

  // The dashboard's files. They are served without a token: they hold nothing of the
  // node's (the page asks for a token and sends it with every API request).
  Status WebRoutes() {
    if (options.web_root.empty()) return Status::OK();
    if (!server.set_mount_point("/", options.web_root)) {
      return Status::NotFound(fmt::format(
          "HTTP endpoint: [http] web_root \"{}\" is not a directory (the dashboard's files: "
          "index.html, dashboard.js, dashboard.css)",
          options.web_root));
    }
    return Status::OK();
  }

  void Routes() {
    server.Get("/healthz",
               [this](const httplib::Request&, httplib::Response& res) { Healthz(res); });
    server.Get("/api/status", [this](const httplib::Request& req, httplib::Response& res) {
      ApiStatus(req, res);
    });
    server.Get("/metrics",
               [this](const httplib::Request& req, httplib::Response& res) { Metrics(req, res); });
    // httplib calls this for every answer of 400 and above: only a path nothing answered
    // (no body yet) gets the list; an endpoint's own 404 ("no target 'x'") keeps its reason.
    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 404 && res.body.empty()) {
        SetText(res, 404,
                fmt::format("no endpoint {} {} (endpoints: GET {})\n", req.method, req.path,
                            kEndpoints));
      }
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  Impl& m = *impl_;
  const std::string address = m.options.listen.ToString();
  const std::string where = m.options.config_line > 0
                                ? fmt::format(" ([http] listen, line {})", m.options.config_line)
                                : std::string(" ([http] listen)");
  m.Routes();
  m.ApiRoutes();
  SLUICE_RETURN_IF_ERROR(m.WebRoutes());
  const int threads = m.options.threads;
  m.server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  m.server.set_keep_alive_timeout(kKeepAliveSeconds);
  m.server.set_read_timeout(kReadWriteTimeoutSeconds, 0);
  m.server.set_write_timeout(kReadWriteTimeoutSeconds, 0);
  // httplib's default sets SO_REUSEPORT, which would let a second node bind the same port
  // and take half of the scrapes: only SO_REUSEADDR (a restart may bind while the old
  // connections linger in TIME_WAIT).
  m.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  errno = 0;
  if (!m.server.bind_to_port(m.options.listen.host, m.options.listen.port)) {
    const int err = errno;
    return Status::Unavailable(fmt::format("HTTP endpoint{}: cannot listen on {}: {}", where,
                                           address, err != 0 ? std::strerror(err) : "bind failed"));
  }
  m.thread = std::thread([&m] {
    if (!m.server.listen_after_bind())
      SLUICE_LOG_ERROR("HTTP endpoint: the server stopped with an error");
    m.listen_returned = true;
  });
  m.started = true;
  // Stop() only reaches a server that runs: wait until it does (a moment), so that a Stop()
  // right after Start() cannot miss it and leave the thread serving.
  while (!m.server.is_running() && !m.listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  SLUICE_LOG_INFO("HTTP endpoint listening on {} (GET {})", address, kEndpoints);
  return Status::OK();
}

void HttpServer::Stop() {
  Impl& m = *impl_;
  if (!m.started) return;
  m.started = false;
  m.server.stop();
  if (m.thread.joinable()) m.thread.join();
  SLUICE_LOG_INFO("HTTP endpoint stopped");
}

}  // namespace sluice::http
