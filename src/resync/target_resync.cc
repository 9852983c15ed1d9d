#include "resync/target_resync.h"

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/file_system.h"
#include "common/log.h"
#include "common/wall_clock.h"
#include "journal/format.h"

namespace sluice::resync {
namespace {

CopyEndpoint EndpointOf(const config::TargetConfig& t) {
  CopyEndpoint e;
  e.dialect = std::string(config::DialectName(t.dialect));
  e.options.name = t.name;
  e.options.connection = t.connection;
  return e;
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
    case JobState::kInterrupted: return "interrupted";
  }
  return "?";
}

Status TargetResync::CheckSource(const std::string& from) const {
  if (!options_.replicator->target_enabled(from)) {
    return Status::FailedPrecondition(fmt::format(
        "target '{}' is disabled or being resynced itself: a resync copies from a target that is "
        "running",
        from));
  }
  if (auto other = options_.states->resync_from(from)) {
    return Status::FailedPrecondition(fmt::format(
        "target '{}' is being resynced from '{}' itself: it holds an incomplete copy", from, *other));
  }
  for (const auto& a : options_.replicator->Status()) {
    if (a.target != from) continue;
    if (a.state == replicate::ApplierState::kNeedsResync) {
      return Status::FailedPrecondition(fmt::format(
          "target '{}' needs a resync itself (stream '{}': {})", from, a.stream, a.last_error));
    }
    if (a.diverged) {
      return Status::FailedPrecondition(fmt::format(
          "target '{}' has diverged on stream '{}': copying it would copy the difference", from, a.stream));
    }
  }
  return Status::OK();
}

Status TargetResync::Start(const std::string& target, const std::string& from) {
  const config::TargetConfig* t = options_.config->FindTarget(target);
  const config::TargetConfig* f = options_.config->FindTarget(from);
  if (t == nullptr) return Status::NotFound(fmt::format("no target '{}' in the config", target));
  if (f == nullptr) return Status::NotFound(fmt::format("no target '{}' in the config to copy from", from));
  if (target == from) return Status::InvalidArgument(fmt::format("target '{}' cannot be resynced from itself", target));
  if (t->role == config::TargetRole::kOneway || f->role == config::TargetRole::kOneway) {
    return Status::InvalidArgument("oneway targets hold no tables: they cannot be resynced or copied from");
  }
  std::unique_lock lk(mu_);
  if (stop_) return Status::Unavailable("sluiced is stopping");
  if (auto it = jobs_.find(target); it != jobs_.end() && it->second.status.state == JobState::kRunning) {
    if (it->second.status.from == from) return Status::OK();  // the caller follows it
    return Status::FailedPrecondition(fmt::format("target '{}' is being resynced from '{}' already",
                                                  target, it->second.status.from));
  }
  if (auto recorded = options_.states->resync_from(target); recorded && *recorded != from) {
    // An interrupted resync from another source: its partial copy is of no use for this
    // one, which starts over (CopyTables says so).
    SLUICE_LOG_WARN("target '{}': an interrupted resync from '{}' is replaced by one from '{}'", target,
                    *recorded, from);
  }
  SLUICE_RETURN_IF_ERROR(CheckSource(from));
  // Recorded first: from here on, a restart keeps the target's appliers stopped.
  SLUICE_RETURN_IF_ERROR(options_.states->SetResync(target, from));
  SLUICE_RETURN_IF_ERROR(options_.replicator->StopTarget(target));
  const journal::Lsn begun = Event(
      1, fmt::format("resync of target '{}' from '{}' begun: its appliers are stopped until the copy is complete",
                     target, from));
  Launch(target, from, begun);
  return Status::OK();
}

void TargetResync::ResumePending(std::chrono::milliseconds snapshot_wait) {
  for (const auto& [target, from] : options_.states->Resyncs()) {
    if (options_.config->FindTarget(target) == nullptr || options_.config->FindTarget(from) == nullptr) {
      SLUICE_LOG_ERROR(
          "target '{}': a resync from '{}' was under way, but one of them is not in the config any more; "
          "the target stays stopped",
          target, from);
      continue;
    }
    std::lock_guard lk(mu_);
    if (stop_ || jobs_.contains(target)) continue;
    SLUICE_LOG_INFO("target '{}': continuing the resync from '{}' that sluiced stopped during", target, from);
    Launch(target, from);
  }
  std::unique_lock lk(mu_);
  const bool taken = cv_.wait_for(lk, snapshot_wait, [&] {
    for (const auto& [name, job] : jobs_) {
      if (job.status.state == JobState::kRunning && !job.status.snapshot_open) return stop_;
    }
    return true;
  });
  if (!taken) SLUICE_LOG_WARN("resync: a source's snapshot was not open after {} ms; the appliers start anyway", snapshot_wait.count());
}

// REQUIRES: mu_ held.
void TargetResync::Launch(const std::string& target, const std::string& from, journal::Lsn begun_lsn) {
  Job& job = jobs_[target];
  if (job.thread.joinable()) job.thread.join();  // a finished job's thread
  job.status = JobStatus{};
  job.status.target = target;
  job.status.from = from;
  job.status.started_us = NowMicros();
  job.thread = std::thread([this, target, from, begun_lsn] { Run(target, from, begun_lsn); });
}

void TargetResync::Stop() {
  // The copies look at stop_ after every batch; their threads take mu_ to report, so
  // they are joined outside it.
  std::vector<std::thread> threads;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    for (auto& [name, job] : jobs_) {
      if (job.thread.joinable()) threads.push_back(std::move(job.thread));
    }
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

// The target's cursors go where the source's are, so that the journal keeps what the
// target needs after the copy (see the header).
Status TargetResync::HoldJournal(const std::string& target, const std::string& from) {
  for (const auto& stream : options_.journals->stream_names()) {
    SLUICE_ASSIGN_OR_RETURN(journal::CursorState source, options_.journals->GetCursor(stream, from));
    SLUICE_RETURN_IF_ERROR(options_.journals->ResetCursor(stream, target, source.lsn));
  }
  return Status::OK();
}

std::string TargetResync::MarkPath(const std::string& target) const {
  return JoinPath(JoinPath(options_.state_dir, "resync"), target + ".mark");
}

Result<std::map<std::string, uint64_t>> TargetResync::Copy(const std::string& target, const std::string& from,
                                                           journal::Lsn begun_lsn) {
  SLUICE_RETURN_IF_ERROR(HoldJournal(target, from));
  if (begun_lsn > 0) {
    // The copy holds its own "begun" event, and a source that has applied it and is
    // otherwise idle stays put: an interrupted copy then continues after a restart.
    if (auto applier = options_.replicator->FindApplier(from, options_.events_stream)) {
      applier->WaitApplied(begun_lsn, options_.begun_event_wait);
    }
  }
  FileSystem* fs = FileSystem::Default();
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(JoinPath(options_.state_dir, "resync")));
  CopyOptions co;
  co.mark_path = MarkPath(target);
  co.batch_rows = options_.batch_rows;
  co.fs = fs;
  co.on_snapshot = [&] { Update(target, [](JobStatus& s) { s.snapshot_open = true; }); };
  // The rate is measured from the first batch on (the rows before it may be an
  // interrupted run's).
  std::chrono::steady_clock::time_point first_at;
  int64_t first_rows = -1;
  auto progress = [&](const CopyProgress& p) -> Status {
    const auto now = std::chrono::steady_clock::now();
    if (first_rows < 0) {
      first_rows = p.rows_copied;
      first_at = now;
    }
    const double secs = std::chrono::duration<double>(now - first_at).count();
    Update(target, [&](JobStatus& s) {
      s.progress = p;
      s.rows_per_s = secs > 0 ? static_cast<double>(p.rows_copied - first_rows) / secs : 0;
      s.eta_s = p.rows_total >= 0 && s.rows_per_s > 0
                    ? static_cast<int64_t>(static_cast<double>(p.rows_total - p.rows_copied) / s.rows_per_s)
                    : -1;
    });
    // After a committed batch and its mark: where a crash test stops sluiced.
    SLUICE_FAILPOINT("resync.after_batch");
    std::lock_guard lk(mu_);
    if (stop_) return Status::Aborted("sluiced is stopping; the resync continues at the next start");
    return Status::OK();
  };
  SLUICE_ASSIGN_OR_RETURN(CopyResult r, CopyTables(EndpointOf(*options_.config->FindTarget(from)),
                                                   EndpointOf(*options_.config->FindTarget(target)), co, progress));
  Update(target, [&](JobStatus& s) {
    s.progress = r.progress;
    s.resumed = r.resumed;
    s.restart_reason = r.restart_reason;
  });
  // Rows (node, epoch, stream, lsn, updated_at): this node's, of this journal.
  std::map<std::string, uint64_t> watermarks;
  const std::string epoch = journal::EpochToHex(options_.journals->epoch());
  for (const auto& row : r.watermarks) {
    const auto* node = row.size() >= 4 ? std::get_if<std::string>(&row[0]) : nullptr;
    const auto* ep = row.size() >= 4 ? std::get_if<std::string>(&row[1]) : nullptr;
    const auto* stream = row.size() >= 4 ? std::get_if<std::string>(&row[2]) : nullptr;
    const auto* lsn = row.size() >= 4 ? std::get_if<int64_t>(&row[3]) : nullptr;
    if (node && ep && stream && lsn && *node == options_.config->node.id && *ep == epoch && *lsn >= 0) {
      watermarks[*stream] = static_cast<uint64_t>(*lsn);
    }
  }
  return watermarks;
}

void TargetResync::Run(const std::string& target, const std::string& from, journal::Lsn begun_lsn) {
  auto copied = Copy(target, from, begun_lsn);
  Status s = copied.status();
  if (s.ok()) {
    // The target now rejected what the source rejected (error log, divergence ledgers):
    // before the mark goes, so a crash here redoes it.
    s = options_.replicator->AdoptResync(target, from, *copied);
    // Adopted, the mark not gone yet: a restart redoes the adoption, which must come out
    // the same.
    if (s.ok()) SLUICE_FAILPOINT("resync.after_adopt");
  }
  if (s.ok()) {
    // The copy is complete: the mark goes, then the appliers continue from the copied
    // watermarks (unless an operator had disabled the target).
    s = options_.states->SetResync(target, "");
    const config::TargetConfig* t = options_.config->FindTarget(target);
    const bool enabled = options_.states->enabled(target).value_or(t->enabled);
    if (s.ok() && enabled) s = options_.replicator->StartTarget(target);
  }
  std::optional<JobStatus> done;
  Update(target, [&](JobStatus& j) {
    j.finished_us = NowMicros();
    j.state = s.ok() ? JobState::kDone : s.code() == Code::kAborted ? JobState::kInterrupted : JobState::kFailed;
    j.error = s.ok() ? "" : s.ToString();
    done = j;
  });
  const double secs = static_cast<double>(done->finished_us - done->started_us) / 1e6;
  if (s.ok()) {
    Event(0, fmt::format("resync of target '{}' from '{}' done: {} rows in {} tables in {:.1f} s{}; its appliers "
                         "continue from the copied watermarks",
                         target, from, done->progress.rows_copied, done->progress.tables_total, secs,
                         done->resumed ? " (continued an interrupted copy)" : ""));
  } else if (s.code() == Code::kAborted) {
    SLUICE_LOG_INFO("resync of target '{}' from '{}' interrupted: {}", target, from, s.message());
  } else {
    Event(2, fmt::format("resync of target '{}' from '{}' failed after {:.1f} s: {}; the target stays stopped. Run "
                         "`sluice target resync {} --from {}` again: it continues where it stopped",
                         target, from, secs, s.ToString(), target, from));
  }
}

void TargetResync::Update(const std::string& target, const std::function<void(JobStatus&)>& change) {
  {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(target);
    if (it == jobs_.end()) return;
    change(it->second.status);
    ++it->second.status.version;
  }
  cv_.notify_all();
}

std::optional<JobStatus> TargetResync::WaitChange(const std::string& target, uint64_t after,
                                                  std::chrono::milliseconds timeout) const {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] {
    auto it = jobs_.find(target);
    return stop_ || it == jobs_.end() || it->second.status.version > after;
  });
  auto it = jobs_.find(target);
  if (stop_ || it == jobs_.end()) return std::nullopt;
  return it->second.status;
}

std::vector<JobStatus> TargetResync::List() const {
  std::lock_guard lk(mu_);
  std::vector<JobStatus> out;
  for (const auto& [name, job] : jobs_) out.push_back(job.status);
  return out;
}

journal::Lsn TargetResync::Event(int severity, const std::string& text) const {
  if (severity >= 2) {
    SLUICE_LOG_ERROR("{}", text);
  } else if (severity == 1) {
    SLUICE_LOG_WARN("{}", text);
  } else {
    SLUICE_LOG_INFO("{}", text);
  }
  if (!options_.journal_event) return 0;
  auto lsn = options_.journal_event(severity, text);
  if (!lsn.ok()) {
    SLUICE_LOG_ERROR("journaling the event '{}' on stream '{}': {}", text, options_.events_stream,
                     lsn.status().ToString());
    return 0;
  }
  return *lsn;
}

}  // namespace sluice::resync
