// Admin.ReloadConfig (docs/reload.md): the node plans the reload and, unless it is a dry
// run, the daemon applies it after this call has answered (ServiceContext::reload_config).

#include "common/log.h"
#include "rpc/status_mapping.h"
#include "service/admin_service.h"

namespace sluice::service {

grpc::Status AdminService::ReloadConfig(grpc::ServerContext* context, const v1::ReloadConfigRequest* request,
                                        v1::ReloadConfigResponse* response) {
  auto caller = AdmitCall(ctx_, *context, config::TokenRole::kAdmin, "Admin.ReloadConfig");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  if (!ctx_.reload_config) {
    return rpc::ToGrpcStatus(::sluice::Status::FailedPrecondition("reloading the config is not offered by this service"));
  }
  Result<v1::ReloadConfigResponse> planned = ctx_.reload_config(request->dry_run(), caller->caller.name);
  if (!planned.ok()) return rpc::ToGrpcStatus(planned.status().Annotate("reload"));
  *response = std::move(planned).value();
  return grpc::Status::OK;
}

}  // namespace sluice::service
