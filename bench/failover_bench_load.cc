#include "bench/failover_bench_load.h"

#include <fmt/format.h>

namespace sluice::bench::failover {

void SampleLoad::Run(int i) {
  client::Client* c = clients_[static_cast<size_t>(i)].get();
  const double per_thread = rows_per_s_ / clients_n_;
  int64_t sent = 0;
  while (!stop_.load()) {
    if (per_thread > 0) {
      auto due = start_ + ToClock(std::chrono::duration<double>(static_cast<double>(sent) / per_thread));
      while (!stop_.load() && Clock::now() < due) {
        std::this_thread::sleep_for(std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(20)));
      }
      if (stop_.load()) break;
    }
    const int64_t first = ledger_->next_row.fetch_add(batch_rows_);
    if (first + batch_rows_ > w_->max_rows()) {
      SetError(fmt::format("the workload ran out of timestamps at row {}: raise --points", first));
      return;
    }
    auto r = c->CommitSamples(kStream, w_->Batch(first, batch_rows_));
    std::lock_guard lk(ledger_->mu);
    if (r.ok() && (r->state == client::CommitState::kAcknowledged ||
                   r->state == client::CommitState::kAlreadyAdmitted)) {
      ledger_->acked.emplace_back(first, batch_rows_);
      rows_.fetch_add(batch_rows_);
    } else {
      ledger_->failed.emplace_back(first, batch_rows_);
      SetError(r.ok() ? "a commit was spooled" : r.status().ToString());
    }
    sent += batch_rows_;
  }
}

std::optional<SyncCall> SyncLoop::WaitFirstApplied(Clock::time_point after, const std::string& target,
                                                   Clock::duration timeout) {
  std::unique_lock lk(mu_);
  size_t from = 0;
  std::optional<SyncCall> found;
  cv_.wait_for(lk, timeout, [&] {
    for (; from < calls_.size(); ++from) {
      const SyncCall& c = calls_[from];
      if (c.end > after && c.kind == SyncCall::kApplied && c.target == target) {
        found = c;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::vector<SyncCall> SyncLoop::Between(Clock::time_point after, Clock::time_point before) {
  std::lock_guard lk(mu_);
  std::vector<SyncCall> out;
  for (const auto& c : calls_) {
    if (c.end > after && c.end <= before) out.push_back(c);
  }
  return out;
}

std::vector<SyncCall> SyncLoop::Calls() {
  std::lock_guard lk(mu_);
  return calls_;
}

void SyncLoop::Run() {
  const std::string sql = fmt::format("INSERT INTO {} (id, at_us) VALUES ($1, $2)", kSyncTable);
  while (!stop_.load()) {
    SyncCall c;
    c.id = next_id_++;
    v1::ExecuteRequest req;
    req.mutable_statement()->set_text(sql);
    req.mutable_statement()->add_params()->set_int_value(c.id);
    req.mutable_statement()->add_params()->set_int_value(SysMicros(SysClock::now()));
    c.start = Clock::now();
    auto r = client_->Execute(req);
    c.end = Clock::now();
    if (r.ok()) {
      c.target = r->target();
      c.lsn = r->lsn();
      c.request_id = r->request_id();
      switch (r->outcome()) {
        case v1::OUTCOME_APPLIED: c.kind = SyncCall::kApplied; break;
        case v1::OUTCOME_REJECTED: c.kind = SyncCall::kRejected; c.error = r->message(); break;
        case v1::OUTCOME_UNKNOWN: c.kind = SyncCall::kUnknown; break;
        default: c.kind = SyncCall::kError; c.error = "outcome " + v1::Outcome_Name(r->outcome());
      }
    } else {
      c.error = r.status().ToString();
      // kUnavailable: refused before anything was journaled (switching, isolated) or
      // no address answered. (A call cut off after the request may have gone out is
      // answered OUTCOME_UNKNOWN with its request id, above; kOutcomeUnknown is kept
      // for older client libraries.)
      c.kind = r.status().code() == Code::kUnavailable      ? SyncCall::kRefused
               : r.status().code() == Code::kOutcomeUnknown ? SyncCall::kUnresolved
                                                            : SyncCall::kError;
    }
    const bool failed = c.kind == SyncCall::kRefused || c.kind == SyncCall::kError;
    {
      std::lock_guard lk(mu_);
      calls_.push_back(std::move(c));
    }
    cv_.notify_all();
    if (failed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace sluice::bench::failover
