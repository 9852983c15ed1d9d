#include "cli/client_connection.h"

#include <cstdio>

#include <fmt/format.h>

#include "rpc/channel.h"
#include "rpc/status_mapping.h"

namespace sluice::cli {

std::unique_ptr<Connection> Connection::Open(const ServiceOptions& options,
                                             std::string_view command, int* exit_code) {
  std::unique_ptr<Connection> c(new Connection(options, command));
  rpc::ChannelOptions channel;
  channel.tls_ca_file = options.tls_ca;
  // As large as the service allows by default: status and error lists can be long.
  channel.max_message_bytes = 64 << 20;
  // A command that follows the service (status --watch, config reload) finds it again
  // within a second after a restart, not after gRPC's backoff of up to two minutes.
  channel.fast_reconnect = std::chrono::milliseconds(1000);
  auto ch = rpc::NewChannel(options.address, channel);
  if (!ch.ok()) {
    fmt::print(stderr, "sluice {}: --tls-ca: {}\n", command, ch.status().message());
    *exit_code = kExitUsage;
    return nullptr;
  }
  c->channel_ = std::move(ch).value();
  auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(options.connect_timeout_s);
  if (!c->channel_->WaitForConnected(deadline)) {
    fmt::print(stderr,
               "sluice {}: cannot reach sluiced at {}: no connection within {} s (is it running, "
               "and is this its address{}?)\n",
               command, options.address, options.connect_timeout_s,
               options.tls_ca.empty() ? "" : "; does its certificate verify against --tls-ca");
    *exit_code = kExitError;
    return nullptr;
  }
  c->admin_ = v1::Admin::NewStub(c->channel_);
  c->ingest_ = v1::Ingest::NewStub(c->channel_);
  c->sql_ = v1::Sql::NewStub(c->channel_);
  c->download_ = v1::Download::NewStub(c->channel_);
  c->sampling_ = v1::Sampling::NewStub(c->channel_);
  c->history_ = v1::History::NewStub(c->channel_);
  return c;
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext(std::chrono::seconds deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.token);
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

int Connection::Fail(std::string_view what, const grpc::Status& status) const {
  // The service itself answers UNAVAILABLE or DEADLINE_EXCEEDED for some refusals; only
  // a channel that is no longer connected means the service could not be reached.
  bool unreachable = (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) &&
                     channel_->GetState(false) != GRPC_CHANNEL_READY;
  if (unreachable) {
    fmt::print(stderr, "sluice {}: {} failed: cannot reach sluiced at {}: {}: {}\n", command_, what,
               options_.address, rpc::GrpcCodeName(status.error_code()), status.error_message());
    return kExitError;
  }
  fmt::print(stderr, "sluice {}: {} failed: {}: {}\n", command_, what,
             rpc::GrpcCodeName(status.error_code()), status.error_message());
  return kExitFailed;
}

void RegisterServiceOptions(CLI::App& app, Context* context) {
  ServiceOptions& o = context->service;
  app.add_option("--address", o.address, "sluiced's address, host:port")
      ->envname("SLUICE_ADDRESS")
      ->capture_default_str();
  app.add_option("--token", o.token,
                 "Bearer token (prefer the SLUICE_TOKEN environment variable: a command line is "
                 "visible to other users)")
      ->envname("SLUICE_TOKEN");
  app.add_option("--tls-ca", o.tls_ca,
                 "Verify sluiced's TLS certificate against this CA file (PEM)")
      ->envname("SLUICE_TLS_CA");
  app.add_option("--connect-timeout", o.connect_timeout_s, "Seconds to wait for a connection")
      ->capture_default_str();
}

}  // namespace sluice::cli
