// The target_state alarm end to end on real PostgreSQL: a sluiced with two PostgreSQL
// primaries; the active one's postmaster is SIGKILLed (the service fails over and raises
// a critical target_state alarm naming the target and why), samples are committed while
// it is down, then it is started again (the alarm clears). Afterwards both databases
// hold every sample and, in their event_log, the raise before the clear.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/daemon.h"
#include "support/pg_servers.h"

namespace sluice::testing {
namespace {

constexpr auto kDeadline = std::chrono::seconds(180);
constexpr char kSubject[] = "target 'pg-a'";

class AlarmPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = StartPgServers(2);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg).value();
    // Checks every 100 ms, so the test waits on conditions, not on the interval; time to
    // loss off (a test journal can be "full within the hour" by its default threshold).
    ASSERT_TRUE(daemon_
                    .WriteConfig(ConfigBuilder("alarm-pg")
                                     .Listen(daemon_.port())
                                     .NoAuth()
                                     .Primary("pg-a", "postgres", pg_[0]->ConnInfo("sluice"), 100)
                                     .Primary("pg-b", "postgres", pg_[1]->ConnInfo("sluice"), 90)
                                     .Extra("[alarms]\ninterval = \"100ms\"\n"
                                            "[alarms.time_to_loss]\nenabled = false\n")
                                     .Toml())
                    .ok());
    ASSERT_TRUE(daemon_.Start().ok());
    channel_ = OpenChannel(daemon_.address());
    admin_ = v1::Admin::NewStub(channel_);
    ingest_ = v1::Ingest::NewStub(channel_);
    const sluice::Status up = daemon_.WaitReady(
        [](const v1::StatusResponse& st) { return st.active_target() == "pg-a"; }, kDeadline);
    ASSERT_TRUE(up.ok()) << up.ToString() << "\n" << ReadFile(daemon_.log_path());
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  v1::ListAlarmsResponse List() {
    v1::ListAlarmsResponse r;
    grpc::Status st = admin_->ListAlarms(Context().get(), v1::ListAlarmsRequest(), &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r;
  }

  // The active target_state alarm on pg-a, or nullptr.
  static const v1::Alarm* TargetStateAlarm(const v1::ListAlarmsResponse& r) {
    for (const auto& a : r.active()) {
      if (a.check() == "target_state" && a.subject() == kSubject) return &a;
    }
    return nullptr;
  }

  std::string ActiveTarget() {
    v1::StatusResponse st;
    return admin_->Status(Context().get(), v1::StatusRequest(), &st).ok() ? st.active_target() : "";
  }

  void CommitSamples(int first_point, int rows) {
    v1::CommitRequest req;
    req.set_stream("samples");
    *req.add_records() = SampleRecord(first_point, rows, NowMicros());
    v1::CommitResponse resp;
    grpc::Status st = ingest_->Commit(Context().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // Waits until both targets applied every stream's head.
  void WaitCaughtUp() {
    v1::StatusResponse last;
    const bool ok = WaitFor(
        [&] {
          if (!admin_->Status(Context().get(), v1::StatusRequest(), &last).ok()) return false;
          std::map<std::string, uint64_t> heads;
          for (const auto& s : last.streams()) heads[s.name()] = s.head_lsn();
          for (const auto& a : last.appliers()) {
            if (a.applied_lsn() != heads[a.stream()]) return false;
          }
          return true;
        },
        kDeadline);
    ASSERT_TRUE(ok) << "not caught up: " << last.DebugString();
  }

  int64_t Count(size_t server, const std::string& table, const std::string& where) {
    auto v = pg_[server]->QueryValue(fmt::format("SELECT count(*) FROM {} WHERE {}", table, where),
                                     "sluice");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::stoll(*v) : -1;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<PgServer>> pg_;
  Sluiced daemon_{SLUICED_PATH, dir_.path()};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Ingest::Stub> ingest_;
};

TEST_F(AlarmPgTest, KilledPostmasterRaisesTargetStateAndItsRestartClearsIt) {
  constexpr int kRows = 200;
  CommitSamples(0, kRows);
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  ASSERT_EQ(TargetStateAlarm(List()), nullptr) << "an alarm before anything failed";

  ASSERT_TRUE(pg_[0]->Kill(SIGKILL).ok());
  v1::ListAlarmsResponse raised;
  ASSERT_TRUE(WaitFor(
      [&] {
        raised = List();
        return TargetStateAlarm(raised) != nullptr;
      },
      kDeadline))
      << ReadFile(daemon_.log_path());
  const v1::Alarm& alarm = *TargetStateAlarm(raised);
  EXPECT_EQ(alarm.severity(), "critical");
  EXPECT_EQ(alarm.detail().rfind("down: ", 0), 0u) << alarm.detail();
  EXPECT_NE(alarm.detail().find("pg-a"), std::string::npos) << alarm.detail();
  // The service went on without it.
  ASSERT_TRUE(WaitFor([&] { return ActiveTarget() == "pg-b"; }, kDeadline))
      << ReadFile(daemon_.log_path());
  CommitSamples(kRows, kRows);  // acknowledged while pg-a is down

  ASSERT_TRUE(pg_[0]->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return TargetStateAlarm(List()) == nullptr; }, kDeadline))
      << ReadFile(daemon_.log_path());
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());

  // The history: the raise, then the clear, of this alarm.
  int raise_at = -1, clear_at = -1;
  const v1::ListAlarmsResponse after = List();
  for (int i = 0; i < after.history_size(); ++i) {
    const auto& h = after.history(i);
    if (h.alarm().check() != "target_state" || h.alarm().subject() != kSubject) continue;
    (h.raised() ? raise_at : clear_at) = i;
  }
  EXPECT_GE(raise_at, 0);
  EXPECT_GT(clear_at, raise_at);

  // Both databases: every sample, and the alarm's raise and clear in event_log (pg-a
  // receives them when it catches up).
  for (size_t server = 0; server < pg_.size(); ++server) {
    SCOPED_TRACE(fmt::format("server {}", server));
    EXPECT_EQ(Count(server, "sample_1s", "true"), 2 * kRows);
    for (const char* what : {"raised", "cleared"}) {
      const std::string where = fmt::format(
          "kind = 'sluice.alarm' AND text LIKE 'alarm {}: target_state on target ''pg-a''%'", what);
      // The engine journals an alarm's event without waiting for it to be durable, so the
      // heads WaitCaughtUp read may precede it: its row comes a moment later.
      WaitFor([&] { return Count(server, "event_log", where) >= 1; }, kDeadline);
      EXPECT_EQ(Count(server, "event_log", where), 1) << what;
    }
  }
}

}  // namespace
}  // namespace sluice::testing
