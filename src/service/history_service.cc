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
  std::string active;
  std::optional<ReadPool::Lease> lease;
  std::vector<history::PointInfo> points;  // in the order of range.point_ids
  std::optional<history::PendingSamples> pending;
};

// Resolves the points from the catalog (an unknown one is refused, naming it), leases a
// connection to the active target, and gathers the pending samples when asked. The
// caller was admitted before (a gRPC call by AdmitCall, an HTTP request by its bearer
// token and the call gate).
Result<ReadSetup> Prepare(const ServiceContext& ctx, const SyncServices& sync,
                          const sampling::Catalog* catalog, const v1::HistoryRange& range,
                          std::string_view method) {
  ReadSetup setup;
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
Status Run(Result<ReadSetup> setup, std::string_view method, Read read) {
  if (!setup.ok()) return setup.status();
  const history::PendingSamples* pending = setup->pending ? &*setup->pending : nullptr;
  Status s = read(**setup->lease, std::span<const history::PointInfo>(setup->points), pending);
  if (!s.ok()) {
    if (s.retryable()) setup->lease->Discard();
    return s.Annotate(method);
  }
  return Status::OK();
}

// A gRPC method: admitted with role "read", then `query`.
template <typename Query>
grpc::Status Serve(const ServiceContext& ctx, const grpc::ServerContext& call,
                   std::string_view method, Query query) {
  auto admission = AdmitCall(ctx, call, TokenRole::kRead, method);
  if (!admission.ok()) return rpc::ToGrpcStatus(admission.status());
  return rpc::ToGrpcStatus(query());
}

// An HTTP request: its token was checked by the endpoint; the call gate still refuses it
// while sluiced shuts down, as it refuses a gRPC call.
template <typename Query>
Status ServeChecked(const ServiceContext& ctx, std::string_view method, Query query) {
  CallGate::Pass pass = ctx.gate->Enter();
  if (!pass) {
    return Status::Unavailable(fmt::format("{}: sluiced is shutting down", method));
  }
  return query();
}

}  // namespace

Status HistoryService::RunReadRaw(const v1::ReadRawRequest& request,
                                  v1::ReadRawResponse* response) {
  constexpr std::string_view kMethod = "History.ReadRaw";
  return Run(Prepare(ctx_, sync_, catalog_, request.range(), kMethod), kMethod,
             [&](store::Backend& db, std::span<const history::PointInfo>,
                 const history::PendingSamples* pending) {
               return history::ReadRaw(db, request, pending, history::QueryLimits(), response);
             });
}

Status HistoryService::RunReadAggregates(const v1::ReadAggregatesRequest& request,
                                         v1::ReadAggregatesResponse* response) {
  constexpr std::string_view kMethod = "History.ReadAggregates";
  return Run(Prepare(ctx_, sync_, catalog_, request.range(), kMethod), kMethod,
             [&](store::Backend& db, std::span<const history::PointInfo> points,
                 const history::PendingSamples* pending) {
               return history::ReadAggregates(db, request, points, pending,
                                              history::QueryLimits(), response);
             });
}

grpc::Status HistoryService::ReadRaw(grpc::ServerContext* context, const v1::ReadRawRequest* request,
                                     v1::ReadRawResponse* response) {
  return Serve(ctx_, *context, "History.ReadRaw",
               [&] { return RunReadRaw(*request, response); });
}

grpc::Status HistoryService::ReadInterpolated(grpc::ServerContext* context,
                                              const v1::ReadInterpolatedRequest* request,
                                              v1::ReadAggregatesResponse* response) {
  constexpr std::string_view kMethod = "History.ReadInterpolated";
  return Serve(ctx_, *context, kMethod, [&] {
    return Run(Prepare(ctx_, sync_, catalog_, request->range(), kMethod), kMethod,
               [&](store::Backend& db, std::span<const history::PointInfo> points,
                   const history::PendingSamples* pending) {
                 return history::ReadInterpolated(db, *request, points, pending,
                                                  history::QueryLimits(), response);
               });
  });
}

grpc::Status HistoryService::ReadAggregates(grpc::ServerContext* context,
                                            const v1::ReadAggregatesRequest* request,
                                            v1::ReadAggregatesResponse* response) {
  return Serve(ctx_, *context, "History.ReadAggregates",
               [&] { return RunReadAggregates(*request, response); });
}

grpc::Status HistoryService::ReadLimitStats(grpc::ServerContext* context,
                                            const v1::ReadLimitStatsRequest* request,
                                            v1::ReadLimitStatsResponse* response) {
  constexpr std::string_view kMethod = "History.ReadLimitStats";
  return Serve(ctx_, *context, kMethod, [&] {
    return Run(Prepare(ctx_, sync_, catalog_, request->range(), kMethod), kMethod,
               [&](store::Backend& db, std::span<const history::PointInfo> points,
                   const history::PendingSamples* pending) {
                 return history::ReadLimitStats(db, *request, points, pending,
                                                history::QueryLimits(), response);
               });
  });
}

Status HistoryService::ReadRawChecked(const v1::ReadRawRequest& request,
                                      v1::ReadRawResponse* response) {
  return ServeChecked(ctx_, "History.ReadRaw", [&] { return RunReadRaw(request, response); });
}

Status HistoryService::ReadAggregatesChecked(const v1::ReadAggregatesRequest& request,
                                             v1::ReadAggregatesResponse* response) {
  return ServeChecked(ctx_, "History.ReadAggregates",
                      [&] { return RunReadAggregates(request, response); });
}

std::optional<sampling::Point> HistoryService::FindPoint(int64_t point_id) const {
  return catalog_ ? catalog_->FindPoint(point_id) : std::nullopt;
}

}  // namespace sluice::service
