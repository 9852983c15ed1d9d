#pragma once
// Reading a stream's journal in LSN order, in batches, from any retained LSN. A reader
// sees only durable records. Many readers may read one journal at once.
//
// Thread safety: one Reader is used by one thread at a time.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "journal/journal.h"
#include "journal/segment_reader.h"

namespace sluice::journal {

struct RecordView {
  Lsn lsn = 0;
  uint16_t type = 0;
  std::string_view payload;  // points into the ReadBatch that holds it
};

// Records read in one call; the views stay valid until the batch is reused or destroyed.
class ReadBatch {
 public:
  const std::vector<RecordView>& records() const { return records_; }
  bool empty() const { return records_.empty(); }
  size_t size() const { return records_.size(); }
  size_t payload_bytes() const { return arena_used_; }
  Lsn first_lsn() const { return records_.empty() ? 0 : records_.front().lsn; }
  Lsn last_lsn() const { return records_.empty() ? 0 : records_.back().lsn; }

 private:
  friend class Reader;
  void Clear();
  void Add(Lsn lsn, uint16_t type, std::string_view payload);
  void Finish();  // points the views into the arena

  std::vector<RecordView> records_;
  std::vector<size_t> offsets_;
  std::string arena_;
  size_t arena_used_ = 0;
};

class Reader {
 public:
  // A reader whose first record is `from`. Fails with kOutOfRange when `from` is below
  // the first retained LSN or above durable_lsn() + 1.
  static Result<std::unique_ptr<Reader>> Open(const Journal* journal, Lsn from);

  // Replaces `batch` with up to `max_records` records / about `max_bytes` of payload
  // (at least one record when any is available), starting at next_lsn(). An empty batch
  // means the reader is caught up with the durable LSN.
  Status Read(size_t max_records, size_t max_bytes, ReadBatch* batch);

  // Waits until a record at next_lsn() is durable or the timeout passes.
  bool WaitForRecords(std::chrono::milliseconds timeout) const;

  Lsn next_lsn() const { return next_; }
  // Where next_lsn()'s frame starts: the number of the segment the reader is in and the
  // byte offset in its file (what `sluice status` counts the bytes a target waits for
  // from). 0, 0 before the first Read.
  uint64_t segment_number() const { return it_ ? segment_.number : 0; }
  uint64_t next_offset() const { return it_ ? it_->offset() : 0; }

 private:
  Reader(const Journal* journal, Lsn from) : journal_(journal), next_(from) {}
  // Positions the iterator on the segment holding next_ and skips to next_.
  Status Seek();

  const Journal* journal_;
  Lsn next_;
  std::unique_ptr<ReadableFile> file_;
  SegmentInfo segment_;
  std::unique_ptr<FrameIterator> it_;
};

}  // namespace sluice::journal
