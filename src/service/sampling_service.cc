#include "service/sampling_service.h"

#include <set>

#include <fmt/format.h>

#include "rpc/status_mapping.h"
#include "sampling/catalog_sql.h"

namespace sluice::service {
namespace {

using config::TokenRole;

// How long an APPLIED write waits for the catalog to hold it (the follower reads the
// outcome marker that was durable before the answer, so this is milliseconds).
constexpr std::chrono::milliseconds kCatalogWait{10'000};
// Unknown point ids named in an UpdatePoints response.
constexpr int kUnknownIdsShown = 20;

grpc::Status Invalid(std::string message) {
  return rpc::ToGrpcStatus(Status::InvalidArgument(std::move(message)));
}

}  // namespace

grpc::Status SamplingService::WriteChange(grpc::ServerContext* context, v1::CatalogChange change,
                                          const std::string& request_id, std::string_view method,
                                          v1::ExecuteResponse* response,
                                          const ChangeCheck& more_checks) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kSql, method);
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  if (Status s = parts_.catalog->Check(change); !s.ok())
    return rpc::ToGrpcStatus(s.Annotate(method));
  if (more_checks) {
    if (Status s = more_checks(change); !s.ok()) return rpc::ToGrpcStatus(s.Annotate(method));
  }
  auto sql = sampling::CatalogSql(change, parts_.clock->NowUs());
  if (!sql.ok()) return rpc::ToGrpcStatus(sql.status().Annotate(method));
  v1::SyncIntent intent;
  intent.set_kind(v1::SyncIntent::KIND_MODEL);
  *intent.mutable_statement() = std::move(sql).value();
  intent.set_request_id(request_id);
  *intent.mutable_catalog() = std::move(change);
  grpc::Status st = SyncWriteIntent(ctx_, sync_, intent, 0, response);
  if (st.ok() && response->outcome() == v1::OUTCOME_APPLIED &&
      !parts_.follower->WaitDecided(response->lsn(), kCatalogWait)) {
    // Applied in the targets; the daemon's catalog takes it when the follower gets there
    // (its status says why it does not).
    response->set_message(fmt::format("applied; the daemon's catalog does not hold it yet ({})",
                                      parts_.follower->stats().error.empty()
                                          ? "still reading the journal"
                                          : parts_.follower->stats().error));
  }
  return st;
}

grpc::Status SamplingService::PutPoints(grpc::ServerContext* context,
                                        const v1::PutPointsRequest* request,
                                        v1::ExecuteResponse* response) {
  v1::CatalogChange change;
  *change.mutable_put_points() = request->points();
  if (change.put_points_size() == 0) return Invalid("Sampling.PutPoints: no point given");
  // The catalog may not outgrow the point table: a point beyond [sampling] max_points could
  // be defined but never updated. Concurrent puts may pass this together; the table still
  // refuses their updates (UpdatePoints counts them), so the bound stays visible.
  auto within_table = [this](const v1::CatalogChange& c) {
    std::set<int64_t> new_ids;
    for (const v1::CatalogPoint& p : c.put_points()) {
      if (!parts_.catalog->FindPoint(p.id())) new_ids.insert(p.id());
    }
    const size_t have = parts_.catalog->point_count();
    const size_t max = parts_.points->max_points();
    if (have + new_ids.size() <= max) return Status::OK();
    return Status::ResourceExhausted(fmt::format(
        "{} new points would make {} in the catalog, more than the point table holds "
        "([sampling] max_points = {})",
        new_ids.size(), have + new_ids.size(), max));
  };
  return WriteChange(context, std::move(change), request->request_id(), "Sampling.PutPoints",
                     response, within_table);
}

grpc::Status SamplingService::DeletePoints(grpc::ServerContext* context,
                                           const v1::DeletePointsRequest* request,
                                           v1::ExecuteResponse* response) {
  v1::CatalogChange change;
  *change.mutable_delete_points() = request->point_ids();
  if (change.delete_points_size() == 0) return Invalid("Sampling.DeletePoints: no point id given");
  return WriteChange(context, std::move(change), request->request_id(), "Sampling.DeletePoints",
                     response);
}

grpc::Status SamplingService::Define(grpc::ServerContext* context, const v1::DefineRequest* request,
                                     v1::ExecuteResponse* response) {
  if (request->point_ids_size() == 0) return Invalid("Sampling.Define: no point id given");
  if (request->intervals_size() == 0) return Invalid("Sampling.Define: no interval given");
  v1::CatalogChange change;
  for (int64_t id : request->point_ids()) {
    for (int interval : request->intervals()) {
      auto* d = change.add_put_definitions();
      d->set_point_id(id);
      d->set_interval(static_cast<v1::SampleInterval>(interval));
      d->set_mode(request->mode());
      d->set_enabled(request->has_enabled() ? request->enabled() : true);
    }
  }
  return WriteChange(context, std::move(change), request->request_id(), "Sampling.Define",
                     response);
}

