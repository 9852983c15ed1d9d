#pragma once
// Authentication and authorisation of API calls: bearer tokens from the config, each
// with roles (ingest, read, sql, admin). Every method calls Check() first:
//
//   no "authorization" metadata, not "Bearer <token>", or a token the service does not
//   know                                     → kUnauthenticated
//   a known token without the method's role  → kPermissionDenied naming the role
//
// With auth.required = false (allowed by the config only on loopback) every call is
// allowed, with or without a token. Secrets are never put into messages or logs.
//
// Thread safety: immutable after construction; safe from any thread.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/string_ref.h>

#include "common/status.h"
#include "config/config.h"

namespace sluice::service {

using ClientMetadata = std::multimap<grpc::string_ref, grpc::string_ref>;

struct Caller {
  std::string name;  // the token's name, or "anonymous"
};

class Authenticator {
 public:
  explicit Authenticator(const config::AuthConfig& config);

  // `method` names the call in messages ("Admin.Status").
  Result<Caller> Check(const ClientMetadata& metadata, config::TokenRole role,
                       std::string_view method) const;
  Result<Caller> Check(const grpc::ServerContext& context, config::TokenRole role,
                       std::string_view method) const {
    return Check(context.client_metadata(), role, method);
  }

  bool required() const { return required_; }

 private:
  bool required_;
  std::vector<config::TokenConfig> tokens_;
};

}  // namespace sluice::service
