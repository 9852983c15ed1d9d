#include "service/sql_service.h"

#include "rpc/status_mapping.h"

namespace sluice::service {

using config::TokenRole;

grpc::Status SqlService::Execute(grpc::ServerContext* context, const v1::ExecuteRequest* request,
                                 v1::ExecuteResponse* response) {
  if (!request->read_only()) {
    return SyncWrite(ctx_, sync_, context, request, v1::SyncIntent::KIND_SQL, "Sql.Execute", response);
  }
  auto caller = AdmitCall(ctx_, *context, TokenRole::kSql, "Sql.Execute");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  auto active = ctx_.cluster->WaitActive();
  if (!active.ok()) return rpc::ToGrpcStatus(active.status());
  auto lease = sync_.reads->Acquire(*active);
  if (!lease.ok()) return rpc::ToGrpcStatus(lease.status().WithRetryable(true));
  size_t max_rows = request->max_rows() ? request->max_rows() : 100000;
  Status s = (*lease)->Query(request->statement(), 1000, max_rows,
                             [&](const std::vector<std::string>& columns,
                                 std::vector<std::vector<v1::SqlValue>>& rows) {
                               if (response->columns_size() == 0) {
                                 for (const auto& c : columns) response->add_columns(c);
                               }
                               for (auto& row : rows) {
                                 auto* r = response->add_rows();
                                 for (auto& v : row) *r->add_values() = std::move(v);
                               }
                               return Status::OK();
                             });
  if (!s.ok()) {
    if (s.retryable()) lease->Discard();
    return rpc::ToGrpcStatus(s);
  }
  response->set_outcome(v1::OUTCOME_READ);
  response->set_target(*active);
  return grpc::Status::OK;
}

grpc::Status SqlService::GetOutcome(grpc::ServerContext* context, const v1::GetOutcomeRequest* request,
                                    v1::ExecuteResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kSql, "Sql.GetOutcome");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  auto result = request->lsn() == 0 && !request->request_id().empty()
                    ? sync_.writer->GetOutcomeByRequestId(request->request_id())
                    : sync_.writer->GetOutcome(request->lsn());
  if (!result.ok()) return rpc::ToGrpcStatus(result.status());
  *response = std::move(result).value();
  return grpc::Status::OK;
}

}  // namespace sluice::service
