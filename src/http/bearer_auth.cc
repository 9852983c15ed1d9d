#include "http/bearer_auth.h"

#include <fmt/format.h>

namespace sluice::http {

AuthAnswer CheckBearer(const service::Authenticator& auth,
                       const std::optional<std::string>& authorization, config::TokenRole role,
                       std::string_view what) {
  if (!auth.required()) return {};
  if (!authorization) {
    return {401, fmt::format("{}: no 'Authorization: Bearer <token>' header; this service "
                             "requires a token with role '{}'",
                             what, config::TokenRoleName(role))};
  }
  // The same check as a gRPC call's, with the header as its metadata.
  service::ClientMetadata metadata;
  metadata.emplace(grpc::string_ref("authorization"),
                   grpc::string_ref(authorization->data(), authorization->size()));
  Result<service::Caller> caller = auth.Check(metadata, role, what);
  if (caller.ok()) return {};
  std::string reason(caller.status().message());
  // The authenticator speaks of gRPC metadata; here it is a header.
  if (auto at = reason.find("'authorization' metadata"); at != std::string::npos) {
    reason.replace(at, std::string_view("'authorization' metadata").size(),
                   "'Authorization' header");
  }
  return {caller.status().code() == Code::kPermissionDenied ? 403 : 401, reason};
}

}  // namespace sluice::http
