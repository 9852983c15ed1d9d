// The alarm engine in a real sluiced (SQLite targets, real files): every check raised by
// its real condition and cleared when the condition goes (free space on a size-limited
// tmpfs, the journal's budget, time to loss under a steady load and not when idle, lag of
// a disabled target, in records and in bytes, the error log of a poison record, rows of a
// table past its maximum, a SQLite file past its size limit), Admin.WatchAlarms in order, the
// "sluice.alarm" rows in every target's event_log, and `sluice alarms` exit codes.

#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/daemon.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif
#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

constexpr auto kDeadline = std::chrono::seconds(120);
const std::vector<std::string> kTargets = {"a", "b", "dr"};

// Checks every 100 ms so that the tests wait on conditions, not on the interval. Time to
// loss is off unless the test is about it: a small journal (or tmpfs) growing by a few
// events can be full within its default hour, which would add an alarm to what a test counts.
std::string AlarmsToml(const std::string& checks) {
  std::string toml = "[alarms]\ninterval = \"100ms\"\n" + checks;
  if (checks.find("[alarms.time_to_loss]") == std::string::npos) {
    toml += "[alarms.time_to_loss]\nenabled = false\n";
  }
  return toml;
}

// The streams sluiced needs (model, events, samples) with small reservations, so that a
// small journal budget is allowed.
std::string SmallStreams() {
  return R"([[stream]]
name = "model"
reserved = "16KiB"

[[stream]]
name = "events"
reserved = "16KiB"

[[stream]]
name = "samples"
ordered = false
reserved = "16KiB"

)";
}

// Limits that fit a small max_record_size.
std::string SmallLimits() {
  return "[limits]\nmax_lob_size = \"16KiB\"\nmax_string_length = 1024\n\n";
}

