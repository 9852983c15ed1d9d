#include "service/auth.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace sluice::service {
namespace {

// Compares without an early exit on the first differing byte, so the time taken does not
// tell an attacker how much of a guessed token was right.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string RoleList(const std::vector<config::TokenRole>& roles) {
  std::string out;
  for (auto r : roles) {
    if (!out.empty()) out += ", ";
    out += config::TokenRoleName(r);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

Authenticator::Authenticator(const config::AuthConfig& config)
    : required_(config.required), tokens_(config.tokens) {}

Result<Caller> Authenticator::Check(const ClientMetadata& metadata, config::TokenRole role,
                                    std::string_view method) const {
  if (!required_) return Caller{"anonymous"};
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return Status::Unauthenticated(fmt::format(
        "{}: no 'authorization: Bearer <token>' metadata; this service requires a token", method));
  }
  std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() < kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), value.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return Status::Unauthenticated(fmt::format(
        "{}: the 'authorization' metadata is not of the form 'Bearer <token>'", method));
  }
  std::string_view secret = value.substr(kBearer.size());
  const config::TokenConfig* found = nullptr;
  for (const auto& t : tokens_) {
    // Every token is compared, so the time taken does not tell which one matched.
    if (ConstantTimeEquals(secret, t.token) && found == nullptr) found = &t;
  }
  if (found == nullptr) {
    return Status::Unauthenticated(
        fmt::format("{}: the bearer token is not one this service knows", method));
  }
  if (!found->HasRole(role)) {
    return Status::PermissionDenied(fmt::format("{}: token '{}' lacks role '{}' (it has: {})",
                                                method, found->name, config::TokenRoleName(role),
                                                RoleList(found->roles)));
  }
  return Caller{found->name};
}

}  // namespace sluice::service
