// The size probes against a real PostgreSQL server that stops answering: frozen (SIGSTOP,
// the socket accepts and nothing replies) each probe costs at most [alarms] probe_timeout
// and leaves the target unmeasured, never a stale figure; stopped, the same; and once it
// answers again it is measured again, on a new connection.

#include "daemon/target_size_probes.h"

#include <csignal>

#include <gtest/gtest.h>

#include "support/pg_servers.h"

namespace sluice::daemon {
namespace {

using Clock = std::chrono::steady_clock;

class TargetSizeProbesPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::StartPgServers(1);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg->front());
    config::TargetConfig t;
    t.name = "pg";
    t.dialect = config::Dialect::kPostgres;
    t.connection = pg_->ConnInfo("postgres");
    config_.targets.push_back(t);
    config_.alarms.database_size.enabled = true;
    config_.alarms.database_size.raise = 1e12;
    config_.alarms.probe_timeout = std::chrono::seconds(1);
  }

  // The database size the probes hold for the target now (nullopt: not measured).
  std::optional<uint64_t> Measured(const TargetSizeProbes& probes) {
    alarm::TargetInputs in;
    in.name = "pg";
    probes.Fill(&in);
    return in.database_bytes;
  }

  std::unique_ptr<testing::PgServer> pg_;
  config::Config config_;
};

TEST_F(TargetSizeProbesPgTest, AFrozenOrStoppedServerIsSkippedWithinTheTimeoutAndMeasuredWhenBack) {
  TargetSizeProbes probes(config_);
  probes.MeasureDatabases();
  auto first = Measured(probes);
  ASSERT_TRUE(first.has_value()) << pg_->LogTail();
  EXPECT_GT(*first, 0u);

  // Frozen: every process of the server stopped, on the connection the probe holds.
  ASSERT_TRUE(pg_->KillAll(SIGSTOP).ok());
  Clock::time_point start = Clock::now();
  probes.MeasureDatabases();
  auto frozen_for = Clock::now() - start;
  EXPECT_FALSE(Measured(probes).has_value()) << "a stale size was kept for a frozen server";
  // Bounded by the 1 s probe_timeout (libpq rounds a connect timeout up to 2 s). Without
  // the bound it would wait for ever; the margin is for a loaded machine.
  EXPECT_LT(frozen_for, std::chrono::seconds(60));
  ASSERT_TRUE(pg_->KillAll(SIGCONT).ok());

  probes.MeasureDatabases();
  EXPECT_TRUE(Measured(probes).has_value()) << "not measured again after SIGCONT";

  // Stopped: refused at once, skipped; started again: measured again.
  ASSERT_TRUE(pg_->Stop().ok());
  probes.MeasureDatabases();
  EXPECT_FALSE(Measured(probes).has_value());
  ASSERT_TRUE(pg_->Start().ok()) << pg_->LogTail();
  probes.MeasureDatabases();
  auto back = Measured(probes);
  ASSERT_TRUE(back.has_value());
  EXPECT_GT(*back, 0u);
}

}  // namespace
}  // namespace sluice::daemon
