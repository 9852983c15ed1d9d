#pragma once
// Sampling: the sampling catalog (points, sample definitions) and the real-time point
// table. Writes of the catalog are synchronous model writes (sync_services.h) whose
// intent carries the change (SyncIntent.catalog) next to its SQL; they are checked by the
// Catalog first (a refusal journals nothing), and an APPLIED answer returns once the
// daemon's catalog holds the change (the follower has read its outcome), so a list right
// after sees it. UpdatePoints feeds the point table the sampler reads. Recall definitions
// are written the same way; TriggerRecall starts an event of the node's recall windows.
// Roles: "sql" for writes, "read" for lists, "ingest" for UpdatePoints and TriggerRecall.
//
// Thread safety: the gRPC server calls methods from many threads at once.

#include <functional>

#include "sampling/catalog.h"
#include "sampling/catalog_follower.h"
#include "sampling/clock.h"
#include "sampling/point_table.h"
#include "service/recall_control.h"
#include "service/sync_services.h"

namespace sluice::service {

// What the service works on; the node owns it all.
struct SamplingParts {
  sampling::Catalog* catalog = nullptr;
  sampling::CatalogFollower* follower = nullptr;
  sampling::PointTable* points = nullptr;
  sampling::Clock* clock = nullptr;
  RecallControl* recall = nullptr;
};

class SamplingService final : public v1::Sampling::Service {
 public:
  SamplingService(const ServiceContext& context, SyncServices sync, SamplingParts parts)
      : ctx_(context), sync_(sync), parts_(parts) {}

  grpc::Status PutPoints(grpc::ServerContext* context, const v1::PutPointsRequest* request,
                         v1::ExecuteResponse* response) override;
  grpc::Status DeletePoints(grpc::ServerContext* context, const v1::DeletePointsRequest* request,
                            v1::ExecuteResponse* response) override;
  grpc::Status ListPoints(grpc::ServerContext* context, const v1::ListPointsRequest* request,
                          v1::ListPointsResponse* response) override;
  grpc::Status Define(grpc::ServerContext* context, const v1::DefineRequest* request,
                      v1::ExecuteResponse* response) override;
  grpc::Status Undefine(grpc::ServerContext* context, const v1::UndefineRequest* request,
                        v1::ExecuteResponse* response) override;
  grpc::Status ListDefinitions(grpc::ServerContext* context,
                               const v1::ListDefinitionsRequest* request,
                               v1::ListDefinitionsResponse* response) override;
  grpc::Status UpdatePoints(grpc::ServerContext* context,
                            grpc::ServerReader<v1::PointUpdate>* reader,
                            v1::UpdatePointsResponse* response) override;

  // Trigger types and triggers (sampling_trigger_rpcs.cc). The type writes go through
  // WriteChange; Trigger (role "ingest") finds the type by id or name, builds the
  // burst_sample row (sampling/trigger.h) and journals it on the [sampling] stream as
  // Ingest.Commit journals a record (the request's client tag de-duplicated the same way),
  // answering with its LSN once durable. Every refusal journals nothing.
  grpc::Status PutTriggerTypes(grpc::ServerContext* context,
                               const v1::PutTriggerTypesRequest* request,
                               v1::ExecuteResponse* response) override;
  grpc::Status DeleteTriggerTypes(grpc::ServerContext* context,
                                  const v1::DeleteTriggerTypesRequest* request,
                                  v1::ExecuteResponse* response) override;
  grpc::Status ListTriggerTypes(grpc::ServerContext* context,
                                const v1::ListTriggerTypesRequest* request,
                                v1::ListTriggerTypesResponse* response) override;
  grpc::Status Trigger(grpc::ServerContext* context, const v1::TriggerRequest* request,
                       v1::CommitResponse* response) override;
  // Recall windows (sampling_recall_rpcs.cc).
  grpc::Status PutRecalls(grpc::ServerContext* context, const v1::PutRecallsRequest* request,
                          v1::ExecuteResponse* response) override;
  grpc::Status DeleteRecalls(grpc::ServerContext* context, const v1::DeleteRecallsRequest* request,
                             v1::ExecuteResponse* response) override;
  grpc::Status ListRecalls(grpc::ServerContext* context, const v1::ListRecallsRequest* request,
                           v1::ListRecallsResponse* response) override;
  grpc::Status TriggerRecall(grpc::ServerContext* context, const v1::TriggerRecallRequest* request,
                             v1::TriggerRecallResponse* response) override;

 private:
  // Admits the call (role "sql"), checks `change` (the catalog's checks, then
  // `more_checks` when given: what only the node knows, such as its point table's bound),
  // journals it with its SQL and answers with the outcome. Nothing is checked for a caller
  // who may not write.
  using ChangeCheck = std::function<Status(const v1::CatalogChange&)>;
  grpc::Status WriteChange(grpc::ServerContext* context, v1::CatalogChange change,
                           const std::string& request_id, std::string_view method,
                           v1::ExecuteResponse* response, const ChangeCheck& more_checks = {});

  const ServiceContext ctx_;
  const SyncServices sync_;
  const SamplingParts parts_;
};

}  // namespace sluice::service
