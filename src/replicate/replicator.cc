#include "replicate/replicator.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace sluice::replicate {
namespace {

// Stops appliers in parallel: each finishes its current batch or idle wait first.
void StopAll(const std::vector<std::shared_ptr<Applier>>& appliers) {
  std::vector<std::thread> threads;
  for (const auto& a : appliers) threads.emplace_back([&a] { a->Stop(); });
  for (auto& t : threads) t.join();
}

}  // namespace

Result<std::unique_ptr<Replicator>> Replicator::Create(journal::JournalSet* journals,
                                                       const ReplicatorOptions& options) {
  std::unique_ptr<Replicator> r(new Replicator());
  r->journals_ = journals;
  r->options_ = options;
  for (const auto& s : options.streams) {
    if (journals->stream(s.name) == nullptr) {
      return Status::InvalidArgument(fmt::format("stream '{}' has no journal", s.name));
    }
    r->ledgers_[s.name] = std::make_unique<StreamLedger>();
  }
  for (const auto& t : options.targets) {
    if (r->error_logs_.count(t.name)) {
      return Status::InvalidArgument(fmt::format("target '{}' is configured twice", t.name));
    }
    r->error_logs_[t.name] = std::make_unique<ErrorLog>(
        options.fs, JoinPath(JoinPath(options.data_dir, "errors"), t.name + ".log"));
    r->gates_[t.name] = std::make_shared<PriorityGate>();
    // Every target's cursor is registered, enabled or not: retention must keep what a
    // target taken out for maintenance has not applied yet.
    for (const auto& s : options.streams) {
      SLUICE_RETURN_IF_ERROR(journals->RegisterCursor(s.name, t.name, t.retention));
    }
    if (!t.enabled) {
      r->stopped_targets_.insert(t.name);
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(auto appliers, r->MakeAppliers(t));
    for (auto& a : appliers) r->appliers_.push_back(std::move(a));
  }
  SLUICE_RETURN_IF_ERROR(r->RestoreLedgers());
  return r;
}

::sluice::Status Replicator::RestoreLedgers() {
  if (!options_.data_dir.empty()) {
    divergence_path_ = JoinPath(JoinPath(options_.data_dir, "state"), "divergence.json");
  }
  // What each target rejected: logged (fsynced) before its watermark moved past it. A
  // record retried successfully was applied after all; a withdrawn one was never a
  // rejection (the target itself failed). Only this journal's epoch counts: the error
  // log outlives a replaced journal, whose LSNs start again at 1 (entries written
  // before the epoch was logged have none and are taken as this epoch's).
  const std::string epoch = journal::EpochToHex(journals_->epoch());
  for (const auto& t : options_.targets) {
    ErrorFilter all;
    all.include_resolved = true;
    auto logged = error_logs_[t.name]->List(all);
    if (!logged.ok()) {
      SLUICE_LOG_WARN("target '{}': cannot read its error log to restore the divergence evidence: {}", t.name,
                      logged.status().ToString());
      continue;
    }
    for (const auto& e : *logged) {
      auto ledger = ledgers_.find(e.stream);
      if (ledger == ledgers_.end() || (e.state != "open" && e.state != "discarded")) continue;
      if (!e.epoch.empty() && e.epoch != epoch) continue;
      ledger->second->NoteRejected(t.name, e.lsn);
    }
  }
  // How far each target got (the cursors lag the watermarks by at most a flush interval;
  // the appliers report their watermarks once connected).
  for (const auto& t : options_.targets) {
    for (const auto& [stream, ledger] : ledgers_) {
      auto c = journals_->GetCursor(stream, t.name);
      if (c.ok() && !c->needs_resync) ledger->NoteApplied(t.name, c->lsn);
    }
  }
  // Verdicts the evidence above cannot show again (orphaned decisions; evidence whose
  // records are gone).
  if (!divergence_path_.empty() && options_.fs->Exists(divergence_path_)) {
    SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(options_.fs, divergence_path_));
    const auto bad = [&](std::string_view why) {
      return Status::Corruption(fmt::format(
          "{}: not a valid divergence file ({}); fix it, or remove it to rebuild the verdicts from "
          "the error logs (a verdict on an orphaned synchronous write is then lost)",
          divergence_path_, why));
    };
    try {
      auto j = nlohmann::json::parse(text);
      if (j.at("format").get<int>() != 1) return bad(fmt::format("format {} is not 1", j.at("format").dump()));
      for (const auto& d : j.at("diverged")) {
        std::string target = d.at("target").get<std::string>();
        std::string stream = d.at("stream").get<std::string>();
        auto ledger = ledgers_.find(stream);
        if (ledger == ledgers_.end() || !error_logs_.count(target)) {
          SLUICE_LOG_WARN("{}: target '{}' on stream '{}' is not configured any more; its verdict is dropped",
                          divergence_path_, target, stream);
          continue;
        }
        ledger->second->NoteDiverged(target, d.at("reason").get<std::string>());
      }
    } catch (const nlohmann::json::exception& e) {
      return bad(e.what());
    }
  }
  bool any = false;
  for (const auto& [stream, ledger] : ledgers_) {
    ledger->SetOnChange([this] { SaveDivergence(); });
    any = any || !ledger->Diverged().empty();
  }
  // The file says what the evidence says now (a verdict rebuilt from the error logs is
  // kept even if those logs are lost later).
  if (any || (!divergence_path_.empty() && options_.fs->Exists(divergence_path_))) SaveDivergence();
  return Status::OK();
}

