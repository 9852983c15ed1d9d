#pragma once
// Internal to the PostgreSQL backend: the claim of a node id on a target.
//
// The claim is a session-level advisory lock (pg_try_advisory_lock on a 64-bit hash of
// the node id) held by a dedicated session, one per (target connection, node, owner) in
// the process, shared by every backend of that target (one per stream) through a
// process-wide registry. That way the appliers of one daemon never conflict with each
// other, while a second daemon claiming the same node on the same target fails.
//
// The session's application_name is "sluice-claim <owner> <node key in hex>", which is
// how an abandoned session of the same claim (dropped after a timeout, still alive on the server
// and still holding the lock) is recognised and terminated instead of blocking its own owner.
//
// Thread safety: Acquire() and Check() may be called from any thread.

#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "store/postgres/pg_conn.h"

namespace sluice::store::postgres {

// The advisory-lock key of a node id: FNV-1a 64 of "sluice-node:" + node.
int64_t NodeLockKey(const std::string& node);
// A random token made once per process: the default claim owner.
const std::string& ProcessClaimOwner();

class NodeClaim {
 public:
  // The process's claim of `node` on the target of `options` for `owner`, made (or
  // repaired) now. kFailedPrecondition naming the node when another owner holds it;
  // retryable statuses when the target cannot be reached.
  static Result<std::shared_ptr<NodeClaim>> Acquire(const ConnOptions& options,
                                                    const std::string& target,
                                                    const std::string& node,
                                                    const std::string& owner);
  ~NodeClaim();

  // Makes sure the session is alive and holds the lock; reconnects and claims again when
  // the session was lost (e.g. the server restarted).
  Status Check();

  const std::string& node() const { return node_; }

 private:
  NodeClaim(ConnOptions options, std::string target, std::string node, std::string owner);
  Status ClaimLocked();  // REQUIRES: mu_ held

  const ConnOptions options_;
  const std::string target_;
  const std::string node_;
  const std::string owner_;
  std::mutex mu_;
  std::unique_ptr<PgConn> conn_;  // guarded by mu_
};

}  // namespace sluice::store::postgres
