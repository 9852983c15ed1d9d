#pragma once
// One stream's journal: a segmented, checksummed, append-only log with group commit.
//
// Producers append from any number of threads. Append() assigns the LSN and queues the
// framed record; one writer thread turns everything queued into one write() and one
// fdatasync(), then publishes the new durable LSN. A producer that needs the ack waits
// with WaitDurable(lsn) (or uses AppendDurable). Keeping many appends in flight before
// waiting is what makes group commit pay off.
//
// Readers (see reader.h) only ever see durable records, whatever the ack mode.
//
// Failure of a write or fdatasync is sticky: every later append and wait fails with the
// same error until the journal is reopened (the page cache can no longer be trusted, so
// nothing that was in the failed group is ever acknowledged).
//
// Thread safety: all public methods are safe to call from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/file_system.h"
#include "journal/format.h"

namespace sluice::journal {

class SpaceAccount;

enum class AckMode {
  kDurable,  // acknowledged after fdatasync (default)
  kWritten,  // acknowledged after write(); survives a crash of the process, not of power
};

struct JournalOptions {
  FileSystem* fs = FileSystem::Default();
  std::string dir;      // DATA_DIR/journal/STREAM
  std::string stream;   // at most 64 bytes: [A-Za-z0-9_.-]
  Epoch epoch{};
  uint64_t segment_bytes = 64ull << 20;
  uint32_t max_record_bytes = 16u << 20;
  AckMode ack_mode = AckMode::kDurable;
  // Appends wait (backpressure) while this many bytes are queued and not yet written.
  uint64_t max_queued_bytes = 64ull << 20;
  // Budget and free-space accounting shared by all streams of a data directory; may be
  // null (no limits).
  SpaceAccount* space = nullptr;
  int space_index = -1;  // this stream's index in `space`
};

// A retained segment, as the journal knows it.
struct SegmentInfo {
  uint64_t number = 0;
  Lsn first_lsn = 0;
  Lsn last_lsn = 0;    // last durable record; first_lsn - 1 while empty
  uint64_t bytes = 0;  // durable bytes
  std::string path;
};

// Where to start reading for an LSN: a record of `segment` at or before it.
struct SegmentPosition {
  SegmentInfo segment;
  Lsn lsn = 0;          // the record at `offset`
  uint64_t offset = 0;  // a frame boundary in the segment file
};

struct AppendRecord {
  uint16_t type = 1;
  std::string_view payload;
};

class Journal {
 public:
  // Opens (recovering) or creates the journal in options.dir. Recovery cuts a torn tail
  // of the last segment (logged with file, offset and bytes) and fails with kCorruption,
  // naming file and offset, on damage anywhere before the last valid record.
  static Result<std::unique_ptr<Journal>> Open(const JournalOptions& options);
  ~Journal();  // flushes what is queued, then stops the writer

  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Queues one record and returns its LSN. Does not wait for the write; may wait for
  // queue space. Fails with kInvalidArgument (too large, bad type), kResourceExhausted
  // (budget or free-space floor reached; names stream and budget) or the sticky error.
  Result<Lsn> Append(uint16_t type, std::string_view payload);
  // Queues several records under consecutive LSNs; returns the first.
  Result<Lsn> AppendBatch(std::span<const AppendRecord> records);
  // Waits until `lsn` is acknowledged under the ack mode (durable or written).
  Status WaitDurable(Lsn lsn);
  // Append + WaitDurable.
  Result<Lsn> AppendDurable(uint16_t type, std::string_view payload);

  // Highest LSN that is durable (fdatasync'd); 0 when the journal is empty. Readers see
  // records up to here.
  Lsn durable_lsn() const { return durable_lsn_.load(std::memory_order_acquire); }
  // Highest LSN assigned so far.
  Lsn last_assigned_lsn() const;
  // First retained LSN (records below it were deleted by retention).
  Lsn first_lsn() const;
  // Waits until durable_lsn() > `lsn`, the timeout passes, or the journal closes.
  // Returns true when there is something new.
  bool WaitForNewerThan(Lsn lsn, std::chrono::milliseconds timeout) const;

