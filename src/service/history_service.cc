#include "service/history_service.h"

namespace sluice::service {

grpc::Status HistoryService::ReadRaw(grpc::ServerContext*, const v1::ReadRawRequest*,
                                     v1::ReadRawResponse*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "History.ReadRaw: not yet"};
}

grpc::Status HistoryService::ReadInterpolated(grpc::ServerContext*, const v1::ReadInterpolatedRequest*,
                                              v1::ReadAggregatesResponse*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "History.ReadInterpolated: not yet"};
}

grpc::Status HistoryService::ReadAggregates(grpc::ServerContext*, const v1::ReadAggregatesRequest*,
                                            v1::ReadAggregatesResponse*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "History.ReadAggregates: not yet"};
}

grpc::Status HistoryService::ReadLimitStats(grpc::ServerContext*, const v1::ReadLimitStatsRequest*,
                                            v1::ReadLimitStatsResponse*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "History.ReadLimitStats: not yet"};
}

}  // namespace sluice::service
