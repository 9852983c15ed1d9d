#include "cli/client_connection.h"

#include <cstdio>

#include <fmt/format.h>

#include "common/file_system.h"

namespace sluice::cli {

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return "UNKNOWN_CODE";
  }
}

std::unique_ptr<Connection> Connection::Open(const ServiceOptions& options,
                                             std::string_view command, int* exit_code) {
  std::unique_ptr<Connection> c(new Connection(options, command));
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls_ca.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    auto ca = ReadWholeFile(FileSystem::Default(), options.tls_ca);
    if (!ca.ok()) {
      fmt::print(stderr, "sluice {}: --tls-ca: {}\n", command, ca.status().message());
      *exit_code = kExitUsage;
      return nullptr;
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *ca;
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  // As large as the service allows by default: status and error lists can be long.
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  c->channel_ = grpc::CreateCustomChannel(options.address, creds, args);
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
               options_.address, GrpcCodeName(status.error_code()), status.error_message());
    return kExitError;
  }
  fmt::print(stderr, "sluice {}: {} failed: {}: {}\n", command_, what,
             GrpcCodeName(status.error_code()), status.error_message());
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
