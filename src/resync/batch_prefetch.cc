#include "resync/batch_prefetch.h"

#include <algorithm>
#include <utility>

namespace sluice::resync {

size_t BatchRows(const store::CopyTableSpec& table, size_t batch_rows, size_t batch_bytes) {
  // A row: its vector, its values, and the allocator's overhead of the values' block.
  const size_t row_bytes =
      sizeof(store::CopyRow) + table.columns.size() * sizeof(store::CopyValue) + 16;
  const size_t fit = batch_bytes == 0 ? batch_rows : batch_bytes / row_bytes;
  return std::max<size_t>(1, std::min(batch_rows, fit));
}

BatchPrefetcher::BatchPrefetcher(store::SnapshotReader* reader,
                                 std::span<const store::CopyTableSpec> tables, size_t first,
                                 store::CopyRow after, size_t batch_rows, size_t batch_bytes,
                                 size_t depth)
    : reader_(reader),
      tables_(tables),
      batch_rows_(batch_rows),
      batch_bytes_(batch_bytes),
      depth_(depth == 0 ? 1 : depth),
      thread_([this, first, after = std::move(after)]() mutable { Run(first, std::move(after)); }) {}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Result<BatchPrefetcher::Batch> BatchPrefetcher::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return !ready_.empty(); });
  Result<Batch> item = std::move(ready_.front());
  ready_.pop_front();
  lock.unlock();
  changed_.notify_all();
  return item;
}

bool BatchPrefetcher::Push(Result<Batch> item) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return stop_ || ready_.size() < depth_; });
  if (stop_) return false;
  ready_.push_back(std::move(item));
  lock.unlock();
  changed_.notify_all();
  return true;
}

void BatchPrefetcher::Run(size_t first, store::CopyRow after) {
  for (size_t i = first; i < tables_.size(); ++i) {
    const store::CopyTableSpec& table = tables_[i];
    if (i != first) after.clear();
    const size_t limit = BatchRows(table, batch_rows_, batch_bytes_);
    for (;;) {
      Result<std::vector<store::CopyRow>> rows = reader_->ReadRows(table, after, limit);
      if (!rows.ok()) {
        Push(rows.status());
        return;  // the writer stops at the error
      }
      Batch batch;
      batch.table = i;
      batch.table_done = rows->size() < limit;
      if (!rows->empty()) after = store::KeyOf(table, rows->back());
      batch.rows = std::move(rows).value();
      const bool table_done = batch.table_done;
      if (!Push(std::move(batch))) return;
      if (table_done) break;
    }
  }
}

}  // namespace sluice::resync
