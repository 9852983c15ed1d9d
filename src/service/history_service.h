#pragma once
// History: reads of the sample tables (raw rows, interpolated values, OPC UA Part 13
// aggregates, limit statistics) on the active target, through the read pool, computed by
// src/history; and ModifySamples, the manual correction of history, a synchronous write
// journaled in the model stream (history_modify.cc). Roles: "read" for reads, "sql" for
// ModifySamples.
// ReadRawChecked/ReadAggregatesChecked/FindPoint serve the HTTP endpoint.
//
// Thread safety: the gRPC server calls methods from many threads at once.

#include "sampling/catalog.h"
#include "service/sync_services.h"

namespace sluice::service {

class HistoryService final : public v1::History::Service {
 public:
  HistoryService(const ServiceContext& context, SyncServices sync, sampling::Catalog* catalog)
      : ctx_(context), sync_(sync), catalog_(catalog) {}

  grpc::Status ReadRaw(grpc::ServerContext* context, const v1::ReadRawRequest* request,
                       v1::ReadRawResponse* response) override;
  grpc::Status ReadInterpolated(grpc::ServerContext* context,
                                const v1::ReadInterpolatedRequest* request,
                                v1::ReadAggregatesResponse* response) override;
  grpc::Status ReadAggregates(grpc::ServerContext* context, const v1::ReadAggregatesRequest* request,
                              v1::ReadAggregatesResponse* response) override;
  grpc::Status ReadLimitStats(grpc::ServerContext* context, const v1::ReadLimitStatsRequest* request,
                              v1::ReadLimitStatsResponse* response) override;
  // history_modify.cc
  grpc::Status ModifySamples(grpc::ServerContext* context, const v1::ModifySamplesRequest* request,
                             v1::ExecuteResponse* response) override;

  // ReadRaw and ReadAggregates for a caller whose token was checked already (the HTTP
  // endpoint's /api/history/*, docs/dashboard.md): the same code as the gRPC methods, past
  // the call gate, without a second authentication.
  Status ReadRawChecked(const v1::ReadRawRequest& request, v1::ReadRawResponse* response);
  Status ReadAggregatesChecked(const v1::ReadAggregatesRequest& request,
                               v1::ReadAggregatesResponse* response);
  // The point as the catalog has it (its limits, for drawing); nullopt: not in it.
  std::optional<sampling::Point> FindPoint(int64_t point_id) const;

 private:
  Status RunReadRaw(const v1::ReadRawRequest& request, v1::ReadRawResponse* response);
  Status RunReadAggregates(const v1::ReadAggregatesRequest& request,
                           v1::ReadAggregatesResponse* response);

  const ServiceContext ctx_;
  const SyncServices sync_;
  sampling::Catalog* const catalog_;
};

}  // namespace sluice::service