void Replicator::SaveDivergence() {
  if (divergence_path_.empty()) return;
  std::lock_guard lk(divergence_mu_);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [stream, ledger] : ledgers_) {
    for (const auto& [target, reason] : ledger->Diverged()) {
      list.push_back({{"target", target}, {"stream", stream}, {"reason", reason}});
    }
  }
  nlohmann::json doc = {{"format", 1}, {"diverged", std::move(list)}};
  ::sluice::Status s = WriteFileAtomically(options_.fs, divergence_path_, doc.dump(1) + "\n");
  if (!s.ok()) {
    SLUICE_LOG_ERROR("saving the divergence verdicts to {}: {} (they hold until sluiced stops)", divergence_path_,
                     s.ToString());
  }
}

::sluice::Status Replicator::AdoptResync(const std::string& target, const std::string& source,
                                        const std::map<std::string, uint64_t>& watermarks) {
  ErrorLog* mine = error_log(target);
  ErrorLog* theirs = error_log(source);
  if (mine == nullptr || theirs == nullptr) {
    return ::sluice::Status::NotFound(fmt::format("no target '{}' or '{}'", target, source));
  }
  const std::string epoch = journal::EpochToHex(journals_->epoch());
  ErrorFilter all;
  all.include_resolved = true;
  SLUICE_ASSIGN_OR_RETURN(std::vector<ErrorRecord> old, mine->List(all));
  SLUICE_ASSIGN_OR_RETURN(std::vector<ErrorRecord> copied, theirs->List(all));
  // Withdrawn first, then the source's appended: a rejection after a resolution opens
  // the entry again, so one both rejected ends up as the source's.
  for (const auto& e : old) {
    if (e.state != "open" && e.state != "discarded") continue;
    if (!e.epoch.empty() && e.epoch != epoch) continue;
    SLUICE_RETURN_IF_ERROR(mine->MarkResolved(e.epoch, e.stream, e.lsn, "withdrawn"));
  }
  for (ErrorRecord e : copied) {
    if (e.state != "open" && e.state != "discarded") continue;
    if (!e.epoch.empty() && e.epoch != epoch) continue;
    auto w = watermarks.find(e.stream);
    if (w == watermarks.end() || e.lsn > w->second) continue;
    const std::string state = e.state;
    e.target = target;
    SLUICE_RETURN_IF_ERROR(mine->AppendRejection(e));
    if (state == "discarded") SLUICE_RETURN_IF_ERROR(mine->MarkResolved(e.epoch, e.stream, e.lsn, state));
  }
  for (const auto& [stream, ledger] : ledgers_) {
    auto w = watermarks.find(stream);
    ledger->Adopt(target, source, w == watermarks.end() ? 0 : w->second);
  }
  return ::sluice::Status::OK();
}

