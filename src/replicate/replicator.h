#pragma once
// Feeds every target from every stream: one Applier per (target, stream), each with its
// own Backend (SQLite backends of one file share a writer connection underneath).
// Registers each target's named cursor on each stream, so retention keeps what a target
// has not applied yet (within its budget and policy).
//
// Thread safety: safe from any thread after Create().

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "journal/journal_set.h"
#include "replicate/applier.h"
#include "replicate/error_log.h"
#include "replicate/ledger.h"

namespace sluice::replicate {

struct TargetSpec {
  std::string name;
  std::string dialect;     // "sqlite" | "postgres"
  std::string connection;  // file path or libpq conninfo
  std::string role = "primary";
  int priority = 0;
  journal::CursorOptions retention;
};

struct StreamSpec {
  std::string name;
  bool ordered = true;
  OnError on_error = OnError::kSkip;
  size_t batch_records = 0;  // 0: 1,000 for ordered streams, 20,000 for unordered ones
  size_t batch_bytes = 0;    // 0: 4 MiB ordered, 32 MiB unordered
};

struct ReplicatorOptions {
  FileSystem* fs = FileSystem::Default();
  std::string node_id;
  std::string data_dir;
  std::vector<TargetSpec> targets;
  std::vector<StreamSpec> streams;
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5000};
};

class Replicator {
 public:
  static Result<std::unique_ptr<Replicator>> Create(journal::JournalSet* journals,
                                                    const ReplicatorOptions& options);
  ~Replicator();

  void Start();
  void Stop();

  std::vector<ApplierStatus> Status() const;
  Applier* applier(const std::string& target, const std::string& stream) const;
  ErrorLog* error_log(const std::string& target) const;
  // Waits until every applier has applied its stream's durable head as of the call, or
  // the timeout passes. Returns true when all did.
  bool WaitCaughtUp(std::chrono::milliseconds timeout) const;

 private:
  Replicator() = default;

  journal::JournalSet* journals_ = nullptr;
  ReplicatorOptions options_;
  std::map<std::string, std::unique_ptr<StreamLedger>> ledgers_;  // by stream
  std::map<std::string, std::unique_ptr<ErrorLog>> error_logs_;   // by target
  std::vector<std::unique_ptr<Applier>> appliers_;
};

}  // namespace sluice::replicate
