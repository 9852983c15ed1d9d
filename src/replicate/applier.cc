// The applier's life (start, stop, status) and its connection to the target.
#include "replicate/applier.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "common/log.h"

namespace sluice::replicate {
namespace {

// How long Stop() lets a batch in progress finish before it cuts the target's waits.
constexpr std::chrono::milliseconds kStopGrace{500};

}  // namespace

std::string_view ApplierStateName(ApplierState state) {
  switch (state) {
    case ApplierState::kConnecting: return "connecting";
    case ApplierState::kRunning: return "running";
    case ApplierState::kDown: return "down";
    case ApplierState::kBlocked: return "blocked";
    case ApplierState::kNeedsResync: return "needs resync";
    case ApplierState::kStopped: return "stopped";
  }
  return "unknown";
}

Applier::Applier(journal::JournalSet* journals, std::unique_ptr<store::Backend> backend,
                 ErrorLog* error_log, StreamLedger* ledger, ApplierOptions options)
    : journals_(journals),
      journal_(journals->stream(options.stream)),
      backend_(std::move(backend)),
      error_log_(error_log),
      ledger_(ledger),
      options_(std::move(options)),
      target_(backend_->name()) {
  key_ = store::WatermarkKey{options_.node_id, journal::EpochToHex(journals->epoch()), options_.stream};
  status_.target = target_;
  status_.stream = options_.stream;
  read_records_ = options_.batch_records;
  read_bytes_ = options_.batch_bytes;
  decides_ = options_.decides_intents;
  recover_intents_ = options_.decides_intents;
}

void Applier::SetDecidesIntents(bool on) {
  bool was = decides_.exchange(on);
  if (on && !was) recover_intents_ = true;
  if (on != was) {
    SLUICE_LOG_INFO("target '{}' stream '{}': {} deciding sync-write intents", target_,
                    options_.stream, on ? "now" : "no longer");
  }
  cv_.notify_all();
}

Applier::~Applier() { Stop(); }

void Applier::Start() {
  if (journal_ == nullptr) {
    SetState(ApplierState::kStopped, fmt::format("no stream '{}'", options_.stream));
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

void Applier::Stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  {
    // A batch in progress on a target that answers finishes (its watermark commits with
    // it), but a stop must not wait out a connect or I/O timeout on a server that does
    // not: after kStopGrace the backend's waits are cut short. An intent being decided
    // is then left undecided, and the next start decides it.
    std::unique_lock lk(mu_);
    const bool stopped = !thread_.joinable() ||
                         cv_.wait_for(lk, kStopGrace, [&] { return status_.state == ApplierState::kStopped; });
    lk.unlock();
    if (!stopped) backend_->Interrupt();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  for (Command* c : commands_) c->done.set_value(Status::Unavailable("applier stopped"));
  commands_.clear();
}

ApplierStatus Applier::status() const {
  std::lock_guard lk(mu_);
  ApplierStatus s = status_;
  s.diverged = ledger_ != nullptr && ledger_->diverged(target_);
  return s;
}

bool Applier::WaitApplied(Lsn lsn, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] {
    return status_.applied_lsn >= lsn || status_.state == ApplierState::kNeedsResync ||
           status_.state == ApplierState::kStopped;
  });
  return status_.applied_lsn >= lsn;
}

void Applier::SetState(ApplierState state, const std::string& error) {
  std::lock_guard lk(mu_);
  // Log what an operator needs, once: a retry loop against a target that is down goes
  // connecting -> down -> connecting ... and must not flood the log with the same line.
  if (state != ApplierState::kConnecting) {
    if (!error.empty() && (error != last_logged_error_ || state != last_logged_state_)) {
      SLUICE_LOG_WARN("target '{}' stream '{}': {} ({})", target_, options_.stream,
                      ApplierStateName(state), error);
    } else if (error.empty() && state != last_logged_state_) {
      SLUICE_LOG_INFO("target '{}' stream '{}': {}", target_, options_.stream, ApplierStateName(state));
    }
    last_logged_state_ = state;
    last_logged_error_ = error;
  }
  status_.state = state;
  if (!error.empty() || state == ApplierState::kRunning) status_.last_error = error;
  cv_.notify_all();
}

void Applier::MarkDown(const Status& error) {
  SetState(ApplierState::kDown, error.ToString());
  connected_ = false;
}

void Applier::GoDown(const Status& error) {
  MarkDown(error);
  Backoff();
}

void Applier::Backoff() {
  gate_pass_.Release();  // a target that is down holds none of its streams up
  backoff_ = backoff_.count() == 0 ? options_.backoff_initial
                                   : std::min(options_.backoff_max, backoff_ * 2);
  static thread_local std::mt19937 rng(std::random_device{}());
  auto jittered = std::chrono::milliseconds(
      backoff_.count() / 2 + std::uniform_int_distribution<int64_t>(0, backoff_.count() / 2)(rng));
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, jittered, [&] { return stop_ || !commands_.empty() || retry_now_; });
  if (retry_now_) {
    retry_now_ = false;
    backoff_ = std::chrono::milliseconds(0);
  }
}

