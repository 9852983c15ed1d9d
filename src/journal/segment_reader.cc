#include "journal/segment_reader.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::journal {
namespace {
constexpr size_t kReadChunk = 1 << 20;
}

FrameIterator::FrameIterator(const ReadableFile* file, uint64_t start, uint64_t end,
                             uint32_t max_payload)
    : file_(file), end_(end), max_payload_(max_payload), buffer_offset_(start) {}

Result<size_t> FrameIterator::Fill(size_t n) {
  size_t have = buffer_.size() - pos_;
  uint64_t at = offset();
  uint64_t left_in_range = end_ > at ? end_ - at : 0;
  size_t want = static_cast<size_t>(std::min<uint64_t>(n, left_in_range));
  if (have >= want) return have;
  // Keep the unread tail, then read a chunk (at least what is needed) after it.
  buffer_.erase(0, pos_);
  buffer_offset_ += pos_;
  pos_ = 0;
  size_t to_read = static_cast<size_t>(
      std::min<uint64_t>(std::max(want - have, kReadChunk), left_in_range - have));
  size_t old = buffer_.size();
  buffer_.resize(old + to_read);
  SLUICE_ASSIGN_OR_RETURN(size_t got, file_->ReadAt(buffer_offset_ + old, to_read, buffer_.data() + old));
  buffer_.resize(old + got);
  return buffer_.size();
}

Result<FrameIterator::Step> FrameIterator::Next(FrameView* frame, FrameCheck* damage) {
  if (offset() >= end_) return Step::kEnd;
  SLUICE_ASSIGN_OR_RETURN(size_t have, Fill(kFrameHeaderSize));
  FrameCheck check = DecodeFrame(std::string_view(buffer_).substr(pos_), max_payload_, frame);
  if (check == FrameCheck::kIncomplete && have >= kFrameHeaderSize) {
    // The header is there; the payload needs more bytes.
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i)
      length |= static_cast<uint32_t>(static_cast<uint8_t>(buffer_[pos_ + 4 + i])) << (8 * i);
    SLUICE_ASSIGN_OR_RETURN(have, Fill(kFrameHeaderSize + length));
    check = DecodeFrame(std::string_view(buffer_).substr(pos_), max_payload_, frame);
  }
  if (check != FrameCheck::kOk) {
    *damage = check;
    return Step::kDamage;
  }
  pos_ += frame->frame_size;
  return Step::kFrame;
}

Result<SegmentScan> ScanSegment(FileSystem* fs, const std::string& path, uint32_t max_payload,
                                const std::function<void(const FrameView&)>& on_record) {
  SLUICE_ASSIGN_OR_RETURN(auto file, fs->NewReadableFile(path));
  SegmentScan scan;
  scan.path = path;
  SLUICE_ASSIGN_OR_RETURN(scan.file_size, file->Size());
  std::string header_bytes(kSegmentHeaderSize, '\0');
  SLUICE_ASSIGN_OR_RETURN(size_t got, file->ReadAt(0, kSegmentHeaderSize, header_bytes.data()));
  header_bytes.resize(got);
  auto header = DecodeSegmentHeader(header_bytes);
  if (!header.ok()) return header.status().Annotate(fmt::format("segment {} offset 0", path));
  scan.header = *header;
  scan.last_lsn = scan.header.prev_last_lsn;
  scan.valid_end = kSegmentHeaderSize;
  scan.batch_end = kSegmentHeaderSize;
  scan.batch_end_lsn = scan.last_lsn;

  FrameIterator it(file.get(), kSegmentHeaderSize, scan.file_size, max_payload);
  FrameView frame;
  FrameCheck damage = FrameCheck::kOk;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(auto step, it.Next(&frame, &damage));
    if (step == FrameIterator::Step::kEnd) break;
    if (step == FrameIterator::Step::kDamage) {
      scan.damaged = true;
      scan.damage = std::string(FrameCheckName(damage));
      break;
    }
    if (frame.lsn != scan.last_lsn + 1) {
      scan.damaged = true;
      scan.damage = fmt::format("record has LSN {} where LSN {} was expected", frame.lsn,
                                scan.last_lsn + 1);
      break;
    }
    if (scan.header.version < 2 && frame.flags != 0) {
      scan.damaged = true;
      scan.damage = "record flags set in a version 1 segment";
      break;
    }
    if (on_record) on_record(frame);
    scan.last_lsn = frame.lsn;
    scan.records++;
    scan.valid_end = it.offset();
    if ((frame.flags & kFrameBatchContinues) == 0) {
      scan.batch_end = scan.valid_end;
      scan.batch_end_lsn = frame.lsn;
      scan.batch_end_records = scan.records;
    }
  }
  if (!scan.damaged) return scan;

  // Are there valid records with later LSNs after the damage? A torn write leaves
  // garbage or zeros behind it, never a later valid record, unless the disk wrote the
  // pages of the last, unsynced group back out of order.
  uint64_t rest = scan.file_size - scan.valid_end;
  std::string bytes(rest, '\0');
  SLUICE_ASSIGN_OR_RETURN(got, file->ReadAt(scan.valid_end, rest, bytes.data()));
  bytes.resize(got);
  std::string_view view(bytes);
  Lsn after_lsn = scan.last_lsn;
  bool later_group = false;       // a record after the damage ends its write group...
  bool group_end_is_last = true;  // ...and valid records follow it
  for (size_t i = 1; i + kFrameHeaderSize <= view.size();) {
    FrameView candidate;
    if (DecodeFrame(view.substr(i), max_payload, &candidate) != FrameCheck::kOk ||
        candidate.lsn <= after_lsn) {
      ++i;
      continue;
    }
    if (scan.records_after_damage == 0) scan.valid_after_offset = scan.valid_end + i;
    if (later_group) group_end_is_last = false;
    if ((candidate.flags & kFrameGroupContinues) == 0) later_group = true;
    scan.records_after_damage++;
    after_lsn = candidate.lsn;
    i += candidate.frame_size;
  }
  if (scan.records_after_damage == 0) return scan;

  // Lost pages read as zeros: the damaged span before the first valid record must hold
  // a zero run from the damaged record's start, or from a page boundary, to the next
  // page boundary. A flipped bit or a stray write does not look like that.
  auto zero_page_at = [&](uint64_t from) {
    uint64_t to = (from / kDiskPageSize + 1) * kDiskPageSize;
    if (to > scan.valid_after_offset) return false;
    for (uint64_t k = from; k < to; ++k) {
      if (bytes[k - scan.valid_end] != '\0') return false;
    }
    return true;
  };
  bool lost_pages = zero_page_at(scan.valid_end);
  for (uint64_t p = (scan.valid_end / kDiskPageSize + 1) * kDiskPageSize;
       !lost_pages && p < scan.valid_after_offset; p += kDiskPageSize) {
    lost_pages = zero_page_at(p);
  }
  // Version 1 records carry no group marks: nothing proves they were never acknowledged.
  scan.unsynced_group_after_damage =
      scan.header.version >= 2 && lost_pages && group_end_is_last;
  scan.valid_after_damage = !scan.unsynced_group_after_damage;
  return scan;
}

}  // namespace sluice::journal
