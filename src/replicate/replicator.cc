#include "replicate/replicator.h"

#include <fmt/format.h>

namespace sluice::replicate {

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
    for (const auto& s : options.streams) {
      SLUICE_RETURN_IF_ERROR(journals->RegisterCursor(s.name, t.name, t.retention));
      store::BackendOptions bo;
      bo.name = t.name;
      bo.connection = t.connection;
      SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend(t.dialect, bo));
      ApplierOptions ao;
      ao.node_id = options.node_id;
      ao.stream = s.name;
      ao.ordered = s.ordered;
      ao.on_error = s.on_error;
      ao.batch_records = s.batch_records ? s.batch_records : (s.ordered ? 1000 : 20000);
      ao.batch_bytes = s.batch_bytes ? s.batch_bytes : (s.ordered ? (4u << 20) : (32u << 20));
      ao.backoff_initial = options.backoff_initial;
      ao.backoff_max = options.backoff_max;
      r->appliers_.push_back(std::make_unique<Applier>(journals, std::move(backend),
                                                       r->error_logs_[t.name].get(),
                                                       r->ledgers_[s.name].get(), ao));
    }
  }
  return r;
}

Replicator::~Replicator() { Stop(); }

void Replicator::Start() {
  for (auto& a : appliers_) a->Start();
}

void Replicator::Stop() {
  for (auto& a : appliers_) a->Stop();
}

std::vector<ApplierStatus> Replicator::Status() const {
  std::vector<ApplierStatus> out;
  for (const auto& a : appliers_) out.push_back(a->status());
  return out;
}

Applier* Replicator::applier(const std::string& target, const std::string& stream) const {
  for (const auto& a : appliers_) {
    if (a->target() == target && a->stream() == stream) return a.get();
  }
  return nullptr;
}

ErrorLog* Replicator::error_log(const std::string& target) const {
  auto it = error_logs_.find(target);
  return it == error_logs_.end() ? nullptr : it->second.get();
}

bool Replicator::WaitCaughtUp(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& a : appliers_) {
    journal::Lsn head = journals_->stream(a->stream())->durable_lsn();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0 || !a->WaitApplied(head, left)) return false;
  }
  return true;
}

}  // namespace sluice::replicate
