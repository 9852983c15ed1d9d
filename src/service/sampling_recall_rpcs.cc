// The recall methods of the Sampling service (declared in sampling_service.h): recall
// definitions written through the catalog's synchronous write path, listed with what the
// node's recall windows hold, and triggered.
//
// Thread safety: as SamplingService, called from many gRPC threads at once; the catalog
// and the recall windows lock for themselves.

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rpc/status_mapping.h"
#include "sampling/catalog.h"
#include "sampling/recall_validate.h"
#include "service/sampling_service.h"

namespace sluice::service {
namespace {

using config::TokenRole;

grpc::Status InvalidRecall(std::string message) {
  return rpc::ToGrpcStatus(Status::InvalidArgument(std::move(message)));
}

// The catalog's recall definitions as they would be after `change` (puts upsert by id).
std::vector<sampling::RecallDefinition> RecallsAfter(const sampling::Catalog& catalog,
                                                     const v1::CatalogChange& change) {
  std::map<int64_t, sampling::RecallDefinition> by_id;
  for (sampling::RecallDefinition& r : catalog.Recalls()) by_id[r.id] = std::move(r);
  for (const v1::CatalogRecall& r : change.put_recalls())
    by_id[r.id()] = sampling::RecallFromProto(r);
  std::vector<sampling::RecallDefinition> out;
  out.reserve(by_id.size());
  for (auto& [id, r] : by_id) out.push_back(std::move(r));
  return out;
}

}  // namespace

grpc::Status SamplingService::PutRecalls(grpc::ServerContext* context,
                                         const v1::PutRecallsRequest* request,
                                         v1::ExecuteResponse* response) {
  constexpr std::string_view kMethod = "Sampling.PutRecalls";
  if (request->recalls_size() == 0)
    return InvalidRecall("Sampling.PutRecalls: no recall definition given");
  v1::CatalogChange change;
  *change.mutable_put_recalls() = request->recalls();
  // After the catalog's checks (they name the entry): the whole set as the node's recall
  // windows will take it (limits of the points, the rings' memory bound), so that a change
  // the windows would refuse is never journaled.
  auto windows_take_it = [this](const v1::CatalogChange& c) {
    const std::vector<sampling::RecallDefinition> after = RecallsAfter(*parts_.catalog, c);
    sampling::LimitsByPoint limits;
    for (const sampling::Point& p : parts_.catalog->Points()) limits.emplace(p.id, p.limits);
    SLUICE_RETURN_IF_ERROR(sampling::ValidateRecallDefinitions(after, limits));
    if (parts_.recall == nullptr) return Status::OK();
    size_t ring_values = 0;
    for (const sampling::RecallDefinition& r : after)
      ring_values += r.point_ids.size() * static_cast<size_t>(sampling::RecallRingSamples(r));
    const size_t bound = parts_.recall->MaxRecallRingValues();
    if (ring_values <= bound) return Status::OK();
    return Status::InvalidArgument(fmt::format(
        "with these definitions the recall rings would hold {} values (points x (before_us / "
        "period_us + 1), summed over every recall definition), more than the node's bound of {}",
        ring_values, bound));
  };
  return WriteChange(context, std::move(change), request->request_id(), kMethod, response,
                     windows_take_it);
}

grpc::Status SamplingService::DeleteRecalls(grpc::ServerContext* context,
                                            const v1::DeleteRecallsRequest* request,
                                            v1::ExecuteResponse* response) {
  if (request->recall_ids_size() == 0) return InvalidRecall("Sampling.DeleteRecalls: no recall id given");
  v1::CatalogChange change;
  *change.mutable_delete_recalls() = request->recall_ids();
  return WriteChange(context, std::move(change), request->request_id(), "Sampling.DeleteRecalls",
                     response);
}

grpc::Status SamplingService::ListRecalls(grpc::ServerContext* context,
                                          const v1::ListRecallsRequest* /*request*/,
                                          v1::ListRecallsResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kRead, "Sampling.ListRecalls");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  for (const sampling::RecallDefinition& r : parts_.catalog->Recalls()) {
    *response->add_recalls() = sampling::RecallToProto(r);
    v1::RecallState* state = response->add_states();
    state->set_recall_id(r.id);
    state->set_open_events(parts_.recall != nullptr ? parts_.recall->OpenRecallEvents(r.id) : 0);
  }
  return grpc::Status::OK;
}

grpc::Status SamplingService::TriggerRecall(grpc::ServerContext* context,
                                            const v1::TriggerRecallRequest* request,
                                            v1::TriggerRecallResponse* response) {
  constexpr std::string_view kMethod = "Sampling.TriggerRecall";
  auto caller = AdmitCall(ctx_, *context, TokenRole::kIngest, kMethod);
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  // Taken before anything else: "now" is when the service received the call.
  const int64_t now_us = parts_.clock->NowUs();

  int64_t recall_id = 0;
  const std::vector<sampling::RecallDefinition> recalls = parts_.catalog->Recalls();
  switch (request->recall_case()) {
    case v1::TriggerRecallRequest::kRecallId: {
      recall_id = request->recall_id();
      bool known = false;
      for (const auto& r : recalls) known = known || r.id == recall_id;
      if (!known) {
        return rpc::ToGrpcStatus(Status::NotFound(
            fmt::format("{}: no recall definition with id {}", kMethod, recall_id)));
      }
      break;
    }
    case v1::TriggerRecallRequest::kRecallName: {
      // Names are not unique in the catalog: one that names several is refused rather
      // than one of them picked.
      std::vector<int64_t> ids;
      for (const auto& r : recalls) {
        if (r.name == request->recall_name()) ids.push_back(r.id);
      }
      if (ids.empty()) {
        return rpc::ToGrpcStatus(Status::NotFound(
            fmt::format("{}: no recall definition named '{}'", kMethod, request->recall_name())));
      }
      if (ids.size() > 1) {
        return InvalidRecall(
            fmt::format("{}: the name '{}' is that of recall definitions {}; trigger by id",
                        kMethod, request->recall_name(), fmt::join(ids, ", ")));
      }
      recall_id = ids.front();
      break;
    }
    default:
      return InvalidRecall(
          fmt::format("{}: name the recall definition (recall_id or recall_name)", kMethod));
  }
  if (request->event_ts_us() < 0) {
    return InvalidRecall(fmt::format("{}: event_ts_us {} is negative (0: the time of the call)", kMethod,
                               request->event_ts_us()));
  }
  const int64_t event_ts_us = request->event_ts_us() == 0 ? now_us : request->event_ts_us();
  if (parts_.recall == nullptr)
    return rpc::ToGrpcStatus(
        Status::FailedPrecondition(fmt::format("{}: no recall windows on this node", kMethod)));
  auto rows = parts_.recall->TriggerRecall(recall_id, event_ts_us);
  if (!rows.ok())
    return rpc::ToGrpcStatus(
        rows.status().Annotate(fmt::format("{} of recall {}", kMethod, recall_id)));
  response->set_event_ts_us(event_ts_us);
  response->set_rows_emitted(*rows);
  return grpc::Status::OK;
}

}  // namespace sluice::service