  std::vector<SegmentInfo> Segments() const;
  // The retained segment holding `lsn`, if any.
  std::optional<SegmentInfo> SegmentFor(Lsn lsn) const;
  // The retained segment holding `lsn` and the closest indexed record at or before it.
  // The index is sparse (a record every kIndexInterval bytes of a segment), kept while
  // appending and rebuilt at open, so a reader skips at most that much to reach `lsn`.
  std::optional<SegmentPosition> Locate(Lsn lsn) const;
  static constexpr uint64_t kIndexInterval = 64 << 10;
  // Durable bytes and last durable LSN of segment `number` (its current state).
  std::optional<SegmentInfo> SegmentByNumber(uint64_t number) const;
  uint64_t DiskBytes() const;  // bytes of all retained segments, including queued ones
  const std::string& stream() const { return options_.stream; }
  const JournalOptions& options() const { return options_; }
  // The sticky error, or OK.
  Status health() const;

  // Deletes every segment whose records are all <= `lsn`, except the live one.
  // Returns the bytes freed.
  Result<uint64_t> DeleteSegmentsUpTo(Lsn lsn);

  // Writes out and syncs everything queued now; returns the sticky error if any.
  Status Flush();

  // State another module keeps about this journal (say, what its scan of the stream has
  // found so far), created by `make` on first use under `key` and shared by every caller.
  // Attachments are destroyed first when the journal closes, while it is still intact.
  std::shared_ptr<void> Attachment(const std::string& key,
                                   const std::function<std::shared_ptr<void>()>& make) const;

 private:
  explicit Journal(const JournalOptions& options);
  Status Recover();
  void WriterLoop();
  // REQUIRES: mu_ held. Frames the records of one request into queue_ (`bytes`: their
  // frames' total size), all in one segment.
  void QueueBatchLocked(std::span<const AppendRecord> records, uint64_t bytes);
  Status CheckAppendLocked(uint16_t type, size_t payload_bytes) const;
  Status WriteGroup(const std::string& bytes, const std::vector<std::pair<size_t, Lsn>>& rolls,
                    Lsn last_lsn);
  Status StartSegment(Lsn first_lsn);
  void FailLocked(const Status& s);
  void AccountSpace(int64_t delta);

  const JournalOptions options_;

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;       // writer: something queued / stopping
  std::condition_variable space_cv_;        // producers: queue has room
  mutable std::condition_variable durable_cv_;  // waiters: durable/acked LSN moved
  bool stopping_ = false;
  Status sticky_error_;          // guarded by mu_
  Lsn next_lsn_ = 1;             // guarded by mu_
  Lsn initial_next_lsn_ = 1;     // guarded by mu_; next_lsn_ when the journal was opened
  std::string queue_;            // guarded by mu_; framed records not yet written
  size_t queue_last_frame_ = 0;  // guarded by mu_; offset of the last frame in queue_
  // Offsets in queue_ at which a new segment starts, with that segment's first LSN.
  std::vector<std::pair<size_t, Lsn>> rolls_;  // guarded by mu_
  uint64_t logical_segment_bytes_ = 0;         // guarded by mu_; live segment incl. queue
  uint64_t logical_segment_number_ = 0;        // guarded by mu_; the segment queued into
  // Sparse LSN -> offset index per segment number (see Locate). Entries of queued records
  // are added when they are queued: a reader never looks up an LSN that is not durable.
  std::map<uint64_t, std::vector<std::pair<Lsn, uint64_t>>> index_;  // guarded by mu_
  uint64_t next_index_offset_ = 0;             // guarded by mu_; in the live segment
  uint64_t queued_bytes_ = 0;                  // guarded by mu_; incl. bytes being written
  std::vector<SegmentInfo> segments_;          // guarded by mu_
  Lsn acked_lsn_ = 0;                          // guarded by mu_
  std::atomic<Lsn> durable_lsn_{0};
  bool writer_done_ = false;                   // guarded by mu_

  // Writer thread only.
  std::unique_ptr<WritableFile> live_;
  uint64_t last_segment_number_ = 0;

  std::thread writer_;

  mutable std::mutex attachments_mu_;
  mutable std::map<std::string, std::shared_ptr<void>> attachments_;  // guarded by attachments_mu_
};

}  // namespace sluice::journal
