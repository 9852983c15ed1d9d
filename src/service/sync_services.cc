#include "service/sync_services.h"

#include "common/failpoint.h"
#include "rpc/status_mapping.h"

namespace sluice::service {

grpc::Status SyncWrite(const ServiceContext& ctx, const SyncServices& sync, grpc::ServerContext* context,
                       const v1::ExecuteRequest* request, v1::SyncIntent::Kind kind,
                       std::string_view method, v1::ExecuteResponse* response) {
  auto caller = AdmitCall(ctx, *context, config::TokenRole::kSql, method);
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  v1::SyncIntent intent;
  intent.set_kind(kind);
  *intent.mutable_statement() = request->statement();
  intent.set_request_id(request->request_id());
  return SyncWriteIntent(ctx, sync, intent, request->max_rows(), response);
}

grpc::Status SyncWriteIntent(const ServiceContext& ctx, const SyncServices& sync, const v1::SyncIntent& intent,
                             size_t max_rows, v1::ExecuteResponse* response) {
  // Held until the call is over: a manual switchover lets the old target decide this
  // write even if it is journaled just after the switch began.
  cluster::SyncWritePass pass;
  auto active = ctx.cluster->WaitActive(&pass);
  if (!active.ok()) return rpc::ToGrpcStatus(active.status());
  SLUICE_FAILPOINT("sync.after_wait_active");
  auto result = sync.writer->Execute(intent, sync.outcome_wait, max_rows);
  if (!result.ok()) return rpc::ToGrpcStatus(result.status());
  *response = std::move(result).value();
  return grpc::Status::OK;
}

}  // namespace sluice::service
