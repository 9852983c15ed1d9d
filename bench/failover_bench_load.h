#pragma once
// The loads `sluice-bench failover` runs through the public client library while it fails
// servers: sample commits (SampleLoad) and synchronous writes (SyncLoop), each recording
// what was acknowledged so that the verification can tell lost from duplicated rows.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/failover_bench_setup.h"
#include "sluice/client.h"

namespace sluice::bench::failover {

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
  void Run(int i);
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
                                           Clock::duration timeout);
  // Calls completed in (after, before].
  std::vector<SyncCall> Between(Clock::time_point after, Clock::time_point before);
  std::vector<SyncCall> Calls();

 private:
  void Run();

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

}  // namespace sluice::bench::failover
