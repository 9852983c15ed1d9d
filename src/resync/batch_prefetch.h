#pragma once
// Reads the batches of a table copy (resync/table_copy.h) on a thread of its own, one
// batch ahead of the writer: while the destination writes and commits batch n, the
// source already reads batch n + 1. Without it the two ends take turns, each idle while
// the other works, and the copy takes the sum of both instead of the slower one.
//
// The reader is used by the prefetch thread only, from construction until destruction
// (which stops the thread and waits for it); batches come out in the order they were
// read.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/copy_io.h"

namespace sluice::resync {

// The rows per batch of `table`: `batch_rows`, or fewer when the table's rows are wide,
// so that a batch's rows take about `batch_bytes` of memory at most as CopyRows (the
// row vectors and their values; text longer than the string's inline buffer is not
// counted). At least 1; `batch_bytes` 0: no byte limit.
size_t BatchRows(const store::CopyTableSpec& table, size_t batch_rows, size_t batch_bytes);

class BatchPrefetcher {
 public:
  struct Batch {
    size_t table = 0;  // index into the tables given
    std::vector<store::CopyRow> rows;
    bool table_done = false;  // the last batch of its table (fewer rows than its limit)
  };

  // Reads tables[first], tables[first + 1], ... in batches of BatchRows(table,
  // batch_rows, batch_bytes) rows ordered by key, the first table's from after `after`
  // (from its start when empty), each later table's from its start, keeping up to
  // `depth` batches ready.
  BatchPrefetcher(store::SnapshotReader* reader, std::span<const store::CopyTableSpec> tables,
                  size_t first, store::CopyRow after, size_t batch_rows, size_t batch_bytes,
                  size_t depth = 1);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next batch, waiting for it; the reader's error when a read failed. REQUIRES: the
  // last table's last batch has not been taken yet.
  Result<Batch> Next();

 private:
  void Run(size_t first, store::CopyRow after);
  // Queues `item`, waiting for room; false when stopping.
  bool Push(Result<Batch> item);

  store::SnapshotReader* const reader_;
  const std::span<const store::CopyTableSpec> tables_;
  const size_t batch_rows_;
  const size_t batch_bytes_;
  const size_t depth_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Result<Batch>> ready_;  // guarded by mu_
  bool stop_ = false;                // guarded by mu_
  std::thread thread_;               // last: started once the rest is set up
};

}  // namespace sluice::resync
