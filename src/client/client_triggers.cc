// Trigger types and triggers through the Sampling service (client_impl.h): the type
// writes as PutPoints (SyncWrite: a request id, OUTCOME_UNKNOWN when cut off), the list a
// question, and Trigger resent to another address only when its client tag makes the
// service de-duplicate it.

#include "client/client_impl.h"

namespace sluice::client {

Result<v1::ExecuteResponse> ClientImpl::PutTriggerTypes(const v1::PutTriggerTypesRequest& request) {
  v1::ExecuteRequest carrier;  // for SyncWrite's request id only
  carrier.set_request_id(request.request_id());
  return SyncWrite(carrier, [&request](Endpoint& e, grpc::ClientContext* ctx,
                                       const v1::ExecuteRequest& req, v1::ExecuteResponse* out) {
    v1::PutTriggerTypesRequest r = request;
    r.set_request_id(req.request_id());
    return e.sampling->PutTriggerTypes(ctx, r, out);
  });
}

Result<v1::ExecuteResponse> ClientImpl::DeleteTriggerTypes(
    const v1::DeleteTriggerTypesRequest& request) {
  v1::ExecuteRequest carrier;
  carrier.set_request_id(request.request_id());
  return SyncWrite(carrier, [&request](Endpoint& e, grpc::ClientContext* ctx,
                                       const v1::ExecuteRequest& req, v1::ExecuteResponse* out) {
    v1::DeleteTriggerTypesRequest r = request;
    r.set_request_id(req.request_id());
    return e.sampling->DeleteTriggerTypes(ctx, r, out);
  });
}

Result<v1::ListTriggerTypesResponse> ClientImpl::ListTriggerTypes() {
  v1::ListTriggerTypesResponse resp;
  SLUICE_RETURN_IF_ERROR(CallAny(/*resend_safe=*/true, options_.call_timeout,
                                 [&](Endpoint& e, grpc::ClientContext* ctx) {
                                   resp.Clear();
                                   return e.sampling->ListTriggerTypes(
                                       ctx, v1::ListTriggerTypesRequest(), &resp);
                                 }));
  return resp;
}

Result<v1::CommitResponse> ClientImpl::Trigger(const v1::TriggerRequest& request) {
  // A trigger without a client tag is not de-duplicated: sent twice with occur_time 0 (the
  // service's clock) it would become two rows, so it is sent once.
  const bool resend_safe = !request.client().client_id().empty();
  v1::CommitResponse resp;
  SLUICE_RETURN_IF_ERROR(CallAny(resend_safe, options_.commit_timeout,
                                 [&](Endpoint& e, grpc::ClientContext* ctx) {
                                   resp.Clear();
                                   return e.sampling->Trigger(ctx, request, &resp);
                                 }));
  return resp;
}

}  // namespace sluice::client
