#pragma once
// Sql (the old sql_sp_server): Execute writes through the SyncWriter (sync_services.h)
// or, read_only, queries the active target; GetOutcome answers for a write by LSN or
// request id.
//
// Refusals before anything is journaled:
//   UNAVAILABLE "service paused (isolated)"  no active target (the "1+N" state)
//   INVALID_ARGUMENT                         the statement (admission: dialect texts,
//                                            non-deterministic SQL, parameters)
//   UNAUTHENTICATED / PERMISSION_DENIED      role "sql"
// A write's answer is its outcome: APPLIED (rows), REJECTED (the target's message;
// nothing changed anywhere), or UNKNOWN with the LSN and the request id (ask GetOutcome
// later, by either; a journal failure after the intent was queued is UNKNOWN too) — never
// "failed" for a write that is later applied.
//
// Thread safety: the gRPC server calls methods from many threads at once.

#include "service/sync_services.h"

namespace sluice::service {

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

}  // namespace sluice::service
