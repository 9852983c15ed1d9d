#include "service/history_service.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "history/query.h"
#include "rpc/status_mapping.h"
#include "service/pending_samples.h"

namespace sluice::service {
namespace {

using config::TokenRole;

// Pending samples one query may gather from the journal (each a few dozen bytes).
constexpr size_t kMaxPendingSamples = 2'000'000;

// What every read needs before it asks the library.
struct ReadSetup {
  Admission admission;
  std::string active;
  std::optional<ReadPool::Lease> lease;
  std::vector<history::PointInfo> points;  // in the order of range.point_ids
  std::optional<history::PendingSamples> pending;
};

// Admits the caller, resolves the points from the catalog (an unknown one is refused,
// naming it), leases a connection to the active target, and gathers the pending samples
// when asked.
Result<ReadSetup> Prepare(const ServiceContext& ctx, const SyncServices& sync,
                          const sampling::Catalog* catalog, const grpc::ServerContext& call,
                          const v1::HistoryRange& range, std::string_view method) {
  SLUICE_ASSIGN_OR_RETURN(Admission admission, AdmitCall(ctx, call, TokenRole::kRead, method));
  ReadSetup setup{std::move(admission), {}, std::nullopt, {}, std::nullopt};
  std::vector<int64_t> unknown;
  for (int64_t id : range.point_ids()) {
    std::optional<sampling::Point> p = catalog ? catalog->FindPoint(id) : std::nullopt;
    if (!p) {
      unknown.push_back(id);
      continue;
    }
    history::PointInfo info;
    info.point_id = id;
    info.stepped = p->kind == sampling::PointKind::kStatus;
    info.high = p->limits.hi;
    info.low = p->limits.lo;
    setup.points.push_back(info);
  }
  if (!unknown.empty()) {
    const size_t shown = std::min<size_t>(unknown.size(), 10);
    return Status::NotFound(fmt::format(
        "{}: point{} {}{} {} not in the catalog", method, unknown.size() > 1 ? "s" : "",
        fmt::join(unknown.begin(), unknown.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
        unknown.size() > shown ? fmt::format(" and {} more", unknown.size() - shown) : "",
        unknown.size() > 1 ? "are" : "is"));
  }
  SLUICE_ASSIGN_OR_RETURN(setup.active, ctx.cluster->WaitActive());
  auto lease = sync.reads->Acquire(setup.active);
  if (!lease.ok()) return lease.status().WithRetryable(true).Annotate(method);
  setup.lease.emplace(std::move(lease).value());
  if (range.include_pending()) {
    // Before the stored rows are read (pending_samples.h): a record applied in between
    // is then in both, and the pending copy wins.
    auto pending = CollectPendingSamples(
        ctx, **setup.lease, range.interval(),
        std::span<const int64_t>(range.point_ids().data(), static_cast<size_t>(range.point_ids_size())),
        range.start_us(), range.end_us(), kMaxPendingSamples);
    if (!pending.ok()) return pending.status().Annotate(method);
    setup.pending = std::move(pending).value();
  }
  return setup;
}

// Runs `read` on the setup, mapping errors (a broken connection is not reused).
template <typename Read>
grpc::Status Run(Result<ReadSetup> setup, std::string_view method, Read read) {
  if (!setup.ok()) return rpc::ToGrpcStatus(setup.status());
  const history::PendingSamples* pending = setup->pending ? &*setup->pending : nullptr;
  Status s = read(**setup->lease, std::span<const history::PointInfo>(setup->points), pending);
  if (!s.ok()) {
    if (s.retryable()) setup->lease->Discard();
    return rpc::ToGrpcStatus(s.Annotate(method));
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status HistoryService::ReadRaw(grpc::ServerContext* context, const v1::ReadRawRequest* request,
                                     v1::ReadRawResponse* response) {
  constexpr std::string_view kMethod = "History.ReadRaw";
  return Run(Prepare(ctx_, sync_, catalog_, *context, request->range(), kMethod), kMethod,
             [&](store::Backend& db, std::span<const history::PointInfo>,
                 const history::PendingSamples* pending) {
               return history::ReadRaw(db, *request, pending, history::QueryLimits(), response);
             });
}

grpc::Status HistoryService::ReadInterpolated(grpc::ServerContext* context,
                                              const v1::ReadInterpolatedRequest* request,
                                              v1::ReadAggregatesResponse* response) {
  constexpr std::string_view kMethod = "History.ReadInterpolated";
  return Run(Prepare(ctx_, sync_, catalog_, *context, request->range(), kMethod), kMethod,
             [&](store::Backend& db, std::span<const history::PointInfo> points,
                 const history::PendingSamples* pending) {
               return history::ReadInterpolated(db, *request, points, pending,
                                                history::QueryLimits(), response);
             });
}

grpc::Status HistoryService::ReadAggregates(grpc::ServerContext* context,
                                            const v1::ReadAggregatesRequest* request,
                                            v1::ReadAggregatesResponse* response) {
  constexpr std::string_view kMethod = "History.ReadAggregates";
  return Run(Prepare(ctx_, sync_, catalog_, *context, request->range(), kMethod), kMethod,
             [&](store::Backend& db, std::span<const history::PointInfo> points,
                 const history::PendingSamples* pending) {
               return history::ReadAggregates(db, *request, points, pending,
                                              history::QueryLimits(), response);
             });
}

grpc::Status HistoryService::ReadLimitStats(grpc::ServerContext* context,
                                            const v1::ReadLimitStatsRequest* request,
                                            v1::ReadLimitStatsResponse* response) {
  constexpr std::string_view kMethod = "History.ReadLimitStats";
  return Run(Prepare(ctx_, sync_, catalog_, *context, request->range(), kMethod), kMethod,
             [&](store::Backend& db, std::span<const history::PointInfo> points,
                 const history::PendingSamples* pending) {
               return history::ReadLimitStats(db, *request, points, pending,
                                              history::QueryLimits(), response);
             });
}

}  // namespace sluice::service
