#pragma once
// `sluice-bench failover`'s setup: its options, the sample workload, the sluiced it runs
// and the waits for a settled service. The measurement itself is failover_bench.cc.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/v1/service.grpc.pb.h"
#include "support/sluiced.h"

#ifndef SLUICE_BENCH_DEFAULT_DIR
#define SLUICE_BENCH_DEFAULT_DIR "/tmp"
#endif
#ifndef SLUICED_PATH
#define SLUICED_PATH "sluiced"
#endif

namespace sluice::bench::failover {

using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;

inline constexpr int64_t kMinuteUs = 60'000'000;
inline constexpr const char* kTable = "sample_1min";
inline constexpr const char* kStream = "samples";
inline constexpr uint32_t kQuality = 192;
inline constexpr const char* kDb = "sluice";
inline constexpr const char* kSyncTable = "bench_failover_sync";
inline const std::vector<std::string> kTargets = {"pg-a", "pg-b"};

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
inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
inline double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
inline int64_t SysMicros(SysClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
template <typename Rep, typename Period>
Clock::duration ToClock(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration_cast<Clock::duration>(d);
}

// Nearest-rank percentile of `v` (any order); NaN when empty.
double Percentile(std::vector<double> v, double q);

inline nlohmann::json Round3(double v) {
  return std::isfinite(v) ? nlohmann::json(std::round(v * 1000) / 1000) : nlohmann::json(nullptr);
}
inline nlohmann::json Rounded(double v) {
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
         int ordered_batch_delay_ms);

  // Starts sluiced and waits until a target is active and every applier runs.
  Status Start();

 private:
  Status config_status_;  // of writing the config: Start() reports it
};

const v1::TargetStatus* FindTarget(const v1::StatusResponse& s, const std::string& name);

// True when every applier of `target` (every target when empty) runs and has applied
// `heads` (stream -> LSN); `why` says what is missing.
bool CaughtUp(const v1::StatusResponse& s, const std::map<std::string, uint64_t>& heads,
              const std::string& target, std::string* why);

std::map<std::string, uint64_t> Heads(const v1::StatusResponse& s);

// Waits until the service is active, both targets are up and eligible, and every
// applier has reached the stream heads seen when both were; then 200 ms of quiet and the
// same active target. Returns the active target.
Result<std::string> WaitStable(const Daemon& d, std::chrono::seconds timeout);

// Waits until `target`'s appliers (every target's when empty) have reached the heads of
// now; returns the heads.
Result<std::map<std::string, uint64_t>> WaitCaughtUp(const Daemon& d, const std::string& target,
                                                     std::chrono::seconds timeout);

}  // namespace sluice::bench::failover
