// `sluice-bench failover`: how long synchronous writes stop when the active target fails,
// and how fast a target that was down catches up.
//
// Setup: two throw-away PostgreSQL servers (fsync on), each a primary of a real `sluiced`
// (the one built in this build tree) on loopback: pg-a (priority 100, active at start) and
// pg-b (90). [health] and the switch deadline keep their defaults (probe every 200 ms,
// probe timeout 500 ms, switch deadline 2 s). During the trials two loads run through
// the public client library (include/sluice/client.h):
//  - samples: one client committing --load-batch-rows rows to the `samples` stream at
//    --load-rows-per-s;
//  - sync: one client calling Sql.Execute in a tight loop, each call inserting a row
//    with a unique id into a table made for it (created through Sql.Execute first, so
//    both targets have it), with a per-call deadline (--call-timeout-ms). Every call is
//    recorded: start, completion, outcome and the target that decided it
//    (ExecuteResponse.target).
//
// Trials. Before each, the service must be active with both targets up, eligible and
// caught up (every applier at the stream heads of the moment), then 200 ms of quiet.
// Then the active target's server is failed at T0 (steady clock, taken just before the
// signal):
//  - crash (--trials): SIGKILL of its postmaster;
//  - hang (--hang-trials): SIGSTOP of every process of the server.
// The failover time is from T0 to the completion of the first synchronous call that
// succeeded (OUTCOME_APPLIED) with the other target as its decider. Then the failed
// server is brought back (crash: wait for the orphaned backends, restart with crash
// recovery; hang: SIGCONT) and the next trial waits until it has caught up; the active
// target alternates. Each trial also reports where the time went, from what sluiced
// recorded, as times from T0: `down_ms` when the health monitor marked the target down
// (TargetStatus.health_since_us), `switching_ms` the `switching(FROM -> TO)` state change
// (from the state events every target's event_log receives; stamped before the state is
// persisted), `active_ms` the new target active (it has applied every ordered write up to
// its switch markers). Per fault kind: detect (T0 -> down), down_to_switching,
// switching_to_active, and active_to_call_done (negative when the call in flight at the
// fault was decided by the new target before the state turned active).
//
// Catch-up. After the trials the loads stop and the standby primary's server is stopped
// (fast shutdown) for --down-seconds while --catchup-clients clients commit
// --catchup-batch-rows batches at --catchup-rows-per-s in total (0: as fast as they can).
// Once the active target has applied all of it, the server is started again; the clock
// runs from when it accepts connections until its watermark of every stream reaches the
// head (Admin.Status, polled every 10 ms): catchup_rows_per_s = the rows committed while
// it was down / that time. It includes the applier's reconnection backoff (which grows
// to seconds while a target is down; reported as catchup_reconnect_ms), so
// catchup_apply_rows_per_s gives the rate from the first applied record on. Baseline,
// same run, same server: the same rows loaded with libpq binary COPY into a fresh database
// with the same schema (from the backend's Connect(), partitions created before the
// clock), one transaction per --catchup-batch-rows rows, as the ingest benchmark's
// baseline. catchup_ratio = catchup_rows_per_s / baseline_rows_per_s.
//
// Verification, at the end, on both servers once both have caught up:
//  - samples: row i of the workload carries value i + 0.25; every acknowledged commit's
//    rows must be there (the key (point_id, ts) makes duplicates impossible, so count
//    and sum(value) against the acknowledged rows tell lost rows);
//  - synchronous writes: every call answered APPLIED, or answered UNKNOWN and then
//    resolved APPLIED through GetOutcome, must have its row exactly once; a call refused
//    (UNAVAILABLE: nothing journaled) or REJECTED must have none. lost counts missing
//    rows, duplicated counts extra copies (a row twice, or a row of a call that was
//    refused); calls whose outcome the client could not learn (its deadline passed, no
//    LSN) are `unresolved` and may hold their row at most once.

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/machine_info.h"
#include "common/file_system.h"
#include "common/log.h"
#include "sluice/client.h"
#include "sluice/v1/service.grpc.pb.h"
#include "store/backend.h"
#include "support/config_builder.h"
#include "support/net.h"
#include "support/pg_server.h"
#include "support/sluiced.h"

#ifndef SLUICE_BENCH_DEFAULT_DIR
#define SLUICE_BENCH_DEFAULT_DIR "/tmp"
#endif
#ifndef SLUICED_PATH
#define SLUICED_PATH "sluiced"
#endif

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;

constexpr int64_t kMinuteUs = 60'000'000;
constexpr const char* kTable = "sample_1min";
constexpr const char* kStream = "samples";
constexpr uint32_t kQuality = 192;
constexpr const char* kDb = "sluice";
constexpr const char* kSyncTable = "bench_failover_sync";
const std::vector<std::string> kTargets = {"pg-a", "pg-b"};

struct Args {
  bool json = false;
  std::string dir = SLUICE_BENCH_DEFAULT_DIR;
  int trials = 20;
  int hang_trials = 10;
  double down_seconds = 60;
  double load_rows_per_s = 5000;
  int64_t load_batch_rows = 500;
  int catchup_clients = 2;
  int64_t catchup_batch_rows = 10'000;
  double catchup_rows_per_s = 100'000;
  int call_timeout_ms = 2500;
  int64_t points = 100'000;
  std::string pg_shared_buffers = "128MB";
  // sluiced reaches the servers over TCP loopback instead of their Unix sockets.
  bool pg_tcp = false;
  std::string sluiced = SLUICED_PATH;
  std::string keep_log;  // copy sluiced's log here at the end
  int ordered_batch_delay_ms = -1;  // -1: the config's default
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
int64_t SysMicros(SysClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
template <typename Rep, typename Period>
Clock::duration ToClock(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration_cast<Clock::duration>(d);
}

// Nearest-rank percentile of `v` (any order); NaN when empty.
double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const auto n = static_cast<double>(v.size());
  const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(q * n)));
  return v[std::min(rank, v.size()) - 1];
}

nlohmann::json Round3(double v) {
  return std::isfinite(v) ? nlohmann::json(std::round(v * 1000) / 1000) : nlohmann::json(nullptr);
}
nlohmann::json Rounded(double v) {
  return std::isfinite(v) ? nlohmann::json(std::llround(v)) : nlohmann::json(nullptr);
}

// --- the sample workload ---

// Row i: point i % points at ts = base + (i / points) minutes (base one day ago, so
// every timestamp lies in the past and inside the admission window), value i + 0.25.
class Workload {
 public:
  explicit Workload(int64_t points) : points_(points) {
    const int64_t now_us = SysMicros(SysClock::now());
    base_us_ = (now_us / kMinuteUs - 24 * 60) * kMinuteUs;
  }
  int64_t point(int64_t i) const { return i % points_; }
  int64_t ts(int64_t i) const { return base_us_ + (i / points_) * kMinuteUs; }
  static double value(int64_t i) { return static_cast<double>(i) + 0.25; }
  int64_t max_rows() const { return 24 * 60 * points_; }