Result<size_t> Replicator::AcceptDifference(const std::string& target) {
  ErrorLog* log = error_log(target);
  if (log == nullptr) return ::sluice::Status::NotFound(fmt::format("no target '{}'", target));
  bool diverged = false;
  for (const auto& [stream, ledger] : ledgers_) diverged = diverged || ledger->diverged(target);
  if (!diverged) {
    return ::sluice::Status::FailedPrecondition(fmt::format("target '{}' has not diverged", target));
  }
  const std::string epoch = journal::EpochToHex(journals_->epoch());
  size_t accepted = 0;
  for (const auto& [stream, ledger] : ledgers_) {
    // The ledger first: the error log's "accepted" is what a restart rebuilds it from,
    // and a crash in between leaves the rejection counting, never a lost verdict.
    for (uint64_t lsn : ledger->Accept(target)) {
      SLUICE_RETURN_IF_ERROR(log->MarkResolved(epoch, stream, lsn, "accepted"));
      ++accepted;
    }
  }
  return accepted;
}

void Replicator::NoteDiverged(const std::string& target, const std::string& stream, const std::string& reason) {
  auto it = ledgers_.find(stream);
  if (it != ledgers_.end()) it->second->NoteDiverged(target, reason);
}

Result<std::vector<std::shared_ptr<Applier>>> Replicator::MakeAppliers(const TargetSpec& t) {
  std::vector<std::shared_ptr<Applier>> out;
  for (const auto& s : options_.streams) {
    store::BackendOptions bo;
    bo.name = t.name;
    bo.connection = t.connection;
    SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend(t.dialect, bo));
    ApplierOptions ao;
    ao.node_id = options_.node_id;
    ao.stream = s.name;
    ao.ordered = s.ordered;
    ao.on_error = s.on_error;
    ao.batch_records = s.batch_records ? s.batch_records : (s.ordered ? 1000 : 20000);
    ao.batch_bytes = s.batch_bytes ? s.batch_bytes : (s.ordered ? (4u << 20) : (32u << 20));
    ao.batch_delay = s.batch_delay;
    ao.gate = gates_[t.name];
    ao.priority = s.priority;
    ao.backoff_initial = options_.backoff_initial;
    ao.backoff_max = options_.backoff_max;
    const bool decides = s.name == outcome_stream_ && outcome_sink_;
    if (decides) {
      std::lock_guard lk(mu_);
      ao.decides_intents = t.name == decider_;
    }
    auto applier = std::make_shared<Applier>(journals_, std::move(backend),
                                             error_logs_[t.name].get(), ledgers_[s.name].get(), ao);
    if (decides) applier->SetOutcomeSink(outcome_sink_);
    out.push_back(std::move(applier));
  }
  return out;
}

void Replicator::SetOutcomeSink(const std::string& stream, OutcomeSink sink) {
  outcome_stream_ = stream;
  outcome_sink_ = std::move(sink);
  std::lock_guard lk(mu_);
  for (const auto& a : appliers_) {
    if (a->stream() == stream) a->SetOutcomeSink(outcome_sink_);
  }
}

void Replicator::RetryTargetNow(const std::string& target) {
  std::lock_guard lk(mu_);
  for (const auto& a : appliers_) {
    if (a->target() == target) a->RetryNow();
  }
}

void Replicator::SetIntentDecider(const std::string& target) {
  std::lock_guard lk(mu_);
  decider_ = target;
  for (const auto& a : appliers_) {
    if (a->stream() == outcome_stream_) a->SetDecidesIntents(a->target() == target);
  }
}

Replicator::~Replicator() { Stop(); }

void Replicator::Start() {
  std::lock_guard tk(target_mu_);
  std::vector<std::shared_ptr<Applier>> appliers;
  {
    std::lock_guard lk(mu_);
    started_ = true;
    appliers = appliers_;
  }
  for (auto& a : appliers) a->Start();
}

