// The health monitor against a real PostgreSQL server: a killed server is down within
// milliseconds (its probe session breaks and the reconnect is refused), a frozen one
// (SIGSTOP) once a probe times out, and up again when it returns; ending the monitor's
// own session (pg_terminate_backend) is not a failure.

#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <thread>

#include "cluster/health_monitor.h"
#include "support/pg_server.h"

namespace sluice::cluster {
namespace {

using sluice::testing::PgServer;
using Clock = std::chrono::steady_clock;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

class HealthMonitorPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PgServer::CreateAndStart();
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg).value();
    HealthOptions o;
    o.interval = std::chrono::milliseconds(200);
    o.timeout = std::chrono::milliseconds(500);
    auto m = HealthMonitor::Create({{"pg", "postgres", pg_->ConnInfo()}}, o,
                                   [this](const TargetHealth&) { changes_++; });
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    monitor_ = std::move(m).value();
    monitor_->Start();
    ASSERT_TRUE(WaitFor([&] { return health() == Health::kUp; }));
  }
  void TearDown() override {
    if (monitor_) monitor_->Stop();
  }
  Health health() { return monitor_->Get("pg").health; }

  std::unique_ptr<PgServer> pg_;
  std::unique_ptr<HealthMonitor> monitor_;
  std::atomic<int> changes_{0};
};

TEST_F(HealthMonitorPgTest, KilledServerIsDownAtOnceAndUpWhenRestarted) {
  auto t0 = Clock::now();
  ASSERT_TRUE(pg_->Kill(SIGKILL).ok());
  ASSERT_TRUE(WaitFor([&] { return health() == Health::kDown; }));
  auto detected = Clock::now() - t0;
  // Timing is the benchmark's business; here only that it was not left to a probe timeout
  // loop of many seconds.
  EXPECT_LT(detected, std::chrono::seconds(30));
  EXPECT_FALSE(monitor_->Get("pg").detail.empty());
  ASSERT_TRUE(pg_->Start().ok());
  EXPECT_TRUE(WaitFor([&] { return health() == Health::kUp; }));
  EXPECT_EQ(monitor_->Get("pg").failures, 1u);
}

TEST_F(HealthMonitorPgTest, FrozenServerIsDownAfterTheProbeTimeoutAndUpWhenResumed) {
  ASSERT_TRUE(pg_->KillAll(SIGSTOP).ok());
  bool down = WaitFor([&] { return health() == Health::kDown; });
  ASSERT_TRUE(pg_->KillAll(SIGCONT).ok());
  ASSERT_TRUE(down);
  EXPECT_TRUE(WaitFor([&] { return health() == Health::kUp; }));
}

TEST_F(HealthMonitorPgTest, TerminatedSessionIsNotAFailure) {
  int before = changes_.load();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pg_->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'sluice-probe'")
                    .ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_EQ(health(), Health::kUp);
  EXPECT_EQ(changes_.load(), before);
  EXPECT_EQ(monitor_->Get("pg").failures, 0u);
}

}  // namespace
}  // namespace sluice::cluster
