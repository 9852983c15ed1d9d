// Applying a range of records: bisection to the record the target rejects, the rejection
// (error log, on_error), the watermark, and rejections that end up applied in order.
#include "replicate/applier.h"

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "record/record_codec.h"

namespace sluice::replicate {

Status Applier::ApplyRange(std::span<Decoded> recs) {
  if (recs.empty()) return Status::OK();
  // A record that cannot even be decoded is rejected on its own.
  for (size_t i = 0; i < recs.size(); ++i) {
    if (!recs[i].decode_error.empty()) {
      SLUICE_RETURN_IF_ERROR(ApplyRange(recs.subspan(0, i)));
      SLUICE_RETURN_IF_ERROR(HandleRejected(recs[i], Status::InvalidArgument(recs[i].decode_error)));
      return ApplyRange(recs.subspan(i + 1));
    }
  }
  std::vector<store::ApplyItem> items;
  items.reserve(recs.size());
  for (const Decoded& d : recs) {
    if (!d.skip) items.push_back(store::ApplyItem{d.lsn, &*d.record});
  }
  Status s = backend_->ApplyBatch(key_, items, {}, recs.back().lsn);
  if (s.ok()) {
    SLUICE_FAILPOINT("applier.after_commit");
    // Before Advanced: whoever waits for these LSNs sees their rejections resolved.
    ResolveAppliedInOrder(recs);
    Advanced(recs.back().lsn, items.size());
    return s;
  }
  if (s.retryable()) return s;
  if (recs.size() == 1) return HandleRejected(recs[0], s);
  // Find the offending record by bisection: each half is its own transaction, so the
  // good records around a bad one are applied exactly once.
  size_t mid = recs.size() / 2;
  SLUICE_RETURN_IF_ERROR(ApplyRange(recs.subspan(0, mid)));
  return ApplyRange(recs.subspan(mid));
}

store::ErrorEntry Applier::MakeEntry(const Decoded& rec, const Status& error) const {
  store::ErrorEntry e;
  e.stream = options_.stream;
  e.lsn = rec.lsn;
  e.record_kind = rec.record ? std::string(record::RecordKind(*rec.record)) : "undecodable";
  e.message = error.message();
  e.payload_json = rec.record ? record::RecordToJson(*rec.record) : std::string();
  e.failed_at_us = NowMicros();
  return e;
}

Status Applier::HandleRejected(Decoded& rec, const Status& error) {
  store::ErrorEntry entry = MakeEntry(rec, error);
  ErrorRecord logged;
  logged.epoch = key_.epoch;
  logged.target = target_;
  logged.stream = options_.stream;
  logged.lsn = rec.lsn;
  logged.kind = entry.record_kind;
  logged.message = entry.message;
  logged.record_b64 = record::Base64Encode(rec.payload);
  logged.payload_json = entry.payload_json;
  logged.failed_at_us = entry.failed_at_us;
  // The local log first: if we crash before the target commits, the record is retried
  // on restart, and a second identical entry folds into the first.
  SLUICE_RETURN_IF_ERROR(error_log_->AppendRejection(logged).Annotate("writing the error log"));
  open_rejections_.insert(rec.lsn);
  SLUICE_LOG_WARN("target '{}' stream '{}': LSN {} ({}) rejected: {}", target_, options_.stream,
                  rec.lsn, entry.record_kind, entry.message);
  if (ledger_) ledger_->NoteRejected(target_, rec.lsn);
  {
    std::lock_guard lk(mu_);
    status_.rejected++;
  }
  if (options_.on_error == OnError::kBlock) {
    // Shown in the target's table too, without moving the watermark.
    Lsn applied = status().applied_lsn;
    Status s = backend_->ApplyBatch(key_, {}, std::span<const store::ErrorEntry>(&entry, 1), applied);
    if (!s.ok()) return s;
    {
      std::lock_guard lk(mu_);
      status_.blocked_lsn = rec.lsn;
    }
    blocked_at_ = rec.lsn;
    block_message_ = fmt::format("blocked at LSN {} (on_error = block): {}", rec.lsn, entry.message);
    SetState(ApplierState::kBlocked, block_message_);
    return Status::Aborted("blocked");
  }
  Status s = CommitWatermark(rec.lsn, std::span<const store::ErrorEntry>(&entry, 1));
  if (!s.ok() && !s.retryable()) {
    // Even an empty transaction fails: the target is broken, not the record.
    open_rejections_.erase(rec.lsn);
    error_log_->MarkResolved(key_.epoch, options_.stream, rec.lsn, "withdrawn").IgnoreError();  // best effort
    return s.Annotate("the target refuses even the watermark update");
  }
  return s;
}

Status Applier::CommitWatermark(Lsn lsn, std::span<const store::ErrorEntry> errors) {
  SLUICE_RETURN_IF_ERROR(backend_->ApplyBatch(key_, {}, errors, lsn));
  Advanced(lsn, 0);
  return Status::OK();
}

void Applier::Advanced(Lsn lsn, size_t records) {
  // The ledger and the cursor first: whoever waits for this LSN sees their effects.
  journals_->AdvanceCursor(options_.stream, target_, lsn).IgnoreError();  // unregistered in tools
  if (ledger_) ledger_->NoteApplied(target_, lsn);
  {
    std::lock_guard lk(mu_);
    status_.applied_lsn = lsn;
    status_.records_applied += records;
    status_.batches_applied++;
    if (status_.state != ApplierState::kRunning) {
      status_.state = ApplierState::kRunning;
      status_.last_error.clear();
    }
  }
  cv_.notify_all();
}

void Applier::LoadOpenRejections() {
  ErrorFilter f;
  f.stream = options_.stream;
  auto open = error_log_->List(f);
  if (!open.ok()) {
    // Not fatal: the target resolves what it applies in order by itself, and a retry
    // asks the target before applying; only the local entry would stay "open".
    SLUICE_LOG_WARN("target '{}' stream '{}': cannot read the error log: {}", target_, options_.stream,
                    open.status().ToString());
    return;
  }
  open_rejections_.clear();
  for (const ErrorRecord& e : *open) {
    if (e.epoch == key_.epoch) open_rejections_.insert(e.lsn);
  }
}

void Applier::ResolveAppliedInOrder(std::span<const Decoded> recs) {
  if (open_rejections_.empty()) return;
  for (const Decoded& d : recs) {
    if (!d.skip && open_rejections_.count(d.lsn)) ResolveAppliedInOrder(d.lsn);
  }
}

void Applier::ResolveAppliedInOrder(Lsn lsn) {
  if (open_rejections_.erase(lsn) == 0) return;
  SLUICE_LOG_INFO("target '{}' stream '{}': LSN {}, rejected before, is now applied in its order",
                  target_, options_.stream, lsn);
  if (ledger_) ledger_->NoteRetried(target_, lsn);
  Status s = error_log_->MarkResolved(key_.epoch, options_.stream, lsn, "applied");
  if (!s.ok()) {
    // The target holds the truth (its row is resolved): a retry finds it there.
    SLUICE_LOG_WARN("target '{}' stream '{}': LSN {}: cannot note in the error log that it was applied: {}",
                    target_, options_.stream, lsn, s.ToString());
  }
}

}  // namespace sluice::replicate
