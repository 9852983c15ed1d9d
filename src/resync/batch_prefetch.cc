#include "resync/batch_prefetch.h"

#include <utility>

namespace sluice::resync {

BatchPrefetcher::BatchPrefetcher(store::SnapshotReader* reader,
                                 std::span<const store::CopyTableSpec> tables, size_t first,
                                 store::CopyRow after, size_t batch_rows, size_t depth)
    : reader_(reader),
      tables_(tables),
      batch_rows_(batch_rows),
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
    for (;;) {
      Result<std::vector<store::CopyRow>> rows = reader_->ReadRows(table, after, batch_rows_);
      if (!rows.ok()) {
        Push(rows.status());
        return;  // the writer stops at the error
      }
      Batch batch;
      batch.table = i;
      batch.table_done = rows->size() < batch_rows_;
      if (!rows->empty()) after = store::KeyOf(table, rows->back());
      batch.rows = std::move(rows).value();
      const bool table_done = batch.table_done;
      if (!Push(std::move(batch))) return;
      if (table_done) break;
    }
  }
}

}  // namespace sluice::resync
