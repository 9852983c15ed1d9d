#include "support/pg_servers.h"

#include <fmt/format.h>

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

}  // namespace sluice::testing
