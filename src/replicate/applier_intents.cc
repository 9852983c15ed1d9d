// Sync-write intents on the target that decides them: apply each alone, report its
// outcome, follow an outcome another target journaled, recover intents a crash left
// without one.
#include "replicate/applier.h"

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "replicate/intent_scan.h"
#include "record/record_codec.h"

namespace sluice::replicate {

Result<std::optional<v1::SyncOutcome>> Applier::FindOutcome(Lsn lsn) {
  // The shared scan has read up to the head: an intent it holds as undecided has no
  // outcome anywhere, without reading from the intent to the head again.
  auto scan = IntentScan::For(journal_);
  SLUICE_RETURN_IF_ERROR(scan->CatchUp());
  if (scan->IsUndecided(lsn)) return std::optional<v1::SyncOutcome>();
  // Decided: its outcome follows it, usually closely (the reader starts from the index).
  SLUICE_ASSIGN_OR_RETURN(auto reader, journal::Reader::Open(journal_, lsn + 1));
  journal::ReadBatch batch;
  while (true) {
    SLUICE_RETURN_IF_ERROR(reader->Read(4096, 8 << 20, &batch));
    if (batch.empty()) return std::optional<v1::SyncOutcome>();
    for (const auto& rv : batch.records()) {
      auto r = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
      if (r.ok() && r->has_outcome() && r->outcome().intent_lsn() == lsn) {
        return std::optional<v1::SyncOutcome>(r->outcome());
      }
    }
  }
}

Status Applier::DecideIntent(Decoded& rec) {
  // Another target may have decided it already (it was active then): follow it.
  SLUICE_ASSIGN_OR_RETURN(auto known, FindOutcome(rec.lsn));
  if (known) {
    if (known->applied()) {
      store::ApplyItem item{rec.lsn, &*rec.record};
      Status s = backend_->ApplyBatch(key_, std::span<const store::ApplyItem>(&item, 1), {}, rec.lsn);
      if (s.ok()) {
        ResolveAppliedInOrder(rec.lsn);
        Advanced(rec.lsn, 1);
        return s;
      }
      if (s.retryable()) return s;
      // The target that decided applied it; this one cannot. Retrying cannot help: it is
      // a rejection like any other (error log, on_error) and this target diverges.
      return HandleRejected(rec, s);
    }
    return CommitWatermark(rec.lsn, {});
  }
  if (!outcome_sink_) return Status::FailedPrecondition("no outcome sink: cannot decide intents");
  store::ApplyItem item{rec.lsn, &*rec.record};
  SLUICE_FAILPOINT("applier.before_apply_intent");
  auto result = backend_->ApplyIntent(key_, item, options_.intent_max_rows);
  IntentDecision d;
  d.intent_lsn = rec.lsn;
  d.target = target_;
  if (result.ok()) {
    SLUICE_FAILPOINT("applier.intent_applied_before_outcome");
    Advanced(rec.lsn, 1);
    d.applied = true;
    d.result = std::move(result).value();
    if (d.result.already_applied) {
      // Committed by an earlier attempt whose answer was lost: applied, result unknown.
      d.result_known = false;
      d.message = "applied by an earlier attempt whose answer was lost; its result was not kept";
    }
    return outcome_sink_(d);
  }
  if (result.status().retryable()) return result.status();
  // Rejected: the outcome is journaled before the watermark moves past the intent.
  d.applied = false;
  d.message = result.status().message();
  SLUICE_LOG_INFO("target '{}': sync write at LSN {} rejected: {}", target_, rec.lsn, d.message);
  SLUICE_RETURN_IF_ERROR(outcome_sink_(d));
  return CommitWatermark(rec.lsn, {});
}

Status Applier::RecoverUndecidedIntents() {
  if (!outcome_sink_) return Status::OK();
  Lsn watermark = status().applied_lsn;
  // Shared by every applier of this journal and kept up to date as records are made
  // durable: after a decider change or a reconnect only what is new is read, not the
  // whole retained stream.
  auto scan = IntentScan::For(journal_);
  SLUICE_RETURN_IF_ERROR(scan->CatchUp());
  for (Lsn lsn : scan->Undecided()) {
    if (lsn > watermark) break;
    IntentDecision d;
    d.intent_lsn = lsn;
    d.applied = true;
    d.target = target_;
    d.result_known = false;
    d.message = "applied before a restart; its result was not kept";
    SLUICE_LOG_WARN("target '{}': sync write at LSN {} was applied before a crash without an outcome; journaling it as applied",
                    target_, lsn);
    SLUICE_RETURN_IF_ERROR(outcome_sink_(d));
  }
  return Status::OK();
}

}  // namespace sluice::replicate
