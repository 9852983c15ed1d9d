#pragma once
// What the synchronous services (Sql, Model, Download) share: the SyncWriter and the read
// connections they use, and a synchronous write as both Sql.Execute and Model.Update
// run it. DESIGN's synchronous path: the write is journaled as an intent, decided by
// the active target, and answered with its outcome; reads run on the active target, not
// journaled.

#include <chrono>
#include <string_view>

#include "service/read_pool.h"
#include "service/service_context.h"
#include "sluice/v1/service.grpc.pb.h"
#include "sync/sync_writer.h"

namespace sluice::service {

struct SyncServices {
  sync::SyncWriter* writer = nullptr;
  ReadPool* reads = nullptr;
  // How long a synchronous write waits for its outcome before answering UNKNOWN.
  std::chrono::milliseconds outcome_wait{10000};
};

// Admits the call (role "sql"), waits for an active target and journals `request` as an
// intent of `kind` through the SyncWriter; the response is its outcome.
grpc::Status SyncWrite(const ServiceContext& ctx, const SyncServices& sync, grpc::ServerContext* context,
                       const v1::ExecuteRequest* request, v1::SyncIntent::Kind kind,
                       std::string_view method, v1::ExecuteResponse* response);
// The same for an intent the caller built (the Sampling service's catalog changes), once
// the call is admitted: waits for an active target and journals it.
grpc::Status SyncWriteIntent(const ServiceContext& ctx, const SyncServices& sync, const v1::SyncIntent& intent,
                             size_t max_rows, v1::ExecuteResponse* response);

}  // namespace sluice::service
