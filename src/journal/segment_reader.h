#pragma once
// Sequential reading of the frames of one segment file, shared by recovery, the readers
// and `sluice journal verify`.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/file_system.h"
#include "journal/format.h"

namespace sluice::journal {

// Reads frames in order from [start, end) of a segment file, through a buffer.
class FrameIterator {
 public:
  enum class Step { kFrame, kEnd, kDamage };

  FrameIterator(const ReadableFile* file, uint64_t start, uint64_t end, uint32_t max_payload);

  // kFrame: `*frame` is valid until the next call. kEnd: offset() == end.
  // kDamage: the bytes at offset() are not a valid frame; `*damage` says why.
  Result<Step> Next(FrameView* frame, FrameCheck* damage);
  // Offset of the next frame to read (or of the damaged one after kDamage).
  uint64_t offset() const { return buffer_offset_ + pos_; }
  void set_end(uint64_t end) { end_ = end; }

 private:
  // Makes at least `n` bytes available at pos_ (fewer at end_). Returns bytes available.
  Result<size_t> Fill(size_t n);

  const ReadableFile* file_;
  uint64_t end_;
  uint32_t max_payload_;
  std::string buffer_;
  uint64_t buffer_offset_;  // file offset of buffer_[0]
  size_t pos_ = 0;
};

// What a full scan of one segment found.
struct SegmentScan {
  std::string path;
  SegmentHeader header;
  uint64_t file_size = 0;
  uint64_t records = 0;
  Lsn last_lsn = 0;         // LSN of the last valid record; header.prev_last_lsn when none
  uint64_t valid_end = 0;   // offset just after the last valid record
  bool damaged = false;     // bytes after valid_end that are not a valid record
  std::string damage;       // why the bytes at valid_end are not a record
  // A valid record with a later LSN exists after the damage, and nothing shows that it
  // was never acknowledged: the damage is in the middle, not a torn tail.
  bool valid_after_damage = false;
  uint64_t valid_after_offset = 0;
  // Valid records follow the damage, but the damage is pages lost by a power loss and
  // every valid record after it belongs to the same, last write group (see
  // docs/journal-format.md): that group was never synced, so nothing from the damage on
  // was acknowledged and the tail can be cut like a torn one.
  bool unsynced_group_after_damage = false;
  uint64_t records_after_damage = 0;  // valid records found behind the damage
  // Where the last whole request (batch) among the valid records ends: a cut keeps
  // nothing after it. Equal to valid_end/last_lsn unless the last valid records are the
  // beginning of a request whose end never reached the disk.
  uint64_t batch_end = 0;
  Lsn batch_end_lsn = 0;
  uint64_t batch_end_records = 0;
  bool incomplete_batch() const { return batch_end != valid_end; }
};

// Scans a segment whose header is valid. `on_record` (optional) sees every valid record.
// Returns a Status only for I/O errors and a bad header; damage in the frames is
// reported in the SegmentScan.
Result<SegmentScan> ScanSegment(FileSystem* fs, const std::string& path, uint32_t max_payload,
                                const std::function<void(const FrameView&)>& on_record = {});

}  // namespace sluice::journal
