#pragma once
// `sluice-bench ingest`'s producers: client threads committing the workload through the
// client library or the raw Ingest.CommitStream stub.

#include <array>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/ingest_bench_setup.h"
#include "sluice/client.h"

namespace sluice::bench::ingest {

// How producers reach the service.
enum class Api {
  // The client library: Client::CommitSamples, one call (so one commit) at a time per
  // client, as a producer that waits for each acknowledgement.
  kLibrary,
  // The raw Ingest.CommitStream stub, up to `window` requests in flight per client,
  // acknowledged in order: what a pipelining producer can get from the service.
  kStream,
};
inline std::string ApiName(Api api, int window) {
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

  Status Open();

  void Start();
  void Stop() { stop_.store(true); }
  void Join() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // After Join().
  LoadResult Result();

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
  std::optional<v1::SampleBatch> NextBatch(PerThread* s);

  // Commits the next batch through the library; false on an error (recorded in `s`).
  bool CommitOne(client::Client* c, PerThread* s, bool timed);

  void RunLibrary(int i, std::barrier<>* ready);

  // One CommitStream call for the whole run, numbered as the library numbers commits
  // (a fresh client id, sequences from 1), so the service does the same de-duplication
  // work for both APIs.
  void RunStream(int i, std::barrier<>* ready);

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

}  // namespace sluice::bench::ingest
