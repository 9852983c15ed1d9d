#pragma once
// Model (db_modify_server and its change channel): Update is a synchronous write of the
// model (answered as Sql.Execute's writes, sql_service.h); WatchChanges streams the model
// changes that were applied, from the model journal. Roles: "sql" for Update, "read" for
// WatchChanges.
//
// Thread safety: the gRPC server calls methods from many threads at once.

#include "service/sync_services.h"

namespace sluice::service {

class ModelService final : public v1::Model::Service {
 public:
  ModelService(const ServiceContext& context, SyncServices sync) : ctx_(context), sync_(sync) {}
  grpc::Status Update(grpc::ServerContext* context, const v1::ExecuteRequest* request,
                      v1::ExecuteResponse* response) override;
  grpc::Status WatchChanges(grpc::ServerContext* context, const v1::WatchRequest* request,
                            grpc::ServerWriter<v1::ModelChange>* writer) override;

 private:
  const ServiceContext ctx_;
  const SyncServices sync_;
};

}  // namespace sluice::service
