#include "sync/sync_writer.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "common/log.h"
#include "journal/reader.h"
#include "replicate/intent_scan.h"
#include "record/record_codec.h"

namespace sluice::sync {
namespace {
constexpr size_t kRememberedOutcomes = 100000;
// Request ids remembered; an id asked about after older ones were forgotten costs a scan
// of the retained model journal.
constexpr size_t kRememberedRequests = 1000000;
constexpr size_t kMaxRequestIdBytes = 128;
}  // namespace

Status SyncWriter::CheckRequestId(std::string_view id) {
  if (id.size() > kMaxRequestIdBytes) {
    return Status::InvalidArgument(fmt::format("request_id is {} bytes long, above the limit of {} bytes",
                                               id.size(), kMaxRequestIdBytes));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(
          fmt::format("request_id has a control character (0x{:02x}) at byte {}", c, i));
    }
  }
  return Status::OK();
}

void SyncWriter::IndexRequestLocked(const std::string& request_id, journal::Lsn lsn) {
  auto [it, inserted] = request_lsns_.emplace(request_id, lsn);
  if (!inserted) {
    it->second = std::max(it->second, lsn);  // a reused id answers about the latest
    return;
  }
  request_order_.push_back(request_id);
  while (request_order_.size() > kRememberedRequests) {
    request_lsns_.erase(request_order_.front());
    request_order_.pop_front();
    request_evicted_ = true;
  }
}

Result<journal::Lsn> SyncWriter::ScanIntents(
    journal::Lsn from, const std::function<void(journal::Lsn, const v1::SyncIntent&)>& fn) {
  journal::Journal* j = journals_->stream(model_stream_);
  if (j == nullptr) return Status::Internal(fmt::format("no stream '{}'", model_stream_));
  const journal::Lsn head = j->durable_lsn();
  from = std::max<journal::Lsn>({from, j->first_lsn(), 1});
  if (from > head) return head;
  SLUICE_ASSIGN_OR_RETURN(auto reader, journal::Reader::Open(j, from));
  journal::ReadBatch batch;
  while (true) {
    SLUICE_RETURN_IF_ERROR(reader->Read(4096, 8 << 20, &batch));
    if (batch.empty()) break;
    for (const auto& rv : batch.records()) {
      if (rv.lsn > head) break;
      auto rec = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
      if (rec.ok() && rec->has_intent()) fn(rv.lsn, rec->intent());
    }
    if (batch.last_lsn() >= head) break;
  }
  return head;
}

