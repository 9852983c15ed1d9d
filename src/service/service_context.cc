#include "service/service_context.h"

#include <fmt/format.h>

namespace sluice::service {

Result<Admission> AdmitCall(const ServiceContext& context, const grpc::ServerContext& call,
                            config::TokenRole role, std::string_view method) {
  Admission a;
  a.pass = context.gate->Enter();
  if (!a.pass) {
    return Status::Unavailable(fmt::format(
        "{}: sluiced is shutting down; retry on another address or once it is back", method));
  }
  SLUICE_ASSIGN_OR_RETURN(a.caller, context.auth->Check(call, role, method));
  a.timer = StartCallTimer(context, method);
  return a;
}

CallLatency::Timer StartCallTimer(const ServiceContext& context, std::string_view method) {
  return context.latency == nullptr ? CallLatency::Timer() : context.latency->Start(method);
}

}  // namespace sluice::service
