// The recall-window calls of the Sampling service: catalog writes through SyncWrite (as
// PutPoints), a list, and a trigger. No spool: with no service they fail with
// kUnavailable.

#include "client/client_impl.h"

namespace sluice::client {

// The catalog writes reuse SyncWrite's request id and OUTCOME_UNKNOWN handling: the
// request is carried in an ExecuteRequest only for its request id.
Result<v1::ExecuteResponse> ClientImpl::PutRecalls(const v1::PutRecallsRequest& request) {
  v1::ExecuteRequest carrier;
  carrier.set_request_id(request.request_id());
  return SyncWrite(carrier, [&request](Endpoint& e, grpc::ClientContext* ctx,
                                       const v1::ExecuteRequest& req, v1::ExecuteResponse* out) {
    v1::PutRecallsRequest r = request;
    r.set_request_id(req.request_id());
    return e.sampling->PutRecalls(ctx, r, out);
  });
}

Result<v1::ExecuteResponse> ClientImpl::DeleteRecalls(const v1::DeleteRecallsRequest& request) {
  v1::ExecuteRequest carrier;
  carrier.set_request_id(request.request_id());
  return SyncWrite(carrier, [&request](Endpoint& e, grpc::ClientContext* ctx,
                                       const v1::ExecuteRequest& req, v1::ExecuteResponse* out) {
    v1::DeleteRecallsRequest r = request;
    r.set_request_id(req.request_id());
    return e.sampling->DeleteRecalls(ctx, r, out);
  });
}

Result<v1::ListRecallsResponse> ClientImpl::ListRecalls() {
  v1::ListRecallsResponse resp;
  SLUICE_RETURN_IF_ERROR(CallAny(
      /*resend_safe=*/true, options_.call_timeout, [&](Endpoint& e, grpc::ClientContext* ctx) {
        resp.Clear();
        return e.sampling->ListRecalls(ctx, v1::ListRecallsRequest(), &resp);
      }));
  return resp;
}

Result<v1::TriggerRecallResponse> ClientImpl::TriggerRecall(
    const v1::TriggerRecallRequest& request) {
  v1::TriggerRecallResponse resp;
  // An event is known by its definition and time: sent again with the same time it is the
  // same event (the windows emit nothing for it twice); without a time the service would
  // take a new "now", another event.
  const bool resend_safe = request.event_ts_us() != 0;
  SLUICE_RETURN_IF_ERROR(
      CallAny(resend_safe, options_.call_timeout, [&](Endpoint& e, grpc::ClientContext* ctx) {
        resp.Clear();
        return e.sampling->TriggerRecall(ctx, request, &resp);
      }));
  return resp;
}

}  // namespace sluice::client