Result<v1::ExecuteResponse> SyncWriter::GetOutcomeByRequestId(const std::string& request_id) {
  SLUICE_RETURN_IF_ERROR(CheckRequestId(request_id));
  if (request_id.empty()) return Status::InvalidArgument("GetOutcome needs an LSN or a request_id");
  auto lookup = [&]() -> journal::Lsn {
    std::lock_guard lk(index_mu_);
    auto it = request_lsns_.find(request_id);
    return it == request_lsns_.end() ? 0 : it->second;
  };
  journal::Lsn lsn = lookup();
  if (lsn == 0) {
    // Not journaled in this run (or forgotten): index what the journal holds past the
    // last scan, without holding the lock while reading it.
    journal::Lsn from;
    bool evicted;
    {
      std::lock_guard lk(index_mu_);
      from = request_scanned_ + 1;
      evicted = request_evicted_;
    }
    std::vector<std::pair<std::string, journal::Lsn>> found;
    SLUICE_ASSIGN_OR_RETURN(journal::Lsn scanned, ScanIntents(from, [&](journal::Lsn l, const v1::SyncIntent& i) {
      if (!i.request_id().empty()) found.emplace_back(i.request_id(), l);
    }));
    {
      std::lock_guard lk(index_mu_);
      for (const auto& [id, l] : found) IndexRequestLocked(id, l);
      request_scanned_ = std::max(request_scanned_, scanned);
    }
    lsn = lookup();
    if (lsn == 0 && evicted) {
      SLUICE_RETURN_IF_ERROR(ScanIntents(1, [&](journal::Lsn l, const v1::SyncIntent& i) {
                               if (i.request_id() == request_id) lsn = std::max(lsn, l);
                             }).status());
    }
  }
  if (lsn == 0) {
    journal::Journal* j = journals_->stream(model_stream_);
    journal::Lsn first = j ? j->first_lsn() : 0;
    return Status::NotFound(fmt::format(
        "no synchronous write with request_id '{}' is in the journal of stream '{}'{}: it never "
        "reached the journal, so no target applied it{}",
        request_id, model_stream_, j ? fmt::format(" (LSNs {} to {})", first, j->durable_lsn()) : "",
        first > 1 ? fmt::format(", unless it is older than LSN {} (deleted by retention)", first) : ""));
  }
  SLUICE_ASSIGN_OR_RETURN(v1::ExecuteResponse r, GetOutcome(lsn));
  r.set_request_id(request_id);
  return r;
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

void SyncWriter::Stop() {
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
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
  // Synced whatever the ack mode (Flush waits for fdatasync): the decider moves its
  // watermark past the intent and the caller hears the outcome only after this returns,
  // and a marker lost to a power loss would let a successor decide the intent again,
  // maybe the other way.
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, admitter_->Admit(model_stream_, marker, /*wait=*/false));
  journal::Journal* j = journals_->stream(model_stream_);
  SLUICE_RETURN_IF_ERROR(j->Flush().Annotate(fmt::format("syncing the outcome marker of LSN {}", d.intent_lsn)));
  if (j->durable_lsn() < lsn) {
    return Status::Unavailable(fmt::format(
        "the journal of stream '{}' closed before the outcome marker of LSN {} was synced",
        model_stream_, d.intent_lsn));
  }
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
  SLUICE_RETURN_IF_ERROR(CheckRequestId(intent.request_id()));
  journal::Journal* j = journals_->stream(model_stream_);
  if (j == nullptr) return Status::Internal(fmt::format("no stream '{}'", model_stream_));
  v1::Record record;
  *record.mutable_intent() = intent;
  // An error up to here journaled nothing: a definite failure. Once the intent is queued
  // it may reach the disk whatever happens next, so every later failure is UNKNOWN.
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, admitter_->Admit(model_stream_, record, /*wait=*/false));
  if (!intent.request_id().empty()) {
    std::lock_guard lk(index_mu_);
    IndexRequestLocked(intent.request_id(), lsn);
  }
  v1::ExecuteResponse unknown;
  unknown.set_outcome(v1::OUTCOME_UNKNOWN);
  unknown.set_lsn(lsn);
  unknown.set_request_id(intent.request_id());
  if (Status durable = j->WaitDurable(lsn); !durable.ok()) {
    unknown.set_message(fmt::format(
        "the journal failed after the write was queued at LSN {} ({}): it may be on disk and be "
        "decided once sluiced restarts; ask GetOutcome({}) then",
        lsn, durable.ToString(), lsn));
    return unknown;
  }
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, wait, [&] { return outcomes_.count(lsn) > 0 || stopped_; });
  const bool decided = outcomes_.count(lsn) > 0;
  if (!decided) {
    unknown.set_message(stopped_ ? fmt::format("the outcome of LSN {} is not known yet (sluiced is stopping; the "
                                               "next start decides it); ask GetOutcome({}) later",
                                               lsn, lsn)
                                 : fmt::format("the outcome of LSN {} is not known yet (no decision within {} ms); "
                                               "ask GetOutcome({}) later",
                                               lsn, wait.count(), lsn));
    return unknown;
  }
  v1::ExecuteResponse r = outcomes_.at(lsn);
  lk.unlock();
  r.set_request_id(intent.request_id());
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
      auto rec = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
      if (first) {
        first = false;
        if (!rec.ok() || !rec->has_intent()) {
          return Status::NotFound(fmt::format("LSN {} of stream '{}' is not a synchronous write", lsn, model_stream_));
        }
        // The shared intent scan has read up to the head: an undecided intent is pending
        // without reading from it to the head. A decided one's outcome follows closely.
        auto scan = replicate::IntentScan::For(j);
        SLUICE_RETURN_IF_ERROR(scan->CatchUp());
        if (scan->IsUndecided(lsn)) {
          v1::ExecuteResponse r;
          r.set_outcome(v1::OUTCOME_PENDING);
          r.set_lsn(lsn);
          r.set_message(fmt::format("LSN {} is journaled and not decided yet", lsn));
          return r;
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

}  // namespace sluice::sync
