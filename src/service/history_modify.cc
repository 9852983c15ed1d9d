// History.ModifySamples: manual correction of history samples.
#include "service/history_service.h"

namespace sluice::service {

grpc::Status HistoryService::ModifySamples(grpc::ServerContext*, const v1::ModifySamplesRequest*,
                                           v1::ExecuteResponse*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "History.ModifySamples: not yet"};
}

}  // namespace sluice::service
