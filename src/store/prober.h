#pragma once
// A health probe of one target: a connection of its own, apart from the appliers', that
// answers two questions for the failover monitor (src/cluster/health_monitor.h):
//
//  - Probe(): does the target answer a trivial query within the timeout? Connects first
//    when there is no connection.
//  - WaitForBreak(): between probes, did the connection break? A server that dies closes
//    its sessions at once, so watching the idle connection's socket sees a crash within
//    milliseconds instead of at the next periodic probe.
//
// Thread safety: one thread at a time, except Interrupt().

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::store {

class Prober {
 public:
  virtual ~Prober() = default;
  // Connects if needed, then runs a trivial query; the whole call is bounded by
  // `timeout`. kDeadlineExceeded when the server did not answer in time (it may hang),
  // another retryable error when it refused or broke the connection. Either way the
  // connection is dropped and the next Probe() reconnects.
  virtual Status Probe(std::chrono::milliseconds timeout) = 0;
  // Returns OK after `wait` when nothing happened, early with an error when the
  // connection broke (the connection is then dropped). Without a connection it just
  // waits.
  virtual Status WaitForBreak(std::chrono::milliseconds wait) = 0;
  virtual bool connected() const = 0;
  // From any thread, when the monitor stops: a Probe() or WaitForBreak() in progress
  // returns soon instead of waiting out the probe timeout on a server that does not
  // answer, and so does every later call. Default: nothing to cut short.
  virtual void Interrupt() {}
};

// A prober for a target of `dialect` ("sqlite" or "postgres") at `connection` (file path
// or libpq conninfo); `name` is the target's, for messages.
Result<std::unique_ptr<Prober>> NewProber(std::string_view dialect, std::string name,
                                          std::string connection);

}  // namespace sluice::store