class AlarmDaemonTest : public ::testing::Test {
 protected:
  v1::ListAlarmsResponse List() {
    v1::ListAlarmsResponse r;
    auto ctx = daemon_->Context(kAdminToken);
    grpc::Status st = daemon_->admin_stub().ListAlarms(ctx.get(), v1::ListAlarmsRequest(), &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r;
  }
  static bool IsActive(const v1::ListAlarmsResponse& r, const std::string& check,
                       const std::string& subject) {
    for (const auto& a : r.active()) {
      if (a.check() == check && a.subject() == subject) return true;
    }
    return false;
  }
  // Waits until the alarm is (or is not) active.
  bool WaitAlarm(const std::string& check, const std::string& subject, bool active) {
    return WaitFor([&] { return IsActive(List(), check, subject) == active; }, kDeadline);
  }
  void SetEnabled(const std::string& target, bool enabled) {
    v1::SetTargetEnabledRequest req;
    req.set_target(target);
    req.set_enabled(enabled);
    v1::SetTargetEnabledResponse resp;
    auto ctx = daemon_->Context(kAdminToken);
    grpc::Status st = daemon_->admin_stub().SetTargetEnabled(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  v1::StatusResponse Status() {
    v1::StatusResponse r;
    auto ctx = daemon_->Context(kAdminToken);
    grpc::Status st = daemon_->admin_stub().Status(ctx.get(), v1::StatusRequest(), &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r;
  }
  // Admin.Status's journal bytes not applied by `target`, over every stream.
  uint64_t LagBytes(const std::string& target) {
    uint64_t bytes = 0;
    const v1::StatusResponse status = Status();  // the loop reads into it: keep it alive
    for (const auto& a : status.appliers()) {
      if (a.target() == target) bytes += a.lag_bytes();
    }
    return bytes;
  }
  static const v1::Alarm* FindActive(const v1::ListAlarmsResponse& r, const std::string& check,
                                     const std::string& subject) {
    for (const auto& a : r.active()) {
      if (a.check() == check && a.subject() == subject) return &a;
    }
    return nullptr;
  }
  void CommitSamples(int first_point, int rows) {
    v1::CommitRequest req;
    req.set_stream("samples");
    *req.add_records() = SampleRecord(first_point, rows, NowMicros());
    v1::CommitResponse resp;
    grpc::Status st = daemon_->Commit(req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  // Every target's event_log comes to hold a raise and a clear of `check` on `subject`.
  // Waited for: the engine journals its events without waiting for durability (its pass
  // stays short), so a clear seen in ListAlarms may not be in the journal's head yet.
  void ExpectEventLogRows(const std::string& check, const std::string& subject) {
    std::string quoted_subject;  // a SQL literal: ' doubled
    for (char c : subject) quoted_subject += c == '\'' ? std::string("''") : std::string(1, c);
    for (const auto& t : kTargets) {
      for (const char* what : {"raised", "cleared"}) {
        const std::string where =
            fmt::format("kind = 'sluice.alarm' AND text LIKE 'alarm {}: {} on {}%'", what, check,
                        quoted_subject);
        EXPECT_TRUE(WaitFor([&] { return CountRows(daemon_->db(t), "event_log", where) >= 1; },
                            kDeadline))
            << "target " << t << ": no '" << what << "' row of " << check << " on " << subject;
      }
    }
  }
  RunResult Sluice(std::vector<std::string> args) {
    args.insert(args.begin(), SLUICE_CLI_PATH);
    return RunCommand(args, dir_.Sub("cli.out"),
                      {{"SLUICE_ADDRESS", daemon_->address()}, {"SLUICE_TOKEN", kAdminToken}});
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

// A tmpfs of `size` mounted on `dir`, unmounted when it goes (whatever the test did).
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string options = "size=" + size;
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST_F(AlarmDaemonTest, DiskFreeRaisedOnAFullFilesystemAndClearedWhenTheFileGoes) {
  TmpfsMount tmpfs(dir_.Sub("data"), "16m");
  if (!tmpfs.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs on the data directory: " << tmpfs.error();
  DaemonConfig config;
  config.journal = "segment_size = \"256KiB\"\nmax_record_size = \"64KiB\"\nfree_space_floor = 0";
  config.extra = SmallStreams() + SmallLimits() +
                 AlarmsToml("[alarms.disk_free]\nraise_below = \"40%\"\nclear_above = \"50%\"\n");
  daemon_ = std::make_unique<Daemon>(dir_, config);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  ASSERT_TRUE(WaitFor([&] { return List().last_check_us() > 0; }, kDeadline));
  EXPECT_FALSE(IsActive(List(), "disk_free", "journal"));

  // Fill the filesystem to 20% free, whatever sluiced and its targets use of it.
  struct statvfs st {};
  ASSERT_EQ(::statvfs(dir_.Sub("data").c_str(), &st), 0) << std::strerror(errno);
  const uint64_t total = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  ASSERT_GT(free, total / 2) << "the tmpfs is half full before the test fills it";
  const std::string filler = dir_.Sub("data/filler");
  {
    std::ofstream out(filler, std::ios::binary);
    std::string chunk(64 << 10, 'x');
    for (uint64_t left = free - total / 5; left > 0;) {
      const uint64_t n = std::min<uint64_t>(left, chunk.size());
      out.write(chunk.data(), static_cast<std::streamsize>(n));
      left -= n;
    }
    out.flush();
    ASSERT_TRUE(out.good()) << "cannot fill the tmpfs";
  }
  ASSERT_TRUE(WaitAlarm("disk_free", "journal", true)) << ReadFile(daemon_->log());
  v1::ListAlarmsResponse r = List();
  EXPECT_EQ(r.critical(), 1u);  // disk_free is critical by default
  for (const auto& a : r.active()) {
    if (a.check() == "disk_free") {
      EXPECT_LT(a.value(), 0.40);
    }
  }
  {
    RunResult table = Sluice({"alarms"});
    EXPECT_EQ(table.exit_code, 2) << table.output;  // a critical alarm is active
    for (const char* part :
         {"SEVERITY", "critical", "disk_free", "journal", "1 active: 1 critical"}) {
      EXPECT_NE(table.output.find(part), std::string::npos) << "'" << part << "' not in:\n"
                                                            << table.output;
    }
  }
  // --watch: the current set first (the JSON snapshot names the alarm), then it ends after
  // the one clear below, with the exit code of what is active then (nothing).
  ChildProcess watcher;
  ASSERT_TRUE(watcher
                  .Start({SLUICE_CLI_PATH, "alarms", "--watch", "--json", "--events", "1"},
                         dir_.Sub("watch.out"),
                         {{"SLUICE_ADDRESS", daemon_->address()}, {"SLUICE_TOKEN", kAdminToken}})
                  .ok());
  ASSERT_TRUE(WaitFor(
      [&] { return ReadFile(dir_.Sub("watch.out")).find("disk_free") != std::string::npos; },
      kDeadline));

  std::filesystem::remove(filler);
  ASSERT_TRUE(WaitAlarm("disk_free", "journal", false));
  EXPECT_EQ(watcher.Wait(kDeadline), 0);
  const std::string watched = ReadFile(dir_.Sub("watch.out"));
  const size_t snapshot = watched.find("\"snapshot\":true");
  const size_t cleared = watched.find("\"raised\":false");
  EXPECT_NE(snapshot, std::string::npos) << watched;
  EXPECT_NE(cleared, std::string::npos) << watched;
  EXPECT_LT(snapshot, cleared) << watched;
  EXPECT_EQ(Sluice({"alarms"}).exit_code, 0);
  ExpectEventLogRows("disk_free", "journal");
  // The log names check, subject, value and threshold.
  const std::string log = ReadFile(daemon_->log());
  EXPECT_NE(log.find("alarm raised: disk_free on journal: value"), std::string::npos);
  EXPECT_NE(log.find("alarm cleared: disk_free on journal: value"), std::string::npos);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(AlarmDaemonTest, JournalBudgetRaisedWhileTargetsAreOutAndClearedWhenTheyCatchUp) {
  DaemonConfig config;
  config.journal = "segment_size = \"64KiB\"\nmax_record_size = \"32KiB\"\nbudget = \"2MiB\"";
  config.extra =
      SmallStreams() + SmallLimits() +
      AlarmsToml("[alarms.journal_budget]\nraise_above = \"50%\"\nclear_below = \"30%\"\n");
  daemon_ = std::make_unique<Daemon>(dir_, config);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  for (const auto& t : kTargets) ASSERT_NO_FATAL_FAILURE(SetEnabled(t, false));
  // Nothing is applied: the journal grows past half its budget.
  v1::StatusResponse s;
  for (int i = 0; i < 2000; ++i) {
    ASSERT_NO_FATAL_FAILURE(CommitSamples(i * 100, 100));
    ASSERT_TRUE(daemon_->Admin(&s).ok());
    if (s.journal_bytes() > s.journal_budget_bytes() * 6 / 10) break;
  }
  ASSERT_GT(s.journal_bytes(), s.journal_budget_bytes() / 2);
  ASSERT_TRUE(WaitAlarm("journal_budget", "journal", true)) << ReadFile(daemon_->log());
  EXPECT_EQ(Sluice({"alarms"}).exit_code, 1);  // a warning
  for (const auto& t : kTargets) ASSERT_NO_FATAL_FAILURE(SetEnabled(t, true));
  ASSERT_TRUE(WaitAlarm("journal_budget", "journal", false));
  ASSERT_TRUE(daemon_->Admin(&s).ok());
  EXPECT_LT(s.journal_bytes(), s.journal_budget_bytes() * 3 / 10);
  ExpectEventLogRows("journal_budget", "journal");
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(AlarmDaemonTest, TimeToLossNotRaisedWhenIdleRaisedUnderSteadyLoadClearedWhenItStops) {
  DaemonConfig config;
  // 64 MiB of budget: at the load below the journal is full in minutes, under the
  // threshold of an hour; idle, never.
  config.journal = "segment_size = \"1MiB\"\nmax_record_size = \"512KiB\"\nbudget = \"64MiB\"";
  config.extra =
      SmallStreams() + SmallLimits() +
      AlarmsToml(
          "[alarms.time_to_loss]\nraise_below = \"1h\"\nclear_above = \"2h\"\nwindow = \"2s\"\n");
  daemon_ = std::make_unique<Daemon>(dir_, config);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  for (const auto& t : kTargets) ASSERT_NO_FATAL_FAILURE(SetEnabled(t, false));
  // Idle for three windows of checks: never raised.
  const int64_t idle_from = NowMicros();
  ASSERT_TRUE(WaitFor([&] { return List().last_check_us() > idle_from + 6'000'000; }, kDeadline));
  v1::ListAlarmsResponse r = List();
  EXPECT_FALSE(IsActive(r, "time_to_loss", "journal"));
  for (const auto& e : r.history()) EXPECT_NE(e.alarm().check(), "time_to_loss");

  // A steady load until the alarm is raised.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      v1::CommitRequest req;
      req.set_stream("samples");
      *req.add_records() = SampleRecord(i * 1000, 1000, NowMicros());
      v1::CommitResponse resp;
      if (!daemon_->Commit(req, &resp).ok()) failures++;
      std::this_thread::sleep_for(
          std::chrono::milliseconds(20));  // pacing the load, not waiting on it
    }
  });
  const bool raised = WaitAlarm("time_to_loss", "journal", true);
  stop = true;
  writer.join();
  ASSERT_TRUE(raised) << ReadFile(daemon_->log());
  EXPECT_EQ(failures.load(), 0);
  // The load stopped: not growing, so it clears.
  ASSERT_TRUE(WaitAlarm("time_to_loss", "journal", false));
  for (const auto& t : kTargets) ASSERT_NO_FATAL_FAILURE(SetEnabled(t, true));
  ExpectEventLogRows("time_to_loss", "journal");
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(AlarmDaemonTest, LagRaisedForADisabledTargetWithWritesPendingAndClearedAfterEnabling) {
  DaemonConfig config;
  config.extra = AlarmsToml(
      "[alarms.target_lag_records]\nraise_above = 20\nclear_below = 1\n"
      "[alarms.target_lag_age]\nraise_above = \"1s\"\nclear_below = \"500ms\"\n");
  daemon_ = std::make_unique<Daemon>(dir_, config);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  ASSERT_NO_FATAL_FAILURE(SetEnabled("dr", false));
  for (int i = 0; i < 30; ++i) ASSERT_NO_FATAL_FAILURE(CommitSamples(i * 10, 10));
  ASSERT_TRUE(WaitAlarm("target_lag_records", "target 'dr'", true)) << ReadFile(daemon_->log());
  ASSERT_TRUE(WaitAlarm("target_lag_age", "target 'dr'", true));
  v1::ListAlarmsResponse r = List();
  for (const auto& a : r.active()) {
    if (a.check() == "target_lag_records") {
      EXPECT_GT(a.value(), 20);
    }
  }
  ASSERT_NO_FATAL_FAILURE(SetEnabled("dr", true));
  ASSERT_TRUE(WaitAlarm("target_lag_records", "target 'dr'", false));
  ASSERT_TRUE(WaitAlarm("target_lag_age", "target 'dr'", false));
  daemon_->WaitCaughtUp();
  // Every target caught up: no lag alarm is left, of any target.
  ASSERT_TRUE(WaitFor([&] { return List().active().empty(); }, kDeadline));
  ExpectEventLogRows("target_lag_records", "target 'dr'");
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(AlarmDaemonTest, LagBytesRaisedForADisabledTargetPastItsSizeAndClearedAfterEnabling) {
  constexpr uint64_t kRaiseAbove = 8 * 1024;
  DaemonConfig config;
  config.extra = AlarmsToml(fmt::format(
      "[alarms.target_lag_bytes]\nraise_above = {}\nclear_below = \"1\"\n"
      "[alarms.target_lag_records]\nenabled = false\n[alarms.target_lag_age]\nenabled = false\n",
      kRaiseAbove));
  daemon_ = std::make_unique<Daemon>(dir_, config);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  ASSERT_NO_FATAL_FAILURE(SetEnabled("dr", false));
  // Records until Admin.Status itself says more than the limit waits for 'dr'.
  int point = 0;
  while (LagBytes("dr") <= kRaiseAbove) {
    ASSERT_NO_FATAL_FAILURE(CommitSamples(point, 10));
    point += 10;
    ASSERT_LT(point, 100'000) << "the lag in bytes does not grow";
  }
  ASSERT_TRUE(WaitAlarm("target_lag_bytes", "target 'dr'", true)) << ReadFile(daemon_->log());
  // The value is Admin.Status's figure: over the limit, and (while 'dr' is out, its lag
  // only grows, by the alarm events too) never more than what Status says after it.
  v1::ListAlarmsResponse r = List();
  const v1::Alarm* a = FindActive(r, "target_lag_bytes", "target 'dr'");
  ASSERT_NE(a, nullptr);
  EXPECT_GT(a->value(), double(kRaiseAbove));
  EXPECT_LE(a->value(), double(LagBytes("dr")));
  // The targets that apply have nothing of that size waiting.
  EXPECT_FALSE(IsActive(r, "target_lag_bytes", "target 'a'"));
  EXPECT_FALSE(IsActive(r, "target_lag_bytes", "target 'b'"));
  ASSERT_NO_FATAL_FAILURE(SetEnabled("dr", true));
  ASSERT_TRUE(WaitAlarm("target_lag_bytes", "target 'dr'", false));
  ExpectEventLogRows("target_lag_bytes", "target 'dr'");
  EXPECT_EQ(daemon_->Stop(), 0);
}

// SQLite target files: the database and its WAL, as database_size measures them.
uint64_t DatabaseFileBytes(const std::string& db) {
  uint64_t bytes = 0;
  for (const std::string& path : {db, db + "-wal"}) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) bytes += static_cast<uint64_t>(st.st_size);
  }
  return bytes;
}

TEST_F(AlarmDaemonTest, TableRowsRaisedByRowsPastTheMaximumAndClearedByDeletingThem) {
  constexpr int kMax = 100;
  DaemonConfig config;
  config.extra =
      AlarmsToml(fmt::format("[alarms.table_rows]\nmax = {{ sample_1s = {} }}\nclear_ratio = 0.5\n"
                             "interval = \"100ms\"\n",
                             kMax));
  daemon_ = std::make_unique<Daemon>(dir_, config);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  const std::string subject = "target 'a' table 'sample_1s'";
  // Exactly the maximum: not over it.
  ASSERT_NO_FATAL_FAILURE(CommitSamples(0, kMax));
  daemon_->WaitCaughtUp();
  ASSERT_EQ(CountRows(daemon_->db("a"), "sample_1s"), kMax);
  // No probe pass is visible from outside: a few of the engine's (at least three probe
  // intervals) show that what it saw at the maximum raised nothing.
  const int64_t pass_after_max = List().last_check_us();
  ASSERT_TRUE(
      WaitFor([&] { return List().last_check_us() > pass_after_max + 300'000; }, kDeadline));
  EXPECT_FALSE(IsActive(List(), "table_rows", subject));
  // One row more raises it, on every target.
  ASSERT_NO_FATAL_FAILURE(CommitSamples(kMax, 1));
  for (const auto& t : kTargets) {
    ASSERT_TRUE(WaitAlarm("table_rows", "target '" + t + "' table 'sample_1s'", true))
        << ReadFile(daemon_->log());
  }
  v1::ListAlarmsResponse raised = List();
  const v1::Alarm* a = FindActive(raised, "table_rows", subject);
  ASSERT_NE(a, nullptr);
  EXPECT_DOUBLE_EQ(a->value(), double(CountRows(daemon_->db("a"), "sample_1s")) / kMax);
  // Deleting rows on 'a' down to the clear ratio's line changes nothing; below it clears.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(daemon_->db("a").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 60'000);
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  };
  exec("DELETE FROM sample_1s WHERE point_id >= " + std::to_string(kMax / 2));
  sqlite3_close(db);
  ASSERT_EQ(CountRows(daemon_->db("a"), "sample_1s"), kMax / 2);
  const int64_t pass_on_line = List().last_check_us();
  ASSERT_TRUE(WaitFor([&] { return List().last_check_us() > pass_on_line + 300'000; }, kDeadline));
  EXPECT_TRUE(IsActive(List(), "table_rows", subject));
  ASSERT_EQ(sqlite3_open(daemon_->db("a").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 60'000);
  exec("DELETE FROM sample_1s WHERE point_id = 0");
  sqlite3_close(db);
  ASSERT_TRUE(WaitAlarm("table_rows", subject, false)) << ReadFile(daemon_->log());
  // The other targets still hold every row.
  v1::ListAlarmsResponse r = List();
  EXPECT_TRUE(IsActive(r, "table_rows", "target 'b' table 'sample_1s'"));
  EXPECT_TRUE(IsActive(r, "table_rows", "target 'dr' table 'sample_1s'"));
  ExpectEventLogRows("table_rows", subject);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(AlarmDaemonTest, DatabaseSizeRaisedWhenTheSqliteFileGrowsPastItsLimitAndClearedWhenItShrinks) {
  constexpr uint64_t kLimit = 2 * 1024 * 1024;
  DaemonConfig config;
  config.extra = AlarmsToml(
      fmt::format("[alarms.database_size]\nraise_above = {}\ninterval = \"100ms\"\n", kLimit));
  daemon_ = std::make_unique<Daemon>(dir_, config);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  daemon_->WaitCaughtUp();
  ASSERT_LT(DatabaseFileBytes(daemon_->db("a")), kLimit) << "the empty target is already big";
  const int64_t pass = List().last_check_us();
  ASSERT_TRUE(WaitFor([&] { return List().last_check_us() > pass + 300'000; }, kDeadline));
  EXPECT_FALSE(IsActive(List(), "database_size", "target 'a'"));
  int point = 0;
  while (DatabaseFileBytes(daemon_->db("a")) <= kLimit) {
    ASSERT_NO_FATAL_FAILURE(CommitSamples(point, 500));
    point += 500;
    daemon_->WaitCaughtUp();
    ASSERT_LT(point, 10'000'000) << "the database does not grow";
  }
  ASSERT_TRUE(WaitAlarm("database_size", "target 'a'", true)) << ReadFile(daemon_->log());
  v1::ListAlarmsResponse raised = List();
  const v1::Alarm* a = FindActive(raised, "database_size", "target 'a'");
  ASSERT_NE(a, nullptr);
  EXPECT_GT(a->value(), double(kLimit));
  // What was measured is the file and its WAL.
  EXPECT_NE(a->detail().find("-wal"), std::string::npos) << a->detail();

  // The rows deleted on 'a', the file compacted and its WAL emptied: below the clear line
  // (90% of the limit), the alarm clears. The checkpoint is retried while a reader (the
  // probe) holds the WAL.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(daemon_->db("a").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 60'000);
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  };
  exec("DELETE FROM sample_1s");
  exec("VACUUM");
  const bool compacted = WaitFor(
      [&] {
        exec("PRAGMA wal_checkpoint(TRUNCATE)");
        return DatabaseFileBytes(daemon_->db("a")) < kLimit * 9 / 10;
      },
      kDeadline, std::chrono::milliseconds(200));
  sqlite3_close(db);
  ASSERT_TRUE(compacted) << DatabaseFileBytes(daemon_->db("a")) << " bytes";
  ASSERT_TRUE(WaitAlarm("database_size", "target 'a'", false)) << ReadFile(daemon_->log());
  ExpectEventLogRows("database_size", "target 'a'");
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(AlarmDaemonTest, ErrorLogRaisedByAPoisonRecordClearedByDiscardAndWatchSeesBothInOrder) {
  DaemonConfig config;
  config.extra = AlarmsToml("");
  daemon_ = std::make_unique<Daemon>(dir_, config);
  ASSERT_NO_FATAL_FAILURE(daemon_->Start());

  // A watcher from the start: the current set, then every raise and clear.
  std::mutex mu;
  std::vector<v1::AlarmUpdate> updates;
  auto watch_ctx = daemon_->Context(kAdminToken);
  auto stream = daemon_->admin_stub().WatchAlarms(watch_ctx.get(), v1::WatchAlarmsRequest());
  std::thread reader([&] {
    v1::AlarmUpdate u;
    while (stream->Read(&u)) {
      std::lock_guard lk(mu);
      updates.push_back(u);
    }
  });
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lk(mu);
        return !updates.empty();
      },
      kDeadline));

  // The same point twice: every target rejects the second insert (primary key).
  for (int i = 0; i < 2; ++i) {
    v1::CommitRequest req;
    req.set_stream("sql");
    auto* sql = req.add_records()->mutable_sql();
    sql->set_text("INSERT INTO point (point_id, name, unit) VALUES ($1, $2, $3)");
    sql->add_params()->set_int_value(7);
    sql->add_params()->set_text_value("p7");
    sql->add_params()->set_text_value("MW");
    v1::CommitResponse resp;
    ASSERT_TRUE(daemon_->Commit(req, &resp).ok());
  }
  for (const auto& t : kTargets) {
    ASSERT_TRUE(WaitAlarm("error_log", "target '" + t + "'", true)) << "target " << t << "\n"
                                                                    << ReadFile(daemon_->log());
  }
  for (const auto& t : kTargets) {
    v1::ErrorActionRequest req;
    req.set_target(t);
    req.set_all(true);
    v1::ErrorActionResponse resp;
    auto ctx = daemon_->Context(kAdminToken);
    grpc::Status st = daemon_->admin_stub().DiscardErrors(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.done(), 1u);
  }
  for (const auto& t : kTargets) ASSERT_TRUE(WaitAlarm("error_log", "target '" + t + "'", false));
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lk(mu);
        int clears = 0;
        for (const auto& u : updates)
          clears +=
              !u.snapshot() && !u.event().raised() && u.event().alarm().check() == "error_log";
        return clears == static_cast<int>(kTargets.size());
      },
      kDeadline));
  watch_ctx->TryCancel();
  reader.join();

  std::lock_guard lk(mu);
  ASSERT_FALSE(updates.empty());
  EXPECT_TRUE(updates.front().snapshot());
  uint64_t last_seq = 0;
  for (size_t i = 1; i < updates.size(); ++i) {
    EXPECT_FALSE(updates[i].snapshot());
    EXPECT_GT(updates[i].event().seq(), last_seq);  // in order
    last_seq = updates[i].event().seq();
  }
  for (const auto& t : kTargets) {
    const std::string subject = "target '" + t + "'";
    uint64_t raised = 0, cleared = 0;
    for (const auto& u : updates) {
      if (u.snapshot() || u.event().alarm().check() != "error_log" ||
          u.event().alarm().subject() != subject)
        continue;
      (u.event().raised() ? raised : cleared) = u.event().seq();
    }
    EXPECT_GT(raised, 0u) << subject;
    EXPECT_GT(cleared, raised) << subject << ": the clear after the raise";
  }
  ExpectEventLogRows("error_log", "target 'b'");
  EXPECT_EQ(daemon_->Stop(), 0);
}

}  // namespace
}  // namespace sluice::testing