void Applier::RetryNow() {
  {
    std::lock_guard lk(mu_);
    retry_now_ = true;
  }
  cv_.notify_all();
}

Status Applier::ConnectAndPosition() {
  SetState(ApplierState::kConnecting);
  SLUICE_RETURN_IF_ERROR(backend_->Connect());
  SLUICE_RETURN_IF_ERROR(backend_->ClaimNode(options_.node_id));
  SLUICE_ASSIGN_OR_RETURN(Lsn watermark, backend_->ReadWatermark(key_));
  Lsn head = journal_->durable_lsn();
  Lsn first = journal_->first_lsn();
  if (watermark > head) {
    return Status::NeedsResync(fmt::format(
        "its watermark for stream '{}' (epoch {}) is LSN {}, above the journal head {}: the "
        "journal was wiped or replaced; nothing will be applied until an operator resyncs it",
        options_.stream, key_.epoch, watermark, head));
  }
  if (watermark + 1 < first) {
    return Status::NeedsResync(fmt::format(
        "its watermark for stream '{}' is LSN {}, but the journal only holds LSN {} on; the "
        "records in between are gone",
        options_.stream, watermark, first));
  }
  SLUICE_ASSIGN_OR_RETURN(reader_, journal::Reader::Open(journal_, watermark + 1));
  {
    std::lock_guard lk(mu_);
    status_.applied_lsn = watermark;
  }
  journals_->AdvanceCursor(options_.stream, target_, watermark).IgnoreError();  // cursor may be unregistered in tools
  if (ledger_) ledger_->NoteApplied(target_, watermark);
  // A decider whose connection broke may have committed an intent without hearing so:
  // its watermark is now past an intent without an outcome, which the recovery finds.
  if (decides_) recover_intents_ = true;
  LoadOpenRejections();
  connected_ = true;
  if (blocked_at_ > watermark) {
    // Only the operator moves a blocked stream; a reconnect (after a failed retry, say)
    // must not quietly apply the record in order behind the open entry's back.
    SetState(ApplierState::kBlocked, block_message_);
  } else {
    blocked_at_ = 0;
    SetState(ApplierState::kRunning);
  }
  return Status::OK();
}

Status Applier::Reposition(Lsn next) {
  auto reader = journal::Reader::Open(journal_, next);
  if (!reader.ok()) return reader.status();
  reader_ = std::move(reader).value();
  return Status::OK();
}

void Applier::WaitForStop() {
  gate_pass_.Release();
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return stop_; });
}

bool Applier::Interrupted() const {
  std::lock_guard lk(mu_);
  return stop_ || !commands_.empty();
}

}  // namespace sluice::replicate
