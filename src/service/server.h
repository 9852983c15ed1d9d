#pragma once
// The gRPC server of a node: owns the services registered on it and serves them on the
// configured listen addresses, with TLS when configured and the configured message size
// limit in both directions. Services are added before Start(); a new service (Sql,
// Model, Download, ...) is one more AddService() call in the node.
//
// The synchronous gRPC API is used: each call runs on a thread of gRPC's pool, sized by
// `max_threads` (a commit blocks its thread while it waits for durability, so the pool
// is larger than the core count; idle threads cost nothing but memory).
//
// Thread safety: AddService/Start/Shutdown from one thread; the services themselves are
// called from many.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "common/status.h"
#include "config/config.h"

namespace sluice::service {

struct ServerOptions {
  std::vector<config::ListenAddress> listen;
  uint64_t max_message_bytes = 64ull << 20;
  config::TlsConfig tls;
  int max_threads = 64;
};

class Server {
 public:
  Server() = default;
  ~Server();

  // REQUIRES: before Start(). The server owns the service.
  void AddService(std::unique_ptr<grpc::Service> service);

  // Binds every address and starts serving. Fails naming the address that could not be
  // bound, or the TLS file that could not be read.
  Status Start(const ServerOptions& options);
  // Stops accepting calls; calls in progress get until `deadline` to finish, then are
  // cancelled. Idempotent.
  void Shutdown(std::chrono::milliseconds deadline);

  // The ports bound, in listen order (useful with port 0).
  const std::vector<int>& ports() const { return ports_; }

 private:
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
  bool shut_down_ = false;
};

// Server credentials: TLS from the cert/key files (and client certificates verified
// against ca_file when given), or insecure when TLS is not configured.
Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const config::TlsConfig& tls);

}  // namespace sluice::service
