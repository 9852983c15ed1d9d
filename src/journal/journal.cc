#include "journal/journal.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "journal/segment_reader.h"
#include "journal/space_account.h"

namespace sluice::journal {

Journal::Journal(const JournalOptions& options) : options_(options) {}

Result<std::unique_ptr<Journal>> Journal::Open(const JournalOptions& options) {
  if (options.stream.empty() || options.stream.size() > kMaxStreamNameLength) {
    return Status::InvalidArgument(fmt::format(
        "stream name '{}' must be 1 to {} characters", options.stream, kMaxStreamNameLength));
  }
  // The name is a directory name under DATA_DIR/journal: "." and ".." would name that
  // directory itself or DATA_DIR.
  if (options.stream == "." || options.stream == "..") {
    return Status::InvalidArgument(
        fmt::format("stream name '{}' is not allowed (it names a directory)", options.stream));
  }
  for (char c : options.stream) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return Status::InvalidArgument(fmt::format(
          "stream name '{}' may only contain letters, digits, '_', '-' and '.'", options.stream));
    }
  }
  if (options.max_record_bytes == 0 || options.max_record_bytes > kMaxPayloadBytes) {
    return Status::InvalidArgument(fmt::format("maximum record size {} bytes must be 1 to {} bytes",
                                               options.max_record_bytes, kMaxPayloadBytes));
  }
  if (options.segment_bytes < kSegmentHeaderSize + kFrameHeaderSize + 1) {
    return Status::InvalidArgument(
        fmt::format("segment size {} bytes is too small", options.segment_bytes));
  }
  std::unique_ptr<Journal> j(new Journal(options));
  SLUICE_RETURN_IF_ERROR(j->Recover().Annotate(fmt::format("opening journal of stream '{}' in {}",
                                                           options.stream, options.dir)));
  j->writer_ = std::thread([jp = j.get()] { jp->WriterLoop(); });
  return j;
}

Journal::~Journal() {
  {
    // Attachments may read the journal (a follower thread): they go while it works.
    std::map<std::string, std::shared_ptr<void>> attachments;
    {
      std::lock_guard lk(attachments_mu_);
      attachments.swap(attachments_);
    }
  }
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  writer_cv_.notify_all();
  durable_cv_.notify_all();
  space_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (live_) live_->Close().IgnoreError();  // everything acknowledged was already synced
}

void Journal::AccountSpace(int64_t delta) {
  if (options_.space != nullptr) options_.space->Add(options_.space_index, delta);
}

