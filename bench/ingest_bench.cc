// `sluice-bench ingest`: the service end to end, as producers see it. A real `sluiced`
// process (the one built in this build tree) on loopback, with one target: a throw-away
// PostgreSQL server on a Unix socket (or, with --target sqlite, an SQLite file: the quick
// mode, which has no baselines).
//
// Producers are --clients threads, each with its own connection, as separate producer
// programs would be. They use the public client library (include/sluice/client.h), one
// Client per thread: a Client serialises the commits of one stream, so threads sharing
// one Client would measure a single commit in flight. The commit case also runs with the
// raw Ingest.CommitStream stub (--api stream), which keeps --window requests in flight
// per thread: the library's CommitSamples waits for each acknowledgement, so with small
// batches its throughput is bound by the journal's fdatasync latency, not by CPU; the
// stream shows what the service takes from producers that pipeline.
//
// Every case gets a fresh sluiced (fresh data directory, journal with durable acks) and a
// fresh target database, so that one case's backlog never slows the next.
//
// Workload: sample rows of the 1-minute table; row i is point i % points at
// ts = base + (i / points) minutes (base one day ago, so every timestamp lies in the past
// and inside the admission window), value a non-integral double, quality 192. A batch is
// a range of consecutive rows taken from a counter shared by the client threads, so the
// rows of a case are exactly rows 0..N-1, each once.
//
// Cases:
//  - commit: the producers commit batches of each --batch-rows size for --seconds, with
//    each --api; samples_per_s counts acknowledged rows (durable in the journal),
//    ack_p50/p99_ms is the latency of one commit (call to acknowledgement). Each producer
//    first commits one batch untimed (its Hello and connection). The target's applier
//    runs meanwhile, as in production.
//  - sustained: the producers (library) commit --sustained-rows rows in batches of
//    --sustained-batch-rows; the clock runs from the first commit until the target's
//    watermark reaches the last acknowledged LSN (Admin.Status, polled every 10 ms).
//    Baseline, same run, same PostgreSQL server: the same rows loaded with libpq binary
//    COPY into a fresh database with the same schema (from the backend's Connect(),
//    partitions created before the clock), one transaction per batch of the same size,
//    as apply_bench's baseline. ratio = samples_per_s / baseline_rows_per_s. Both sides
//    are checked (row count and sum of point ids).
//  - sql_execute: a synchronous write through Sql.Execute (the client library's
//    Execute): an UPDATE of one row of a two-row table created first through
//    Sql.Execute. Each call is paired with the same statement through libpq directly
//    against the same database (on the other row, so the two never wait for each
//    other), alternating, for --seconds; once idle and once during a commit load (the
//    producers committing --sustained-batch-rows batches through the library).
//    overhead_p50_ms = p50_ms - baseline_p50_ms.

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
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
#include "rpc/channel.h"
#include "sluice/client.h"
#include "sluice/v1/service.grpc.pb.h"
#include "store/backend.h"
#include "support/config_builder.h"
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

constexpr int64_t kMinuteUs = 60'000'000;
constexpr const char* kTable = "sample_1min";
constexpr const char* kStream = "samples";
constexpr uint32_t kQuality = 192;
constexpr const char* kTargetName = "bench";
// The sql_execute case's table; row 1 is written through Sluice, row 2 by the baseline.
constexpr const char* kSqlTable = "bench_counter";

struct Args {
  bool json = false;
  std::string dir = SLUICE_BENCH_DEFAULT_DIR;
  double seconds = 10;
  int clients = 4;
  std::vector<int64_t> batch_rows = {1000, 10'000};
  int64_t sustained_batch_rows = 10'000;
  int64_t sustained_rows = 5'000'000;
  int64_t points = 100'000;
  std::vector<std::string> cases = {"commit", "sustained", "sql_execute"};
  std::vector<std::string> apis = {"library", "stream"};  // of the commit case
  int window = 8;
  std::string target = "postgres";
  std::string pg_shared_buffers = "128MB";
  std::string sluiced = SLUICED_PATH;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Nearest-rank percentile of `sorted` (ascending). REQUIRES: !sorted.empty().
double Percentile(const std::vector<double>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(q * n)));
  return sorted[std::min(rank, sorted.size()) - 1];
}

nlohmann::json Round3(double v) {
  return std::isfinite(v) ? nlohmann::json(std::round(v * 1000) / 1000) : nlohmann::json(nullptr);
}
nlohmann::json Rounded(double v) {
  return std::isfinite(v) ? nlohmann::json(std::llround(v)) : nlohmann::json(nullptr);
}

