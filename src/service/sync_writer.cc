#include "service/sync_writer.h"

#include <fmt/format.h>

#include "common/log.h"
#include "journal/reader.h"
#include "replicate/record_codec.h"

namespace sluice::service {
namespace {
constexpr size_t kRememberedOutcomes = 100000;
}

void FillResult(const store::StatementResult& result, size_t max_rows, v1::ExecuteResponse* out) {
  out->set_rows_affected(result.rows_affected);
  for (const auto& c : result.columns) out->add_columns(c);
  size_t n = 0;
  for (const auto& row : result.rows) {
    if (max_rows > 0 && n++ >= max_rows) break;
    auto* r = out->add_rows();
    for (const auto& v : row) *r->add_values() = v;
  }
}

void SyncWriter::Remember(journal::Lsn lsn, v1::ExecuteResponse response) {
  std::lock_guard lk(mu_);
  if (outcomes_.emplace(lsn, std::move(response)).second) order_.push_back(lsn);
  while (order_.size() > kRememberedOutcomes) {
    outcomes_.erase(order_.front());
    order_.pop_front();
  }
  cv_.notify_all();
}

void SyncWriter::SetDecider(const std::string& target) {
  std::lock_guard lk(decide_mu_);
  decider_ = target;
  decider_set_ = true;
}

Status SyncWriter::Decided(const replicate::IntentDecision& d) {
  std::lock_guard dlk(decide_mu_);
  if (decider_set_ && d.target != decider_) {
    SLUICE_LOG_WARN("target '{}' decided the sync write at LSN {} ({}) after it stopped deciding; "
                    "its successor '{}' decides it",
                    d.target, d.intent_lsn, d.applied ? "applied" : "rejected", decider_);
    if (d.applied) NoteOrphan(d);
    return Status::FailedPrecondition(fmt::format("target '{}' no longer decides sync writes", d.target));
  }
  {
    std::lock_guard lk(mu_);
    if (outcomes_.count(d.intent_lsn)) return Status::OK();  // journaled already
  }
  v1::Record marker;
  auto* o = marker.mutable_outcome();
  o->set_intent_lsn(d.intent_lsn);
  o->set_applied(d.applied);
  o->set_message(d.message);
  o->set_decided_by(d.target);
  o->set_rows_affected(d.result_known ? d.result.rows_affected : -1);
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, admitter_->Admit(model_stream_, marker, /*wait=*/true));
  (void)lsn;
  v1::ExecuteResponse r;
  r.set_outcome(d.applied ? v1::OUTCOME_APPLIED : v1::OUTCOME_REJECTED);
  r.set_lsn(d.intent_lsn);
  r.set_message(d.message);
  r.set_target(d.target);
  if (d.applied) {
    FillResult(d.result, 0, &r);
    if (!d.result_known) r.set_rows_affected(-1);
  }
  Remember(d.intent_lsn, std::move(r));
  std::string orphan;
  {
    std::lock_guard lk(mu_);
    if (auto it = orphans_.find(d.intent_lsn); it != orphans_.end()) {
      if (!d.applied) orphan = it->second;
      orphans_.erase(it);
    }
  }
  if (!orphan.empty()) ReportOrphan(orphan, d.intent_lsn, d.target);
  return Status::OK();
}

void SyncWriter::NoteOrphan(const replicate::IntentDecision& d) {
  std::string rejected_by;
  {
    std::lock_guard lk(mu_);
    auto it = outcomes_.find(d.intent_lsn);
    if (it == outcomes_.end()) {
      orphans_[d.intent_lsn] = d.target;  // judged when its successor decides
      return;
    }
    if (it->second.outcome() != v1::OUTCOME_REJECTED) return;  // applied everywhere: no harm
    rejected_by = it->second.target();
  }
  ReportOrphan(d.target, d.intent_lsn, rejected_by);
}

void SyncWriter::ReportOrphan(const std::string& target, journal::Lsn lsn, const std::string& rejected_by) {
  std::string why = fmt::format(
      "it committed the synchronous write at LSN {} after it stopped deciding, and '{}' decided it as rejected",
      lsn, rejected_by);
  if (orphan_sink_) {
    orphan_sink_(target, lsn, why);  // which logs it
  } else {
    SLUICE_LOG_ERROR("target '{}' has diverged: {}", target, why);
  }
}

Result<v1::ExecuteResponse> SyncWriter::Execute(const v1::SyncIntent& intent, std::chrono::milliseconds wait,
                                                size_t max_rows) {
  v1::Record record;
  *record.mutable_intent() = intent;
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, admitter_->Admit(model_stream_, record, /*wait=*/true));
  std::unique_lock lk(mu_);
  bool decided = cv_.wait_for(lk, wait, [&] { return outcomes_.count(lsn) > 0; });
  if (!decided) {
    v1::ExecuteResponse r;
    r.set_outcome(v1::OUTCOME_UNKNOWN);
    r.set_lsn(lsn);
    r.set_message(fmt::format("the outcome of LSN {} is not known yet (no decision within {} ms); "
                              "ask GetOutcome({}) later",
                              lsn, wait.count(), lsn));
    return r;
  }
  v1::ExecuteResponse r = outcomes_.at(lsn);
  lk.unlock();
  if (max_rows > 0 && static_cast<size_t>(r.rows_size()) > max_rows) {
    r.mutable_rows()->DeleteSubrange(static_cast<int>(max_rows), r.rows_size() - static_cast<int>(max_rows));
  }
  return r;
}

Result<v1::ExecuteResponse> SyncWriter::GetOutcome(journal::Lsn lsn) {
  {
    std::lock_guard lk(mu_);
    auto it = outcomes_.find(lsn);
    if (it != outcomes_.end()) return it->second;
  }
  journal::Journal* j = journals_->stream(model_stream_);
  if (j == nullptr) return Status::Internal(fmt::format("no stream '{}'", model_stream_));
  if (lsn == 0 || lsn > j->durable_lsn()) {
    return Status::NotFound(fmt::format("LSN {} is not a synchronous write of this node (head is {})", lsn,
                                        j->durable_lsn()));
  }
  auto reader = journal::Reader::Open(j, lsn);
  if (!reader.ok()) return reader.status();
  journal::ReadBatch batch;
  bool first = true;
  while (true) {
    SLUICE_RETURN_IF_ERROR((*reader)->Read(4096, 8 << 20, &batch));
    if (batch.empty()) break;
    for (const auto& rv : batch.records()) {
      auto rec = replicate::DecodeRecord(rv.lsn, rv.type, rv.payload);
      if (first) {
        first = false;
        if (!rec.ok() || !rec->has_intent()) {
          return Status::NotFound(fmt::format("LSN {} of stream '{}' is not a synchronous write", lsn, model_stream_));
        }
        continue;
      }
      if (rec.ok() && rec->has_outcome() && rec->outcome().intent_lsn() == lsn) {
        v1::ExecuteResponse r;
        r.set_outcome(rec->outcome().applied() ? v1::OUTCOME_APPLIED : v1::OUTCOME_REJECTED);
        r.set_lsn(lsn);
        r.set_message(rec->outcome().message());
        r.set_target(rec->outcome().decided_by());
        r.set_rows_affected(rec->outcome().rows_affected());
        return r;
      }
    }
  }
  v1::ExecuteResponse r;
  r.set_outcome(v1::OUTCOME_PENDING);
  r.set_lsn(lsn);
  r.set_message(fmt::format("LSN {} is journaled and not decided yet", lsn));
  return r;
}

}  // namespace sluice::service