Status Journal::Recover() {
  FileSystem* fs = options_.fs;
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(options_.dir));
  // The directory entry of the stream's directory must be durable before any segment in
  // it is acknowledged.
  SLUICE_RETURN_IF_ERROR(fs->SyncDir(DirName(options_.dir)));
  SLUICE_ASSIGN_OR_RETURN(auto names, fs->ListDir(options_.dir));
  std::vector<std::pair<Lsn, std::string>> files;
  for (const auto& name : names) {
    if (auto lsn = ParseSegmentFileName(name)) {
      files.emplace_back(*lsn, JoinPath(options_.dir, name));
    } else {
      SLUICE_LOG_WARN("journal {}: ignoring unexpected file {}", options_.stream, name);
    }
  }
  std::sort(files.begin(), files.end());

  uint64_t truncated_to = 0;
  bool truncated = false;
  uint32_t live_version = kFormatVersion;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [name_lsn, path] = files[i];
    bool last = i + 1 == files.size();
    std::vector<std::pair<Lsn, uint64_t>> index;
    uint64_t offset = kSegmentHeaderSize, next_index = kSegmentHeaderSize;
    auto scan_or = ScanSegment(fs, path, kMaxPayloadBytes, [&](const FrameView& f) {
      if (offset >= next_index) {
        index.emplace_back(f.lsn, offset);
        next_index = offset + kIndexInterval;
      }
      offset += f.frame_size;
    });
    if (!scan_or.ok()) {
      if (scan_or.status().code() != Code::kCorruption || !last) return scan_or.status();
      // The newest segment's header did not make it to disk before a crash. Its header
      // is synced before any record in it is acknowledged, so it holds nothing
      // acknowledged, unless valid records follow the header (then it is damage).
      SLUICE_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(fs, path));
      for (size_t off = kSegmentHeaderSize; off + kFrameHeaderSize <= bytes.size(); ++off) {
        FrameView f;
        if (DecodeFrame(std::string_view(bytes).substr(off), kMaxPayloadBytes, &f) ==
            FrameCheck::kOk) {
          return scan_or.status().Annotate(
              fmt::format("records follow a damaged header (first at offset {})", off));
        }
      }
      SLUICE_LOG_WARN("journal {}: removing {} ({} bytes): its header was never completed ({})",
                      options_.stream, path, bytes.size(), scan_or.status().message());
      SLUICE_RETURN_IF_ERROR(fs->DeleteFile(path));
      SLUICE_RETURN_IF_ERROR(fs->SyncDir(options_.dir));
      break;
    }
    SegmentScan& scan = *scan_or;
    const SegmentHeader& h = scan.header;
    if (h.epoch != options_.epoch) {
      return Status::Corruption(fmt::format(
          "segment {} belongs to journal epoch {}, but this data directory's epoch is {}", path,
          EpochToHex(h.epoch), EpochToHex(options_.epoch)));
    }
    if (h.stream != options_.stream) {
      return Status::Corruption(fmt::format("segment {} belongs to stream '{}', not '{}'", path,
                                            h.stream, options_.stream));
    }
    if (h.first_lsn != name_lsn) {
      return Status::Corruption(fmt::format("segment {} starts at LSN {}, not the LSN in its name",
                                            path, h.first_lsn));
    }
    if (!segments_.empty()) {
      const SegmentInfo& prev = segments_.back();
      if (h.number != prev.number + 1 || h.prev_last_lsn != prev.last_lsn) {
        return Status::Corruption(fmt::format(
            "segment {} (number {}, follows LSN {}) does not follow segment {} (number {}, last "
            "LSN {}): a segment is missing",
            path, h.number, h.prev_last_lsn, prev.path, prev.number, prev.last_lsn));
      }
    }
    if (scan.damaged && (!last || scan.valid_after_damage)) {
      return Status::Corruption(fmt::format(
          "segment {} is damaged at offset {} ({}){}; records before it are intact. Damage "
          "before the last valid record is never skipped silently",
          path, scan.valid_end, scan.damage,
          scan.valid_after_damage
              ? fmt::format(", and a valid record follows at offset {}", scan.valid_after_offset)
              : std::string(", and later segments exist")));
    }
    if (scan.incomplete_batch() && !last) {
      // A request never spans two segments (the writer rolls before it), so only damage
      // can leave one unfinished at the end of a segment that has a successor.
      return Status::Corruption(fmt::format(
          "segment {} ends inside a request: LSN {}..{} at offset {} are the beginning of a "
          "request whose end is missing, and later segments exist",
          path, scan.batch_end_lsn + 1, scan.last_lsn, scan.batch_end));
    }
    Lsn last_lsn = scan.last_lsn;
    uint64_t bytes = scan.file_size;
    if (scan.damaged || scan.incomplete_batch()) {
      std::string why;
      if (scan.damaged) {
        why = scan.unsynced_group_after_damage
                  ? fmt::format("{}; the {} valid records behind it are the rest of a write "
                                "group that was never synced, its pages written back out of "
                                "order",
                                scan.damage, scan.records_after_damage)
                  : scan.damage;
      }
      if (scan.incomplete_batch()) {
        why += fmt::format("{}LSN {}..{} are the beginning of a request that never ended",
                           why.empty() ? "" : "; ", scan.batch_end_lsn + 1, scan.last_lsn);
      }
      SLUICE_LOG_WARN(
          "journal {}: cutting torn tail of {} at offset {} ({} bytes dropped: {}); last "
          "record kept is LSN {}",
          options_.stream, path, scan.batch_end, scan.file_size - scan.batch_end, why,
          scan.batch_end_lsn);
      SLUICE_RETURN_IF_ERROR(fs->Truncate(path, scan.batch_end));
      truncated = true;
      truncated_to = scan.batch_end;
      last_lsn = scan.batch_end_lsn;
      bytes = scan.batch_end;
    }
    segments_.push_back(SegmentInfo{h.number, h.first_lsn, last_lsn, bytes, path});
    live_version = h.version;
    std::erase_if(index, [&](const auto& e) { return e.first > last_lsn; });
    next_index_offset_ = index.empty() ? kSegmentHeaderSize : index.back().second + kIndexInterval;
    index_[h.number] = std::move(index);
  }
  (void)truncated_to;

  uint64_t total = 0;
  for (const auto& s : segments_) total += s.bytes;
  AccountSpace(static_cast<int64_t>(total));
  if (!segments_.empty()) {
    const SegmentInfo& live = segments_.back();
    next_lsn_ = live.last_lsn + 1;
    last_segment_number_ = live.number;
    // A version 1 segment cannot hold flagged records: appends start a new segment.
    logical_segment_bytes_ = live_version < kFormatVersion ? 0 : live.bytes;
    logical_segment_number_ = live.number;
    SLUICE_ASSIGN_OR_RETURN(live_, fs->ReopenWritableFile(live.path));
    // A cut tail must stay cut after a power loss.
    if (truncated) SLUICE_RETURN_IF_ERROR(live_->Sync());
  }
  initial_next_lsn_ = next_lsn_;
  acked_lsn_ = next_lsn_ - 1;
  durable_lsn_.store(next_lsn_ - 1, std::memory_order_release);
  return Status::OK();
}

