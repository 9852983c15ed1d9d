// [http]: the daemon's HTTP endpoint (docs/http.md), and its checks against the gRPC
// listen addresses of [node] and against [auth]. Why it is off unless the table is there:
// config.h, HttpConfig.
#include <fmt/format.h>

#include "config/parser.h"

namespace sluice::config::internal {
namespace {

bool IsWildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

// Two addresses that cannot both be bound: the same port on the same host, or on a
// wildcard host, which takes the port on every interface.
bool Overlap(const ListenAddress& a, const ListenAddress& b) {
  return a.port == b.port && (a.host == b.host || IsWildcard(a.host) || IsWildcard(b.host));
}

}  // namespace

void Parser::ReadHttp(const toml::table& root) {
  const toml::table* table = SectionTable(root, "http");
  if (table == nullptr) return;
  TableReader r(&diag_, *table, "[http]", kHttpKeys);
  HttpConfig& h = config_.http;
  h.line = static_cast<int>(table->source().begin.line);
  http_at_ = table->source();
  h.enabled = true;  // the table asks for it; enabled = false keeps it written down but off
  if (auto v = r.Bool("enabled")) h.enabled = *v;
  if (auto v = r.String("listen")) {
    Result<ListenAddress> address = ParseListenAddress(*v);
    if (!address.ok()) {
      r.ErrorAtValue("listen", fmt::format("'listen': {}", address.status().message()));
    } else {
      h.listen = *address;
      http_listen_at_ = r.ValueAt("listen");
    }
  }
  if (auto v = r.String("web_root")) {
    if (v->empty()) {
      r.ErrorAtValue("web_root", "'web_root' must not be empty (leave it out for the default)");
    } else {
      h.web_root = Resolve(*v);
    }
  }
  r.CheckUnknownKeys();
}

void Parser::CheckHttp() {
  const HttpConfig& h = config_.http;
  if (!h.enabled) return;
  const toml::source_region at = http_listen_at_ ? *http_listen_at_ : *http_at_;
  const std::string address = h.listen.ToString();
  for (size_t i = 0; i < config_.node.listen.size(); ++i) {
    const ListenAddress& grpc = config_.node.listen[i];
    if (!Overlap(h.listen, grpc)) continue;
    const int line = i < listen_at_.size() ? static_cast<int>(listen_at_[i].begin.line) : 0;
    diag_.Error(at, "[http]",
                fmt::format("'listen' \"{}\" takes the port of the gRPC address \"{}\" of [node] "
                            "listen{}: give the HTTP endpoint a port of its own",
                            address, grpc.ToString(),
                            line > 0 ? fmt::format(" (line {})", line) : " (the default)"));
  }
  if (h.listen.IsLoopback()) return;
  if (!config_.auth.required) {
    diag_.Error(at, "[http]",
                fmt::format("'listen' \"{}\" is not loopback while [auth] required = false: anyone "
                            "who can reach it could read the service's status; define "
                            "[[auth.token]] entries, or listen on 127.0.0.1",
                            address));
    return;
  }
  diag_.Warning(at, "[http]",
                fmt::format("listening on {} over plain HTTP: bearer tokens and status cross the "
                            "network in clear text",
                            address));
}

}  // namespace sluice::config::internal