  v1::SampleBatch Batch(int64_t first, int64_t n) const {
    v1::SampleBatch b;
    b.set_interval(v1::SAMPLE_INTERVAL_1MIN);
    const auto size = static_cast<int>(n);
    b.mutable_point_id()->Reserve(size);
    b.mutable_ts_us()->Reserve(size);
    b.mutable_value()->Reserve(size);
    b.mutable_quality()->Reserve(size);
    for (int64_t i = first; i < first + n; ++i) {
      b.add_point_id(point(i));
      b.add_ts_us(ts(i));
      b.add_value(value(i));
      b.add_quality(kQuality);
    }
    return b;
  }

 private:
  int64_t points_;
  int64_t base_us_ = 0;
};

// --- sluiced ---

// A sluiced child process with the two PostgreSQL primaries; killed on destruction.
class Daemon : public testing::Sluiced {
 public:
  Daemon(std::string binary, std::string dir, const std::vector<std::string>& conninfos,
         int ordered_batch_delay_ms)
      : Sluiced(std::move(binary), std::move(dir)) {
    set_die_with_parent(true);
    testing::ConfigBuilder config("bench");
    config.Listen(port()).JournalLines("ack = \"durable\"").NoAuth();
    if (ordered_batch_delay_ms >= 0) {
      // The default streams, with another batch_delay for the ordered ones.
      std::string streams;
      for (const auto& [name, priority] :
           std::vector<std::pair<std::string, int>>{{"model", 100}, {"events", 50}, {"sql", 40}}) {
        streams += fmt::format("\n[[stream]]\nname = \"{}\"\nordered = true\npriority = {}\nbatch_delay = \"{}ms\"\n",
                               name, priority, ordered_batch_delay_ms);
      }
      streams += "\n[[stream]]\nname = \"samples\"\nordered = false\npriority = 10\n";
      config.Extra(streams);
    }
    for (size_t i = 0; i < kTargets.size(); ++i) {
      config.Primary(kTargets[i], "postgres", conninfos[i], 100 - 10 * static_cast<int>(i));
    }
    config_status_ = WriteConfig("# Written by sluice-bench failover.\n" + config.Toml());
  }

  // Starts sluiced and waits until a target is active and every applier runs.
  Status Start() {
    SLUICE_RETURN_IF_ERROR(config_status_);
    SLUICE_RETURN_IF_ERROR(Sluiced::Start());
    return WaitReady(
        [](const v1::StatusResponse& s) {
          bool running = s.state() == "active" && s.appliers_size() > 0;
          for (const auto& a : s.appliers()) running = running && a.state() == "running";
          return running;
        },
        std::chrono::seconds(120));
  }

 private:
  Status config_status_;  // of writing the config: Start() reports it
};

