#include "store/postgres/node_claim.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>
#include <tuple>

#include "common/log.h"
#include "common/wall_clock.h"

namespace sluice::store::postgres {
namespace {

using Clock = std::chrono::steady_clock;

using RegistryKey = std::tuple<std::string, std::string, std::string>;  // conninfo, node, owner

struct Registry {
  std::mutex mu;
  std::map<RegistryKey, std::weak_ptr<NodeClaim>> claims;  // guarded by mu
};

Registry& GetRegistry() {
  static Registry* const registry = new Registry;  // leaked: used until process exit
  return *registry;
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

int64_t NodeLockKey(const std::string& node) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : "sluice-node:" + node) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h);
}

const std::string& ProcessClaimOwner() {
  static const std::string owner = [] {
    std::random_device rd;
    std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                        static_cast<uint64_t>(getpid()));
    return fmt::format("{:016x}", gen());
  }();
  return owner;
}

NodeClaim::NodeClaim(ConnOptions options, std::string target, std::string node, std::string owner)
    : options_(std::move(options)),
      target_(std::move(target)),
      node_(std::move(node)),
      owner_(std::move(owner)) {}

NodeClaim::~NodeClaim() = default;  // closing the session releases the lock

Result<std::shared_ptr<NodeClaim>> NodeClaim::Acquire(const ConnOptions& options,
                                                      const std::string& target,
                                                      const std::string& node,
                                                      const std::string& owner) {
  Registry& registry = GetRegistry();
  std::shared_ptr<NodeClaim> claim;
  {
    std::lock_guard<std::mutex> lock(registry.mu);
    auto& slot = registry.claims[RegistryKey(options.conninfo, node, owner)];
    claim = slot.lock();
    if (!claim) {
      ConnOptions claim_options = options;
      // Names this claim exactly (owner and node), within the 63 bytes PostgreSQL keeps.
      claim_options.application_name = fmt::format("sluice-claim {} {:016x}", owner.substr(0, 32),
                                                   static_cast<uint64_t>(NodeLockKey(node)));
      claim.reset(new NodeClaim(std::move(claim_options), target, node, owner));
      slot = claim;
    }
  }
  SLUICE_RETURN_IF_ERROR(claim->Check());
  return claim;
}

Status NodeClaim::Check() {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn_ && !conn_->broken()) {
    auto ping = conn_->Exec("SELECT 1", "checking the node claim");
    if (ping.ok()) return Status::OK();
    if (!conn_->broken()) return ping.status();
  }
  conn_.reset();
  Status st = ClaimLocked();
  if (!st.ok()) conn_.reset();
  return st;
}

Status NodeClaim::ClaimLocked() {
  SLUICE_ASSIGN_OR_RETURN(conn_, PgConn::Open(options_, target_));
  const std::string context = fmt::format("claiming node '{}'", node_);
  const std::string key = std::to_string(NodeLockKey(node_));
  const std::string try_lock = "SELECT pg_try_advisory_lock(" + key + ")";
  const auto deadline = Clock::now() + options_.io_timeout;
  bool terminated_ghosts = false;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(PgResult res, conn_->Exec(try_lock, context));
    if (res && PQntuples(res.get()) == 1 && PQgetvalue(res.get(), 0, 0)[0] == 't') break;

    // Sessions of this very claim (same owner, same node) other than this one: abandoned
    // by this process after a timeout, still alive on the server, holding the lock. End
    // them and try again.
    SLUICE_ASSIGN_OR_RETURN(
        PgResult ghosts,
        conn_->Exec(fmt::format("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE application_name = {} AND pid <> pg_backend_pid()",
                                conn_->Literal(options_.application_name)),
                    context));
    const bool any_ghost = ghosts && PQntuples(ghosts.get()) > 0;
    if (any_ghost && !terminated_ghosts) {
      SLUICE_LOG_WARN("target '{}': ended {} abandoned claim session(s) of node '{}'", target_,
                      PQntuples(ghosts.get()), node_);
      terminated_ghosts = true;
    }
    if (any_ghost && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    // Another owner: name it for the operator.
    std::string holder = "another process";
    auto who =
        conn_->Exec(fmt::format("SELECT a.pid, coalesce(a.application_name, ''), "
                                "coalesce(host(a.client_addr), 'local') FROM pg_locks l "
                                "JOIN pg_stat_activity a ON a.pid = l.pid "
                                "WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted "
                                "AND ((l.classid::bigint << 32) | l.objid::bigint) = {}",
                                key),
                    context);
    if (who.ok() && *who && PQntuples(who->get()) > 0) {
      holder =
          fmt::format("session pid {} (application '{}', client {})", PQgetvalue(who->get(), 0, 0),
                      PQgetvalue(who->get(), 0, 1), PQgetvalue(who->get(), 0, 2));
    }
    return Status::FailedPrecondition(
        fmt::format("target '{}': node '{}' is already claimed by {}; two daemons must never "
                    "feed a target under one node id",
                    target_, node_, holder));
  }
  // For operators: who holds the node now. Best effort; the lock is what counts.
  auto row = conn_->Exec(
      fmt::format("INSERT INTO sluice_node_lock (node, pid, host, claimed_at) "
                  "VALUES ({}, {}, {}, {}) ON CONFLICT (node) DO UPDATE SET pid = EXCLUDED.pid, "
                  "host = EXCLUDED.host, claimed_at = EXCLUDED.claimed_at",
                  conn_->Literal(node_), getpid(), conn_->Literal(HostName()), NowMicros()),
      context);
  if (!row.ok()) {
    if (conn_->broken()) return row.status();
    SLUICE_LOG_WARN("{}", row.status().ToString());
  }
  return Status::OK();
}

}  // namespace sluice::store::postgres