Status Journal::CheckAppendLocked(uint16_t type, size_t payload_bytes) const {
  if (!sticky_error_.ok()) return sticky_error_;
  if (stopping_) return Status::Unavailable(fmt::format("journal of stream '{}' is closing", options_.stream));
  if (type == 0) return Status::InvalidArgument("record type 0 is reserved");
  if (payload_bytes > options_.max_record_bytes) {
    return Status::InvalidArgument(fmt::format(
        "record of {} bytes exceeds the maximum record size of {} bytes (stream '{}')",
        payload_bytes, options_.max_record_bytes, options_.stream));
  }
  return Status::OK();
}

void Journal::QueueBatchLocked(std::span<const AppendRecord> records, uint64_t bytes) {
  // A request never straddles a segment roll: the old segment is synced before its
  // successor exists, so a failure or crash in between would leave a durable beginning
  // of the request behind. A request larger than a segment makes its segment larger.
  if (logical_segment_bytes_ == 0 ||
      (logical_segment_bytes_ + bytes > options_.segment_bytes &&
       logical_segment_bytes_ > kSegmentHeaderSize)) {
    rolls_.emplace_back(queue_.size(), next_lsn_);
    logical_segment_bytes_ = kSegmentHeaderSize;
    ++logical_segment_number_;
    next_index_offset_ = kSegmentHeaderSize;
  }
  std::vector<std::pair<Lsn, uint64_t>>& index = index_[logical_segment_number_];
  uint64_t offset = logical_segment_bytes_;
  for (size_t i = 0; i < records.size(); ++i) {
    if (offset >= next_index_offset_) {
      index.emplace_back(next_lsn_, offset);
      next_index_offset_ = offset + kIndexInterval;
    }
    offset += kFrameHeaderSize + records[i].payload.size();
    // Every frame says "group continues"; the writer clears it on the last one it writes
    // before a sync (WriterLoop).
    uint16_t flags = kFrameGroupContinues;
    if (i + 1 < records.size()) flags |= kFrameBatchContinues;
    queue_last_frame_ = queue_.size();
    EncodeFrame(next_lsn_++, records[i].type, records[i].payload, &queue_, flags);
  }
  logical_segment_bytes_ += bytes;
  queued_bytes_ += bytes;
}