const v1::TargetStatus* FindTarget(const v1::StatusResponse& s, const std::string& name) {
  for (const auto& t : s.targets()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// True when every applier of `target` (every target when empty) runs and has applied
// `heads` (stream -> LSN); `why` says what is missing.
bool CaughtUp(const v1::StatusResponse& s, const std::map<std::string, uint64_t>& heads,
              const std::string& target, std::string* why) {
  size_t seen = 0;
  for (const auto& a : s.appliers()) {
    if (!target.empty() && a.target() != target) continue;
    ++seen;
    auto it = heads.find(a.stream());
    const uint64_t head = it == heads.end() ? 0 : it->second;
    if (a.state() != "running" || a.applied_lsn() < head) {
      *why = fmt::format("{}/{}: {} applied {} of {} {}", a.target(), a.stream(), a.state(),
                         a.applied_lsn(), head, a.last_error());
      return false;
    }
  }
  if (seen == 0) {
    *why = "no applier of " + target;
    return false;
  }
  return true;
}

std::map<std::string, uint64_t> Heads(const v1::StatusResponse& s) {
  std::map<std::string, uint64_t> heads;
  for (const auto& st : s.streams()) heads[st.name()] = st.head_lsn();
  return heads;
}

// Waits until the service is active, both targets are up and eligible, and every
// applier has reached the stream heads seen when both were; then 200 ms of quiet and the
// same active target. Returns the active target.
Result<std::string> WaitStable(const Daemon& d, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::optional<std::map<std::string, uint64_t>> heads;
  std::string last;
  while (Clock::now() < deadline) {
    auto s = d.AdminStatus(std::chrono::seconds(5));
    if (!s.ok()) {
      last = s.status().ToString();
    } else {
      bool ready = s->state() == "active";
      last = fmt::format("state {} ({})", s->state(), s->state_reason());
      for (const auto& name : kTargets) {
        const v1::TargetStatus* t = FindTarget(*s, name);
        if (t == nullptr || t->health() != "up" || !t->ineligible().empty()) {
          ready = false;
          if (t != nullptr) last = fmt::format("{} is {}: {}", name, t->health(), t->ineligible());
        }
      }
      if (!ready) {
        heads.reset();
      } else {
        if (!heads) heads = Heads(*s);
        if (CaughtUp(*s, *heads, "", &last)) {
          std::string active = s->active_target();
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          auto again = d.AdminStatus(std::chrono::seconds(5));
          if (again.ok() && again->state() == "active" && again->active_target() == active) return active;
          heads.reset();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded(fmt::format("the service did not settle in time: {}", last));
}

// Waits until `target`'s appliers (every target's when empty) have reached the heads of
// now; returns the heads.
Result<std::map<std::string, uint64_t>> WaitCaughtUp(const Daemon& d, const std::string& target,
                                                     std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::optional<std::map<std::string, uint64_t>> heads;
  std::string last;
  while (Clock::now() < deadline) {
    auto s = d.AdminStatus(std::chrono::seconds(10));
    if (s.ok()) {
      if (!heads) heads = Heads(*s);
      if (CaughtUp(*s, *heads, target, &last)) return *heads;
    } else {
      last = s.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status::DeadlineExceeded(fmt::format("not caught up in time: {}", last));
}

// --- the sample load ---

// Acknowledged and failed row ranges of every sample load of the run.
struct SampleLedger {
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> acked;   // [first, first + n)
  std::vector<std::pair<int64_t, int64_t>> failed;  // outcome not known
  std::atomic<int64_t> next_row{0};

  int64_t AckedRows() {
    std::lock_guard lk(mu);
    int64_t n = 0;
    for (const auto& [f, k] : acked) n += k;
    return n;
  }
};

// `clients` threads, each with its own Client, committing consecutive batches to the
// samples stream at `rows_per_s` in total (0: as fast as they can) until Stop().
class SampleLoad {
 public:
  SampleLoad(std::string address, const Workload* w, SampleLedger* ledger, int clients, int64_t batch_rows,
             double rows_per_s)
      : address_(std::move(address)), w_(w), ledger_(ledger), clients_n_(clients), batch_rows_(batch_rows),
        rows_per_s_(rows_per_s) {}
  ~SampleLoad() { Stop(); }

  Status Open() {
    for (int i = 0; i < clients_n_; ++i) {
      client::ClientOptions co;
      co.addresses = {address_};
      co.commit_timeout = std::chrono::seconds(120);
      co.call_timeout = std::chrono::seconds(120);
      SLUICE_ASSIGN_OR_RETURN(auto c, client::Client::Open(co));
      clients_.push_back(std::move(c));
    }
    return Status::OK();
  }
  void Start() {
    start_ = Clock::now();
    for (int i = 0; i < clients_n_; ++i) threads_.emplace_back([this, i] { Run(i); });
  }
  void Stop() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  int64_t rows() const { return rows_.load(); }
  std::string error() {
    std::lock_guard lk(mu_);
    return error_;
  }

 private:
  void Run(int i) {
    client::Client* c = clients_[static_cast<size_t>(i)].get();
    const double per_thread = rows_per_s_ / clients_n_;
    int64_t sent = 0;
    while (!stop_.load()) {
      if (per_thread > 0) {
        auto due = start_ + ToClock(std::chrono::duration<double>(static_cast<double>(sent) / per_thread));
        while (!stop_.load() && Clock::now() < due) {
          std::this_thread::sleep_for(std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(20)));
        }
        if (stop_.load()) break;
      }
      const int64_t first = ledger_->next_row.fetch_add(batch_rows_);
      if (first + batch_rows_ > w_->max_rows()) {
        SetError(fmt::format("the workload ran out of timestamps at row {}: raise --points", first));
        return;
      }
      auto r = c->CommitSamples(kStream, w_->Batch(first, batch_rows_));
      std::lock_guard lk(ledger_->mu);
      if (r.ok() && (r->state == client::CommitState::kAcknowledged ||
                     r->state == client::CommitState::kAlreadyAdmitted)) {
        ledger_->acked.emplace_back(first, batch_rows_);
        rows_.fetch_add(batch_rows_);
      } else {
        ledger_->failed.emplace_back(first, batch_rows_);
        SetError(r.ok() ? "a commit was spooled" : r.status().ToString());
      }
      sent += batch_rows_;
    }
  }
  void SetError(std::string e) {
    std::lock_guard lk(mu_);
    if (error_.empty()) error_ = std::move(e);
  }

  std::string address_;
  const Workload* w_;
  SampleLedger* ledger_;
  int clients_n_;
  int64_t batch_rows_;
  double rows_per_s_;
  std::vector<std::unique_ptr<client::Client>> clients_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> rows_{0};
  Clock::time_point start_;
  std::mutex mu_;
  std::string error_;
};

// --- the synchronous writes ---

struct SyncCall {
  enum Kind { kApplied, kRejected, kUnknown, kUnresolved, kRefused, kError };
  int64_t id = 0;
  Clock::time_point start;
  Clock::time_point end;
  Kind kind = kError;
  uint64_t lsn = 0;    // kUnknown; 0 when the call was cut off (request_id then finds it)
  std::string request_id;
  std::string target;  // the decider (kApplied, kRejected)
  std::string error;
};

// One client calling Sql.Execute in a tight loop, one INSERT of a fresh id per call.
class SyncLoop {
 public:
  SyncLoop(std::string address, int call_timeout_ms) : address_(std::move(address)), timeout_ms_(call_timeout_ms) {}
  ~SyncLoop() { Stop(); }

  Status Open() {
    client::ClientOptions co;
    co.addresses = {address_};
    co.call_timeout = std::chrono::milliseconds(timeout_ms_);
    SLUICE_ASSIGN_OR_RETURN(client_, client::Client::Open(co));
    return Status::OK();
  }
  client::Client* client() { return client_.get(); }

  void Start() {
    stop_.store(false);
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  // The first call completed after `after` that `target` applied; nullopt after `timeout`.
  std::optional<SyncCall> WaitFirstApplied(Clock::time_point after, const std::string& target,
                                           Clock::duration timeout) {
    std::unique_lock lk(mu_);
    size_t from = 0;
    std::optional<SyncCall> found;
    cv_.wait_for(lk, timeout, [&] {
      for (; from < calls_.size(); ++from) {
        const SyncCall& c = calls_[from];
        if (c.end > after && c.kind == SyncCall::kApplied && c.target == target) {
          found = c;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  // Calls completed in (after, before].
  std::vector<SyncCall> Between(Clock::time_point after, Clock::time_point before) {
    std::lock_guard lk(mu_);
    std::vector<SyncCall> out;
    for (const auto& c : calls_) {
      if (c.end > after && c.end <= before) out.push_back(c);
    }
    return out;
  }
  std::vector<SyncCall> Calls() {
    std::lock_guard lk(mu_);
    return calls_;
  }

 private:
  void Run() {
    const std::string sql = fmt::format("INSERT INTO {} (id, at_us) VALUES ($1, $2)", kSyncTable);
    while (!stop_.load()) {
      SyncCall c;
      c.id = next_id_++;
      v1::ExecuteRequest req;
      req.mutable_statement()->set_text(sql);
      req.mutable_statement()->add_params()->set_int_value(c.id);
      req.mutable_statement()->add_params()->set_int_value(SysMicros(SysClock::now()));
      c.start = Clock::now();
      auto r = client_->Execute(req);
      c.end = Clock::now();
      if (r.ok()) {
        c.target = r->target();
        c.lsn = r->lsn();
        c.request_id = r->request_id();
        switch (r->outcome()) {
          case v1::OUTCOME_APPLIED: c.kind = SyncCall::kApplied; break;
          case v1::OUTCOME_REJECTED: c.kind = SyncCall::kRejected; c.error = r->message(); break;
          case v1::OUTCOME_UNKNOWN: c.kind = SyncCall::kUnknown; break;
          default: c.kind = SyncCall::kError; c.error = "outcome " + v1::Outcome_Name(r->outcome());
        }
      } else {
        c.error = r.status().ToString();
        // kUnavailable: refused before anything was journaled (switching, isolated) or
        // no address answered. (A call cut off after the request may have gone out is
        // answered OUTCOME_UNKNOWN with its request id, above; kOutcomeUnknown is kept
        // for older client libraries.)
        c.kind = r.status().code() == Code::kUnavailable      ? SyncCall::kRefused
                 : r.status().code() == Code::kOutcomeUnknown ? SyncCall::kUnresolved
                                                              : SyncCall::kError;
      }
      const bool failed = c.kind == SyncCall::kRefused || c.kind == SyncCall::kError;
      {
        std::lock_guard lk(mu_);
        calls_.push_back(std::move(c));
      }
      cv_.notify_all();
      if (failed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  std::string address_;
  int timeout_ms_;
  std::unique_ptr<client::Client> client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int64_t next_id_ = 1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SyncCall> calls_;
};

// --- trials ---

struct Trial {
  std::string fault;  // "crash" | "hang"
  std::string from, to;
  int64_t t0_us = 0;  // system clock, for matching sluiced's timestamps
  double failover_ms = NAN;
  double first_call_started_ms = NAN;  // when the successful call was sent, from T0
  double down_ms = NAN;       // T0 -> health monitor: down
  double switching_ms = NAN;  // T0 -> state switching (event_log)
  double active_ms = NAN;     // T0 -> state active(to)
  int refused = 0;            // calls refused between T0 and the first success
  int unknown = 0;
  double recover_ms = NAN;    // restart (or SIGCONT) until caught up and stable
  int restart_failures = 0;   // failed PgServer::Start() calls before one worked
  std::string error;
};

nlohmann::json TrialJson(const Trial& t) {
  nlohmann::json j = {{"fault", t.fault},
                      {"from", t.from},
                      {"to", t.to},
                      {"failover_ms", Round3(t.failover_ms)},
                      {"first_call_sent_ms", Round3(t.first_call_started_ms)},
                      {"down_ms", Round3(t.down_ms)},
                      {"switching_ms", Round3(t.switching_ms)},
                      {"active_ms", Round3(t.active_ms)},
                      {"refused", t.refused},
                      {"unknown", t.unknown},
                      {"recover_ms", Round3(t.recover_ms)}};
  if (t.restart_failures > 0) j["restart_failures"] = t.restart_failures;
  if (!t.error.empty()) j["error"] = t.error;
  return j;
}

Trial RunTrial(Daemon& d, SyncLoop& sync, testing::PgServer* servers[2], bool hang) {
  Trial t;
  t.fault = hang ? "hang" : "crash";
  auto active = WaitStable(d, std::chrono::seconds(300));
  if (!active.ok()) {
    t.error = "before the fault: " + active.status().ToString();
    return t;
  }
  t.from = *active;
  const size_t victim = t.from == kTargets[0] ? 0 : 1;
  t.to = kTargets[1 - victim];
  testing::PgServer* pg = servers[victim];

  const auto t0_sys = SysClock::now();
  const auto t0 = Clock::now();
  t.t0_us = SysMicros(t0_sys);
  Status fault = hang ? pg->KillAll(SIGSTOP) : pg->Kill(SIGKILL);
  if (!fault.ok()) {
    t.error = "fault: " + fault.ToString();
    return t;
  }
  auto first = sync.WaitFirstApplied(t0, t.to, std::chrono::seconds(60));
  if (first) {
    t.failover_ms = Millis(first->end - t0);
    t.first_call_started_ms = Millis(first->start - t0);
    for (const auto& c : sync.Between(t0, first->end)) {
      if (c.kind == SyncCall::kRefused) t.refused++;
      if (c.kind == SyncCall::kUnknown || c.kind == SyncCall::kUnresolved) t.unknown++;
    }
  } else {
    t.error = fmt::format("no synchronous call succeeded on '{}' within 60 s of the fault", t.to);
  }
  // What sluiced recorded: when the victim went down, and when the new target became
  // active (the switching state's time comes from the event_log at the end).
  const auto status_deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < status_deadline) {
    auto s = d.AdminStatus(std::chrono::seconds(5));
    if (s.ok()) {
      const v1::TargetStatus* v = FindTarget(*s, t.from);
      if (v != nullptr && v->health() == "down" && std::isnan(t.down_ms)) {
        t.down_ms = static_cast<double>(v->health_since_us() - t.t0_us) / 1000.0;
      }
      if (s->state() == "active" && s->active_target() == t.to) {
        t.active_ms = static_cast<double>(s->state_since_us() - t.t0_us) / 1000.0;
        if (!std::isnan(t.down_ms)) break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // Bring the server back.
  const auto back = Clock::now();
  Status s = hang ? pg->KillAll(SIGCONT) : pg->Start();
  for (int retry = 0; !s.ok() && !hang && retry < 2; ++retry) {
    // Said loudly, with the server's log: a restart after SIGKILL is expected to work.
    fmt::print(stderr, "  restarting the server of '{}' failed: {}\n  its log: {}\n  trying again\n", t.from,
               s.ToString(), pg->LogTail(2000));
    t.restart_failures++;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    s = pg->Start();
  }
  if (!s.ok()) {
    t.error += (t.error.empty() ? "" : "; ") + ("restart: " + s.ToString() + "; log: " + pg->LogTail(2000));
    return t;
  }
  auto stable = WaitStable(d, std::chrono::seconds(300));
  if (!stable.ok()) {
    t.error += (t.error.empty() ? "" : "; ") + ("after the restart: " + stable.status().ToString());
    return t;
  }
  t.recover_ms = Millis(Clock::now() - back);
  return t;
}

// The state changes every target's event_log received: (ts_us, text), oldest first.
Result<std::vector<std::pair<int64_t, std::string>>> StateEvents(testing::PgServer* pg) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, pg->QueryRows("SELECT ts, text FROM event_log WHERE kind = 'sluice.state' "
                                                   "ORDER BY ts, id",
                                                   kDb));
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& r : rows) out.emplace_back(std::stoll(r.at(0)), r.at(1));
  return out;
}

// --- catch-up and its baseline ---

// Loads rows [first, first + rows) of `w` into a fresh database on `pg` the raw way:
// binary COPY, one transaction per `batch_rows` rows. Returns the seconds it took.
Result<double> PostgresBaseline(testing::PgServer* pg, const Workload& w, int64_t first, int64_t rows,
                                int64_t batch_rows) {
  const std::string db = "bench_raw";
  SLUICE_RETURN_IF_ERROR(pg->CreateDatabase(db));
  const std::string conninfo = pg->ConnInfo(db);
  {
    store::BackendOptions bo;
    bo.name = "schema";
    bo.connection = conninfo;
    SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend("postgres", bo));
    SLUICE_RETURN_IF_ERROR(backend->Connect());
  }
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> closer(conn, PQfinish);
  if (PQstatus(conn) != CONNECTION_OK) return Status::Unavailable(PQerrorMessage(conn));
  const auto exec = [&](const std::string& sql, ExecStatusType want) -> Status {
    PGresult* res = PQexec(conn, sql.c_str());
    Status s = PQresultStatus(res) == want ? Status::OK()
                                           : Status::Internal(fmt::format("{}: {}", sql, PQresultErrorMessage(res)));
    PQclear(res);
    return s;
  };
  SLUICE_RETURN_IF_ERROR(exec("SET synchronous_commit = on; SET TimeZone = 'UTC'", PGRES_COMMAND_OK));
  SLUICE_RETURN_IF_ERROR(CreateSamplePartitions(conn, kTable, w.ts(first), w.ts(first + rows - 1),
                                                store::BackendOptions{}.partition_span_us));
  SLUICE_RETURN_IF_ERROR(exec("CHECKPOINT", PGRES_COMMAND_OK));
  const std::string copy =
      fmt::format("COPY {} (point_id, ts, value, quality, ver, manual) FROM STDIN (FORMAT binary)", kTable);
  BinaryCopy data;
  const auto start = Clock::now();
  for (int64_t done = 0, batch = 0; done < rows; done += batch_rows, ++batch) {
    SLUICE_RETURN_IF_ERROR(exec("BEGIN", PGRES_COMMAND_OK));
    SLUICE_RETURN_IF_ERROR(exec(copy, PGRES_COPY_IN));
    data.Clear();
    data.Header();
    const int64_t end = std::min(rows, done + batch_rows);
    for (int64_t i = done; i < end; ++i) {
      data.Row(w.point(first + i), w.ts(first + i), Workload::value(first + i), kQuality, batch + 1);
    }
    data.Trailer();
    if (PQputCopyData(conn, data.data().data(), static_cast<int>(data.data().size())) != 1 ||
        PQputCopyEnd(conn, nullptr) != 1) {
      return Status::Internal(PQerrorMessage(conn));
    }
    PGresult* res = PQgetResult(conn);
    Status s = PQresultStatus(res) == PGRES_COMMAND_OK
                   ? Status::OK()
                   : Status::Internal(fmt::format("COPY: {}", PQresultErrorMessage(res)));
    PQclear(res);
    while ((res = PQgetResult(conn)) != nullptr) PQclear(res);
    SLUICE_RETURN_IF_ERROR(s);
    SLUICE_RETURN_IF_ERROR(exec("COMMIT", PGRES_COMMAND_OK));
  }
  const double seconds = Seconds(Clock::now() - start);
  closer.reset();
  auto count = pg->QueryValue(fmt::format("SELECT count(*) FROM {}", kTable), db);
  if (!count.ok() || std::stoll(*count) != rows) {
    return Status::Internal(fmt::format("the baseline database holds {} rows, expected {}",
                                        count.ok() ? *count : count.status().ToString(), rows));
  }
  pg->Exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", db)).IgnoreError();
  return seconds;
}

struct CatchUp {
  int64_t first_row = 0;  // the rows committed while it was down: [first_row, first_row + rows)
  int64_t rows = 0;
  double down_s = NAN;
  double seconds = NAN;       // server ready -> watermark at the heads
  double reconnect_ms = NAN;  // server ready -> first progress of its samples applier
  double apply_seconds = NAN; // first progress -> heads
  double load_rows_per_s = NAN;
  std::string target;
  std::string error;
};

CatchUp RunCatchUp(const Args& args, Daemon& d, testing::PgServer* servers[2], const Workload& w,
                   SampleLedger* ledger) {
  CatchUp c;
  auto active = WaitStable(d, std::chrono::seconds(300));
  if (!active.ok()) {
    c.error = "before: " + active.status().ToString();
    return c;
  }
  const size_t down = *active == kTargets[0] ? 1 : 0;
  c.target = kTargets[down];
  testing::PgServer* pg = servers[down];
  fmt::print(stderr, "[catch-up] '{}' stopped for {} s while committing at {} rows/s ...\n", c.target,
             args.down_seconds, args.catchup_rows_per_s > 0 ? fmt::format("{}", args.catchup_rows_per_s) : "full speed");
  const auto stopped = Clock::now();
  if (Status s = pg->Stop(); !s.ok()) {
    c.error = "stopping the server: " + s.ToString();
    return c;
  }
  const int64_t rows_before = ledger->AckedRows();
  const int64_t first_row = ledger->next_row.load();
  c.first_row = first_row;
  {
    SampleLoad load(d.address(), &w, ledger, args.catchup_clients, args.catchup_batch_rows, args.catchup_rows_per_s);
    if (Status s = load.Open(); !s.ok()) {
      c.error = s.ToString();
      return c;
    }
    const auto load_start = Clock::now();
    load.Start();
    std::this_thread::sleep_until(stopped + ToClock(std::chrono::duration<double>(args.down_seconds)));
    load.Stop();
    c.load_rows_per_s = static_cast<double>(load.rows()) / Seconds(Clock::now() - load_start);
    if (!load.error().empty()) {
      c.error = "load: " + load.error();
      return c;
    }
  }
  c.rows = ledger->AckedRows() - rows_before;
  fmt::print(stderr, "  {} rows committed ({:.0f} rows/s); waiting for '{}' to apply them ...\n", c.rows,
             c.load_rows_per_s, *active);
  auto heads = WaitCaughtUp(d, *active, std::chrono::seconds(3600));
  if (!heads.ok()) {
    c.error = "the active target: " + heads.status().ToString();
    return c;
  }
  // Only this run's rows: nothing else is committed from here on.
  if (ledger->next_row.load() != first_row + c.rows) {
    c.error = "a commit of the catch-up load failed";
    return c;
  }
  if (Status s = pg->Start(); !s.ok()) {
    c.error = "restarting the server: " + s.ToString();
    return c;
  }
  const auto ready = Clock::now();
  c.down_s = Seconds(ready - stopped);
  // The applier of a target that was down retries with a backoff that has grown to
  // seconds; "reconnected" is its first poll in state running (or with progress).
  std::optional<uint64_t> applied_at_start;
  std::optional<Clock::time_point> progress;
  std::string last;
  while (true) {
    auto s = d.AdminStatus(std::chrono::seconds(10));
    const auto now = Clock::now();
    if (s.ok()) {
      for (const auto& a : s->appliers()) {
        if (a.target() != c.target || a.stream() != kStream) continue;
        if (!applied_at_start) applied_at_start = a.applied_lsn();
        if (!progress && (a.state() == "running" || a.applied_lsn() > *applied_at_start)) progress = now;
      }
      if (CaughtUp(*s, *heads, c.target, &last)) {
        c.seconds = Seconds(now - ready);
        if (progress) {
          c.reconnect_ms = Millis(*progress - ready);
          c.apply_seconds = Seconds(now - *progress);
        }
        break;
      }
    } else {
      last = s.status().ToString();
    }
    if (now - ready > std::chrono::hours(1)) {
      c.error = "the restarted target did not catch up within an hour: " + last;
      return c;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return c;
}

// --- verification ---

struct Verification {
  int64_t lost = 0;
  int64_t duplicated = 0;
  int64_t samples_acked = 0;
  int64_t sync_applied = 0;      // APPLIED, directly or through GetOutcome
  int64_t sync_rejected = 0;
  int64_t sync_refused = 0;
  int64_t sync_unknown = 0;      // answered UNKNOWN (with an LSN)
  int64_t sync_unresolved = 0;   // no LSN: its row may be there once or not
  int64_t sync_unresolved_present = 0;
  int64_t sync_errors = 0;
  std::vector<std::string> problems;
};

Status VerifyTarget(testing::PgServer* pg, const std::string& name, SampleLedger* ledger,
                    const std::map<int64_t, SyncCall::Kind>& sync, Verification* v) {
  // Samples.
  int64_t want_rows = 0;
  long double want_sum = 0;
  {
    std::lock_guard lk(ledger->mu);
    if (!ledger->failed.empty()) {
      return Status::Internal(fmt::format("{} sample commits failed; the check needs every outcome known",
                                          ledger->failed.size()));
    }
    for (const auto& [first, n] : ledger->acked) {
      want_rows += n;
      // sum of (i + 0.25) for i in [first, first + n)
      want_sum += static_cast<long double>(n) * (static_cast<long double>(first) + (n - 1) / 2.0L + 0.25L);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(auto row, pg->QueryRows(fmt::format("SELECT count(*), coalesce(sum(value), 0), "
                                                              "count(DISTINCT value) FROM {}",
                                                              kTable),
                                                  kDb));
  const int64_t count = std::stoll(row.at(0).at(0));
  const long double sum = std::stold(row.at(0).at(1));
  const int64_t distinct = std::stoll(row.at(0).at(2));
  v->samples_acked = want_rows;
  if (count < want_rows) v->lost += want_rows - count;
  if (count > distinct) v->duplicated += count - distinct;
  if (count != want_rows || std::fabs(static_cast<double>(sum - want_sum)) > 0.5) {
    v->problems.push_back(fmt::format("{}: samples: {} rows, sum(value) {:.2f}; expected {} rows, sum {:.2f}", name,
                                      count, static_cast<double>(sum), want_rows, static_cast<double>(want_sum)));
  }
  // Synchronous writes.
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          pg->QueryRows(fmt::format("SELECT id, count(*) FROM {} GROUP BY id", kSyncTable), kDb));
  std::map<int64_t, int64_t> present;
  for (const auto& r : rows) present[std::stoll(r.at(0))] = std::stoll(r.at(1));
  int64_t lost = 0, dup = 0, extra = 0, unresolved_present = 0;
  for (const auto& [id, kind] : sync) {
    auto it = present.find(id);
    const int64_t n = it == present.end() ? 0 : it->second;
    switch (kind) {
      case SyncCall::kApplied:
        if (n == 0) lost++;
        if (n > 1) dup += n - 1;
        break;
      case SyncCall::kUnresolved:
      case SyncCall::kUnknown:  // still not decided after GetOutcome
        if (n > 0) unresolved_present++;
        if (n > 1) dup += n - 1;
        break;
      default:  // rejected, refused, error: nothing may have been applied
        if (n > 0) extra += n;
        break;
    }
  }
  for (const auto& [id, n] : present) {
    if (!sync.count(id)) extra += n;
  }
  v->lost += lost;
  v->duplicated += dup + extra;
  v->sync_unresolved_present = std::max(v->sync_unresolved_present, unresolved_present);
  if (lost + dup + extra > 0) {
    v->problems.push_back(fmt::format("{}: sync rows: {} lost, {} duplicated, {} present without an applied call",
                                      name, lost, dup, extra));
  }
  return Status::OK();
}

// --- driver ---

nlohmann::json Summary(const std::vector<Trial>& trials, const std::string& fault) {
  std::vector<double> failover, down, to_switching, markers, call, sent;
  int errors = 0, refused = 0, unknown = 0;
  for (const auto& t : trials) {
    if (t.fault != fault) continue;
    if (!t.error.empty()) errors++;
    refused += t.refused;
    unknown += t.unknown;
    if (std::isfinite(t.failover_ms)) failover.push_back(t.failover_ms);
    if (std::isfinite(t.down_ms)) down.push_back(t.down_ms);
    if (std::isfinite(t.switching_ms) && std::isfinite(t.down_ms)) to_switching.push_back(t.switching_ms - t.down_ms);
    if (std::isfinite(t.active_ms) && std::isfinite(t.switching_ms)) markers.push_back(t.active_ms - t.switching_ms);
    if (std::isfinite(t.failover_ms) && std::isfinite(t.active_ms)) call.push_back(t.failover_ms - t.active_ms);
    if (std::isfinite(t.first_call_started_ms)) sent.push_back(t.first_call_started_ms);
  }
  return {{"measured", failover.size()},
          {"errors", errors},
          {"p50_ms", Round3(Percentile(failover, 0.5))},
          {"p99_ms", Round3(Percentile(failover, 0.99))},
          {"max_ms", Round3(Percentile(failover, 1.0))},
          {"detect_p50_ms", Round3(Percentile(down, 0.5))},
          {"detect_max_ms", Round3(Percentile(down, 1.0))},
          {"down_to_switching_p50_ms", Round3(Percentile(to_switching, 0.5))},
          {"switching_to_active_p50_ms", Round3(Percentile(markers, 0.5))},
          {"switching_to_active_max_ms", Round3(Percentile(markers, 1.0))},
          {"active_to_call_done_p50_ms", Round3(Percentile(call, 0.5))},
          {"active_to_call_done_max_ms", Round3(Percentile(call, 1.0))},
          {"call_sent_p50_ms", Round3(Percentile(sent, 0.5))},
          {"calls_refused", refused},
          {"calls_unknown", unknown}};
}

int RunFailoverBench(const Args& args) {
  log::Logger().set_level(spdlog::level::warn);
  MachineInfo machine = GetMachineInfo();
  WarnIfUnrepresentative(machine);
  nlohmann::json machine_json = ToJson(machine);
  machine_json["dir"] = args.dir;
  machine_json["filesystem"] = FileSystemType(args.dir);
  machine_json["sluiced"] = args.sluiced;
  machine_json["loadavg_start"] = LoadAverage();

  nlohmann::json result = {{"case", "failover"},
                           {"trials", args.trials},
                           {"hang_trials", args.hang_trials},
                           {"down_seconds", args.down_seconds},
                           {"load_rows_per_s", args.load_rows_per_s},
                           {"call_timeout_ms", args.call_timeout_ms}};
  if (args.ordered_batch_delay_ms >= 0) result["ordered_batch_delay_ms"] = args.ordered_batch_delay_ms;
  std::vector<std::string> errors;
  auto finish = [&]() {
    if (!errors.empty()) result["error"] = fmt::format("{}", fmt::join(errors, "; "));
    machine_json["loadavg_end"] = LoadAverage();
    nlohmann::json out = {{"bench", "failover"}, {"machine", machine_json}, {"results", {result}}};
    if (args.json) {
      std::cout << out.dump(2) << std::endl;
    } else {
      nlohmann::json brief = result;
      brief.erase("trial_detail");
      std::cout << brief.dump(2) << std::endl;
    }
    return errors.empty() ? 0 : 1;
  };

  // Two PostgreSQL servers.
  std::unique_ptr<testing::PgServer> pgs[2];
  testing::PgServer* servers[2];
  int tcp_ports[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    fmt::print(stderr, "starting PostgreSQL server for '{}' ... ", kTargets[static_cast<size_t>(i)]);
    std::fflush(stderr);
    testing::PgServerOptions po;
    po.shared_buffers = args.pg_shared_buffers;
    if (args.pg_tcp) {
      po.port = tcp_ports[i] = testing::FreePort();
      if (po.port == 0) {
        errors.push_back("no free loopback port for PostgreSQL");
        return finish();
      }
      po.settings.emplace_back("listen_addresses", "127.0.0.1");
    }
    auto server = testing::PgServer::CreateAndStart(po);
    if (!server.ok()) {
      errors.push_back(server.status().ToString());
      return finish();
    }
    pgs[i] = std::move(server).value();
    servers[i] = pgs[i].get();
    if (Status s = servers[i]->CreateDatabase(kDb); !s.ok()) {
      errors.push_back(s.ToString());
      return finish();
    }
    fmt::print(stderr, "{}\n", servers[i]->data_dir());
  }
  {
    nlohmann::json settings = nlohmann::json::object();
    for (const char* name : {"server_version", "fsync", "synchronous_commit", "shared_buffers"}) {
      auto v = servers[0]->QueryValue(fmt::format("SHOW {}", name));
      settings[name] = v.ok() ? *v : v.status().ToString();
    }
    settings["data_dir_filesystem"] = FileSystemType(servers[0]->data_dir());
    settings["sluiced_connects_over"] = args.pg_tcp ? "tcp loopback" : "unix socket";
    machine_json["postgres"] = settings;
  }

  ScratchDir scratch(args.dir, "sluice-bench-failover");
  // The harness itself keeps to the Unix sockets; only sluiced's targets change.
  const auto target_conninfo = [&](int i) {
    return args.pg_tcp ? fmt::format("host=127.0.0.1 port={} dbname='{}' user=postgres", tcp_ports[i], kDb)
                       : servers[i]->ConnInfo(kDb);
  };
  Daemon d(args.sluiced, scratch.path(), {target_conninfo(0), target_conninfo(1)}, args.ordered_batch_delay_ms);
  if (Status s = d.Start(); !s.ok()) {
    errors.push_back(s.ToString());
    return finish();
  }
  fmt::print(stderr, "sluiced pid {} on {} ({})\n", d.pid(), d.address(), d.log_path());
  auto fail = [&](const std::string& what) {
    errors.push_back(what);
    fmt::print(stderr, "error: {}\nsluiced log tail:\n{}\n", what, d.LogTail());
    return finish();
  };

  SyncLoop sync(d.address(), args.call_timeout_ms);
  if (Status s = sync.Open(); !s.ok()) return fail(s.ToString());
  {
    v1::ExecuteRequest req;
    req.mutable_statement()->set_text(
        fmt::format("CREATE TABLE {} (id bigint NOT NULL, at_us bigint NOT NULL)", kSyncTable));
    auto r = sync.client()->Execute(req);
    if (!r.ok() || r->outcome() != v1::OUTCOME_APPLIED) {
      return fail("creating the table: " + (r.ok() ? r->ShortDebugString() : r.status().ToString()));
    }
  }

  Workload w(args.points);
  SampleLedger ledger;
  std::vector<Trial> trials;
  {
    SampleLoad load(d.address(), &w, &ledger, 1, args.load_batch_rows, args.load_rows_per_s);
    if (Status s = load.Open(); !s.ok()) return fail(s.ToString());
    const auto trials_start = Clock::now();
    load.Start();
    sync.Start();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    result["loadavg_trials_start"] = LoadAverage();
    const int total = args.trials + args.hang_trials;
    for (int i = 0; i < total; ++i) {
      const bool hang = i >= args.trials;
      Trial t = RunTrial(d, sync, servers, hang);
      fmt::print(stderr, "[{} {}/{}] {} -> {}: failover {:.1f} ms (down at {:.1f}, active at {:.1f}); back in {:.0f} ms{}\n",
                 t.fault, hang ? i - args.trials + 1 : i + 1, hang ? args.hang_trials : args.trials, t.from, t.to,
                 t.failover_ms, t.down_ms, t.active_ms, t.recover_ms, t.error.empty() ? "" : " ERROR " + t.error);
      trials.push_back(t);
      if (!t.error.empty() && std::isnan(t.recover_ms)) break;  // the service did not come back
      if (!load.error().empty()) break;
    }
    result["loadavg_trials_end"] = LoadAverage();
    sync.Stop();
    load.Stop();
    if (!load.error().empty()) errors.push_back("sample load: " + load.error());
    result["trial_samples_per_s"] = Rounded(static_cast<double>(load.rows()) / Seconds(Clock::now() - trials_start));
  }

  // Switching times from the state events.
  auto events = StateEvents(servers[0]);
  if (!events.ok()) events = StateEvents(servers[1]);
  if (events.ok()) {
    for (auto& t : trials) {
      for (const auto& [ts, text] : *events) {
        if (ts >= t.t0_us && text.starts_with(fmt::format("switching({} -> {})", t.from, t.to))) {
          t.switching_ms = static_cast<double>(ts - t.t0_us) / 1000.0;
          break;
        }
      }
    }
  }

  // Catch-up.
  CatchUp c;
  if (args.down_seconds > 0) {
    c = RunCatchUp(args, d, servers, w, &ledger);
    if (!c.error.empty()) errors.push_back("catch-up: " + c.error);
  }
  double baseline_rows_per_s = NAN;
  if (c.error.empty() && c.rows > 0) {
    const double catchup = static_cast<double>(c.rows) / c.seconds;
    fmt::print(stderr, "  '{}' caught up {} rows in {:.2f} s ({:.0f} rows/s; reconnected after {:.0f} ms)\n",
               c.target, c.rows, c.seconds, catchup, c.reconnect_ms);
    testing::PgServer* pg = servers[c.target == kTargets[0] ? 0 : 1];
    fmt::print(stderr, "  baseline: binary COPY of the same {} rows into the server of '{}' ... ", c.rows, c.target);
    std::fflush(stderr);
    auto b = PostgresBaseline(pg, w, c.first_row, c.rows, args.catchup_batch_rows);
    if (!b.ok()) {
      errors.push_back("baseline: " + b.status().ToString());
    } else {
      baseline_rows_per_s = static_cast<double>(c.rows) / *b;
      fmt::print(stderr, "{:.2f} s, {:.0f} rows/s\n", *b, baseline_rows_per_s);
      result["baseline_seconds"] = Round3(*b);
    }
  }

  // Verification on both servers, once both have applied everything.
  Verification v;
  bool servers_up = true;
  for (int i = 0; i < 2; ++i) {
    if (!servers[i]->running()) {
      servers_up = false;
      errors.push_back(fmt::format("the server of '{}' is not running; nothing verified", kTargets[static_cast<size_t>(i)]));
    }
  }
  if (servers_up) {
    auto caught = WaitCaughtUp(d, "", std::chrono::seconds(600));
    if (!caught.ok()) errors.push_back("final catch-up: " + caught.status().ToString());
    std::map<int64_t, SyncCall::Kind> outcomes;
    for (const auto& call : sync.Calls()) {
      SyncCall::Kind kind = call.kind;
      if (kind == SyncCall::kUnknown) {
        v.sync_unknown++;
        auto r = call.lsn != 0 ? sync.client()->GetOutcome(call.lsn)
                               : sync.client()->GetOutcomeByRequestId(call.request_id);
        if (r.ok() && r->outcome() == v1::OUTCOME_APPLIED) kind = SyncCall::kApplied;
        if (r.ok() && r->outcome() == v1::OUTCOME_REJECTED) kind = SyncCall::kRejected;
      }
      outcomes[call.id] = kind;
      switch (kind) {
        case SyncCall::kApplied: v.sync_applied++; break;
        case SyncCall::kRejected: v.sync_rejected++; break;
        case SyncCall::kRefused: v.sync_refused++; break;
        case SyncCall::kUnresolved: v.sync_unresolved++; break;
        case SyncCall::kError: v.sync_errors++; break;
        default: break;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (Status s = VerifyTarget(servers[i], kTargets[static_cast<size_t>(i)], &ledger, outcomes, &v); !s.ok()) {
        errors.push_back(fmt::format("verifying {}: {}", kTargets[static_cast<size_t>(i)], s.ToString()));
      }
    }
    for (const auto& p : v.problems) fmt::print(stderr, "  PROBLEM: {}\n", p);
  }

  sync.Stop();
  if (Status s = d.Stop(); !s.ok()) errors.push_back(s.ToString());
  if (!args.keep_log.empty()) {
    std::ifstream in(d.log_path(), std::ios::binary);
    std::ofstream out(args.keep_log, std::ios::binary);
    out << in.rdbuf();
    if (!out) errors.push_back("cannot write " + args.keep_log);
  }

  // The result.
  nlohmann::json crash = Summary(trials, "crash");
  nlohmann::json hang = Summary(trials, "hang");
  result["failover_p50_ms"] = crash["p50_ms"];
  result["failover_p99_ms"] = crash["p99_ms"];
  result["failover_max_ms"] = crash["max_ms"];
  result["hang_failover_p50_ms"] = hang["p50_ms"];
  result["hang_failover_p99_ms"] = hang["p99_ms"];
  result["hang_failover_max_ms"] = hang["max_ms"];
  // null when the check could not run (a server did not come back).
  result["lost"] = servers_up ? nlohmann::json(v.lost) : nlohmann::json(nullptr);
  result["duplicated"] = servers_up ? nlohmann::json(v.duplicated) : nlohmann::json(nullptr);
  const double catchup = c.rows > 0 && std::isfinite(c.seconds) ? static_cast<double>(c.rows) / c.seconds : NAN;
  result["catchup_rows_per_s"] = Rounded(catchup);
  result["baseline_rows_per_s"] = Rounded(baseline_rows_per_s);
  result["catchup_ratio"] = Round3(catchup / baseline_rows_per_s);
  result["catchup_rows"] = c.rows;
  result["catchup_seconds"] = Round3(c.seconds);
  result["catchup_reconnect_ms"] = Round3(c.reconnect_ms);
  result["catchup_apply_rows_per_s"] = Rounded(static_cast<double>(c.rows) / c.apply_seconds);
  result["catchup_apply_ratio"] = Round3(static_cast<double>(c.rows) / c.apply_seconds / baseline_rows_per_s);
  result["catchup_down_s"] = Round3(c.down_s);
  result["catchup_load_rows_per_s"] = Rounded(c.load_rows_per_s);
  result["crash"] = crash;
  result["hang"] = hang;
  result["samples_acked"] = v.samples_acked;
  result["sync_calls"] = sync.Calls().size();
  result["sync_applied"] = v.sync_applied;
  result["sync_refused"] = v.sync_refused;
  result["sync_unknown"] = v.sync_unknown;
  result["sync_unresolved"] = v.sync_unresolved;
  result["sync_rejected"] = v.sync_rejected;
  result["sync_errors"] = v.sync_errors;
  if (!v.problems.empty()) result["problems"] = v.problems;
  const auto num = [&](const char* k) {
    return result[k].is_number() ? result[k].get<double>() : std::nan("");
  };
  result["goals"] = {
      {"crash_p50_le_50ms", num("failover_p50_ms") <= 50},
      {"crash_p99_le_200ms", num("failover_p99_ms") <= 200},
      {"hang_p99_le_1s", num("hang_failover_p99_ms") <= 1000},
      {"catchup_ratio_ge_0_8", num("catchup_ratio") >= 0.8},
      {"nothing_lost_or_duplicated", servers_up && v.lost == 0 && v.duplicated == 0},
  };
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& t : trials) detail.push_back(TrialJson(t));
  result["trial_detail"] = detail;
  for (const auto& t : trials) {
    if (!t.error.empty()) errors.push_back(fmt::format("{} trial {} -> {}: {}", t.fault, t.from, t.to, t.error));
  }
  return finish();
}

}  // namespace

void RegisterFailoverBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "failover",
      "Failover of a real sluiced between two PostgreSQL primaries: time from a crash "
      "(SIGKILL) or hang (SIGSTOP) of the active server to the first synchronous write on "
      "the other, catch-up rate of a server that was down against raw COPY, and a check "
      "that nothing acknowledged was lost or duplicated");
  cmd->add_flag("--json", args->json, "Print one JSON object (default: the result without the per-trial detail)");
  cmd->add_option("--trials", args->trials, "Crash trials (SIGKILL of the active server's postmaster)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--hang-trials", args->hang_trials, "Hang trials (SIGSTOP of every process of the active server)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--down-seconds", args->down_seconds,
                  "How long the standby's server stays down for the catch-up measurement (0: skip it)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--load-rows-per-s", args->load_rows_per_s, "Sample rows per second committed during the trials")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--load-batch-rows", args->load_batch_rows, "Rows per commit during the trials")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--catchup-clients", args->catchup_clients, "Committing clients while the standby is down")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--catchup-batch-rows", args->catchup_batch_rows,
                  "Rows per commit while the standby is down (and per baseline transaction)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--catchup-rows-per-s", args->catchup_rows_per_s,
                  "Sample rows per second committed while the standby is down (0: as fast as possible)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--call-timeout-ms", args->call_timeout_ms, "Deadline of each synchronous call")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000));
  cmd->add_option("--points", args->points, "Distinct points (rows cycle over them)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--pg-tcp", args->pg_tcp, "sluiced connects to the servers over TCP loopback (default: Unix sockets)");
  cmd->add_option("--pg-shared-buffers", args->pg_shared_buffers, "shared_buffers of each PostgreSQL server")
      ->capture_default_str();
  cmd->add_option("--ordered-batch-delay-ms", args->ordered_batch_delay_ms,
                  "batch_delay of the ordered streams (an experiment: how much of a switch is "
                  "the appliers waiting to fill a batch); -1 keeps sluiced's default")
      ->capture_default_str()
      ->check(CLI::Range(-1, 10000));
  cmd->add_option("--keep-log", args->keep_log, "Copy sluiced's log to this file at the end")->capture_default_str();
  cmd->add_option("--sluiced", args->sluiced, "The sluiced binary")->capture_default_str()->check(CLI::ExistingFile);
  cmd->add_option("--dir", args->dir, "Directory for sluiced's data (a fresh subdirectory, removed afterwards)")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->callback([=] { context->exit_code = RunFailoverBench(*args); });
}

}  // namespace sluice::bench
