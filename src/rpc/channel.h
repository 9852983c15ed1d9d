#pragma once
// The one way a program of ours (client library, CLI, benchmarks) opens a gRPC channel
// to sluiced: plain or TLS (verified against a CA file, or the system's roots), message
// size limits both ways, and a connection of the channel's own.
//
// Thread safety: pure functions.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"

namespace sluice::rpc {

// The longest a fast-reconnecting channel waits before it tries a lost address again.
inline constexpr std::chrono::milliseconds kMaxReconnectBackoff{1000};

struct ChannelOptions {
  // TLS when `tls` is set or a CA file is named; the CA file (PEM) replaces the system's
  // roots. `tls_server_name` overrides the name the certificate must carry.
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_server_name;
  // Largest message sent or received.
  uint64_t max_message_bytes = uint64_t{64} << 20;
  // Non-zero for a caller that fails over between addresses: a lost address is tried
  // again within kMaxReconnectBackoff (gRPC's default backoff grows to two minutes, long
  // after the service is back), each attempt given at least this long.
  std::chrono::milliseconds fast_reconnect{0};
};

// A channel to `address`. Fails only when the CA file cannot be read (that error as the
// file system gives it); connecting is the channel's business.
Result<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& address,
                                                  const ChannelOptions& options);

}  // namespace sluice::rpc
