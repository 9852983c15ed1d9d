#pragma once
// Loopback ports and polling with a deadline, for tests and benchmarks that run servers
// (sluiced, gRPC fakes). No gtest in here: the benchmark uses it too.
//
// Thread safety: free functions without shared state.

#include <chrono>
#include <functional>

namespace sluice::testing {

// A loopback TCP port that was free a moment ago (bound to port 0, read back, released);
// 0 when none could be had. Connections to it are refused until someone listens on it.
int FreePort();

// True when something accepts a TCP connection on the loopback `port`.
bool PortAccepts(int port);

// Polls `done` every `poll` until it holds or `timeout` passes; then asks once more, so
// that a condition met at the deadline counts.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds timeout = std::chrono::seconds(60),
             std::chrono::milliseconds poll = std::chrono::milliseconds(20));

}  // namespace sluice::testing
