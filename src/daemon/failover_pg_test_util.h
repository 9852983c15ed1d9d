#pragma once
// The fixture of the failover tests with real PostgreSQL servers (failover_pg_test.cc,
// failover_pg_switch_test.cc): three servers, sluiced, the load of three kinds, and the
// row-by-row checks after each scenario. What the load writes and what the checks expect
// is explained in failover_pg_test.cc.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sluice/client.h"
#include "support/daemon.h"
#include "support/pg_servers.h"

namespace sluice::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;
inline constexpr int kTargets = 3;  // pg-a, pg-b, pg-r: indices into pg_
inline const char* const kNames[kTargets] = {"pg-a", "pg-b", "pg-r"};
inline constexpr int kSamplesPerCommit = 10;
inline constexpr int64_t kModulus = 1'000'000'007;

inline constexpr char kCounterUpdate[] = "UPDATE counter SET v = (v * 3 + $1) % 1000000007 WHERE id = 1";
inline constexpr char kHistoryInsert[] = "INSERT INTO history (seq, v_after) SELECT $1, v FROM counter WHERE id = 1";
inline constexpr char kSyncInsert[] = "INSERT INTO sync_rows (id, note) VALUES ($1, $2)";
inline constexpr char kTerminate[] =
    "SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = 'sluice' AND pid <> pg_backend_pid()";

// How a synchronous call was answered.
enum class Answer { kApplied, kRejected, kUnknown, kRefused, kLost };
std::string_view AnswerName(Answer a);

struct SyncCall {
  int64_t id = 0;
  bool bad = false;  // binds NULL to a NOT NULL column: every target must reject it
  Answer answer = Answer::kLost;
  uint64_t lsn = 0;
  std::string message;
  v1::Outcome resolved = v1::OUTCOME_UNSPECIFIED;  // kUnknown: what GetOutcome said at last
  std::string resolved_by;                         // ... and the target that decided it
};

struct SampleCommit {
  int64_t index = 0;
  bool delivered = false;  // acknowledged, admitted by an earlier attempt, or spooled
  std::string error;
};

// The parameter of ordered SQL step `step`.
inline int64_t StepParam(int64_t step) { return (step * 7919) % 1000 + 1; }

// The value of row `row` of sample commit `commit` (whole numbers: compared exactly).
inline int64_t SampleValue(int64_t commit, int row) { return commit * 100 + row; }

class FailoverPgTest : public ::testing::Test {
 protected:
  void SetUp() override;

  void TearDown() override;

  std::string address() const { return daemon_->address(); }
  std::string log_path() const { return dir_.Sub("sluiced.log"); }

  // ------------------------------------------------------------ sluiced

  void StartDaemon(const std::map<std::string, std::string>& env = {});

  void Reconnect();

  bool GetStatus(v1::StatusResponse* out);

  // Waits until the service is active (on a target other than `not_on`, when given);
  // returns the active target, "" on timeout.
  std::string WaitActive(const std::string& not_on = "", milliseconds timeout = seconds(120));

  int IndexOf(const std::string& name) const;

  grpc::Status Switch(const std::string& target, std::string* message);

  uint64_t Head(const v1::StatusResponse& st, const std::string& stream);

  // Starts sluiced, waits until it is active with every applier running, opens the
  // client and creates the test's tables through the service (ordered SQL for the
  // counter and history, a synchronous write for sync_rows).
  void StartService(const std::map<std::string, std::string>& env = {});

  // ------------------------------------------------------------ load

  void StartLoad();

  void StopLoad();

  // Runs the load for `d` (the threads are running already).
  static void Load(milliseconds d) { std::this_thread::sleep_for(d); }

  void SampleLoop();

  void SqlLoop();

  void SyncLoop();

  // A line in the test's output saying where the scenario is (for reading a failure).
  void Note(const std::string& what);

  // What the service has acknowledged so far: ordered SQL steps journaled, and the ids of
  // the sync writes answered APPLIED.
  struct Acknowledged {
    int64_t sql_steps = 0;
    std::vector<int64_t> applied_ids;
  };
  Acknowledged AcknowledgedNow();

  // Guarantee 3 (order) at the moment a target has become active: it holds every
  // ordered write acknowledged before the switch began (the ordered SQL steps and the
  // applied sync writes), because it took over only after applying the switch markers.
  void ExpectHolds(const std::string& target, const Acknowledged& before, const std::string& when);

  // ------------------------------------------------------------ settling and checks

  // Asks GetOutcome about every UNKNOWN answer until it is decided.
  void ResolveUnknowns();

  // Waits until every applier has applied its stream's head.
  void WaitCaughtUp(milliseconds timeout = seconds(300));

  // REQUIRES: the load is stopped. Drains the client's spool, asks about every UNKNOWN
  // answer until it is decided, and waits until every target has caught up.
  void Settle();

  // Rows of `sql` on target i, or a failure.
  std::vector<std::vector<std::string>> Rows(int i, const std::string& sql);

  void CheckInvariants();

  // Every delivered sample exactly once everywhere; nothing that was not sent; a commit
  // that failed (its fate unknown) present or absent alike everywhere.
  void CheckSamples();

  // The counter and history after the committed steps, identical everywhere.
  void CheckOrderedSql();

  void CheckSyncWrites();

  // Checks everything after the load has stopped.
  void SettleAndCheck();

  TempDir dir_;
  std::vector<std::unique_ptr<PgServer>> pg_;
  bool frozen_[kTargets] = {};
  std::unique_ptr<Sluiced> daemon_;
  bool sluiced_killed_ = false;  // synchronous calls may then have lost their answer
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Sql::Stub> sql_;
  std::unique_ptr<client::Client> client_;

  // The load. Each counter is advanced by its own thread only; the vectors are read by
  // the main thread once the threads are joined.
  std::vector<std::thread> load_;
  std::atomic<bool> stop_load_{false};
  int64_t sample_base_ts_ = 0;
  int64_t next_sample_commit_ = 0;
  std::atomic<int64_t> sql_steps_{0};
  std::atomic<int64_t> sql_journaled_{0};  // the last step the service acknowledged
  std::atomic<bool> sql_stopped_{false};
  std::atomic<int64_t> next_sync_id_{1};
  std::mutex mu_;
  std::vector<SampleCommit> samples_;
  std::vector<SyncCall> sync_;
  std::string sql_error_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace sluice::testing
