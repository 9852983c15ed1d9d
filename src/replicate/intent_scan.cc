#include "replicate/intent_scan.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "journal/reader.h"
#include "record/record_codec.h"

namespace sluice::replicate {

std::shared_ptr<IntentScan> IntentScan::For(const journal::Journal* journal) {
  return std::static_pointer_cast<IntentScan>(journal->Attachment(
      "replicate.intent_scan", [journal] { return std::make_shared<IntentScan>(journal); }));
}

IntentScan::IntentScan(const journal::Journal* journal)
    : journal_(journal), follower_([this] { Follow(); }) {}

IntentScan::~IntentScan() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  follower_.join();
}

void IntentScan::Follow() {
  while (true) {
    {
      std::lock_guard lk(mu_);
      if (stop_) return;
    }
    if (journal_->WaitForNewerThan(scanned_to(), std::chrono::milliseconds(100))) {
      Status s = CatchUp();
      if (s.ok()) continue;
      SLUICE_LOG_WARN("journal {}: following intents: {}", journal_->stream(), s.ToString());
    }
    // Nothing new (or the journal is closing, or an error): do not spin.
    std::unique_lock lk(mu_);
    stop_cv_.wait_for(lk, std::chrono::milliseconds(100), [&] { return stop_; });
  }
}

Status IntentScan::CatchUp() {
  std::lock_guard scan_lock(scan_mu_);
  const journal::Lsn head = journal_->durable_lsn();
  journal::Lsn from;
  {
    std::lock_guard lk(mu_);
    // Retention may have deleted records since: intents below the first retained LSN are
    // gone for everyone, as they would be for a scan from the first retained LSN.
    const journal::Lsn first = journal_->first_lsn();
    undecided_.erase(undecided_.begin(), undecided_.lower_bound(first));
    from = std::max(scanned_to_ + 1, first);
  }
  if (from > head) return Status::OK();
  SLUICE_ASSIGN_OR_RETURN(auto reader, journal::Reader::Open(journal_, from));
  journal::ReadBatch batch;
  while (reader->next_lsn() <= head) {
    SLUICE_RETURN_IF_ERROR(reader->Read(4096, 8 << 20, &batch));
    if (batch.empty()) break;
    std::lock_guard lk(mu_);
    for (const auto& rv : batch.records()) {
      auto r = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
      if (r.ok() && r->has_intent()) undecided_.insert(rv.lsn);
      if (r.ok() && r->has_outcome()) undecided_.erase(r->outcome().intent_lsn());
      scanned_to_ = rv.lsn;
    }
  }
  return Status::OK();
}

std::vector<journal::Lsn> IntentScan::Undecided() const {
  std::lock_guard lk(mu_);
  return std::vector<journal::Lsn>(undecided_.begin(), undecided_.end());
}

bool IntentScan::IsUndecided(journal::Lsn lsn) const {
  std::lock_guard lk(mu_);
  return undecided_.count(lsn) > 0;
}

journal::Lsn IntentScan::scanned_to() const {
  std::lock_guard lk(mu_);
  return scanned_to_;
}

}  // namespace sluice::replicate