grpc::Status SamplingService::Undefine(grpc::ServerContext* context,
                                       const v1::UndefineRequest* request,
                                       v1::ExecuteResponse* response) {
  if (request->point_ids_size() == 0) return Invalid("Sampling.Undefine: no point id given");
  v1::CatalogChange change;
  const std::set<int64_t> ids(request->point_ids().begin(), request->point_ids().end());
  if (request->intervals_size() == 0) {
    // Every definition of the points.
    for (const auto& d : parts_.catalog->Definitions()) {
      if (ids.contains(d.point_id))
        *change.add_delete_definitions() = sampling::DefinitionToProto(d);
    }
    if (change.delete_definitions_size() == 0) {
      return Invalid(
          fmt::format("Sampling.Undefine: the points given ({}) have no definition", ids.size()));
    }
  } else {
    for (int64_t id : request->point_ids()) {
      for (int interval : request->intervals()) {
        auto* d = change.add_delete_definitions();
        d->set_point_id(id);
        d->set_interval(static_cast<v1::SampleInterval>(interval));
      }
    }
  }
  return WriteChange(context, std::move(change), request->request_id(), "Sampling.Undefine",
                     response);
}

grpc::Status SamplingService::ListPoints(grpc::ServerContext* context,
                                         const v1::ListPointsRequest* request,
                                         v1::ListPointsResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kRead, "Sampling.ListPoints");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  if (request->point_ids_size() == 0) {
    for (const auto& p : parts_.catalog->Points())
      *response->add_points() = sampling::PointToProto(p);
    return grpc::Status::OK;
  }
  for (int64_t id : request->point_ids()) {
    auto p = parts_.catalog->FindPoint(id);
    if (!p)
      return rpc::ToGrpcStatus(
          Status::NotFound(fmt::format("Sampling.ListPoints: no point {}", id)));
    *response->add_points() = sampling::PointToProto(*p);
  }
  return grpc::Status::OK;
}

grpc::Status SamplingService::ListDefinitions(grpc::ServerContext* context,
                                              const v1::ListDefinitionsRequest* request,
                                              v1::ListDefinitionsResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kRead, "Sampling.ListDefinitions");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  const std::set<int64_t> ids(request->point_ids().begin(), request->point_ids().end());
  for (const auto& d : parts_.catalog->Definitions()) {
    if (ids.empty() || ids.contains(d.point_id))
      *response->add_definitions() = sampling::DefinitionToProto(d);
  }
  return grpc::Status::OK;
}

grpc::Status SamplingService::UpdatePoints(grpc::ServerContext* context,
                                           grpc::ServerReader<v1::PointUpdate>* reader,
                                           v1::UpdatePointsResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kIngest, "Sampling.UpdatePoints");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  v1::PointUpdate msg;
  uint64_t message_index = 0;
  Status full;
  while (reader->Read(&msg)) {
    ++message_index;
    const int n = msg.point_id_size();
    if (msg.value_size() != n || (msg.quality_size() != 0 && msg.quality_size() != n) ||
        (msg.source_us_size() != 0 && msg.source_us_size() != n)) {
      return Invalid(
          fmt::format("Sampling.UpdatePoints: message {} has {} point ids, {} values, {} qualities "
                      "and {} source times; "
                      "values must match the ids, qualities and source times too unless left empty "
                      "({} updates taken "
                      "before it)",
                      message_index, n, msg.value_size(), msg.quality_size(), msg.source_us_size(),
                      response->updated()));
    }
    // One clock reading and one catalog view per message: millions of updates a second.
    const int64_t now_us = parts_.clock->NowUs();
    const auto known = parts_.catalog->KnownPoints();
    for (int i = 0; i < n; ++i) {
      const int64_t id = msg.point_id(i);
      if (!known->contains(id)) {
        response->set_unknown(response->unknown() + 1);
        if (response->unknown_point_ids_size() < kUnknownIdsShown)
          response->add_unknown_point_ids(id);
        continue;
      }
      sampling::PointValue v;
      v.value = msg.value(i);
      v.quality = msg.quality_size() == 0 ? 0 : msg.quality(i);
      v.source_us = msg.source_us_size() == 0 ? now_us : msg.source_us(i);
      v.updated_us = now_us;
      Status s = parts_.points->Update(id, v);
      if (!s.ok()) {
        response->set_refused_full(response->refused_full() + 1);
        if (full.ok()) full = s;
        continue;
      }
      response->set_updated(response->updated() + 1);
    }
  }
  std::string summary = fmt::format("{} updates taken", response->updated());
  if (response->unknown() > 0) {
    summary += fmt::format(", {} of points not in the catalog (ignored)", response->unknown());
  }
  if (response->refused_full() > 0) {
    summary += fmt::format(", {} refused: {}", response->refused_full(), full.message());
    response->set_message(summary);
    return rpc::ToGrpcStatus(
        Status::ResourceExhausted(fmt::format("Sampling.UpdatePoints: {}", summary)));
  }
  response->set_message(summary);
  return grpc::Status::OK;
}

}  // namespace sluice::service