Result<Lsn> Journal::Append(uint16_t type, std::string_view payload) {
  AppendRecord r{type, payload};
  return AppendBatch(std::span<const AppendRecord>(&r, 1));
}

Result<Lsn> Journal::AppendBatch(std::span<const AppendRecord> records) {
  if (records.empty()) return Status::InvalidArgument("empty append batch");
  uint64_t bytes = 0;
  for (const auto& r : records) bytes += kFrameHeaderSize + r.payload.size();
  std::unique_lock lk(mu_);
  for (const auto& r : records) SLUICE_RETURN_IF_ERROR(CheckAppendLocked(r.type, r.payload.size()));
  // Backpressure: memory does not grow with backlog.
  space_cv_.wait(lk, [&] {
    return queued_bytes_ == 0 || queued_bytes_ + bytes <= options_.max_queued_bytes ||
           !sticky_error_.ok() || stopping_;
  });
  for (const auto& r : records) SLUICE_RETURN_IF_ERROR(CheckAppendLocked(r.type, r.payload.size()));
  if (options_.space != nullptr) {
    SLUICE_RETURN_IF_ERROR(options_.space->CheckAppend(options_.space_index, bytes));
  }
  Lsn first = next_lsn_;
  bool was_empty = queue_.empty();
  QueueBatchLocked(records, bytes);
  AccountSpace(static_cast<int64_t>(bytes));
  lk.unlock();
  if (was_empty) writer_cv_.notify_one();
  return first;
}

Status Journal::WaitDurable(Lsn lsn) {
  std::unique_lock lk(mu_);
  if (lsn >= next_lsn_) {
    return Status::InvalidArgument(fmt::format("LSN {} was never assigned in stream '{}'", lsn, options_.stream));
  }
  durable_cv_.wait(lk, [&] { return acked_lsn_ >= lsn || !sticky_error_.ok() || writer_done_; });
  if (acked_lsn_ >= lsn) return Status::OK();
  if (!sticky_error_.ok()) return sticky_error_;
  return Status::Unavailable(fmt::format("journal of stream '{}' closed before LSN {} was durable", options_.stream, lsn));
}

Result<Lsn> Journal::AppendDurable(uint16_t type, std::string_view payload) {
  SLUICE_ASSIGN_OR_RETURN(Lsn lsn, Append(type, payload));
  SLUICE_RETURN_IF_ERROR(WaitDurable(lsn));
  return lsn;
}

Status Journal::Flush() {
  Lsn last;
  {
    std::lock_guard lk(mu_);
    if (!sticky_error_.ok()) return sticky_error_;
    last = next_lsn_ - 1;
  }
  if (last == 0) return Status::OK();
  // Wait for durability even in written mode.
  std::unique_lock lk(mu_);
  durable_cv_.wait(lk, [&] { return durable_lsn_.load() >= last || !sticky_error_.ok() || writer_done_; });
  return sticky_error_;
}

void Journal::FailLocked(const Status& s) {
  if (sticky_error_.ok()) {
    sticky_error_ = s.Annotate(fmt::format(
        "journal of stream '{}' stopped accepting appends after a failed write or sync "
        "(reopen it to continue)", options_.stream)).WithRetryable(false);
    SLUICE_LOG_ERROR("{}", sticky_error_.ToString());
  }
  AccountSpace(-static_cast<int64_t>(queue_.size()));
  queued_bytes_ -= queue_.size();
  queue_.clear();
  rolls_.clear();
}

