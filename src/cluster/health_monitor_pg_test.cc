// The health monitor against a real PostgreSQL server: a killed server is down within
// milliseconds (its probe session breaks and the reconnect is refused), a frozen one
// (SIGSTOP) once a probe times out, and up again when it returns; ending the monitor's
// own session (pg_terminate_backend) is not a failure; the FATAL a dying server sends
// before it closes the session is acted on at once.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "cluster/health_monitor.h"
#include "support/net.h"
#include "support/pg_server.h"

namespace sluice::cluster {
namespace {

using sluice::testing::PgServer;
using Clock = std::chrono::steady_clock;

// Polls every 2 ms: the test measures how soon a change is seen.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  return sluice::testing::WaitFor(done, timeout, std::chrono::milliseconds(2));
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
    StartMonitor(o);
  }
  void StartMonitor(const HealthOptions& o) {
    if (monitor_) monitor_->Stop();
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

// Duplicates of the socket descriptors of process `pid` (pidfd_getfd), closed on
// destruction. Holding a backend's client socket keeps the session open after the
// backend has exited: the orphan's slow exit, made as long as the test wants.
class HeldSockets {
 public:
  explicit HeldSockets(pid_t pid) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return;
    for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid))) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink(e.path(), ec);
      if (ec || !target.string().starts_with("socket:")) continue;
      int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, std::stoi(e.path().filename().string()), 0));
      if (fd >= 0) fds_.push_back(fd);
    }
    ::close(pidfd);
  }
  ~HeldSockets() {
    for (int fd : fds_) ::close(fd);
  }
  size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
};

// A server whose postmaster dies tells its idle sessions so (FATAL 57P01, "terminating
// connection due to unexpected postmaster exit") before the orphaned backend has exited
// and its socket closes; under load that gap was 60 ms, most of the detection time. Here
// the socket stays open until the test lets go, and the probe timeout is far beyond the
// test's wait: the target must be down from the FATAL alone (the reconnect is refused).
TEST_F(HealthMonitorPgTest, FatalOfADyingServerIsActedOnBeforeTheSessionCloses) {
  HealthOptions o;
  o.interval = std::chrono::milliseconds(200);
  o.timeout = std::chrono::milliseconds(60'000);
  StartMonitor(o);
  auto pid = pg_->QueryValue("SELECT pid FROM pg_stat_activity WHERE application_name = 'sluice-probe'");
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  HeldSockets held(std::stoi(*pid));
  ASSERT_GT(held.size(), 0u) << "cannot duplicate the probe backend's socket (pidfd_getfd)";

  ASSERT_TRUE(pg_->Kill(SIGKILL).ok());
  ASSERT_TRUE(WaitFor([&] { return health() == Health::kDown; }, std::chrono::seconds(10)))
      << "the FATAL was not acted on: the target stays up while its session is open";
  const std::string detail = monitor_->Get("pg").detail;
  EXPECT_NE(detail.find("57P01"), std::string::npos) << detail;
  EXPECT_NE(detail.find("reconnecting failed"), std::string::npos) << detail;
}

}  // namespace
}  // namespace sluice::cluster
