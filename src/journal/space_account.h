#pragma once
// Disk budgets shared by all streams of a data directory.
//
// The journal has a total byte budget. Each stream has a reserved share it can always
// use; beyond its share a stream draws on the common pool (budget minus all reserved
// shares). So when samples have filled their share and the pool, model changes and
// events are still admitted within theirs. Separately, appends stop while the free space
// of the journal's filesystem is below a floor.
//
// Checks are made against counters updated without a global lock, so concurrent
// appends on different streams may overshoot a budget by at most one append each.
//
// Thread safety: safe from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/file_system.h"

namespace sluice::journal {

struct SpaceOptions {
  FileSystem* fs = FileSystem::Default();
  std::string path;                  // a directory on the journal's filesystem
  uint64_t budget_bytes = 0;         // 0: no total budget
  uint64_t free_space_floor_bytes = 0;  // 0: no floor
  std::chrono::milliseconds free_space_refresh{100};
};

class SpaceAccount {
 public:
  explicit SpaceAccount(SpaceOptions options);

  // Registers a stream with its reserved share; returns its index. Not thread-safe with
  // respect to concurrent appends: register every stream before use.
  int AddStream(const std::string& name, uint64_t reserved_bytes);

  // OK if `bytes` more may be written for stream `index`, else kResourceExhausted naming
  // the stream and the budget that is reached.
  Status CheckAppend(int index, uint64_t bytes);
  // Bytes that entered (positive) or left (negative) the journal for a stream.
  void Add(int index, int64_t delta);

  uint64_t used(int index) const;
  uint64_t total_used() const;
  uint64_t budget_bytes() const { return options_.budget_bytes; }
  uint64_t reserved(int index) const;
  // Last measured free bytes on the filesystem.
  uint64_t available_bytes() const { return available_.load(std::memory_order_relaxed); }
  // Measures free space now (statvfs).
  Status RefreshFreeSpace();

 private:
  struct StreamSpace {
    std::string name;
    uint64_t reserved = 0;
    std::atomic<int64_t> used{0};
  };
  uint64_t PoolUsed() const;

  const SpaceOptions options_;
  uint64_t pool_bytes_ = 0;  // budget minus all reserved shares
  std::vector<std::unique_ptr<StreamSpace>> streams_;
  std::atomic<uint64_t> available_{UINT64_MAX};
  std::atomic<int64_t> last_refresh_ns_{0};
};

}  // namespace sluice::journal