void Journal::WriterLoop() {
  std::string batch;
  std::vector<std::pair<size_t, Lsn>> rolls;
  std::unique_lock lk(mu_);
  while (true) {
    writer_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and everything queued is written
    if (!sticky_error_.ok()) {
      FailLocked(sticky_error_);
      continue;
    }
    batch.swap(queue_);
    rolls.swap(rolls_);
    size_t last_frame = queue_last_frame_;
    Lsn last = next_lsn_ - 1;
    lk.unlock();
    // The group's last frame, also the last of its request, loses "group continues":
    // recovery tells the never-synced last group from earlier, acknowledged ones by it
    // (docs/journal-format.md). Re-checksumming one frame per group is cheap.
    SetFrameFlags(batch.data() + last_frame, 0);
    Status s = WriteGroup(batch, rolls, last);
    lk.lock();
    queued_bytes_ -= batch.size();
    if (!s.ok()) {
      AccountSpace(-static_cast<int64_t>(batch.size()));
      FailLocked(s);
    }
    batch.clear();
    rolls.clear();
    space_cv_.notify_all();
    durable_cv_.notify_all();
  }
  writer_done_ = true;
  durable_cv_.notify_all();
}

Status Journal::StartSegment(Lsn first_lsn) {
  uint64_t number = last_segment_number_ + 1;
  std::string path = JoinPath(options_.dir, SegmentFileName(first_lsn));
  SLUICE_ASSIGN_OR_RETURN(auto file, options_.fs->NewWritableFile(path, /*exclusive=*/true));
  std::string header;
  EncodeSegmentHeader(SegmentHeader{options_.epoch, number, first_lsn, first_lsn - 1, options_.stream},
                      &header);
  SLUICE_RETURN_IF_ERROR(file->Append(header));
  SLUICE_RETURN_IF_ERROR(file->Sync());
  SLUICE_FAILPOINT("journal.segment_created_before_dir_sync");
  // The new file's directory entry must be durable before any record in it is acked.
  SLUICE_RETURN_IF_ERROR(options_.fs->SyncDir(options_.dir));
  AccountSpace(static_cast<int64_t>(kSegmentHeaderSize));
  {
    std::lock_guard lk(mu_);
    segments_.push_back(SegmentInfo{number, first_lsn, first_lsn - 1, kSegmentHeaderSize, path});
  }
  live_ = std::move(file);
  last_segment_number_ = number;
  return Status::OK();
}

Status Journal::WriteGroup(const std::string& bytes,
                           const std::vector<std::pair<size_t, Lsn>>& rolls, Lsn last_lsn) {
  size_t pos = 0;
  for (const auto& [offset, first_lsn] : rolls) {
    if (offset > pos) SLUICE_RETURN_IF_ERROR(live_->Append(std::string_view(bytes).substr(pos, offset - pos)));
    pos = offset;
    if (live_) {
      // The old segment is complete and synced before its successor exists, so a
      // successor never names records that a power loss could take away.
      SLUICE_RETURN_IF_ERROR(live_->Sync());
      std::lock_guard lk(mu_);
      SegmentInfo& seg = segments_.back();
      seg.last_lsn = first_lsn - 1;
      seg.bytes = live_->Size();
    }
    if (live_) SLUICE_RETURN_IF_ERROR(live_->Close());
    SLUICE_RETURN_IF_ERROR(StartSegment(first_lsn));
  }
  if (pos < bytes.size()) SLUICE_RETURN_IF_ERROR(live_->Append(std::string_view(bytes).substr(pos)));
  SLUICE_FAILPOINT("journal.after_write_before_sync");
  if (options_.ack_mode == AckMode::kWritten) {
    std::lock_guard lk(mu_);
    acked_lsn_ = last_lsn;
    durable_cv_.notify_all();
  }
  SLUICE_RETURN_IF_ERROR(live_->Sync());
  SLUICE_FAILPOINT("journal.after_sync_before_ack");
  {
    std::lock_guard lk(mu_);
    SegmentInfo& seg = segments_.back();
    seg.last_lsn = last_lsn;
    seg.bytes = live_->Size();
    acked_lsn_ = last_lsn;
    durable_lsn_.store(last_lsn, std::memory_order_release);
  }
  if (options_.space != nullptr) {
    options_.space->RefreshFreeSpace().IgnoreError();  // a failed statvfs keeps the last value
  }
  return Status::OK();
}

Lsn Journal::last_assigned_lsn() const {
  std::lock_guard lk(mu_);
  return next_lsn_ - 1;
}

