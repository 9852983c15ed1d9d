#pragma once
// The client's view of the service's addresses (the old net_pathing: one address per
// network). One gRPC channel per address, created at open and kept; calls start from the
// address that answered last and move on when an address cannot be reached.
//
// Thread safety: all methods are safe from any thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "rpc/status_mapping.h"
#include "sluice/client.h"
#include "sluice/v1/service.grpc.pb.h"

namespace sluice::client {

struct Endpoint {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Ingest::Stub> ingest;
  std::unique_ptr<v1::Sql::Stub> sql;
  std::unique_ptr<v1::Model::Stub> model;
  std::unique_ptr<v1::Download::Stub> download;
  std::unique_ptr<v1::Sampling::Stub> sampling;
  std::unique_ptr<v1::History::Stub> history;
};

// How an attempt on one address ended, for the caller's decision to try the next.
enum class Reach {
  kAnswered,   // the service answered (OK or a refusal): do not try another address
  kNotSent,    // the address could not be reached; the request was never sent
  kMaybeSent,  // the call failed after it was sent (UNAVAILABLE, DEADLINE_EXCEEDED)
};

// The N of a FAILED_PRECONDITION "... expected sequence N ..." answer, or 0.
uint64_t ExpectedSequence(const grpc::Status& status);

// How the service refused a call before journaling anything, when it says so with
// UNAVAILABLE (which otherwise may also mean a connection lost after the request left).
enum class Refusal {
  kNone,
  kPaused,        // "service paused (STATE)": no active target; the same on every address
  kShuttingDown,  // "sluiced is shutting down": another address may take it
};
Refusal RefusedBeforeJournal(const grpc::Status& status);

class Connections {
 public:
  static Result<std::unique_ptr<Connections>> Create(const ClientOptions& options);

  size_t size() const { return endpoints_.size(); }
  Endpoint& endpoint(size_t i) { return *endpoints_[i]; }
  // Index of the address calls start from.
  size_t preferred() const { return preferred_.load(std::memory_order_relaxed); }
  void MarkGood(size_t i) { preferred_.store(i, std::memory_order_relaxed); }
  // The addresses in the order a call tries them: from the preferred one, wrapping.
  std::vector<size_t> Order() const;

  // Waits until endpoint i is connected, for at most the connect timeout. False when it
  // cannot be reached (a connection attempt failed, or the timeout passed).
  bool Connect(size_t i);

  // A context with the token and a deadline `timeout` from now (none when zero).
  std::unique_ptr<grpc::ClientContext> NewContext(std::chrono::milliseconds timeout);
  // Registers a context of a long call (Watch, Download) so that CancelAll cancels it.
  void Register(grpc::ClientContext* context);
  void Unregister(grpc::ClientContext* context);
  void CancelAll();
  // CancelAll(), and Connect() fails from now on (the client is closing).
  void Shutdown();

  // Classifies a finished attempt: whether the service answered it.
  static Reach Classify(const grpc::Status& status);

  const ClientOptions& options() const { return options_; }

 private:
  explicit Connections(const ClientOptions& options) : options_(options) {}

  const ClientOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> preferred_{0};
  std::atomic<bool> shutdown_{false};

  std::mutex mu_;
  std::set<grpc::ClientContext*> live_;  // guarded by mu_
};

}  // namespace sluice::client
