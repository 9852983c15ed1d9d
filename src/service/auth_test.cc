// Bearer tokens and roles: what each refusal says.

#include "service/auth.h"

#include <gtest/gtest.h>

namespace sluice::service {
namespace {

using config::TokenRole;

config::AuthConfig TwoTokens() {
  config::AuthConfig a;
  a.required = true;
  config::TokenConfig ingest;
  ingest.name = "scada";
  ingest.token = "secret-ingest-token";
  ingest.roles = {TokenRole::kIngest};
  config::TokenConfig admin;
  admin.name = "operator";
  admin.token = "secret-admin-token";
  admin.roles = {TokenRole::kAdmin, TokenRole::kRead};
  a.tokens = {ingest, admin};
  return a;
}

struct Metadata {
  std::string key, value;
  ClientMetadata map() const {
    ClientMetadata m;
    if (!key.empty()) m.emplace(grpc::string_ref(key), grpc::string_ref(value));
    return m;
  }
};

TEST(AuthTest, KnownTokenWithTheRoleIsAllowed) {
  Authenticator auth(TwoTokens());
  Metadata md{"authorization", "Bearer secret-ingest-token"};
  auto caller = auth.Check(md.map(), TokenRole::kIngest, "Ingest.Commit");
  ASSERT_TRUE(caller.ok()) << caller.status().ToString();
  EXPECT_EQ(caller->name, "scada");
  // The scheme is case-insensitive (RFC 7235).
  Metadata lower{"authorization", "bearer secret-admin-token"};
  EXPECT_TRUE(auth.Check(lower.map(), TokenRole::kAdmin, "Admin.Status").ok());
}

TEST(AuthTest, MissingOrWrongTokenIsUnauthenticated) {
  Authenticator auth(TwoTokens());
  auto none = auth.Check(Metadata{}.map(), TokenRole::kIngest, "Ingest.Commit");
  EXPECT_EQ(none.status().code(), Code::kUnauthenticated);
  EXPECT_NE(none.status().message().find("Ingest.Commit"), std::string::npos);
  EXPECT_NE(none.status().message().find("Bearer"), std::string::npos);

  auto wrong = auth.Check(Metadata{"authorization", "Bearer guessed"}.map(), TokenRole::kIngest,
                          "Ingest.Commit");
  EXPECT_EQ(wrong.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(wrong.status().message().find("guessed"), std::string::npos) << "never echo a secret";

  auto prefix = auth.Check(Metadata{"authorization", "Bearer secret-ingest-toke"}.map(),
                           TokenRole::kIngest, "Ingest.Commit");
  EXPECT_EQ(prefix.status().code(), Code::kUnauthenticated);

  auto basic = auth.Check(Metadata{"authorization", "Basic dXNlcjpwYXNz"}.map(), TokenRole::kIngest,
                          "Ingest.Commit");
  EXPECT_EQ(basic.status().code(), Code::kUnauthenticated);
  EXPECT_NE(basic.status().message().find("Bearer <token>"), std::string::npos);
}

TEST(AuthTest, MissingRoleIsPermissionDeniedNamingTheRole) {
  Authenticator auth(TwoTokens());
  auto denied = auth.Check(Metadata{"authorization", "Bearer secret-ingest-token"}.map(),
                           TokenRole::kAdmin, "Admin.Status");
  ASSERT_EQ(denied.status().code(), Code::kPermissionDenied);
  const std::string& m = denied.status().message();
  EXPECT_NE(m.find("role 'admin'"), std::string::npos) << m;
  EXPECT_NE(m.find("'scada'"), std::string::npos) << m;
  EXPECT_NE(m.find("Admin.Status"), std::string::npos) << m;
  EXPECT_NE(m.find("it has: ingest"), std::string::npos) << m;
}

TEST(AuthTest, NotRequiredAllowsAnonymousCalls) {
  config::AuthConfig a = TwoTokens();
  a.required = false;
  Authenticator auth(a);
  auto caller = auth.Check(Metadata{}.map(), TokenRole::kAdmin, "Admin.Status");
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->name, "anonymous");
}

}  // namespace
}  // namespace sluice::service
