#pragma once
// Download (download_server): ReadTable streams a table or a query's rows from the
// active target, not journaled. Role "read"; UNAVAILABLE without an active target;
// INVALID_ARGUMENT for a table name that is not a plain identifier.
//
// Thread safety: the gRPC server calls methods from many threads at once.

#include "service/sync_services.h"

namespace sluice::service {

class DownloadService final : public v1::Download::Service {
 public:
  DownloadService(const ServiceContext& context, SyncServices sync) : ctx_(context), sync_(sync) {}
  grpc::Status ReadTable(grpc::ServerContext* context, const v1::ReadTableRequest* request,
                         grpc::ServerWriter<v1::RowBatch>* writer) override;

 private:
  const ServiceContext ctx_;
  const SyncServices sync_;
};

}  // namespace sluice::service
