// Admin.Verify: the consistency check between targets (verify/verifier.h,
// docs/verify.md). Every enabled target is read through a read connection of its own
// from the read pool, never through its applier's, so the check does not disturb
// replication; the reference is the active target. The call's cancellation stops the
// check: between queries, and a query in progress is interrupted (PostgreSQL) and its
// connection dropped rather than returned to the pool.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/log.h"
#include "rpc/status_mapping.h"
#include "service/admin_service.h"
#include "service/read_pool.h"
#include "verify/request_options.h"
#include "verify/verifier.h"

namespace sluice::service {
namespace {

using SluiceStatus = ::sluice::Status;

// Calls Interrupt() on `backends` once the call is cancelled; stops with the object.
class CancelWatch {
 public:
  CancelWatch(grpc::ServerContext* call, std::vector<store::Backend*> backends)
      : call_(call), backends_(std::move(backends)), thread_([this] { Watch(); }) {}
  ~CancelWatch() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool cancelled() const { return cancelled_.load(); }

 private:
  void Watch() {
    std::unique_lock lk(mu_);
    // gRPC has no wait for cancellation on a synchronous call: poll it.
    while (!cv_.wait_for(lk, std::chrono::milliseconds(50), [this] { return done_; })) {
      if (call_->IsCancelled()) {
        cancelled_ = true;
        for (store::Backend* b : backends_) b->Interrupt();
        return;
      }
    }
  }

  grpc::ServerContext* call_;
  std::vector<store::Backend*> backends_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace

grpc::Status AdminService::Verify(grpc::ServerContext* context, const v1::VerifyRequest* request,
                                  grpc::ServerWriter<v1::VerifyResponse>* writer) {
  auto caller = AdmitCall(ctx_, *context, config::TokenRole::kAdmin, "Admin.Verify");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  auto options = verify::OptionsFromRequest(*request);
  if (!options.ok()) return rpc::ToGrpcStatus(options.status());

  // The targets: those named, or every enabled one; the active target first (the
  // reference) when it is among them.
  const v1::StatusResponse status = BuildStatus();
  std::vector<std::string> names;
  std::vector<std::string> skipped;
  std::map<std::string, uint64_t> lag;
  std::set<std::string> named(request->targets().begin(), request->targets().end());
  for (const std::string& name : named) {
    bool known = false;
    for (const auto& t : status.targets()) known = known || t.name() == name;
    if (!known) {
      std::vector<std::string> all;
      for (const auto& t : status.targets()) all.push_back(t.name());
      return rpc::ToGrpcStatus(SluiceStatus::NotFound(fmt::format(
          "verify: no target '{}' (targets: {})", name, fmt::join(all, ", "))));
    }
  }
  for (const auto& t : status.targets()) {
    if (!named.empty() && !named.contains(t.name())) continue;
    if (named.empty() && !t.enabled()) {
      skipped.push_back(fmt::format("target '{}': disabled", t.name()));
      continue;
    }
    lag[t.name()] = t.lag_records();
    names.push_back(t.name());
  }
  if (names.size() < 2) {
    return rpc::ToGrpcStatus(SluiceStatus::FailedPrecondition(fmt::format(
        "verify: {} {}target{} to compare; a check needs at least two", names.size(),
        named.empty() ? "enabled " : "", names.size() == 1 ? "" : "s")));
  }
  // The reference goes first: the active target, else the first named, else the first.
  const bool active_in = std::find(names.begin(), names.end(), status.active_target()) != names.end();
  const std::string reference = active_in        ? status.active_target()
                                : named.empty() ? names.front()
                                                : request->targets(0);
  auto first = std::find(names.begin(), names.end(), reference);
  std::rotate(names.begin(), first, first + 1);
  std::vector<ReadPool::Lease> leases;
  std::vector<verify::VerifyTarget> targets;
  for (const std::string& name : names) {
    auto lease = ctx_.reads->Acquire(name);
    if (!lease.ok()) return rpc::ToGrpcStatus(lease.status().Annotate("verify"));
    leases.push_back(std::move(lease).value());
  }
  std::vector<store::Backend*> backends;
  for (size_t i = 0; i < names.size(); ++i) {
    targets.push_back({names[i], &*leases[i]});
    backends.push_back(&*leases[i]);
  }
  SLUICE_LOG_INFO("operator ({}): verify {} table(s) on {}", caller->caller.name,
                  options->tables.size(), fmt::join(names, ", "));

  bool cancelled = false;
  Result<v1::VerifySummary> summary = [&] {
    CancelWatch watch(context, backends);
    auto result = verify::RunVerify(
        targets, *options, [&](const v1::VerifyResponse& r) { return writer->Write(r); },
        [&] { return watch.cancelled() || context->IsCancelled(); });
    cancelled = watch.cancelled() || context->IsCancelled();
    return result;
  }();
  if (cancelled || !summary.ok()) {
    // An interrupted or failed connection is not given back to the pool.
    for (auto& lease : leases) lease.Discard();
  }
  if (cancelled) {
    SLUICE_LOG_INFO("verify cancelled by the caller ({})", caller->caller.name);
    return grpc::Status(grpc::StatusCode::CANCELLED, "verify: cancelled");
  }
  if (!summary.ok()) {
    SLUICE_LOG_WARN("verify failed: {}", summary.status().ToString());
    return rpc::ToGrpcStatus(summary.status());
  }
  SLUICE_LOG_INFO("verify done: {} of {} bucket(s) differ", summary->differing_buckets(),
                  summary->buckets());

  if (request->tables().empty()) {
    for (const auto& s : verify::SkippedTables()) {
      summary->add_skipped(fmt::format("table {}: {}", s.name, s.why));
    }
  }
  for (const std::string& s : skipped) summary->add_skipped(s);
  for (const auto& [name, records] : lag) (*summary->mutable_lag_records())[name] = records;
  v1::VerifyResponse last;
  *last.mutable_summary() = std::move(summary).value();
  writer->Write(last);
  return grpc::Status::OK;
}

}  // namespace sluice::service
