#pragma once
// The synchronous services: Sql (the old sql_sp_server), Model (db_modify_server and its
// change channel) and Download (download_server). Writes follow DESIGN's synchronous
// path through the SyncWriter; reads run on the active target, not journaled.
//
// Refusals before anything is journaled:
//   UNAVAILABLE "service paused (isolated)"  no active target (the "1+N" state)
//   INVALID_ARGUMENT                         the statement (admission: dialect texts,
//                                            non-deterministic SQL, parameters)
//   UNAUTHENTICATED / PERMISSION_DENIED      role "sql" for writes and SQL reads, "read"
//                                            for Download and WatchChanges
// A write's answer is its outcome: APPLIED (rows), REJECTED (the target's message;
// nothing changed anywhere), or UNKNOWN with the LSN and the request id (ask GetOutcome
// later, by either; a journal failure after the intent was queued is UNKNOWN too) — never
// "failed" for a write that is later applied.
//
// Thread safety: the gRPC server calls methods from many threads at once.

#include <chrono>

#include "service/read_pool.h"
#include "service/service_context.h"
#include "service/sync_writer.h"
#include "sluice/v1/service.grpc.pb.h"

namespace sluice::service {

struct SyncServices {
  SyncWriter* writer = nullptr;
  ReadPool* reads = nullptr;
  // How long a synchronous write waits for its outcome before answering UNKNOWN.
  std::chrono::milliseconds outcome_wait{10000};
};

class SqlService final : public v1::Sql::Service {
 public:
  SqlService(const ServiceContext& context, SyncServices sync) : ctx_(context), sync_(sync) {}
  grpc::Status Execute(grpc::ServerContext* context, const v1::ExecuteRequest* request,
                       v1::ExecuteResponse* response) override;
  grpc::Status GetOutcome(grpc::ServerContext* context, const v1::GetOutcomeRequest* request,
                          v1::ExecuteResponse* response) override;

 private:
  const ServiceContext ctx_;
  const SyncServices sync_;
};

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
