// The operator's commands (retry, discard a rejected record), queued by any thread and
// carried out on the applier's own.
#include "replicate/applier.h"

#include <algorithm>
#include <future>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "record/record_codec.h"

namespace sluice::replicate {

Status Applier::Enqueue(Command::Kind kind, Lsn lsn, std::chrono::milliseconds timeout) {
  Command cmd{kind, lsn, {}};
  auto fut = cmd.done.get_future();
  {
    std::lock_guard lk(mu_);
    if (stop_ || !thread_.joinable()) return Status::Unavailable("applier is not running");
    commands_.push_back(&cmd);
  }
  cv_.notify_all();
  if (fut.wait_for(timeout) != std::future_status::ready) {
    std::lock_guard lk(mu_);
    auto it = std::find(commands_.begin(), commands_.end(), &cmd);
    if (it != commands_.end()) {
      commands_.erase(it);
      return Status::DeadlineExceeded(fmt::format("target '{}' did not take the command in time", target_));
    }
    // Being run right now: wait for it, the command lives on this stack.
  }
  return fut.get();
}

Status Applier::Retry(Lsn lsn, std::chrono::milliseconds timeout) {
  return Enqueue(Command::kRetry, lsn, timeout);
}

Status Applier::Discard(Lsn lsn, std::chrono::milliseconds timeout) {
  return Enqueue(Command::kDiscard, lsn, timeout);
}

void Applier::ProcessCommands() {
  while (true) {
    Command* cmd = nullptr;
    {
      std::lock_guard lk(mu_);
      if (commands_.empty()) return;
      cmd = commands_.front();
      commands_.pop_front();
    }
    cmd->done.set_value(RunCommand(*cmd));
  }
}

Status Applier::RunCommand(Command& cmd) {
  Status s = RunCommandOnce(cmd);
  // A connection that failed under a command is not used again: the next command (or
  // the applier's loop) reconnects. The blocked state survives the reconnect.
  if (!s.ok() && s.retryable()) connected_ = false;
  return s;
}

Status Applier::RunCommandOnce(Command& cmd) {
  if (!connected_) {
    Status s = ConnectAndPosition();
    if (!s.ok()) return s.Annotate(fmt::format("target '{}' is not reachable", target_));
  }
  ApplierStatus st = status();
  bool at_block = st.state == ApplierState::kBlocked && blocked_at_ == cmd.lsn;
  SLUICE_ASSIGN_OR_RETURN(ErrorRecord logged, error_log_->Find(key_.epoch, options_.stream, cmd.lsn));
  if (logged.state != "open") {
    return Status::FailedPrecondition(fmt::format("LSN {} of stream '{}' on target '{}' is already {}",
                                                  cmd.lsn, options_.stream, target_, logged.state));
  }
  if (cmd.kind == Command::kDiscard) {
    if (at_block) {
      SLUICE_RETURN_IF_ERROR(CommitWatermark(cmd.lsn, {}));
      blocked_at_ = 0;
      SLUICE_RETURN_IF_ERROR(Reposition(cmd.lsn + 1));
      SetState(ApplierState::kRunning);
    }
    SLUICE_LOG_INFO("target '{}' stream '{}': rejected LSN {} discarded by the operator", target_,
                    options_.stream, cmd.lsn);
    open_rejections_.erase(cmd.lsn);
    return error_log_->MarkResolved(key_.epoch, options_.stream, cmd.lsn, "discarded");
  }
  if (!at_block && cmd.lsn > st.applied_lsn) {
    return Status::FailedPrecondition(fmt::format(
        "LSN {} of stream '{}' is not yet passed on target '{}'; it will be applied in order",
        cmd.lsn, options_.stream, target_));
  }
  SLUICE_ASSIGN_OR_RETURN(std::string payload, record::Base64Decode(logged.record_b64));
  SLUICE_ASSIGN_OR_RETURN(v1::Record record, record::DecodeRecord(cmd.lsn, record::kRecordV1, payload));
  store::ApplyItem item{cmd.lsn, &record};
  const std::string where = fmt::format("retrying LSN {} of stream '{}' on target '{}'", cmd.lsn,
                                        options_.stream, target_);
  if (at_block) {
    // Applied in order: the watermark moves past it, and the stream resumes.
    Status s = backend_->ApplyBatch(key_, std::span<const store::ApplyItem>(&item, 1), {}, cmd.lsn);
    if (!s.ok()) return s.Annotate(where);
    Advanced(cmd.lsn, 1);
    blocked_at_ = 0;
    SLUICE_RETURN_IF_ERROR(Reposition(cmd.lsn + 1));
    SetState(ApplierState::kRunning);
  } else {
    // A skipped record, applied now out of its original order. The target's row of the
    // rejection is the idempotence key: a retry whose answer was lost is not applied
    // again, nor is a record that was applied in its order after all.
    auto applied = backend_->ApplyRetry(key_, item);
    if (!applied.ok()) return applied.status().Annotate(where);
    switch (*applied) {
      case store::RetryResult::kApplied:
        SLUICE_FAILPOINT_RETURN("applier.retry_after_commit");
        break;
      case store::RetryResult::kAlreadyRetried:
        SLUICE_LOG_INFO("target '{}' stream '{}': LSN {} was retried before (the answer was lost)",
                        target_, options_.stream, cmd.lsn);
        break;
      case store::RetryResult::kAppliedInOrder:
        open_rejections_.erase(cmd.lsn);
        SLUICE_RETURN_IF_ERROR(error_log_->MarkResolved(key_.epoch, options_.stream, cmd.lsn, "applied"));
        return Status::FailedPrecondition(fmt::format(
            "LSN {} of stream '{}' was applied on target '{}' in its order after it was rejected; "
            "nothing to retry",
            cmd.lsn, options_.stream, target_));
      case store::RetryResult::kNoRejection:
        return Status::FailedPrecondition(fmt::format(
            "target '{}' holds no rejection of LSN {} of stream '{}' (epoch {}) though its "
            "watermark {} has passed it: it was applied in its order, or its sluice_error row was "
            "removed; nothing retried (discard the entry once the record is checked)",
            target_, cmd.lsn, options_.stream, key_.epoch, st.applied_lsn));
    }
  }
  open_rejections_.erase(cmd.lsn);
  if (ledger_) ledger_->NoteRetried(target_, cmd.lsn);
  SLUICE_LOG_INFO("target '{}' stream '{}': rejected LSN {} retried by the operator and applied",
                  target_, options_.stream, cmd.lsn);
  return error_log_->MarkResolved(key_.epoch, options_.stream, cmd.lsn, "retried");
}

}  // namespace sluice::replicate
