#include "support/pg_servers.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/log.h"

namespace sluice::testing {

Result<std::vector<std::unique_ptr<PgServer>>> StartPgServers(int count,
                                                              const std::string& dbname) {
  std::vector<std::unique_ptr<PgServer>> servers;
  for (int i = 0; i < count; ++i) {
    auto pg = PgServer::CreateAndStart();
    if (!pg.ok()) {
      return Status::Internal(fmt::format("PostgreSQL server {}: {}", i, pg.status().ToString()));
    }
    if (Status s = (*pg)->CreateDatabase(dbname); !s.ok()) {
      return Status::Internal(fmt::format("PostgreSQL server {}: {}", i, s.ToString()));
    }
    servers.push_back(std::move(pg).value());
  }
  return servers;
}

PgServer* SharedPgServer() {
  static std::unique_ptr<PgServer> server = [] {
    log::Init("warn");
    auto started = PgServer::CreateAndStart();
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    return started.ok() ? std::move(started).value() : nullptr;
  }();
  return server.get();
}

}  // namespace sluice::testing
