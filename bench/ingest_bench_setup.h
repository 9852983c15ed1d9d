#pragma once
// `sluice-bench ingest`'s setup: its options, the sample workload, the sluiced it runs and
// the target a case writes to. The cases are ingest_bench_cases.cc and
// ingest_bench_sql.cc; the producers ingest_bench_load.h.

#include <fmt/format.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_util.h"
#include "common/file_system.h"
#include "common/status.h"
#include "sluice/v1/service.grpc.pb.h"
#include "support/config_builder.h"
#include "support/pg_server.h"
#include "support/sluiced.h"

#ifndef SLUICE_BENCH_DEFAULT_DIR
#define SLUICE_BENCH_DEFAULT_DIR "/tmp"
#endif
#ifndef SLUICED_PATH
#define SLUICED_PATH "sluiced"
#endif

namespace sluice::bench::ingest {

using Clock = std::chrono::steady_clock;

inline constexpr int64_t kMinuteUs = 60'000'000;
inline constexpr const char* kTable = "sample_1min";
inline constexpr const char* kStream = "samples";
inline constexpr uint32_t kQuality = 192;
inline constexpr const char* kTargetName = "bench";
// The sql_execute case's table; row 1 is written through Sluice, row 2 by the baseline.
inline constexpr const char* kSqlTable = "bench_counter";

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
inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
inline double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Nearest-rank percentile of `sorted` (ascending). REQUIRES: !sorted.empty().
inline double Percentile(const std::vector<double>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(q * n)));
  return sorted[std::min(rank, sorted.size()) - 1];
}

inline nlohmann::json Round3(double v) {
  return std::isfinite(v) ? nlohmann::json(std::round(v * 1000) / 1000) : nlohmann::json(nullptr);
}
inline nlohmann::json Rounded(double v) {
  return std::isfinite(v) ? nlohmann::json(std::llround(v)) : nlohmann::json(nullptr);
}

// CPU time (user + system) of this process, every thread.
double ProcessCpuSeconds();

// CPU time (user + system) of process `pid`, every thread; NaN when it cannot be read.
double ProcessCpuSeconds(pid_t pid);

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
  Daemon(std::string binary, std::string dir, testing::TargetSpec target);

  // Starts sluiced and waits until the target is active and every applier runs.
  Status Start();

  // Waits until the target's applier of `stream` has applied `lsn`; fails when it stops
  // (blocked, needs resync), rejects a record, or `timeout` passes.
  Status WaitApplied(const std::string& stream, uint64_t lsn, std::chrono::seconds timeout) const;

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
  Result<std::vector<std::string>> QueryRow(const std::string& sql) const;

 private:
  testing::PgServer* pg_;
  std::string name_;
  std::string daemon_dir_;
  bool created_ = false;
};

// Checks that `t` holds exactly rows 0..rows-1 of `w` in the sample table.
Status CheckRows(const Target& t, const Workload& w, int64_t rows);

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

}  // namespace sluice::bench::ingest