void Replicator::Stop() {
  std::lock_guard tk(target_mu_);
  std::vector<std::shared_ptr<Applier>> appliers;
  {
    std::lock_guard lk(mu_);
    started_ = false;
    appliers = appliers_;
  }
  StopAll(appliers);
}

std::vector<ApplierStatus> Replicator::Status() const {
  std::vector<std::shared_ptr<Applier>> appliers;
  {
    std::lock_guard lk(mu_);
    appliers = appliers_;
  }
  std::vector<ApplierStatus> out;
  for (const auto& a : appliers) out.push_back(a->status());
  return out;
}

std::shared_ptr<Applier> Replicator::FindApplier(const std::string& target,
                                                 const std::string& stream) const {
  std::lock_guard lk(mu_);
  for (const auto& a : appliers_) {
    if (a->target() == target && a->stream() == stream) return a;
  }
  return nullptr;
}

Applier* Replicator::applier(const std::string& target, const std::string& stream) const {
  return FindApplier(target, stream).get();
}

ErrorLog* Replicator::error_log(const std::string& target) const {
  auto it = error_logs_.find(target);
  return it == error_logs_.end() ? nullptr : it->second.get();
}

std::shared_ptr<PriorityGate> Replicator::priority_gate(const std::string& target) const {
  auto it = gates_.find(target);
  return it == gates_.end() ? nullptr : it->second;
}

bool Replicator::WaitCaughtUp(std::chrono::milliseconds timeout) const {
  std::vector<std::shared_ptr<Applier>> appliers;
  {
    std::lock_guard lk(mu_);
    appliers = appliers_;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& a : appliers) {
    journal::Lsn head = journals_->stream(a->stream())->durable_lsn();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0 || !a->WaitApplied(head, left)) return false;
  }
  return true;
}

::sluice::Status Replicator::StopTarget(const std::string& target) {
  if (!error_logs_.count(target)) return Status::NotFound(fmt::format("no target '{}'", target));
  std::lock_guard tk(target_mu_);
  std::vector<std::shared_ptr<Applier>> stopping;
  {
    std::lock_guard lk(mu_);
    if (!stopped_targets_.insert(target).second) return Status::OK();
    auto it = std::stable_partition(appliers_.begin(), appliers_.end(),
                                    [&](const auto& a) { return a->target() != target; });
    stopping.assign(std::make_move_iterator(it), std::make_move_iterator(appliers_.end()));
    appliers_.erase(it, appliers_.end());
  }
  // Stopped outside mu_: an applier finishes its current batch first.
  StopAll(stopping);
  SLUICE_LOG_INFO("target '{}' stopped: its cursors keep what it has not applied", target);
  return Status::OK();
}

::sluice::Status Replicator::StartTarget(const std::string& target) {
  auto spec = std::find_if(options_.targets.begin(), options_.targets.end(),
                           [&](const TargetSpec& t) { return t.name == target; });
  if (spec == options_.targets.end()) return Status::NotFound(fmt::format("no target '{}'", target));
  std::lock_guard tk(target_mu_);
  {
    std::lock_guard lk(mu_);
    if (!stopped_targets_.count(target)) return Status::OK();
  }
  SLUICE_ASSIGN_OR_RETURN(auto appliers, MakeAppliers(*spec));
  bool started;
  {
    std::lock_guard lk(mu_);
    stopped_targets_.erase(target);
    started = started_;
    for (const auto& a : appliers) {
      // The decider may have changed since MakeAppliers read it.
      if (outcome_sink_ && a->stream() == outcome_stream_) a->SetDecidesIntents(a->target() == decider_);
      appliers_.push_back(a);
    }
  }
  if (started) {
    for (auto& a : appliers) a->Start();
  }
  SLUICE_LOG_INFO("target '{}' started: it catches up from its watermark", target);
  return Status::OK();
}

bool Replicator::target_enabled(const std::string& target) const {
  std::lock_guard lk(mu_);
  return error_logs_.count(target) && !stopped_targets_.count(target);
}

}  // namespace sluice::replicate
