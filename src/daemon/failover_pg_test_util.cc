#include "daemon/failover_pg_test_util.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iostream>
#include <set>

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {

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

void FailoverPgTest::SetUp() {
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

void FailoverPgTest::TearDown() {
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

void FailoverPgTest::StartDaemon(const std::map<std::string, std::string>& env) {
  daemon_->Kill(SIGKILL);  // a restart replaces a sluiced that still runs
  const sluice::Status started = daemon_->Start(env);
  ASSERT_TRUE(started.ok()) << started.ToString();
  Reconnect();
}

void FailoverPgTest::Reconnect() {
  channel_ = OpenChannel(address());
  admin_ = v1::Admin::NewStub(channel_);
  sql_ = v1::Sql::NewStub(channel_);
}

bool FailoverPgTest::GetStatus(v1::StatusResponse* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  grpc::Status s = admin_->Status(&ctx, v1::StatusRequest(), out);
  if (!s.ok()) Reconnect();  // a fresh channel: a failed one waits out its reconnect backoff
  return s.ok();
}

std::string FailoverPgTest::WaitActive(const std::string& not_on, milliseconds timeout) {
  v1::StatusResponse st;
  bool ok = WaitFor(
      [&] { return GetStatus(&st) && st.state() == "active" && st.active_target() != not_on; }, timeout);
  return ok ? st.active_target() : "";
}

int FailoverPgTest::IndexOf(const std::string& name) const {
  for (int i = 0; i < kTargets; ++i) {
    if (name == kNames[i]) return i;
  }
  return -1;
}

grpc::Status FailoverPgTest::Switch(const std::string& target, std::string* message) {
  v1::SwitchRequest req;
  req.set_target(target);
  v1::SwitchResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
  grpc::Status s = admin_->Switch(&ctx, req, &resp);
  *message = s.ok() ? resp.message() : s.error_message();
  return s;
}

uint64_t FailoverPgTest::Head(const v1::StatusResponse& st, const std::string& stream) {
  for (const auto& s : st.streams()) {
    if (s.name() == stream) return s.head_lsn();
  }
  return 0;
}

void FailoverPgTest::StartService(const std::map<std::string, std::string>& env) {
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

void FailoverPgTest::StartLoad() {
  stop_load_ = false;
  load_.emplace_back([this] { SampleLoop(); });
  if (!sql_stopped_) load_.emplace_back([this] { SqlLoop(); });
  // Two callers: while one waits for an outcome, the other keeps asking.
  load_.emplace_back([this] { SyncLoop(); });
  load_.emplace_back([this] { SyncLoop(); });
}

void FailoverPgTest::StopLoad() {
  stop_load_ = true;
  for (auto& t : load_) t.join();
  load_.clear();
}

void FailoverPgTest::SampleLoop() {
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

void FailoverPgTest::SqlLoop() {
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

void FailoverPgTest::SyncLoop() {
  auto channel = OpenChannel(address());
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
      channel = OpenChannel(address());
      stub = v1::Sql::NewStub(channel);
    }
    {
      std::lock_guard lk(mu_);
      sync_.push_back(std::move(c));
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

void FailoverPgTest::Note(const std::string& what) {
  std::cout << fmt::format("[{:6.1f}s] {}\n",
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count(), what)
            << std::flush;
}

FailoverPgTest::Acknowledged FailoverPgTest::AcknowledgedNow() {
  Acknowledged a;
  a.sql_steps = sql_journaled_;
  std::lock_guard lk(mu_);
  for (const auto& c : sync_) {
    if (c.answer == Answer::kApplied) a.applied_ids.push_back(c.id);
  }
  return a;
}

void FailoverPgTest::ExpectHolds(const std::string& target, const Acknowledged& before, const std::string& when) {
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

void FailoverPgTest::ResolveUnknowns() {
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

void FailoverPgTest::WaitCaughtUp(milliseconds timeout) {
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

void FailoverPgTest::Settle() {
  ASSERT_TRUE(load_.empty());
  Status drained = client_->WaitForSpoolDrained(seconds(180));
  ASSERT_TRUE(drained.ok()) << drained.ToString();
  ResolveUnknowns();
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  Note("settled: spool drained, outcomes known, every target caught up");
}

std::vector<std::vector<std::string>> FailoverPgTest::Rows(int i, const std::string& sql) {
  auto rows = pg_[i]->QueryRows(sql, "sluice");
  EXPECT_TRUE(rows.ok()) << kNames[i] << ": " << rows.status().ToString();
  return rows.ok() ? std::move(rows).value() : std::vector<std::vector<std::string>>{};
}

void FailoverPgTest::CheckInvariants() {
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

void FailoverPgTest::CheckSamples() {
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

void FailoverPgTest::CheckOrderedSql() {
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

void FailoverPgTest::CheckSyncWrites() {
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

void FailoverPgTest::SettleAndCheck() {
  ASSERT_NO_FATAL_FAILURE(Settle());
  ASSERT_NO_FATAL_FAILURE(CheckInvariants());
}

}  // namespace sluice::testing
