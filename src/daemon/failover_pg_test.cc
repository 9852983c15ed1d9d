// Failover under load with real PostgreSQL servers: two primaries (pg-a priority 100,
// pg-b priority 90) and one replica (pg-r), all started by the test, and sluiced as a
// child process. During every scenario three threads load the service:
//
//  (a) samples committed through the client library (with a spool); every commit has
//      its own timestamp, so each row says which commit it came from;
//  (b) ordered SQL on the `sql` stream: step k multiplies a counter and adds a parameter,
//      then records the counter in `history` with a statement that reads it. A record
//      applied twice, lost or reordered leaves a different counter and history;
//  (c) synchronous Sql.Execute writes from two threads, each inserting a row with its
//      own id (every seventh one binds NULL to a NOT NULL column, so the target rejects
//      it); the answer of each call is kept: APPLIED, REJECTED, UNKNOWN with an LSN, a
//      refusal ("service paused": nothing journaled) or lost (the connection broke:
//      sluiced died).
//
// The scenarios: the active target's postmaster killed; the active server frozen
// (SIGSTOP) and thawed; both primaries down (isolated), coming back in either order;
// manual switchovers back and forth; sluiced killed in the middle of a switch (fail point
// cluster.after_switch_markers) and restarted; every session of the service on the
// active target terminated (which must NOT switch).
//
// After each: the load stops, the spool drains, every UNKNOWN is asked with GetOutcome
// until decided, every target catches up, and the invariants are checked row by row on
// every target: acknowledged samples present exactly once and nothing that was not sent;
// the counter and history equal what the test computes from the steps it committed; every
// applied sync write present exactly once, every rejected or refused one absent, a lost
// one present or absent alike everywhere; no error-log entries; the service active again.
// Timing is never asserted, only outcomes.

#include <gtest/gtest.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/ranges.h>

#include "sluice/client.h"
#include "support/daemon.h"
#include "support/pg_servers.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kTargets = 3;  // pg-a, pg-b, pg-r: indices into pg_
const char* const kNames[kTargets] = {"pg-a", "pg-b", "pg-r"};
constexpr int kSamplesPerCommit = 10;
constexpr int64_t kModulus = 1'000'000'007;

constexpr char kCounterUpdate[] = "UPDATE counter SET v = (v * 3 + $1) % 1000000007 WHERE id = 1";
constexpr char kHistoryInsert[] = "INSERT INTO history (seq, v_after) SELECT $1, v FROM counter WHERE id = 1";
constexpr char kSyncInsert[] = "INSERT INTO sync_rows (id, note) VALUES ($1, $2)";
constexpr char kTerminate[] =
    "SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = 'sluice' AND pid <> pg_backend_pid()";

// How a synchronous call was answered.
enum class Answer { kApplied, kRejected, kUnknown, kRefused, kLost };

std::string_view AnswerName(Answer a) {
  switch (a) {
    case Answer::kApplied: return "applied";
    case Answer::kRejected: return "rejected";
    case Answer::kUnknown: return "unknown";
    case Answer::kRefused: return "refused";
    case Answer::kLost: return "lost";
  }
  return "?";
}

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
int64_t StepParam(int64_t step) { return (step * 7919) % 1000 + 1; }

// The value of row `row` of sample commit `commit` (whole numbers: compared exactly).
int64_t SampleValue(int64_t commit, int row) { return commit * 100 + row; }

class FailoverPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Sluiced>(SLUICED_PATH, dir_.path());
    auto pg = StartPgServers(kTargets);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg).value();
    sample_base_ts_ = NowMicros() / 1'000'000 * 1'000'000;
    // probe_timeout above the default: a loaded machine (sanitizers, 2 cores) must not
    // see a slow answer as a hang. Detection of a frozen server waits this long.
    ASSERT_TRUE(daemon_->WriteConfig(ConfigBuilder("failover")
                                         .Listen(daemon_->port())
                                         .NoAuth()
                                         .Primary("pg-a", "postgres", pg_[0]->ConnInfo("sluice"), 100)
                                         .Primary("pg-b", "postgres", pg_[1]->ConnInfo("sluice"), 90)
                                         .Replica("pg-r", "postgres", pg_[2]->ConnInfo("sluice"))
                                         .Extra("[health]\nprobe_interval = \"200ms\"\n"
                                                "probe_timeout = \"1s\"\nswitch_deadline = \"2s\"\n")
                                         .Toml())
                    .ok());
  }

  void TearDown() override {
    StopLoad();
    for (int i = 0; i < static_cast<int>(pg_.size()); ++i) {
      if (frozen_[i]) pg_[i]->KillAll(SIGCONT).IgnoreError();
    }
    client_.reset();
    // The logs of sluiced and of the servers: on failure, or always with
    // FAILOVER_PG_TEST_SHOW_LOGS=1 in the environment.
    if (HasFailure() || std::getenv("FAILOVER_PG_TEST_SHOW_LOGS") != nullptr) {
      std::string log = ReadFile(log_path());
      if (log.size() > 60000) log = "...\n" + log.substr(log.size() - 60000);
      std::cerr << "---- sluiced log (tail) ----\n" << log << "\n---- end of sluiced log ----\n";
      for (int i = 0; i < static_cast<int>(pg_.size()); ++i) {
        std::cerr << "---- " << kNames[i] << " log (tail) ----\n" << pg_[i]->LogTail(3000) << "\n";
      }
    }
    if (daemon_) daemon_->Kill(SIGKILL, seconds(30));
  }

  std::string address() const { return daemon_->address(); }
  std::string log_path() const { return dir_.Sub("sluiced.log"); }

  // ------------------------------------------------------------ sluiced

  void StartDaemon(const std::map<std::string, std::string>& env = {}) {
    daemon_->Kill(SIGKILL);  // a restart replaces a sluiced that still runs
    const sluice::Status started = daemon_->Start(env);
    ASSERT_TRUE(started.ok()) << started.ToString();
    Reconnect();
  }

  void Reconnect() {
    channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
    admin_ = v1::Admin::NewStub(channel_);
    sql_ = v1::Sql::NewStub(channel_);
  }

  bool GetStatus(v1::StatusResponse* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    grpc::Status s = admin_->Status(&ctx, v1::StatusRequest(), out);
    if (!s.ok()) Reconnect();  // a fresh channel: a failed one waits out its reconnect backoff
    return s.ok();
  }

  // Waits until the service is active (on a target other than `not_on`, when given);
  // returns the active target, "" on timeout.
  std::string WaitActive(const std::string& not_on = "", milliseconds timeout = seconds(120)) {
    v1::StatusResponse st;
    bool ok = WaitFor(
        [&] { return GetStatus(&st) && st.state() == "active" && st.active_target() != not_on; }, timeout);
    return ok ? st.active_target() : "";
  }

  int IndexOf(const std::string& name) const {
    for (int i = 0; i < kTargets; ++i) {
      if (name == kNames[i]) return i;
    }
    return -1;
  }

  grpc::Status Switch(const std::string& target, std::string* message) {
    v1::SwitchRequest req;
    req.set_target(target);
    v1::SwitchResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    grpc::Status s = admin_->Switch(&ctx, req, &resp);
    *message = s.ok() ? resp.message() : s.error_message();
    return s;
  }

  uint64_t Head(const v1::StatusResponse& st, const std::string& stream) {
    for (const auto& s : st.streams()) {
      if (s.name() == stream) return s.head_lsn();
    }
    return 0;
  }

  // Starts sluiced, waits until it is active with every applier running, opens the
  // client and creates the test's tables through the service (ordered SQL for the
  // counter and history, a synchronous write for sync_rows).
  void StartService(const std::map<std::string, std::string>& env = {}) {
    ASSERT_NO_FATAL_FAILURE(StartDaemon(env));
    v1::StatusResponse st;
    bool up = WaitFor(
        [&] {
          if (!daemon_->running()) return true;
          if (!GetStatus(&st) || st.state() != "active") return false;
          for (const auto& a : st.appliers()) {
            if (a.state() != "running") return false;
          }
          return true;
        },
        seconds(180));
    ASSERT_TRUE(up && daemon_->running()) << "sluiced did not become active: " << st.DebugString();

    client::ClientOptions o;
    o.addresses = {address()};
    o.client_id = "failover-load";
    o.spool_dir = dir_.Sub("spool");
    auto c = client::Client::Open(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();

    std::vector<v1::Record> ddl(3);
    ddl[0].mutable_sql()->set_text("CREATE TABLE counter (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
    ddl[1].mutable_sql()->set_text("INSERT INTO counter (id, v) VALUES (1, 1)");
    ddl[2].mutable_sql()->set_text("CREATE TABLE history (seq BIGINT PRIMARY KEY, v_after BIGINT NOT NULL)");
    auto committed = client_->Commit("sql", std::move(ddl));
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    ASSERT_EQ(committed->state, client::CommitState::kAcknowledged);

    v1::ExecuteRequest create;
    create.mutable_statement()->set_text("CREATE TABLE sync_rows (id BIGINT PRIMARY KEY, note TEXT NOT NULL)");
    v1::ExecuteResponse created;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(60));
    grpc::Status s = sql_->Execute(&ctx, create, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(created.outcome(), v1::OUTCOME_APPLIED) << created.DebugString();
    ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  }

  // ------------------------------------------------------------ load

  void StartLoad() {
    stop_load_ = false;
    load_.emplace_back([this] { SampleLoop(); });
    if (!sql_stopped_) load_.emplace_back([this] { SqlLoop(); });
    // Two callers: while one waits for an outcome, the other keeps asking.
    load_.emplace_back([this] { SyncLoop(); });
    load_.emplace_back([this] { SyncLoop(); });
  }

  void StopLoad() {
    stop_load_ = true;
    for (auto& t : load_) t.join();
    load_.clear();
  }

  // Runs the load for `d` (the threads are running already).
  static void Load(milliseconds d) { std::this_thread::sleep_for(d); }

  void SampleLoop() {
    while (!stop_load_) {
      const int64_t i = next_sample_commit_++;
      v1::SampleBatch b;
      b.set_interval(v1::SAMPLE_INTERVAL_1S);
      for (int j = 0; j < kSamplesPerCommit; ++j) {
        b.add_point_id(j + 1);
        b.add_ts_us(sample_base_ts_ + i * 1000);
        b.add_value(static_cast<double>(SampleValue(i, j)));
        b.add_quality(0);
      }
      auto r = client_->CommitSamples("samples", std::move(b));
      {
        std::lock_guard lk(mu_);
        SampleCommit c;
        c.index = i;
        c.delivered = r.ok();
        if (!r.ok()) c.error = r.status().ToString();
        samples_.push_back(std::move(c));
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }

  void SqlLoop() {
    while (!stop_load_) {
      const int64_t step = sql_steps_ + 1;
      std::vector<v1::Record> recs(2);
      recs[0].mutable_sql()->set_text(kCounterUpdate);
      recs[0].mutable_sql()->add_params()->set_int_value(StepParam(step));
      recs[1].mutable_sql()->set_text(kHistoryInsert);
      recs[1].mutable_sql()->add_params()->set_int_value(step);
      auto r = client_->Commit("sql", std::move(recs));
      if (!r.ok()) {
        // Whether this step was admitted is not known: the final state may include it or
        // not, and no further step is sent (it would make every later state ambiguous).
        std::lock_guard lk(mu_);
        sql_stopped_ = true;
        sql_error_ = r.status().ToString();
        ADD_FAILURE() << "ordered SQL step " << step << " failed: " << sql_error_;
        return;
      }
      sql_steps_ = step;
      // Journaled (not only spooled): every step up to it is, in order.
      if (r->state != client::CommitState::kSpooled) sql_journaled_ = step;
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  void SyncLoop() {
    auto channel = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
    auto stub = v1::Sql::NewStub(channel);
    while (!stop_load_) {
      SyncCall c;
      c.id = next_sync_id_++;
      c.bad = c.id % 7 == 0;
      v1::ExecuteRequest req;
      req.mutable_statement()->set_text(kSyncInsert);
      req.mutable_statement()->add_params()->set_int_value(c.id);
      if (c.bad) {
        req.mutable_statement()->add_params()->set_null_value(true);
      } else {
        req.mutable_statement()->add_params()->set_text_value(fmt::format("s-{}", c.id));
      }
      v1::ExecuteResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(60));
      grpc::Status s = stub->Execute(&ctx, req, &resp);
      if (s.ok()) {
        c.lsn = resp.lsn();
        c.message = resp.message();
        switch (resp.outcome()) {
          case v1::OUTCOME_APPLIED: c.answer = Answer::kApplied; break;
          case v1::OUTCOME_REJECTED: c.answer = Answer::kRejected; break;
          case v1::OUTCOME_UNKNOWN: c.answer = Answer::kUnknown; break;
          default:
            ADD_FAILURE() << "sync write " << c.id << ": unexpected answer " << resp.DebugString();
            c.answer = Answer::kLost;
        }
      } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                 s.error_message().find("service paused") != std::string::npos) {
        c.answer = Answer::kRefused;
        c.message = s.error_message();
      } else {
        c.answer = Answer::kLost;
        c.message = fmt::format("{}: {}", static_cast<int>(s.error_code()), s.error_message());
        channel = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
        stub = v1::Sql::NewStub(channel);
      }
      {
        std::lock_guard lk(mu_);
        sync_.push_back(std::move(c));
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  // A line in the test's output saying where the scenario is (for reading a failure).
  void Note(const std::string& what) {
    std::cout << fmt::format("[{:6.1f}s] {}\n",
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count(), what)
              << std::flush;
  }

  // What the service has acknowledged so far: ordered SQL steps journaled, and the ids of
  // the sync writes answered APPLIED.
  struct Acknowledged {
    int64_t sql_steps = 0;
    std::vector<int64_t> applied_ids;
  };
  Acknowledged AcknowledgedNow() {
    Acknowledged a;
    a.sql_steps = sql_journaled_;
    std::lock_guard lk(mu_);
    for (const auto& c : sync_) {
      if (c.answer == Answer::kApplied) a.applied_ids.push_back(c.id);
    }
    return a;
  }

  // Guarantee 3 (order) at the moment a target has become active: it holds every
  // ordered write acknowledged before the switch began (the ordered SQL steps and the
  // applied sync writes), because it took over only after applying the switch markers.
  void ExpectHolds(const std::string& target, const Acknowledged& before, const std::string& when) {
    const int i = IndexOf(target);
    ASSERT_GE(i, 0) << target;
    auto max_seq = pg_[i]->QueryValue("SELECT coalesce(max(seq), 0) FROM history", "sluice");
    ASSERT_TRUE(max_seq.ok()) << max_seq.status().ToString();
    EXPECT_GE(std::stoll(*max_seq), before.sql_steps)
        << target << " became active " << when << " without every ordered SQL step acknowledged before";
    auto ids = pg_[i]->QueryRows("SELECT id FROM sync_rows", "sluice");
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    std::set<int64_t> present;
    for (const auto& r : *ids) present.insert(std::stoll(r[0]));
    size_t missing = 0;
    for (int64_t id : before.applied_ids) missing += present.count(id) ? 0 : 1;
    EXPECT_EQ(missing, 0u) << target << " became active " << when << " without " << missing
                           << " sync writes applied before";
    Note(fmt::format("{} active {}: holds step {} (>= {}) and {} earlier sync writes", target, when, *max_seq,
                     before.sql_steps, before.applied_ids.size()));
  }

  // ------------------------------------------------------------ settling and checks

  // Asks GetOutcome about every UNKNOWN answer until it is decided.
  void ResolveUnknowns() {
    for (auto& c : sync_) {
      if (c.answer != Answer::kUnknown) continue;
      std::string last;
      bool decided = WaitFor(
          [&] {
            v1::GetOutcomeRequest req;
            req.set_lsn(c.lsn);
            v1::ExecuteResponse resp;
            grpc::ClientContext ctx;
            ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
            grpc::Status s = sql_->GetOutcome(&ctx, req, &resp);
            if (!s.ok()) {
              last = s.error_message();
              Reconnect();
              return false;
            }
            last = resp.DebugString();
            if (resp.outcome() != v1::OUTCOME_APPLIED && resp.outcome() != v1::OUTCOME_REJECTED) return false;
            c.resolved = resp.outcome();
            c.resolved_by = resp.target();
            return true;
          },
          seconds(180));
      EXPECT_TRUE(decided) << "sync write " << c.id << " (LSN " << c.lsn << ") was never decided: " << last;
    }
  }

  // Waits until every applier has applied its stream's head.
  void WaitCaughtUp(milliseconds timeout = seconds(300)) {
    v1::StatusResponse last;
    bool ok = WaitFor(
        [&] {
          if (!GetStatus(&last)) return false;
          std::map<std::string, uint64_t> heads;
          for (const auto& s : last.streams()) heads[s.name()] = s.head_lsn();
          for (const auto& a : last.appliers()) {
            if (a.state() != "running" || a.applied_lsn() != heads[a.stream()]) return false;
          }
          return true;
        },
        timeout);
    ASSERT_TRUE(ok) << "not caught up: " << last.DebugString();
  }

  // REQUIRES: the load is stopped. Drains the client's spool, asks about every UNKNOWN
  // answer until it is decided, and waits until every target has caught up.
  void Settle() {
    ASSERT_TRUE(load_.empty());
    Status drained = client_->WaitForSpoolDrained(seconds(180));
    ASSERT_TRUE(drained.ok()) << drained.ToString();
    ResolveUnknowns();
    ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
    Note("settled: spool drained, outcomes known, every target caught up");
  }

  // Rows of `sql` on target i, or a failure.
  std::vector<std::vector<std::string>> Rows(int i, const std::string& sql) {
    auto rows = pg_[i]->QueryRows(sql, "sluice");
    EXPECT_TRUE(rows.ok()) << kNames[i] << ": " << rows.status().ToString();
    return rows.ok() ? std::move(rows).value() : std::vector<std::vector<std::string>>{};
  }

  void CheckInvariants() {
    v1::StatusResponse st;
    ASSERT_TRUE(GetStatus(&st));
    EXPECT_EQ(st.state(), "active") << st.DebugString();

    std::map<Answer, int> answers;
    int resolved_applied = 0;
    for (const auto& c : sync_) {
      answers[c.answer]++;
      if (c.resolved == v1::OUTCOME_APPLIED) resolved_applied++;
    }
    int samples_failed = 0;
    std::string first_error;
    for (const auto& s : samples_) {
      if (s.delivered) continue;
      if (samples_failed++ == 0) first_error = s.error;
    }
    // With a spool, a commit is acknowledged or spooled whatever happens to the service.
    EXPECT_EQ(samples_failed, 0) << "sample commits failed, the first: " << first_error;
    // Honest answers (guarantee 7): while sluiced lives, every synchronous call gets an
    // answer (applied, rejected, unknown with its LSN, or a refusal).
    if (!sluiced_killed_) {
      std::string first_lost;
      for (const auto& c : sync_) {
        if (c.answer == Answer::kLost && first_lost.empty()) first_lost = fmt::format("{}: {}", c.id, c.message);
      }
      EXPECT_EQ(answers[Answer::kLost], 0) << "synchronous calls without an answer while sluiced was up, the first: "
                                           << first_lost;
    }
    std::cout << fmt::format(
        "load: {} sample commits ({} failed), {} ordered SQL steps{}, {} sync calls: {} applied, {} "
        "rejected, {} unknown ({} resolved applied), {} refused, {} lost\n",
        samples_.size(), samples_failed, sql_steps_.load(), sql_stopped_ ? " (stopped by an error)" : "",
        sync_.size(), answers[Answer::kApplied], answers[Answer::kRejected], answers[Answer::kUnknown],
        resolved_applied, answers[Answer::kRefused], answers[Answer::kLost]);

    ASSERT_NO_FATAL_FAILURE(CheckSamples());
    ASSERT_NO_FATAL_FAILURE(CheckOrderedSql());
    ASSERT_NO_FATAL_FAILURE(CheckSyncWrites());
    for (int i = 0; i < kTargets; ++i) {
      auto errors = Rows(i, "SELECT stream, lsn, message FROM sluice_error");
      EXPECT_TRUE(errors.empty()) << kNames[i] << " has " << errors.size() << " error-log entries, first: "
                                  << (errors.empty() ? "" : fmt::format("{}", fmt::join(errors[0], " | ")));
    }
  }

  // Every delivered sample exactly once everywhere; nothing that was not sent; a commit
  // that failed (its fate unknown) present or absent alike everywhere.
  void CheckSamples() {
    std::set<std::string> must, may;
    for (const auto& c : samples_) {
      for (int j = 0; j < kSamplesPerCommit; ++j) {
        std::string key = fmt::format("{}|{}|{}", j + 1, sample_base_ts_ + c.index * 1000, SampleValue(c.index, j));
        (c.delivered ? must : may).insert(std::move(key));
      }
    }
    std::vector<std::set<std::string>> seen(kTargets);
    for (int i = 0; i < kTargets; ++i) {
      auto rows = Rows(i, "SELECT point_id, ts, value::bigint FROM sample_1s");
      std::vector<std::string> duplicates, unexpected, missing;
      for (const auto& r : rows) {
        std::string key = fmt::format("{}|{}|{}", r[0], r[1], r[2]);
        if (!must.count(key) && !may.count(key)) unexpected.push_back(key);
        if (!seen[i].insert(key).second) duplicates.push_back(key);
      }
      for (const auto& k : must) {
        if (!seen[i].count(k)) missing.push_back(k);
      }
      auto first = [](const std::vector<std::string>& v) { return v.empty() ? std::string() : v.front(); };
      EXPECT_TRUE(missing.empty()) << kNames[i] << ": " << missing.size() << " acknowledged samples missing, e.g. "
                                   << first(missing);
      EXPECT_TRUE(unexpected.empty()) << kNames[i] << ": " << unexpected.size()
                                      << " samples that were never sent, e.g. " << first(unexpected);
      EXPECT_TRUE(duplicates.empty()) << kNames[i] << ": " << duplicates.size() << " duplicated samples, e.g. "
                                      << first(duplicates);
    }
    EXPECT_EQ(seen[1], seen[0]) << "pg-a and pg-b hold different samples";
    EXPECT_EQ(seen[2], seen[0]) << "pg-a and pg-r hold different samples";
  }

  // The counter and history after the committed steps, identical everywhere.
  void CheckOrderedSql() {
    const int64_t steps = sql_steps_;
    // The state after n steps, n = steps (and steps + 1 when the last commit's fate is
    // unknown).
    auto expected = [](int64_t n) {
      int64_t v = 1;
      std::string history;
      for (int64_t k = 1; k <= n; ++k) {
        v = (v * 3 + StepParam(k)) % kModulus;
        history += fmt::format("{}:{};", k, v);
      }
      return std::make_pair(v, history);
    };
    std::string first_state;
    for (int i = 0; i < kTargets; ++i) {
      auto counter = Rows(i, "SELECT v FROM counter WHERE id = 1");
      auto history = Rows(i, "SELECT seq, v_after FROM history ORDER BY seq");
      ASSERT_EQ(counter.size(), 1u) << kNames[i];
      std::string h;
      for (const auto& r : history) h += fmt::format("{}:{};", r[0], r[1]);
      std::string state = counter[0][0] + " / " + h;
      auto [v, eh] = expected(steps);
      bool ok = counter[0][0] == std::to_string(v) && h == eh;
      if (!ok && sql_stopped_) {
        auto [v2, eh2] = expected(steps + 1);
        ok = counter[0][0] == std::to_string(v2) && h == eh2;
      }
      EXPECT_TRUE(ok) << kNames[i] << ": after " << steps << " steps the counter should be " << v << " with "
                      << steps << " history rows; it is " << counter[0][0] << " with " << history.size()
                      << " history rows";
      if (i == 0) first_state = state;
      EXPECT_EQ(state, first_state) << kNames[i] << " differs from pg-a";
    }
  }

  void CheckSyncWrites() {
    std::vector<std::map<int64_t, std::string>> rows(kTargets);
    for (int i = 0; i < kTargets; ++i) {
      for (const auto& r : Rows(i, "SELECT id, note FROM sync_rows")) {
        rows[i][std::stoll(r[0])] = r[1];
      }
    }
    std::set<int64_t> sent;
    for (const auto& c : sync_) {
      sent.insert(c.id);
      const bool applied =
          c.answer == Answer::kApplied || (c.answer == Answer::kUnknown && c.resolved == v1::OUTCOME_APPLIED);
      const bool absent = c.answer == Answer::kRejected || c.answer == Answer::kRefused ||
                          (c.answer == Answer::kUnknown && c.resolved == v1::OUTCOME_REJECTED);
      std::string what = fmt::format("sync write {} ({}{}, LSN {}, resolved {}: {})", c.id, AnswerName(c.answer),
                                     c.bad ? ", NULL note" : "", c.lsn, v1::Outcome_Name(c.resolved), c.message);
      if (c.bad) {
        EXPECT_FALSE(applied) << what << ": a NULL in a NOT NULL column was applied";
      }
      if (!c.bad && (c.answer == Answer::kRejected || c.resolved == v1::OUTCOME_REJECTED)) {
        ADD_FAILURE() << what << ": a valid insert was rejected";
      }
      for (int i = 0; i < kTargets; ++i) {
        auto it = rows[i].find(c.id);
        if (applied) {
          EXPECT_TRUE(it != rows[i].end() && it->second == fmt::format("s-{}", c.id))
              << kNames[i] << ": " << what << " is missing";
        } else if (absent) {
          EXPECT_TRUE(it == rows[i].end()) << kNames[i] << ": " << what << " is present";
        }
        // Lost (sluiced died during the call): either way, but the same everywhere.
        EXPECT_EQ(it != rows[i].end(), rows[0].count(c.id) > 0) << kNames[i] << " and pg-a differ on " << what;
      }
    }
    for (int i = 0; i < kTargets; ++i) {
      for (const auto& [id, note] : rows[i]) {
        EXPECT_TRUE(sent.count(id)) << kNames[i] << ": sync_rows holds id " << id << " that was never sent";
      }
    }
  }

  // Checks everything after the load has stopped.
  void SettleAndCheck() {
    ASSERT_NO_FATAL_FAILURE(Settle());
    ASSERT_NO_FATAL_FAILURE(CheckInvariants());
  }

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

// 1. The active target's postmaster is killed: the other primary takes over; the killed
// server is restarted later, catches up, and stays standby.
TEST_F(FailoverPgTest, ActivePostmasterKilledThenRestarted) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  const std::string victim = WaitActive();
  const int v = IndexOf(victim);
  ASSERT_TRUE(v == 0 || v == 1) << victim;
  const std::string other = kNames[1 - v];
  const Acknowledged before = AcknowledgedNow();
  Note("SIGKILL the postmaster of " + victim);
  ASSERT_TRUE(pg_[v]->Kill(SIGKILL).ok());
  ASSERT_EQ(WaitActive(victim), other);
  ExpectHolds(other, before, "after the kill");
  Load(seconds(4));
  ASSERT_TRUE(pg_[v]->WaitForOrphans().ok());
  Note("restart " + victim);
  ASSERT_TRUE(pg_[v]->Start().ok());
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(WaitActive(), other) << "switched back by itself";
}

// 1b. The active target applies a synchronous write and dies before its outcome is
// journaled (the fail point applier.intent_applied_before_outcome stalls the decision
// after the commit): the callers get OUTCOME_UNKNOWN with the LSN, the next active target
// decides the intent, and GetOutcome says APPLIED. The row is there once on every target,
// also on the dead one, which had applied it first.
TEST_F(FailoverPgTest, ActiveDiesBetweenApplyAndOutcome) {
  ASSERT_NO_FATAL_FAILURE(
      StartService({{"SLUICE_FAILPOINTS", "applier.intent_applied_before_outcome=20*sleep(25000)"}}));
  StartLoad();
  const std::string victim = WaitActive();
  const int v = IndexOf(victim);
  ASSERT_TRUE(v == 0 || v == 1) << victim;
  const std::string other = kNames[1 - v];
  // The decision stalls at the 20th applied write; its caller is answered UNKNOWN.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lk(mu_);
        return std::any_of(sync_.begin(), sync_.end(), [](const SyncCall& c) { return c.answer == Answer::kUnknown; });
      },
      seconds(120)))
      << "no synchronous call was answered OUTCOME_UNKNOWN";
  const Acknowledged before = AcknowledgedNow();
  Note("a decision is stalled after its commit; SIGKILL the postmaster of " + victim);
  ASSERT_TRUE(pg_[v]->Kill(SIGKILL).ok());
  ASSERT_EQ(WaitActive(victim), other);
  ExpectHolds(other, before, "after the kill");
  Load(seconds(3));
  ASSERT_TRUE(pg_[v]->WaitForOrphans().ok());
  Note("restart " + victim);
  ASSERT_TRUE(pg_[v]->Start().ok());
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  // The stalled write was decided by the new active target.
  int decided_by_other = 0;
  for (const auto& c : sync_) {
    if (c.answer == Answer::kUnknown && c.resolved == v1::OUTCOME_APPLIED && c.resolved_by == other) {
      ++decided_by_other;
    }
  }
  EXPECT_GE(decided_by_other, 1) << "no UNKNOWN answer was decided by " << other;
}

// 2. The active server is frozen (every process SIGSTOPped): the periodic probe sees the
// hang and the other primary takes over; thawed, the frozen one catches up.
TEST_F(FailoverPgTest, ActiveServerFrozenThenThawed) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  const std::string victim = WaitActive();
  const int v = IndexOf(victim);
  ASSERT_TRUE(v == 0 || v == 1) << victim;
  const std::string other = kNames[1 - v];
  const Acknowledged before = AcknowledgedNow();
  Note("SIGSTOP every process of " + victim);
  frozen_[v] = true;
  ASSERT_TRUE(pg_[v]->KillAll(SIGSTOP).ok());
  ASSERT_EQ(WaitActive(victim), other);
  ExpectHolds(other, before, "after the freeze");
  Load(seconds(4));
  Note("SIGCONT " + victim);
  ASSERT_TRUE(pg_[v]->KillAll(SIGCONT).ok());
  frozen_[v] = false;
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(WaitActive(), other) << "switched back by itself";
}

// 3. Both primaries down: isolated. Commits go on (the replica is fed), synchronous calls
// are refused naming the state and journal nothing. The primaries come back one after
// the other; the first one back becomes active and stays so. Parameter: which first.
class FailoverPgIsolatedTest : public FailoverPgTest, public ::testing::WithParamInterface<int> {};

TEST_P(FailoverPgIsolatedTest, BothPrimariesDownThenBackOneByOne) {
  const int first = GetParam();
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  const int active = IndexOf(WaitActive());
  ASSERT_TRUE(active == 0 || active == 1);
  Note("stop both primaries");
  ASSERT_TRUE(pg_[active]->Stop(/*immediate=*/true).ok());
  ASSERT_TRUE(pg_[1 - active]->Stop(/*immediate=*/true).ok());
  v1::StatusResponse st;
  ASSERT_TRUE(WaitFor([&] { return GetStatus(&st) && st.state() == "isolated"; }, seconds(120)))
      << st.DebugString();
  Note("isolated");

  // Refused, naming the state, and nothing journaled (the load's own calls are refused
  // too, so the model stream does not move).
  const uint64_t model_head = Head(st, "model");
  v1::ExecuteRequest req;
  req.mutable_statement()->set_text(kSyncInsert);
  req.mutable_statement()->add_params()->set_int_value(-1);
  req.mutable_statement()->add_params()->set_text_value("while isolated");
  v1::ExecuteResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
  grpc::Status refused = sql_->Execute(&ctx, req, &resp);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << resp.DebugString();
  EXPECT_NE(refused.error_message().find("isolated"), std::string::npos) << refused.error_message();
  ASSERT_TRUE(GetStatus(&st));
  EXPECT_EQ(st.state(), "isolated");
  EXPECT_EQ(Head(st, "model"), model_head) << "a refused call journaled something";

  // Commits go on into the journal, and the replica is fed.
  auto replica_samples = [&] {
    auto n = pg_[2]->QueryValue("SELECT count(*) FROM sample_1s", "sluice");
    return n.ok() ? std::stoll(*n) : -1;
  };
  const int64_t replica_before = replica_samples();
  EXPECT_TRUE(WaitFor([&] { return replica_samples() > replica_before; }, seconds(60))) << "the replica is not fed";
  Load(seconds(2));

  // Back one by one: the first back becomes active; the second does not take over.
  const Acknowledged before = AcknowledgedNow();
  Note(fmt::format("start {}", kNames[first]));
  ASSERT_TRUE(pg_[first]->Start().ok());
  ASSERT_EQ(WaitActive(), kNames[first]);
  ExpectHolds(kNames[first], before, "after isolation");
  Load(seconds(3));
  Note(fmt::format("start {}", kNames[1 - first]));
  ASSERT_TRUE(pg_[1 - first]->Start().ok());
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(WaitActive(), kNames[first]);
  // The refused call left nothing behind.
  for (int i = 0; i < kTargets; ++i) {
    auto n = pg_[i]->QueryValue("SELECT count(*) FROM sync_rows WHERE id = -1", "sluice");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, "0") << kNames[i];
  }
}

INSTANTIATE_TEST_SUITE_P(StartOrder, FailoverPgIsolatedTest, ::testing::Values(0, 1),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == 0 ? std::string("PgAFirst") : std::string("PgBFirst");
                         });

