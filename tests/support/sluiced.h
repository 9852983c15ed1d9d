#pragma once
// The one `sluiced` child-process harness of the tests and the benchmarks: the config in
// DIR/sluiced.toml, the log in DIR/sluiced.log, listening on loopback ports; started,
// waited for (listening, or a condition on its Admin.Status), signalled (SIGKILL,
// SIGSTOP, SIGCONT, SIGTERM), restarted, and SIGKILLed when the object goes. What the
// config says is the caller's (support/config_builder.h writes one).
//
// No gtest in here (the benchmark uses it): errors are Status values. The gtest harness
// with the test configs and stubs is support/daemon.h.
//
// Thread safety: Start/Stop/Kill/... from one thread at a time; AdminStatus and the
// waits on it may be called from any thread.

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/v1/service.grpc.pb.h"
#include "support/child_process.h"

namespace sluice::testing {

// A channel to `address`, opened the project's one way (rpc::NewChannel): TLS verified
// against `ca_file` when one is named, else plain text. When the CA file cannot be read,
// TLS against the system's roots, so that every call fails verification instead of the
// caller getting no channel.
std::shared_ptr<grpc::Channel> OpenChannel(const std::string& address, const std::string& ca_file = "");

class Sluiced {
 public:
  // The binary to run and the directory of its config and log. `ports`: the loopback
  // ports it listens on (what the config must say); empty: one free port.
  Sluiced(std::string binary, std::string dir, std::vector<int> ports = {});
  virtual ~Sluiced() = default;
  Sluiced(const Sluiced&) = delete;
  Sluiced& operator=(const Sluiced&) = delete;

  int port(size_t i = 0) const { return ports_.at(i); }
  const std::vector<int>& ports() const { return ports_; }
  // "127.0.0.1:PORT" of port i.
  std::string address(size_t i = 0) const;
  const std::string& dir() const { return dir_; }
  std::string config_path() const;
  std::string log_path() const;

  // Replaces the config file.
  Status WriteConfig(const std::string& toml) const;
  // How the harness's own Admin calls reach the service: a bearer token (empty: none)
  // and, for TLS, the CA file (PEM) to verify it against (empty: plain text).
  void SetClientCredentials(std::string token, std::string ca_file = "");
  // The child dies with the thread that starts it (benchmarks: never outlive them).
  void set_die_with_parent(bool on) { die_with_parent_ = on; }

  // Starts sluiced with `env` (support/child_process.h) without waiting for anything.
  // REQUIRES: not running. Stop or Kill, then Start again, is a restart.
  Status Start(const ChildEnv& env = {});
  // Waits until every port accepts connections; fails when sluiced exits first.
  Status WaitListening(std::chrono::milliseconds timeout);
  // Waits until Admin.Status answers and `ready` holds for the answer; fails when sluiced
  // exits first or the time is up, naming the last status and the log's tail.
  Status WaitReady(const std::function<bool(const v1::StatusResponse&)>& ready,
                   std::chrono::milliseconds timeout);

  // SIGTERM, then SIGKILL when it has not exited within `timeout`; an exit status other
  // than 0 is an error. OK when it is not running.
  Status Stop(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Sends `sig` and waits for the exit (SIGKILLed after `timeout`): ExitCode() of the
  // exit, -1 on timeout or when nothing was started. Not for SIGSTOP/SIGCONT: Signal().
  int Kill(int sig = SIGKILL, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Sends `sig` without waiting (SIGSTOP, SIGCONT, ...).
  Status Signal(int sig) { return process_.Signal(sig); }
  // Waits up to `timeout` for sluiced to exit by itself (a fail point's crash); its wait
  // status, or -1 when it is still running.
  int WaitExit(std::chrono::milliseconds timeout) { return process_.WaitExit(timeout); }
  bool running() { return process_.running(); }
  pid_t pid() const { return process_.pid(); }
  ChildProcess& process() { return process_; }
  std::string LogTail(size_t max_bytes = 6000) const;

  // Admin.Status through the first address.
  Result<v1::StatusResponse> AdminStatus(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // The head LSN of `stream` in the service's journal (how many records it admitted).
  Result<uint64_t> HeadLsn(const std::string& stream) const;
  // Waits until every applier of `stream` has applied the head of its journal.
  Status WaitApplied(const std::string& stream, std::chrono::milliseconds timeout) const;

 private:
  std::shared_ptr<grpc::Channel> Channel() const;

  const std::string binary_;
  const std::string dir_;
  std::vector<int> ports_;
  bool die_with_parent_ = false;
  ChildProcess process_;

  mutable std::mutex mu_;  // guards the client side below
  std::string token_;
  std::string ca_file_;
  // Dropped after a failed call: a failed channel waits out its reconnect backoff, a
  // fresh one connects at once (a restarted sluiced answers sooner).
  mutable std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace sluice::testing