// CPU time (user + system) of this process, every thread.
double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// CPU time (user + system) of process `pid`, every thread; NaN when it cannot be read.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after its ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return NAN;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  // state is field 3; utime and stime are fields 14 and 15.
  for (int field = 3; field <= 15 && fields >> f; ++field) {
    if (field >= 14) ticks += std::stod(f);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// --- the workload ---

class Workload {
 public:
  explicit Workload(int64_t points) : points_(points) {
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    base_us_ = (now_us / kMinuteUs - 24 * 60) * kMinuteUs;
  }

  int64_t point(int64_t i) const { return i % points_; }
  int64_t ts(int64_t i) const { return base_us_ + (i / points_) * kMinuteUs; }
  static double value(int64_t i) { return static_cast<double>(i % 100'003) * 0.25 + 0.1; }
  // Rows past this one would lie in the future.
  int64_t max_rows() const { return 24 * 60 * points_; }

  // Rows [first, first + n) as one batch.
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

  // What a target holding rows 0..rows-1 gives for count(*), sum(point_id).
  std::pair<int64_t, int64_t> Sums(int64_t rows) const {
    int64_t sum = 0;
    for (int64_t i = 0; i < rows; ++i) sum += point(i);
    return {rows, sum};
  }

 private:
  int64_t points_;
  int64_t base_us_ = 0;
};

// --- sluiced ---

// A sluiced child process with one target, in its own directory; killed on destruction.
class Daemon : public testing::Sluiced {
 public:
  // `target`: the one [[target]] (its name and role are set here).
  Daemon(std::string binary, std::string dir, testing::TargetSpec target)
      : Sluiced(std::move(binary), std::move(dir)) {
    set_die_with_parent(true);
    target.name = kTargetName;
    target.role = "primary";
    target.priority = 100;
    config_status_ = WriteConfig("# Written by sluice-bench ingest.\n" +
                                 testing::ConfigBuilder("bench")
                                     .Listen(port())
                                     .JournalLines("ack = \"durable\"")
                                     .NoAuth()
                                     .Target(std::move(target))
                                     .Toml());
  }

  // Starts sluiced and waits until the target is active and every applier runs.
  Status Start() {
    SLUICE_RETURN_IF_ERROR(config_status_);
    SLUICE_RETURN_IF_ERROR(Sluiced::Start());
    return WaitReady(
        [](const v1::StatusResponse& s) {
          bool running = s.active_target() == kTargetName && s.appliers_size() > 0;
          for (const auto& a : s.appliers()) running = running && a.state() == "running";
          return running;
        },
        std::chrono::seconds(120));
  }

  // Waits until the target's applier of `stream` has applied `lsn`; fails when it stops
  // (blocked, needs resync), rejects a record, or `timeout` passes.
  Status WaitApplied(const std::string& stream, uint64_t lsn, std::chrono::seconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    std::string last;
    for (;;) {
      auto s = AdminStatus(std::chrono::seconds(10));
      if (s.ok()) {
        for (const auto& a : s->appliers()) {
          if (a.stream() != stream) continue;
          if (a.applied_lsn() >= lsn) return Status::OK();
          if (a.rejected() > 0 || a.state() == "blocked" || a.state() == "needs resync") {
            return Status::Internal(fmt::format("applier {}: {} ({} rejected): {}", a.target(),
                                                a.state(), a.rejected(), a.last_error()));
          }
          last = fmt::format("applied {} of {} ({}) {}", a.applied_lsn(), lsn, a.state(),
                             a.last_error());
        }
      } else {
        last = s.status().ToString();
      }
      if (Clock::now() > deadline) {
        return Status::DeadlineExceeded(fmt::format("not applied in time: {}", last));
      }
      // Polling costs the daemon an Admin.Status per 10 ms; the error on the measured time
      // is at most as much.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  Status config_status_;  // of writing the config: Start() reports it
};

// --- the target ---

// Where a case's rows go: a fresh PostgreSQL database (or SQLite file), and what to
// write in sluiced's config for it.
class Target {
 public:
  Target(testing::PgServer* pg, std::string name, std::string daemon_dir)
      : pg_(pg), name_(std::move(name)), daemon_dir_(std::move(daemon_dir)) {}
  ~Target() {
    if (pg_ != nullptr && created_) {
      pg_->Exec(fmt::format("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", name_))
          .IgnoreError();  // best effort: only frees space
    }
  }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  Status Create() {
    if (pg_ == nullptr) return Status::OK();  // sluiced creates the SQLite file
    SLUICE_RETURN_IF_ERROR(pg_->CreateDatabase(name_));
    created_ = true;
    return Status::OK();
  }
  bool postgres() const { return pg_ != nullptr; }
  std::string conninfo() const { return pg_->ConnInfo(name_); }
  std::string sqlite_file() const { return JoinPath(daemon_dir_, "data/target.db"); }
  // The driver and connection of sluiced's [[target]].
  testing::TargetSpec spec() const {
    testing::TargetSpec t;
    t.driver = postgres() ? "postgres" : "sqlite";
    t.connection = postgres() ? conninfo() : "target.db";
    return t;
  }

  // The first row of `sql` as text.
  Result<std::vector<std::string>> QueryRow(const std::string& sql) const {
    if (postgres()) {
      SLUICE_ASSIGN_OR_RETURN(auto rows, pg_->QueryRows(sql, name_));
      if (rows.empty()) return Status::NotFound(sql);
      return rows[0];
    }
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(sqlite_file().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(db);
      sqlite3_close(db);
      return Status::IOError(fmt::format("{}: {}", sqlite_file(), msg));
    }
    sqlite3_busy_timeout(db, 10'000);
    sqlite3_stmt* st = nullptr;
    std::vector<std::string> row;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* v = sqlite3_column_text(st, i);
        row.push_back(v ? reinterpret_cast<const char*>(v) : "0");
      }
    }
    std::string msg = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (row.empty()) return Status::IOError(fmt::format("{}: {}: {}", sqlite_file(), sql, msg));
    return row;
  }

 private:
  testing::PgServer* pg_;
  std::string name_;
  std::string daemon_dir_;
  bool created_ = false;
};

// Checks that `t` holds exactly rows 0..rows-1 of `w` in the sample table.
Status CheckRows(const Target& t, const Workload& w, int64_t rows) {
  SLUICE_ASSIGN_OR_RETURN(
      auto row,
      t.QueryRow(fmt::format("SELECT count(*), coalesce(sum(point_id), 0) FROM {}", kTable)));
  const auto [count, sum] = w.Sums(rows);
  if (row.size() != 2 || std::stoll(row[0]) != count || std::stoll(row[1]) != sum) {
    return Status::Internal(
        fmt::format("the target holds count {} sum(point_id) {}, expected {} {}", row.at(0),
                    row.size() > 1 ? row[1] : "?", count, sum));
  }
  return Status::OK();
}

// --- the producers ---

// How producers reach the service.
enum class Api {
  // The client library: Client::CommitSamples, one call (so one commit) at a time per
  // client, as a producer that waits for each acknowledgement.
  kLibrary,
  // The raw Ingest.CommitStream stub, up to `window` requests in flight per client,
  // acknowledged in order: what a pipelining producer can get from the service.
  kStream,
};

std::string ApiName(Api api, int window) {
  return api == Api::kLibrary ? "library" : fmt::format("stream (window {})", window);
}

struct LoadOptions {
  Api api = Api::kLibrary;
  int window = 8;  // kStream: requests in flight per client
  int clients = 4;
  int64_t batch_rows = 10'000;
  double seconds = 10;
  // Stop after this many rows (0: no limit); the last batch may be shorter.
  int64_t max_rows = 0;
  // Each client commits one batch before the clock starts (its Hello and connection).
  bool warm_up = false;
};

struct LoadResult {
  int64_t rows = 0;                  // acknowledged in the timed part
  int64_t commits = 0;               // in the timed part
  int64_t total_rows = 0;            // every row committed, warm-up included: rows 0..total_rows-1
  Clock::time_point start;           // the clock's start (the first timed commit's)
  Clock::time_point end;             // when the last commit was acknowledged
  uint64_t last_lsn = 0;             // the highest LSN acknowledged
  std::vector<double> latencies_ms;  // sorted
  std::string error;

  double seconds() const { return Seconds(end - start); }
  double samples_per_s() const { return static_cast<double>(rows) / seconds(); }
};

// `clients` threads, each with its own connection (its own Client, or its own channel
// for the raw stub), committing consecutive batches of the workload to the samples
// stream for `seconds` (or until Stop()).
class CommitLoad {
 public:
  CommitLoad(const std::string& address, const Workload* w, LoadOptions o)
      : address_(address), w_(w), o_(o) {}
  ~CommitLoad() {
    Stop();
    Join();
  }

  Status Open() {
    if (o_.api != Api::kLibrary) return Status::OK();
    for (int i = 0; i < o_.clients; ++i) {
      client::ClientOptions co;
      co.addresses = {address_};
      // A loaded 2-core machine may hold a commit for seconds; a timeout would only turn
      // a slow figure into an error.
      co.commit_timeout = std::chrono::seconds(120);
      co.call_timeout = std::chrono::seconds(120);
      SLUICE_ASSIGN_OR_RETURN(auto c, client::Client::Open(co));
      clients_.push_back(std::move(c));
    }
    return Status::OK();
  }

  void Start() {
    auto ready = std::make_shared<std::barrier<>>(o_.clients + 1);
    for (int i = 0; i < o_.clients; ++i) {
      threads_.emplace_back([this, i, ready] {
        if (o_.api == Api::kLibrary) {
          RunLibrary(i, ready.get());
        } else {
          RunStream(i, ready.get());
        }
      });
    }
    ready->arrive_and_wait();  // every warm-up done
    start_ = Clock::now();
    deadline_ = start_ + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(o_.seconds));
    ready->arrive_and_wait();  // go
  }
  void Stop() { stop_.store(true); }
  void Join() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // After Join().
  LoadResult Result() {
    LoadResult r;
    r.start = start_;
    r.end = start_;
    for (const auto& s : per_thread_) {
      r.rows += s.rows;
      r.total_rows += s.all_rows;
      r.commits += s.commits;
      r.end = std::max(r.end, s.end);
      r.last_lsn = std::max(r.last_lsn, s.last_lsn);
      r.latencies_ms.insert(r.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
      if (r.error.empty()) r.error = s.error;
    }
    std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
    return r;
  }

 private:
  struct PerThread {
    int64_t rows = 0;
    int64_t all_rows = 0;  // warm-up included
    int64_t commits = 0;
    Clock::time_point end;
    uint64_t last_lsn = 0;
    std::vector<double> latencies_ms;
    std::string error;

    void Acknowledged(int64_t batch_rows, Clock::time_point sent, Clock::time_point acked) {
      all_rows += batch_rows;
      rows += batch_rows;
      commits++;
      end = acked;
      latencies_ms.push_back(Millis(acked - sent));
    }
  };

  // The next batch of the workload; nullopt once max_rows are taken, or (with an error in
  // `s`) past the workload's end.
  std::optional<v1::SampleBatch> NextBatch(PerThread* s) {
    const int64_t first = next_batch_.fetch_add(1) * o_.batch_rows;
    int64_t n = o_.batch_rows;
    if (o_.max_rows > 0) {
      if (first >= o_.max_rows) return std::nullopt;
      n = std::min(n, o_.max_rows - first);
    }
    if (first + n > w_->max_rows()) {
      s->error = fmt::format("the workload ran out of timestamps at row {}: raise --points", first);
      return std::nullopt;
    }
    return w_->Batch(first, n);
  }

  // Commits the next batch through the library; false on an error (recorded in `s`).
  bool CommitOne(client::Client* c, PerThread* s, bool timed) {
    auto batch = NextBatch(s);
    if (!batch) return false;
    const int64_t n = batch->point_id_size();
    const auto t0 = Clock::now();
    auto r = c->CommitSamples(kStream, std::move(*batch));
    const auto t1 = Clock::now();
    if (!r.ok()) {
      s->error = r.status().ToString();
      return false;
    }
    if (r->state != client::CommitState::kAcknowledged || r->lsns.empty()) {
      s->error = fmt::format("a commit was answered with state {} instead of acknowledged",
                             static_cast<int>(r->state));
      return false;
    }
    s->last_lsn = std::max(s->last_lsn, r->lsns.back());
    if (timed) {
      s->Acknowledged(n, t0, t1);
    } else {
      s->all_rows += n;
    }
    return true;
  }

  void RunLibrary(int i, std::barrier<>* ready) {
    PerThread& s = per_thread_[static_cast<size_t>(i)];
    client::Client* c = clients_[static_cast<size_t>(i)].get();
    bool ok = !o_.warm_up || CommitOne(c, &s, /*timed=*/false);
    ready->arrive_and_wait();
    ready->arrive_and_wait();
    while (ok && !stop_.load() && Clock::now() < deadline_) ok = CommitOne(c, &s, /*timed=*/true);
    // One failure ends the case: its figure would be wrong.
    if (!s.error.empty()) stop_.store(true);
  }

  // One CommitStream call for the whole run, numbered as the library numbers commits
  // (a fresh client id, sequences from 1), so the service does the same de-duplication
  // work for both APIs.
  void RunStream(int i, std::barrier<>* ready) {
    PerThread& s = per_thread_[static_cast<size_t>(i)];
    // Plain, 64 MiB messages, its own connection (as a separate producer process has).
    // Without a CA file to read, opening a channel cannot fail.
    auto stub = v1::Ingest::NewStub(rpc::NewChannel(address_, rpc::ChannelOptions{}).value());
    grpc::ClientContext ctx;
    auto stream = stub->CommitStream(&ctx);
    const std::string client_id = fmt::format("bench-stream-{}-{}", getpid(), i);
    uint64_t sequence = 0;
    struct Sent {
      Clock::time_point at;
      int64_t rows;
      bool timed;
    };
    std::deque<Sent> in_flight;
    auto send = [&](bool timed) {
      auto batch = NextBatch(&s);
      if (!batch) return false;
      const int64_t n = batch->point_id_size();
      v1::CommitRequest req;
      req.set_stream(kStream);
      req.set_client_id(client_id);
      req.set_sequence(++sequence);
      *req.add_records()->mutable_samples() = std::move(*batch);
      in_flight.push_back({Clock::now(), n, timed});
      if (!stream->Write(req)) {
        s.error = "Ingest.CommitStream: the call ended while sending";
        return false;
      }
      return true;
    };
    auto receive = [&] {
      v1::CommitResponse resp;
      if (!stream->Read(&resp)) {
        s.error = "Ingest.CommitStream: the call ended before every request was answered";
        return false;
      }
      const auto now = Clock::now();
      const Sent sent = in_flight.front();
      in_flight.pop_front();
      if (resp.lsns_size() == 0) {
        s.error = "Ingest.CommitStream: an answer without LSNs";
        return false;
      }
      s.last_lsn = std::max(s.last_lsn, resp.lsns(resp.lsns_size() - 1));
      if (sent.timed) {
        s.Acknowledged(sent.rows, sent.at, now);
      } else {
        s.all_rows += sent.rows;
      }
      return true;
    };

    bool ok = !o_.warm_up || (send(false) && receive());
    ready->arrive_and_wait();
    ready->arrive_and_wait();
    bool more = ok;  // batches left to send
    while (ok && (more || !in_flight.empty())) {
      more = more && !stop_.load() && Clock::now() < deadline_;
      while (more && in_flight.size() < static_cast<size_t>(o_.window)) more = send(true);
      ok = s.error.empty() && (in_flight.empty() || receive());
    }
    ok = ok && s.error.empty();
    if (ok) {
      stream->WritesDone();
    } else {
      stop_.store(true);
      ctx.TryCancel();
    }
    grpc::Status gs = stream->Finish();
    if (!gs.ok() && gs.error_code() != grpc::StatusCode::CANCELLED) {
      s.error +=
          fmt::format("{}Ingest.CommitStream: {}", s.error.empty() ? "" : "; ", gs.error_message());
    }
  }

  std::string address_;
  const Workload* w_;
  LoadOptions o_;
  std::vector<std::unique_ptr<client::Client>> clients_;
  std::vector<std::thread> threads_;
  std::array<PerThread, 64> per_thread_;  // --clients is at most 64
  std::atomic<int64_t> next_batch_{0};
  std::atomic<bool> stop_{false};
  Clock::time_point start_;
  Clock::time_point deadline_;
};

// --- a case's environment ---

// A fresh sluiced with a fresh target, for one case.
struct Env {
  Env(const Args& args, testing::PgServer* pg, int seq)
      : scratch(args.dir, "sluice-bench-ingest"),
        target(pg, fmt::format("bench_sluice_{}", seq), scratch.path()),
        daemon(args.sluiced, scratch.path(), target.spec()) {}

  Status Start() {
    SLUICE_RETURN_IF_ERROR(target.Create());
    SLUICE_RETURN_IF_ERROR(daemon.Start());
    fmt::print(stderr, "  sluiced pid {} on {} ({})\n", daemon.pid(), daemon.address(),
               daemon.log_path());
    return Status::OK();
  }

  ScratchDir scratch;
  Target target;
  Daemon daemon;
};

// --- cases ---

nlohmann::json CommitCase(const Args& args, testing::PgServer* pg, int seq, Api api,
                          int64_t batch_rows) {
  nlohmann::json row = {{"case", "commit"},
                        {"batch_rows", batch_rows},
                        {"clients", args.clients},
                        {"api", ApiName(api, args.window)}};
  auto fail = [&](const std::string& what) {
    row["error"] = what;
    return row;
  };
  Env env(args, pg, seq);
  if (Status s = env.Start(); !s.ok()) return fail(s.ToString());
  Workload w(args.points);
  LoadOptions o;
  o.api = api;
  o.window = args.window;
  o.clients = args.clients;
  o.batch_rows = batch_rows;
  o.seconds = args.seconds;
  o.warm_up = true;
  CommitLoad load(env.daemon.address(), &w, o);
  if (Status s = load.Open(); !s.ok()) return fail(s.ToString());
  row["loadavg_before"] = LoadAverage();
  // CPU per side: on a machine with few cores the producers and the daemon compete.
  const double client_cpu = ProcessCpuSeconds();
  const double daemon_cpu = ProcessCpuSeconds(env.daemon.pid());
  load.Start();
  load.Join();
  const double client_cpu_s = ProcessCpuSeconds() - client_cpu;
  const double daemon_cpu_s = ProcessCpuSeconds(env.daemon.pid()) - daemon_cpu;
  LoadResult r = load.Result();
  row["loadavg_after"] = LoadAverage();
  if (!r.error.empty()) return fail(r.error);
  if (r.latencies_ms.empty()) return fail("no commit finished");
  row["samples_per_s"] = Rounded(r.samples_per_s());
  row["ack_p50_ms"] = Round3(Percentile(r.latencies_ms, 0.50));
  row["ack_p99_ms"] = Round3(Percentile(r.latencies_ms, 0.99));
  row["ack_max_ms"] = Round3(r.latencies_ms.back());
  row["commits"] = r.commits;
  row["rows"] = r.rows;
  row["seconds"] = Round3(r.seconds());
  // The producers' and sluiced's CPU seconds over the run (sluiced's include its
  // applier), per million rows acknowledged.
  row["client_cpu_s_per_m_rows"] = Round3(client_cpu_s / static_cast<double>(r.rows) * 1e6);
  row["sluiced_cpu_s_per_m_rows"] = Round3(daemon_cpu_s / static_cast<double>(r.rows) * 1e6);
  if (Status s = env.daemon.Stop(); !s.ok()) return fail(s.ToString());
  return row;
}

// Loads rows 0..rows-1 of `w` into a fresh database on `pg` the raw way: binary COPY, one
// transaction per `batch_rows` rows. Returns the seconds it took.
Result<double> PostgresBaseline(testing::PgServer* pg, int seq, const Workload& w, int64_t rows,
                                int64_t batch_rows) {
  Target t(pg, fmt::format("bench_raw_{}", seq), "");
  SLUICE_RETURN_IF_ERROR(t.Create());
  {
    // The same schema as Sluice's target, from the backend's own Connect().
    store::BackendOptions bo;
    bo.name = "schema";
    bo.connection = t.conninfo();
    SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend("postgres", bo));
    SLUICE_RETURN_IF_ERROR(backend->Connect());
  }
  PGconn* conn = PQconnectdb(t.conninfo().c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> closer(conn, PQfinish);
  if (PQstatus(conn) != CONNECTION_OK) return Status::Unavailable(PQerrorMessage(conn));
  const auto exec = [&](const std::string& sql, ExecStatusType want) -> Status {
    PGresult* res = PQexec(conn, sql.c_str());
    Status s = PQresultStatus(res) == want
                   ? Status::OK()
                   : Status::Internal(fmt::format("{}: {}", sql, PQresultErrorMessage(res)));
    PQclear(res);
    return s;
  };
  // The backend's session settings that matter here (durable commits, UTC).
  SLUICE_RETURN_IF_ERROR(
      exec("SET synchronous_commit = on; SET TimeZone = 'UTC'", PGRES_COMMAND_OK));
  SLUICE_RETURN_IF_ERROR(CreateSamplePartitions(conn, kTable, w.ts(0), w.ts(rows - 1),
                                                store::BackendOptions{}.partition_span_us));
  SLUICE_RETURN_IF_ERROR(exec("CHECKPOINT", PGRES_COMMAND_OK));

  const std::string copy = fmt::format(
      "COPY {} (point_id, ts, value, quality, ver, manual) FROM STDIN (FORMAT binary)", kTable);
  BinaryCopy data;
  const auto start = Clock::now();
  for (int64_t done = 0, batch = 0; done < rows; done += batch_rows, ++batch) {
    SLUICE_RETURN_IF_ERROR(exec("BEGIN", PGRES_COMMAND_OK));
    SLUICE_RETURN_IF_ERROR(exec(copy, PGRES_COPY_IN));
    data.Clear();
    data.Header();
    const int64_t end = std::min(rows, done + batch_rows);
    for (int64_t i = done; i < end; ++i) {
      data.Row(w.point(i), w.ts(i), Workload::value(i), kQuality, batch + 1);
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
  SLUICE_RETURN_IF_ERROR(CheckRows(t, w, rows));
  return seconds;
}

nlohmann::json SustainedCase(const Args& args, testing::PgServer* pg, int seq) {
  const int64_t batch_rows = args.sustained_batch_rows;
  nlohmann::json row = {
      {"case", "sustained"}, {"batch_rows", batch_rows}, {"clients", args.clients}};
  auto fail = [&](const std::string& what) {
    row["error"] = what;
    return row;
  };
  Workload w(args.points);
  int64_t rows = 0;
  {
    Env env(args, pg, seq);
    if (Status s = env.Start(); !s.ok()) return fail(s.ToString());
    if (pg != nullptr) {
      // Start from the same server state as the baseline: nothing left to write back.
      if (Status s = pg->Exec("CHECKPOINT"); !s.ok()) return fail(s.ToString());
    }
    LoadOptions o;
    o.clients = args.clients;
    o.batch_rows = batch_rows;
    o.max_rows = args.sustained_rows;
    o.seconds = 3600;  // ends with the rows
    CommitLoad load(env.daemon.address(), &w, o);
    if (Status s = load.Open(); !s.ok()) return fail(s.ToString());
    row["loadavg_before"] = LoadAverage();
    load.Start();
    load.Join();
    LoadResult r = load.Result();
    if (!r.error.empty()) return fail(r.error);
    if (Status s = env.daemon.WaitApplied(kStream, r.last_lsn, std::chrono::minutes(30)); !s.ok()) {
      return fail(s.ToString());
    }
    const auto caught_up = Clock::now();
    row["loadavg_after"] = LoadAverage();
    rows = r.total_rows;
    const double seconds = Seconds(caught_up - r.start);
    row["rows"] = rows;
    row["seconds"] = Round3(seconds);
    row["samples_per_s"] = Rounded(static_cast<double>(rows) / seconds);
    // How fast the journal took them, for comparison with the end-to-end figure.
    row["commit_seconds"] = Round3(r.seconds());
    row["commit_samples_per_s"] = Rounded(r.samples_per_s());
    if (Status s = CheckRows(env.target, w, rows); !s.ok()) return fail(s.ToString());
    if (Status s = env.daemon.Stop(); !s.ok()) return fail(s.ToString());
  }
  if (pg == nullptr) {
    row["baseline_rows_per_s"] = nullptr;
    row["ratio"] = nullptr;
    return row;
  }
  fmt::print(stderr, "  baseline: binary COPY of the same {} rows ... ", rows);
  std::fflush(stderr);
  auto baseline = PostgresBaseline(pg, seq, w, rows, batch_rows);
  if (!baseline.ok()) return fail("baseline: " + baseline.status().ToString());
  const double b = static_cast<double>(rows) / *baseline;
  fmt::print(stderr, "{:.2f} s, {:.0f} rows/s\n", *baseline, b);
  row["baseline_seconds"] = Round3(*baseline);
  row["baseline_rows_per_s"] = Rounded(b);
  row["baseline_transactions"] = (rows + batch_rows - 1) / batch_rows;
  row["ratio"] = Round3(row["samples_per_s"].get<double>() / b);
  return row;
}

// Latencies of paired calls: the same UPDATE through Sluice and through libpq.
struct SqlPairs {
  std::vector<double> sluice_ms;
  std::vector<double> baseline_ms;
  std::string error;
};

v1::ExecuteRequest SqlRequest(const std::string& text, std::vector<int64_t> params) {
  v1::ExecuteRequest req;
  req.mutable_statement()->set_text(text);
  for (int64_t p : params) req.mutable_statement()->add_params()->set_int_value(p);
  return req;
}

Status ExecuteApplied(client::Client* c, const v1::ExecuteRequest& req) {
  SLUICE_ASSIGN_OR_RETURN(auto resp, c->Execute(req));
  if (resp.outcome() != v1::OUTCOME_APPLIED) {
    return Status::Internal(fmt::format("{}: outcome {} ({})", req.statement().text(),
                                        v1::Outcome_Name(resp.outcome()), resp.message()));
  }
  return Status::OK();
}

// Alternates the statement through `c` and through `conn` (null: Sluice only) for
// `seconds`; the first calls of each warm up and are not counted.
SqlPairs RunSqlPairs(client::Client* c, PGconn* conn, double seconds) {
  constexpr int kWarmUp = 20;
  const std::string sql = fmt::format("UPDATE {} SET n = $1 WHERE id = $2", kSqlTable);
  SqlPairs out;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(seconds));
  for (int64_t i = 0; i < kWarmUp || Clock::now() < deadline; ++i) {
    const auto t0 = Clock::now();
    if (Status s = ExecuteApplied(c, SqlRequest(sql, {i, 1})); !s.ok()) {
      out.error = s.ToString();
      return out;
    }
    const auto t1 = Clock::now();
    if (i >= kWarmUp) out.sluice_ms.push_back(Millis(t1 - t0));
    if (conn == nullptr) continue;
    // The same statement as the backend would send it: one round trip with text params.
    const std::string n = std::to_string(i);
    const char* values[2] = {n.c_str(), "2"};
    const auto t2 = Clock::now();
    PGresult* res = PQexecParams(conn, sql.c_str(), 2, nullptr, values, nullptr, nullptr, 0);
    const auto t3 = Clock::now();
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) out.error = fmt::format("baseline: {}", PQresultErrorMessage(res));
    PQclear(res);
    if (!ok) return out;
    if (i >= kWarmUp) out.baseline_ms.push_back(Millis(t3 - t2));
  }
  std::sort(out.sluice_ms.begin(), out.sluice_ms.end());
  std::sort(out.baseline_ms.begin(), out.baseline_ms.end());
  return out;
}

// Two rows: idle, then during a commit load.
std::vector<nlohmann::json> SqlExecuteCase(const Args& args, testing::PgServer* pg, int seq) {
  std::vector<nlohmann::json> rows;
  auto fail = [&](const std::string& what) {
    rows.push_back({{"case", "sql_execute"}, {"error", what}});
    return rows;
  };
  Env env(args, pg, seq);
  if (Status s = env.Start(); !s.ok()) return fail(s.ToString());
  client::ClientOptions co;
  co.addresses = {env.daemon.address()};
  co.call_timeout = std::chrono::seconds(120);
  auto c = client::Client::Open(co);
  if (!c.ok()) return fail(c.status().ToString());
  // The table comes through Sluice like any schema change, so every target has it.
  for (const std::string& sql :
       {fmt::format("CREATE TABLE {} (id bigint PRIMARY KEY, n bigint NOT NULL)", kSqlTable),
        fmt::format("INSERT INTO {} (id, n) VALUES (1, 0), (2, 0)", kSqlTable)}) {
    if (Status s = ExecuteApplied(c->get(), SqlRequest(sql, {})); !s.ok()) {
      return fail(s.ToString());
    }
  }
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(nullptr, PQfinish);
  if (env.target.postgres()) {
    conn.reset(PQconnectdb(env.target.conninfo().c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) return fail(PQerrorMessage(conn.get()));
    PGresult* res = PQexec(conn.get(), "SET synchronous_commit = on");
    PQclear(res);
  }

  Workload w(args.points);
  for (bool under_load : {false, true}) {
    nlohmann::json row = {{"case", "sql_execute"}, {"load", under_load}};
    fmt::print(stderr, "  {} ...\n", under_load ? "under a commit load" : "idle");
    std::unique_ptr<CommitLoad> load;
    if (under_load) {
      LoadOptions o;
      o.clients = args.clients;
      o.batch_rows = args.sustained_batch_rows;
      o.seconds = args.seconds + 3600;  // stopped below
      o.warm_up = true;
      load = std::make_unique<CommitLoad>(env.daemon.address(), &w, o);
      if (Status s = load->Open(); !s.ok()) return fail(s.ToString());
      load->Start();
      // Let the applier get busy with the backlog too.
      std::this_thread::sleep_for(std::chrono::seconds(1));
      row["load_clients"] = args.clients;
      row["load_batch_rows"] = args.sustained_batch_rows;
    }
    row["loadavg_before"] = LoadAverage();
    SqlPairs p = RunSqlPairs(c->get(), conn.get(), args.seconds);
    row["loadavg_after"] = LoadAverage();
    if (load) {
      load->Stop();
      load->Join();
      LoadResult r = load->Result();
      if (!r.error.empty() && p.error.empty()) p.error = "commit load: " + r.error;
      if (r.rows > 0) row["load_samples_per_s"] = Rounded(r.samples_per_s());
    }
    if (!p.error.empty() || p.sluice_ms.empty()) {
      row["error"] = p.error.empty() ? "no call finished" : p.error;
      rows.push_back(row);
      return rows;
    }
    row["calls"] = p.sluice_ms.size();
    row["p50_ms"] = Round3(Percentile(p.sluice_ms, 0.50));
    row["p99_ms"] = Round3(Percentile(p.sluice_ms, 0.99));
    if (!p.baseline_ms.empty()) {
      row["baseline_p50_ms"] = Round3(Percentile(p.baseline_ms, 0.50));
      row["baseline_p99_ms"] = Round3(Percentile(p.baseline_ms, 0.99));
      row["overhead_p50_ms"] =
          Round3(Percentile(p.sluice_ms, 0.50) - Percentile(p.baseline_ms, 0.50));
    } else {
      row["baseline_p50_ms"] = nullptr;
      row["overhead_p50_ms"] = nullptr;
    }
    rows.push_back(row);
  }
  c->reset();  // closes its connection before the daemon stops
  if (Status s = env.daemon.Stop(); !s.ok()) return fail(s.ToString());
  return rows;
}

// --- driver ---

void PrintTable(const nlohmann::json& results) {
  for (const auto& row : results) {
    std::string line = fmt::format("{:<12}", row["case"].get<std::string>());
    for (const auto& [key, value] : row.items()) {
      if (key == "case" || key.starts_with("loadavg")) continue;
      line +=
          fmt::format(" {}={}", key, value.is_string() ? value.get<std::string>() : value.dump());
    }
    fmt::print("{}\n", line);
  }
}

int RunIngestBench(const Args& args) {
  // The client library logs reconnections; keep stderr for progress.
  log::Logger().set_level(spdlog::level::warn);
  MachineInfo machine = GetMachineInfo();
  WarnIfUnrepresentative(machine);
  const std::string fs_type = FileSystemType(args.dir);
  if (fs_type == "tmpfs") {
    fmt::print(stderr, "WARNING: {} is on tmpfs: fsync costs nothing there\n", args.dir);
  }
  nlohmann::json machine_json = ToJson(machine);
  machine_json["dir"] = args.dir;
  machine_json["filesystem"] = fs_type;
  machine_json["sluiced"] = args.sluiced;
  machine_json["loadavg_start"] = LoadAverage();

  std::unique_ptr<testing::PgServer> pg;
  if (args.target == "postgres") {
    fmt::print(stderr, "starting a PostgreSQL server ... ");
    std::fflush(stderr);
    testing::PgServerOptions po;  // fsync and synchronous_commit on
    po.shared_buffers = args.pg_shared_buffers;
    auto server = testing::PgServer::CreateAndStart(po);
    if (!server.ok()) {
      fmt::print(stderr, "error: {}\n", server.status().ToString());
      return 1;
    }
    pg = std::move(server).value();
    const std::string pg_fs = FileSystemType(pg->data_dir());
    fmt::print(stderr, "{} ({})\n", pg->data_dir(), pg_fs);
    nlohmann::json settings = nlohmann::json::object();
    for (const char* name : {"server_version", "fsync", "synchronous_commit", "wal_sync_method",
                             "full_page_writes", "shared_buffers", "max_wal_size"}) {
      auto v = pg->QueryValue(fmt::format("SHOW {}", name));
      settings[name] = v.ok() ? *v : v.status().ToString();
    }
    settings["data_dir_filesystem"] = pg_fs;
    machine_json["postgres"] = settings;
  } else {
    machine_json["target"] = "sqlite (quick mode: no baselines)";
  }

  nlohmann::json results = nlohmann::json::array();
  int seq = 0;
  auto wants = [&](const char* name) {
    return std::find(args.cases.begin(), args.cases.end(), name) != args.cases.end();
  };
  auto report = [&](const nlohmann::json& row) {
    fmt::print(stderr, "  -> {}\n", row.dump());
    results.push_back(row);
  };
  if (wants("commit")) {
    for (const std::string& api_name : args.apis) {
      const Api api = api_name == "library" ? Api::kLibrary : Api::kStream;
      for (int64_t batch_rows : args.batch_rows) {
        fmt::print(stderr, "[commit] api={} batch_rows={} clients={} for {} s\n",
                   ApiName(api, args.window), batch_rows, args.clients, args.seconds);
        report(CommitCase(args, pg.get(), ++seq, api, batch_rows));
      }
    }
  }
  if (wants("sustained")) {
    fmt::print(stderr, "[sustained] {} rows, batch_rows={} clients={}\n", args.sustained_rows,
               args.sustained_batch_rows, args.clients);
    report(SustainedCase(args, pg.get(), ++seq));
  }
  if (wants("sql_execute")) {
    fmt::print(stderr, "[sql_execute] {} s idle, {} s under load\n", args.seconds, args.seconds);
    for (const auto& row : SqlExecuteCase(args, pg.get(), ++seq)) report(row);
  }

  machine_json["loadavg_end"] = LoadAverage();
  nlohmann::json out = {{"bench", "ingest"}, {"machine", machine_json}, {"results", results}};
  if (args.json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    PrintTable(results);
  }
  for (const auto& row : results) {
    if (row.contains("error")) return 1;
  }
  return 0;
}

template <typename T>
std::vector<T> ParseList(const std::string& text) {
  std::vector<T> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if constexpr (std::is_same_v<T, std::string>) {
      out.push_back(item);
    } else {
      size_t used = 0;
      out.push_back(static_cast<T>(std::stoll(item, &used)));
      if (used != item.size()) throw std::invalid_argument(item);
    }
  }
  return out;
}

}  // namespace

void RegisterIngestBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<Args>();
  auto batch_rows = std::make_shared<std::string>("1000,10000");
  auto cases = std::make_shared<std::string>("commit,sustained,sql_execute");
  auto apis = std::make_shared<std::string>("library,stream");
  CLI::App* cmd = app.add_subcommand(
      "ingest",
      "The service end to end: a real sluiced with one PostgreSQL target, fed through the "
      "client library (commit throughput and ack latency, sustained commit-to-applied "
      "throughput against raw COPY, Sql.Execute latency against libpq)");
  cmd->add_flag("--json", args->json, "Print one JSON object (default: one line per result)");
  cmd->add_option("--seconds", args->seconds,
                  "How long each case commits (and each sql_execute row calls)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--clients", args->clients, "Producer threads, each with its own Client")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--batch-rows", *batch_rows,
                  "Rows per commit of the commit case, comma-separated; each value is a case")
      ->capture_default_str();
  cmd->add_option("--sustained-batch-rows", args->sustained_batch_rows,
                  "Rows per commit of the sustained case and of the sql_execute load")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--sustained-rows", args->sustained_rows,
                  "Rows the sustained case commits (and the baseline loads)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--points", args->points, "Distinct points (rows cycle over them)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--api", *apis,
                  "How the commit case's producers commit, comma-separated; each value is a "
                  "case: library (Client::CommitSamples, one commit at a time per client) or "
                  "stream (the raw Ingest.CommitStream stub, --window requests in flight)")
      ->capture_default_str();
  cmd->add_option("--window", args->window, "Requests in flight per client with --api stream")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--cases", *cases, "Subset of commit,sustained,sql_execute, comma-separated")
      ->capture_default_str();
  cmd->add_option("--target", args->target,
                  "postgres (a throw-away server), or sqlite: the quick mode, without "
                  "PostgreSQL and without baselines")
      ->capture_default_str()
      ->check(CLI::IsMember({"postgres", "sqlite"}));
  cmd->add_option("--pg-shared-buffers", args->pg_shared_buffers,
                  "shared_buffers of the PostgreSQL server started for the run")
      ->capture_default_str();
  cmd->add_option("--sluiced", args->sluiced, "The sluiced binary")
      ->capture_default_str()
      ->check(CLI::ExistingFile);
  cmd->add_option("--dir", args->dir,
                  "Directory for sluiced's data (PostgreSQL's lives under /tmp); each case "
                  "uses a fresh subdirectory, removed afterwards")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->callback([=] {
    try {
      args->batch_rows = ParseList<int64_t>(*batch_rows);
      args->cases = ParseList<std::string>(*cases);
      args->apis = ParseList<std::string>(*apis);
    } catch (const std::exception&) {
      throw CLI::ValidationError("--batch-rows", "must be comma-separated numbers");
    }
    for (int64_t b : args->batch_rows) {
      if (b <= 0) throw CLI::ValidationError("--batch-rows", "must be positive");
    }
    for (const auto& a : args->apis) {
      if (a != "library" && a != "stream") throw CLI::ValidationError("--api", "unknown API " + a);
    }
    for (const auto& c : args->cases) {
      if (c != "commit" && c != "sustained" && c != "sql_execute") {
        throw CLI::ValidationError("--cases", "unknown case " + c);
      }
    }
    context->exit_code = RunIngestBench(*args);
  });
}

}  // namespace sluice::bench