// 4. Manual switchover back and forth under load, several times.
TEST_F(FailoverPgTest, ManualSwitchoverBackAndForthUnderLoad) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  for (int round = 0; round < 6; ++round) {
    const std::string from = WaitActive();
    ASSERT_TRUE(from == "pg-a" || from == "pg-b") << from;
    const std::string to = from == "pg-a" ? "pg-b" : "pg-a";
    std::string message;
    const Acknowledged before = AcknowledgedNow();
    Note(fmt::format("round {}: switch from {} to {}", round, from, to));
    // The standby may be briefly ineligible (an applier reconnecting): ask again.
    ASSERT_TRUE(WaitFor([&] { return Switch(to, &message).ok(); }, seconds(60)))
        << "round " << round << ": " << message;
    ASSERT_EQ(WaitActive(), to) << "round " << round;
    ExpectHolds(to, before, fmt::format("in round {}", round));
    Load(milliseconds(1500));
  }
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
}

// 5. sluiced dies in the middle of a switch: right after the switch markers are
// journaled (fail point; its first pass is the first start's switch, so the second
// fires). Restarted without the fail point, it finishes the switch and goes on; the
// killed server comes back and catches up.
TEST_F(FailoverPgTest, SluicedKilledDuringSwitchThenRestarted) {
  ASSERT_NO_FATAL_FAILURE(StartService({{"SLUICE_FAILPOINTS", "cluster.after_switch_markers=2*crash"}}));
  StartLoad();
  Load(seconds(2));
  ASSERT_TRUE(daemon_->running()) << "the fail point fired before the switch";
  const std::string victim = WaitActive();
  const int v = IndexOf(victim);
  ASSERT_TRUE(v == 0 || v == 1) << victim;
  const std::string other = kNames[1 - v];
  const Acknowledged before = AcknowledgedNow();
  Note("SIGKILL the postmaster of " + victim + "; sluiced crashes during the switch");
  sluiced_killed_ = true;
  ASSERT_TRUE(pg_[v]->Kill(SIGKILL).ok());
  ASSERT_EQ(daemon_->process().Wait(seconds(60)), 137) << "sluiced did not crash at the fail point";
  std::string state = ReadFile(dir_.Sub("data/state/cluster.json"));
  EXPECT_NE(state.find("switching"), std::string::npos) << state;
  Load(seconds(2));  // commits are spooled by the client; synchronous calls fail meanwhile

  Note("restart sluiced");
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_EQ(WaitActive(), other);
  ExpectHolds(other, before, "after the restart of sluiced");
  Load(seconds(3));
  ASSERT_TRUE(pg_[v]->WaitForOrphans().ok());
  Note("restart " + victim);
  ASSERT_TRUE(pg_[v]->Start().ok());
  Load(seconds(3));
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(WaitActive(), other);
}

