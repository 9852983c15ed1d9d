// Synchronous calls: thin wrappers over the Sql, Model and Download services. No spool:
// with no service they fail with kUnavailable.

#include <random>

#include <fmt/format.h>

#include "client/client_impl.h"

namespace sluice::client {

void AddWhy(std::string* why, const std::string& address, std::string_view what) {
  if (!why->empty()) *why += "; ";
  *why += fmt::format("{}: {}", address, what);
}

namespace {

// Keeps a long call's context registered for CancelCalls() while it runs.
class Registration {
 public:
  Registration(Connections* conns, grpc::ClientContext* ctx) : conns_(conns), ctx_(ctx) {
    conns_->Register(ctx_);
  }
  ~Registration() { conns_->Unregister(ctx_); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  Connections* conns_;
  grpc::ClientContext* ctx_;
};

// A server-streaming call on the first address that answers: `open` starts it on an
// endpoint, `on_message` takes each message until it returns false (which ends the call,
// OK). A call that failed before delivering anything moves on to the next address, since
// starting again elsewhere is then exact. A stream the service ended without an error is
// OK, or kUnavailable with `ended` when the caller expects it never to end.
template <typename Message, typename Open>
Status ReadFromFirstAnswering(Connections* conns, const Open& open,
                              const std::function<bool(const Message&)>& on_message,
                              std::string_view ended) {
  std::string why;
  for (size_t i : conns->Order()) {
    Endpoint& e = conns->endpoint(i);
    if (!conns->Connect(i)) {
      AddWhy(&why, e.address, "cannot connect");
      continue;
    }
    auto ctx = conns->NewContext(std::chrono::milliseconds(0));  // runs until stopped
    bool delivered = false;
    bool stopped = false;
    grpc::Status gs;
    {
      Registration reg(conns, ctx.get());
      auto reader = open(e, ctx.get());
      Message message;
      while (reader->Read(&message)) {
        delivered = true;
        if (!on_message(message)) {
          stopped = true;
          ctx->TryCancel();
          break;
        }
      }
      gs = reader->Finish();
    }
    if (stopped) return Status::OK();
    if (!delivered && Connections::Classify(gs) != Reach::kAnswered &&
        gs.error_code() != grpc::StatusCode::CANCELLED) {
      AddWhy(&why, e.address, gs.error_message());
      continue;
    }
    conns->MarkGood(i);
    if (gs.ok() && !ended.empty()) {
      return Status::Unavailable(fmt::format("{}: {}", e.address, ended));
    }
    return rpc::FromGrpcStatus(gs, e.address);
  }
  return Status::Unavailable(fmt::format("no address of the service answered: {}", why));
}

// 128 random bits in hex: unique without coordination between processes.
std::string NewRequestId() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }());
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

}  // namespace

Status ClientImpl::CallAny(bool resend_safe, std::chrono::milliseconds timeout,
                           const std::function<grpc::Status(Endpoint&, grpc::ClientContext*)>& fn) {
  std::string why;
  for (size_t i : conns_->Order()) {
    Endpoint& e = conns_->endpoint(i);
    if (!conns_->Connect(i)) {
      AddWhy(&why, e.address, "cannot connect");
      continue;
    }
    auto ctx = conns_->NewContext(timeout);
    grpc::Status gs;
    {
      Registration reg(conns_.get(), ctx.get());
      gs = fn(e, ctx.get());
    }
    const Refusal refusal = RefusedBeforeJournal(gs);
    const Reach reach = Connections::Classify(gs);
    if (reach == Reach::kAnswered || refusal == Refusal::kPaused) {
      conns_->MarkGood(i);
      return rpc::FromGrpcStatus(gs, e.address);
    }
    if (gs.error_code() == grpc::StatusCode::CANCELLED) return rpc::FromGrpcStatus(gs, e.address);
    if (!resend_safe && reach == Reach::kMaybeSent && refusal == Refusal::kNone) {
      // A synchronous write is not de-duplicated: sending it again on another address
      // could apply it twice.
      return Status::OutcomeUnknown(fmt::format(
          "{}: {}: the request may have reached the service, so it is not sent again; its "
          "outcome is unknown",
          e.address, gs.error_message()));
    }
    AddWhy(&why, e.address, gs.error_message());
  }
  return Status::Unavailable(fmt::format("no address of the service answered: {}", why));
}

Result<v1::ExecuteResponse> ClientImpl::SyncWrite(
    v1::ExecuteRequest request,
    const std::function<grpc::Status(Endpoint&, grpc::ClientContext*, const v1::ExecuteRequest&,
                                     v1::ExecuteResponse*)>& call) {
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  v1::ExecuteResponse resp;
  Status s = CallAny(/*resend_safe=*/false, options_.call_timeout,
                     [&](Endpoint& e, grpc::ClientContext* ctx) {
                       resp.Clear();
                       return call(e, ctx, request, &resp);
                     });
  if (s.code() == Code::kOutcomeUnknown) {
    // Cut off before the answer (the service crashed, the network failed): the intent
    // may be journaled, under an LSN this caller never learnt; its request id finds it.
    v1::ExecuteResponse unknown;
    unknown.set_outcome(v1::OUTCOME_UNKNOWN);
    unknown.set_request_id(request.request_id());
    unknown.set_message(fmt::format("{}; ask GetOutcomeByRequestId(\"{}\")", s.message(),
                                    request.request_id()));
    return unknown;
  }
  SLUICE_RETURN_IF_ERROR(s);
  if (resp.request_id().empty()) resp.set_request_id(request.request_id());
  return resp;
}