Lsn Journal::first_lsn() const {
  std::lock_guard lk(mu_);
  // Before the first segment exists, the first LSN is the one the journal started with,
  // even if records with it are already queued.
  return segments_.empty() ? initial_next_lsn_ : segments_.front().first_lsn;
}

bool Journal::WaitForNewerThan(Lsn lsn, std::chrono::milliseconds timeout) const {
  if (durable_lsn() > lsn) return true;
  std::unique_lock lk(mu_);
  durable_cv_.wait_for(lk, timeout, [&] { return durable_lsn() > lsn || writer_done_; });
  return durable_lsn() > lsn;
}

std::vector<SegmentInfo> Journal::Segments() const {
  std::lock_guard lk(mu_);
  return segments_;
}

std::optional<SegmentInfo> Journal::SegmentFor(Lsn lsn) const {
  std::lock_guard lk(mu_);
  auto it = std::upper_bound(segments_.begin(), segments_.end(), lsn,
                             [](Lsn l, const SegmentInfo& s) { return l < s.first_lsn; });
  if (it == segments_.begin()) return std::nullopt;
  --it;
  if (lsn > it->last_lsn && std::next(it) != segments_.end()) return std::nullopt;
  return *it;
}

std::optional<SegmentPosition> Journal::Locate(Lsn lsn) const {
  std::optional<SegmentInfo> seg = SegmentFor(lsn);
  if (!seg) return std::nullopt;
  SegmentPosition pos{*seg, seg->first_lsn, kSegmentHeaderSize};
  std::lock_guard lk(mu_);
  auto it = index_.find(seg->number);
  if (it == index_.end()) return pos;
  const auto& points = it->second;
  auto p = std::upper_bound(points.begin(), points.end(), lsn,
                            [](Lsn l, const std::pair<Lsn, uint64_t>& e) { return l < e.first; });
  if (p != points.begin()) {
    --p;
    pos.lsn = p->first;
    pos.offset = p->second;
  }
  return pos;
}

std::optional<SegmentInfo> Journal::SegmentByNumber(uint64_t number) const {
  std::lock_guard lk(mu_);
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    if (it->number == number) return *it;
  }
  return std::nullopt;
}

uint64_t Journal::DiskBytes() const {
  std::lock_guard lk(mu_);
  uint64_t total = queued_bytes_;
  for (const auto& s : segments_) total += s.bytes;
  return total;
}

std::shared_ptr<void> Journal::Attachment(
    const std::string& key, const std::function<std::shared_ptr<void>()>& make) const {
  std::lock_guard lk(attachments_mu_);
  std::shared_ptr<void>& a = attachments_[key];
  if (a == nullptr) a = make();
  return a;
}

Status Journal::health() const {
  std::lock_guard lk(mu_);
  return sticky_error_;
}

Result<uint64_t> Journal::DeleteSegmentsUpTo(Lsn lsn) {
  std::vector<SegmentInfo> doomed;
  {
    std::lock_guard lk(mu_);
    // Oldest first and never the live segment, so what remains is always a contiguous
    // chain, even if a crash interrupts the deletions.
    while (segments_.size() > 1 && segments_.front().last_lsn <= lsn) {
      index_.erase(segments_.front().number);
      doomed.push_back(segments_.front());
      segments_.erase(segments_.begin());
    }
  }
  uint64_t freed = 0;
  for (const auto& s : doomed) {
    Status st = options_.fs->DeleteFile(s.path);
    if (!st.ok() && st.code() != Code::kNotFound) return st;
    freed += s.bytes;
    AccountSpace(-static_cast<int64_t>(s.bytes));
    SLUICE_LOG_INFO("journal {}: deleted segment {} (LSN {}..{}, {} bytes)", options_.stream,
                    s.path, s.first_lsn, s.last_lsn, s.bytes);
  }
  if (!doomed.empty()) SLUICE_RETURN_IF_ERROR(options_.fs->SyncDir(options_.dir));
  return freed;
}

}  // namespace sluice::journal
