// The calls of the History service the client library offers: ModifySamples, a
// synchronous write through SyncWrite (as the catalog writes). No spool: with no service
// it fails with kUnavailable.

#include "client/client_impl.h"

namespace sluice::client {

// SyncWrite's request id and OUTCOME_UNKNOWN handling: the request is carried in an
// ExecuteRequest only for its request id.
Result<v1::ExecuteResponse> ClientImpl::ModifySamples(const v1::ModifySamplesRequest& request) {
  v1::ExecuteRequest carrier;
  carrier.set_request_id(request.request_id());
  return SyncWrite(carrier, [&request](Endpoint& e, grpc::ClientContext* ctx,
                                       const v1::ExecuteRequest& req, v1::ExecuteResponse* out) {
    v1::ModifySamplesRequest r = request;
    r.set_request_id(req.request_id());
    return e.history->ModifySamples(ctx, r, out);
  });
}

}  // namespace sluice::client