Result<v1::ExecuteResponse> ClientImpl::Execute(const v1::ExecuteRequest& request) {
  if (!request.read_only()) {
    return SyncWrite(request, [](Endpoint& e, grpc::ClientContext* ctx, const v1::ExecuteRequest& req,
                                 v1::ExecuteResponse* out) { return e.sql->Execute(ctx, req, out); });
  }
  v1::ExecuteResponse resp;
  SLUICE_RETURN_IF_ERROR(CallAny(/*resend_safe=*/true, options_.call_timeout,
                                 [&](Endpoint& e, grpc::ClientContext* ctx) {
                                   resp.Clear();
                                   return e.sql->Execute(ctx, request, &resp);
                                 }));
  return resp;
}

Result<v1::ExecuteResponse> ClientImpl::AskOutcome(const v1::GetOutcomeRequest& req) {
  v1::ExecuteResponse resp;
  SLUICE_RETURN_IF_ERROR(CallAny(/*resend_safe=*/true, options_.call_timeout,
                                 [&](Endpoint& e, grpc::ClientContext* ctx) {
                                   resp.Clear();
                                   return e.sql->GetOutcome(ctx, req, &resp);
                                 }));
  return resp;
}

Result<v1::ExecuteResponse> ClientImpl::GetOutcome(uint64_t lsn) {
  v1::GetOutcomeRequest req;
  req.set_lsn(lsn);
  return AskOutcome(req);
}

Result<v1::ExecuteResponse> ClientImpl::GetOutcomeByRequestId(const std::string& request_id) {
  if (request_id.empty()) return Status::InvalidArgument("GetOutcomeByRequestId: request_id is empty");
  v1::GetOutcomeRequest req;
  req.set_request_id(request_id);
  return AskOutcome(req);
}

Result<v1::ExecuteResponse> ClientImpl::Update(const v1::ExecuteRequest& request) {
  return SyncWrite(request, [](Endpoint& e, grpc::ClientContext* ctx, const v1::ExecuteRequest& req,
                               v1::ExecuteResponse* out) { return e.model->Update(ctx, req, out); });
}

// The catalog writes reuse SyncWrite's request id and OUTCOME_UNKNOWN handling: the
// request is carried in an ExecuteRequest only for its request id.
Result<v1::ExecuteResponse> ClientImpl::PutPoints(const v1::PutPointsRequest& request) {
  v1::ExecuteRequest carrier;
  carrier.set_request_id(request.request_id());
  return SyncWrite(carrier, [&request](Endpoint& e, grpc::ClientContext* ctx, const v1::ExecuteRequest& req,
                                       v1::ExecuteResponse* out) {
    v1::PutPointsRequest r = request;
    r.set_request_id(req.request_id());
    return e.sampling->PutPoints(ctx, r, out);
  });
}

Result<v1::ExecuteResponse> ClientImpl::Define(const v1::DefineRequest& request) {
  v1::ExecuteRequest carrier;
  carrier.set_request_id(request.request_id());
  return SyncWrite(carrier, [&request](Endpoint& e, grpc::ClientContext* ctx, const v1::ExecuteRequest& req,
                                       v1::ExecuteResponse* out) {
    v1::DefineRequest r = request;
    r.set_request_id(req.request_id());
    return e.sampling->Define(ctx, r, out);
  });
}

Result<v1::UpdatePointsResponse> ClientImpl::UpdatePoints(const std::vector<v1::PointUpdate>& updates) {
  v1::UpdatePointsResponse resp;
  // Resending is harmless: a value set twice is the same current value.
  SLUICE_RETURN_IF_ERROR(CallAny(/*resend_safe=*/true, options_.call_timeout,
                                 [&](Endpoint& e, grpc::ClientContext* ctx) {
                                   resp.Clear();
                                   auto writer = e.sampling->UpdatePoints(ctx, &resp);
                                   for (const auto& u : updates) {
                                     if (!writer->Write(u)) break;
                                   }
                                   writer->WritesDone();
                                   return writer->Finish();
                                 }));
  return resp;
}

Status ClientImpl::Watch(uint64_t from_lsn,
                         const std::function<bool(const v1::ModelChange&)>& on_change) {
  v1::WatchRequest req;
  req.set_from_lsn(from_lsn);
  return ReadFromFirstAnswering<v1::ModelChange>(
      conns_.get(),
      [&req](Endpoint& e, grpc::ClientContext* ctx) { return e.model->WatchChanges(ctx, req); },
      on_change, "the change feed ended");
}

Status ClientImpl::Download(const v1::ReadTableRequest& request,
                            const std::function<bool(const v1::RowBatch&)>& on_batch) {
  return ReadFromFirstAnswering<v1::RowBatch>(
      conns_.get(),
      [&request](Endpoint& e, grpc::ClientContext* ctx) {
        return e.download->ReadTable(ctx, request);
      },
      on_batch, "");
}

}  // namespace sluice::client
