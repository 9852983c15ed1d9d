#pragma once
// The HTTP side of the API's bearer tokens (service/auth.h): the same tokens, sent as
// "Authorization: Bearer TOKEN". The answer is an HTTP status with a one-line reason that
// never holds the secret: 401 when the header is missing, malformed or names an unknown
// token (the response then carries "WWW-Authenticate: Bearer"), 403 when the token lacks
// the role. With [auth] required = false every request passes.
//
// Thread safety: a pure function over an immutable Authenticator.

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "service/auth.h"

namespace sluice::http {

struct AuthAnswer {
  int status = 200;    // 200: allowed; 401 or 403: refused
  std::string reason;  // one line, for the response body
};

// `authorization`: the request's Authorization header (nullopt: none). `what` names the
// request in the reason ("GET /metrics").
AuthAnswer CheckBearer(const service::Authenticator& auth,
                       const std::optional<std::string>& authorization, config::TokenRole role,
                       std::string_view what);

}  // namespace sluice::http
