#pragma once
// How `sluice` talks to sluiced: one gRPC channel to --address (plain, or TLS verified
// against --tls-ca), the bearer token on every call, and the mapping of what went wrong
// to the exit codes scripts rely on:
//
//   the service cannot be reached (connection refused, timeout, TLS handshake) → 3
//   the service answered with a refusal or a failure                         → 1
//
// Every message names the address and the call that failed.
//
// Thread safety: a Connection may be used from one thread at a time.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "cli/commands.h"
#include "sluice/v1/service.grpc.pb.h"

namespace sluice::cli {

class Connection {
 public:
  // Connects (waiting up to options.connect_timeout_s). On failure prints
  // "sluice COMMAND: cannot reach sluiced at ADDRESS: reason" and sets *exit_code to 3.
  static std::unique_ptr<Connection> Open(const ServiceOptions& options, std::string_view command,
                                          int* exit_code);

  // A context carrying the token, with a deadline.
  std::unique_ptr<grpc::ClientContext> NewContext(
      std::chrono::seconds deadline = std::chrono::seconds(60)) const;

  v1::Admin::Stub& admin() { return *admin_; }
  v1::Ingest::Stub& ingest() { return *ingest_; }
  v1::Sql::Stub& sql() { return *sql_; }
  v1::Download::Stub& download() { return *download_; }
  v1::Sampling::Stub& sampling() { return *sampling_; }
  v1::History::Stub& history() { return *history_; }
  const std::string& address() const { return options_.address; }

  // Prints "sluice COMMAND: <what> failed: CODE: message" (naming the address when it
  // could not be reached) and returns the exit code for `status`.
  int Fail(std::string_view what, const grpc::Status& status) const;

 private:
  Connection(ServiceOptions options, std::string_view command)
      : options_(std::move(options)), command_(command) {}

  ServiceOptions options_;
  std::string command_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Ingest::Stub> ingest_;
  std::unique_ptr<v1::Sql::Stub> sql_;
  std::unique_ptr<v1::Download::Stub> download_;
  std::unique_ptr<v1::Sampling::Stub> sampling_;
  std::unique_ptr<v1::History::Stub> history_;
};

}  // namespace sluice::cli
