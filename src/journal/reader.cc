#include "journal/reader.h"

#include <cstring>

#include <fmt/format.h>

namespace sluice::journal {

void ReadBatch::Clear() {
  records_.clear();
  offsets_.clear();
  arena_used_ = 0;
}

void ReadBatch::Add(Lsn lsn, uint16_t type, std::string_view payload) {
  if (arena_.size() < arena_used_ + payload.size()) {
    arena_.resize(std::max(arena_.size() * 2, arena_used_ + payload.size()));
  }
  if (!payload.empty()) std::memcpy(arena_.data() + arena_used_, payload.data(), payload.size());
  offsets_.push_back(arena_used_);
  // The arena may still move; Finish() points the views at it once it is complete.
  records_.push_back(RecordView{lsn, type, std::string_view(arena_.data(), payload.size())});
  arena_used_ += payload.size();
}

void ReadBatch::Finish() {
  for (size_t i = 0; i < records_.size(); ++i) {
    records_[i].payload = std::string_view(arena_.data() + offsets_[i], records_[i].payload.size());
  }
}

Result<std::unique_ptr<Reader>> Reader::Open(const Journal* journal, Lsn from) {
  Lsn first = journal->first_lsn();
  Lsn durable = journal->durable_lsn();
  if (from == 0) from = 1;
  if (from < first) {
    return Status::OutOfRange(fmt::format(
        "LSN {} of stream '{}' is no longer retained (oldest retained LSN is {})", from,
        journal->stream(), first));
  }
  if (from > durable + 1) {
    return Status::OutOfRange(fmt::format(
        "LSN {} of stream '{}' is beyond the journal's durable head {}", from, journal->stream(),
        durable));
  }
  return std::unique_ptr<Reader>(new Reader(journal, from));
}

Status Reader::Seek() {
  // The sparse index bounds the records skipped below, however large the segment.
  auto pos = journal_->Locate(next_);
  if (!pos) {
    return Status::OutOfRange(fmt::format(
        "LSN {} of stream '{}' is no longer retained (oldest retained LSN is {})", next_,
        journal_->stream(), journal_->first_lsn()));
  }
  auto file = journal_->options().fs->NewReadableFile(pos->segment.path);
  if (!file.ok()) {
    if (file.status().code() == Code::kNotFound) {
      return Status::OutOfRange(fmt::format("segment {} holding LSN {} was deleted by retention",
                                            pos->segment.path, next_));
    }
    return file.status();
  }
  file_ = std::move(file).value();
  segment_ = pos->segment;
  it_ = std::make_unique<FrameIterator>(file_.get(), pos->offset, segment_.bytes,
                                        kMaxPayloadBytes);
  // Skip the records before next_ from the indexed one on.
  Lsn expect = pos->lsn;
  while (expect < next_) {
    FrameView f;
    FrameCheck damage;
    SLUICE_ASSIGN_OR_RETURN(auto step, it_->Next(&f, &damage));
    if (step != FrameIterator::Step::kFrame || f.lsn != expect) {
      return Status::Corruption(fmt::format("segment {}: cannot find LSN {} (stopped at offset {})",
                                            segment_.path, next_, it_->offset()));
    }
    ++expect;
  }
  return Status::OK();
}

Status Reader::Read(size_t max_records, size_t max_bytes, ReadBatch* batch) {
  batch->Clear();
  Lsn durable = journal_->durable_lsn();
  while (next_ <= durable && batch->size() < max_records &&
         (batch->empty() || batch->payload_bytes() < max_bytes)) {
    if (!it_) SLUICE_RETURN_IF_ERROR(Seek());
    FrameView f;
    FrameCheck damage = FrameCheck::kOk;
    SLUICE_ASSIGN_OR_RETURN(auto step, it_->Next(&f, &damage));
    if (step == FrameIterator::Step::kFrame) {
      if (f.lsn != next_) {
        return Status::Corruption(fmt::format("segment {} offset {}: record has LSN {}, expected {}",
                                              segment_.path, it_->offset() - f.frame_size, f.lsn, next_));
      }
      batch->Add(f.lsn, f.type, f.payload);
      ++next_;
      continue;
    }
    if (step == FrameIterator::Step::kDamage) {
      return Status::Corruption(fmt::format("segment {} offset {}: {} in a durable record",
                                            segment_.path, it_->offset(), FrameCheckName(damage)));
    }
    // End of what we knew of this segment: it may have grown, or be complete.
    auto now = journal_->SegmentByNumber(segment_.number);
    if (now && now->bytes > segment_.bytes) {
      segment_ = *now;
      it_->set_end(segment_.bytes);
      continue;
    }
    if (now && next_ <= now->last_lsn) {
      return Status::Corruption(fmt::format("segment {} ends at offset {} before LSN {}",
                                            segment_.path, segment_.bytes, next_));
    }
    it_.reset();  // next_ is in a later segment
    file_.reset();
  }
  batch->Finish();
  return Status::OK();
}

bool Reader::WaitForRecords(std::chrono::milliseconds timeout) const {
  return journal_->WaitForNewerThan(next_ - 1, timeout);
}

}  // namespace sluice::journal
