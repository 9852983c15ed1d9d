#pragma once
// Several throw-away PostgreSQL servers at once, each with an empty database: the pair
// (or trio) of primaries that replication, failover and end-to-end tests run against.
//
//   auto pg = StartPgServers(2);
//   ASSERT_TRUE(pg.ok()) << pg.status().ToString();
//   pg_ = std::move(pg).value();   // pg_[i]->ConnInfo("sluice")

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "support/pg_server.h"

namespace sluice::testing {

// Starts `count` servers (default options) and creates `dbname` in each; the first
// error names the server that failed.
Result<std::vector<std::unique_ptr<PgServer>>> StartPgServers(int count,
                                                              const std::string& dbname = "sluice");

// The one server of a test binary whose tests each make a database in it: started by the
// first test that asks (the log set to warn first: a backend's schema and partition
// steps log at info) and stopped at exit. nullptr, with a failed test, if it does not
// start.
PgServer* SharedPgServer();

}  // namespace sluice::testing