// 6. Every session of the service on the active target is terminated: the probe session
// reconnects at once, the appliers reconnect, and the service does NOT switch.
TEST_F(FailoverPgTest, TerminatedSessionsDoNotSwitch) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  StartLoad();
  Load(seconds(2));
  v1::StatusResponse before;
  ASSERT_TRUE(GetStatus(&before));
  ASSERT_EQ(before.state(), "active");
  const std::string active = before.active_target();
  const int a = IndexOf(active);
  ASSERT_TRUE(a == 0 || a == 1) << active;
  int64_t health_since = 0;
  for (const auto& t : before.targets()) {
    if (t.name() == active) health_since = t.health_since_us();
  }
  const std::string state_file = ReadFile(dir_.Sub("data/state/cluster.json"));

  for (int round = 0; round < 3; ++round) {
    Note(fmt::format("round {}: terminate every session of the service on {}", round, active));
    auto killed = pg_[a]->QueryRows(kTerminate, "sluice");
    ASSERT_TRUE(killed.ok()) << killed.status().ToString();
    // The health monitor's probe session among them, and the appliers' sessions.
    bool probe = false;
    for (const auto& r : *killed) probe = probe || r[0] == "sluice-probe";
    EXPECT_TRUE(probe) << "round " << round << ": the probe session was not terminated";
    EXPECT_GE(killed->size(), 3u) << "round " << round << ": too few sessions of the service were terminated";
    Note(fmt::format("{} sessions terminated", killed->size()));
    // Watch closely for a while: the state never leaves active(ACTIVE).
    auto until = std::chrono::steady_clock::now() + seconds(4);
    int polls = 0;
    while (std::chrono::steady_clock::now() < until) {
      v1::StatusResponse st;
      if (GetStatus(&st)) {
        ++polls;
        ASSERT_EQ(st.state(), "active") << "round " << round << ": " << st.state_reason();
        ASSERT_EQ(st.active_target(), active) << "round " << round;
        ASSERT_EQ(st.state_since_us(), before.state_since_us()) << "round " << round << ": the state changed";
        for (const auto& t : st.targets()) {
          if (t.name() == active) {
            ASSERT_EQ(t.health_since_us(), health_since)
                << "round " << round << ": the health monitor saw '" << active << "' down: " << t.health_detail();
          }
        }
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_GT(polls, 10) << "round " << round;
  }
  StopLoad();
  Note("load stopped");
  ASSERT_NO_FATAL_FAILURE(SettleAndCheck());
  EXPECT_EQ(ReadFile(dir_.Sub("data/state/cluster.json")), state_file) << "the state file changed";
}

}  // namespace
}  // namespace sluice::testing
