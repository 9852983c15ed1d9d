#pragma once
// sluiced's node across reloads of its config file (docs/reload.md). A reload, asked by
// SIGHUP or by Admin.ReloadConfig, is planned and recorded by the running node
// (Node::ClaimReload); this class then shuts the node down cleanly and opens
// it again, in the same process, with the new config. Every part is built from one config
// and never changes under a running thread, which is what keeps a reload as safe as a
// restart: nothing acknowledged is lost, and clients see UNAVAILABLE for the moment it
// takes (their library retries and de-duplication drops repeats).
//
// When the new config cannot be opened (a database directory that cannot be made, a port
// taken), the running config is opened again and the failure is logged and journaled.
// A file that has not changed only reopens the log file (for log rotation).
//
// Thread safety: Start, Reload and Shutdown from the daemon's main thread; the reload
// handed over by Admin.ReloadConfig comes from a gRPC thread (Hand).

#include <memory>
#include <mutex>
#include <optional>

#include "daemon/node.h"

namespace sluice::daemon {

class ReloadingNode {
 public:
  // `on_handed` is called (from a gRPC thread) when Admin.ReloadConfig hands over a
  // reload; the daemon wakes its main thread, which calls Reload().
  ReloadingNode(NodeOptions options, std::function<void()> on_handed);

  // Opens and starts the node.
  Status Start(config::Config config);
  // Applies the reload handed over by Admin.ReloadConfig, or else plans one from the file
  // (SIGHUP). A refused or failed reload leaves the running config running and returns
  // why; running() is false only when not even the running config could be opened again.
  Status Reload();
  Status Shutdown();
  bool running() const { return node_ != nullptr; }
  Node* node() { return node_.get(); }

 private:
  Status OpenAndStart(config::Config config);

  NodeOptions options_;
  std::function<void()> on_handed_;
  std::unique_ptr<Node> node_;
  std::mutex mu_;
  std::optional<ReloadPlan> handed_;  // guarded by mu_
};

}  // namespace sluice::daemon
