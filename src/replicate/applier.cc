#include "replicate/applier.h"

#include <algorithm>
#include <map>
#include <random>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "replicate/intent_scan.h"
#include "record/record_codec.h"

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

void Applier::LoadOpenRejections() {
  ErrorFilter f;
  f.stream = options_.stream;
  auto open = error_log_->List(f);
  if (!open.ok()) {
    // Not fatal: the target resolves what it applies in order by itself, and a retry
    // asks the target before applying; only the local entry would stay "open".
    SLUICE_LOG_WARN("target '{}' stream '{}': cannot read the error log: {}", target_, options_.stream,
                    open.status().ToString());
    return;
  }
  open_rejections_.clear();
  for (const ErrorRecord& e : *open) {
    if (e.epoch == key_.epoch) open_rejections_.insert(e.lsn);
  }
}

void Applier::ResolveAppliedInOrder(std::span<const Decoded> recs) {
  if (open_rejections_.empty()) return;
  for (const Decoded& d : recs) {
    if (!d.skip && open_rejections_.count(d.lsn)) ResolveAppliedInOrder(d.lsn);
  }
}

void Applier::ResolveAppliedInOrder(Lsn lsn) {
  if (open_rejections_.erase(lsn) == 0) return;
  SLUICE_LOG_INFO("target '{}' stream '{}': LSN {}, rejected before, is now applied in its order",
                  target_, options_.stream, lsn);
  if (ledger_) ledger_->NoteRetried(target_, lsn);
  Status s = error_log_->MarkResolved(key_.epoch, options_.stream, lsn, "applied");
  if (!s.ok()) {
    // The target holds the truth (its row is resolved): a retry finds it there.
    SLUICE_LOG_WARN("target '{}' stream '{}': LSN {}: cannot note in the error log that it was applied: {}",
                    target_, options_.stream, lsn, s.ToString());
  }
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

void Applier::Decode(const journal::ReadBatch& batch, std::vector<Decoded>* out) const {
  for (const auto& rv : batch.records()) {
    Decoded d;
    d.lsn = rv.lsn;
    d.payload = rv.payload;
    auto r = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
    if (r.ok()) {
      d.record = std::move(r).value();
    } else if (rv.type & journal::kIgnorableTypeBit) {
      d.skip = true;  // a newer kind of record that this build may skip
    } else {
      d.decode_error = r.status().message();
    }
    out->push_back(std::move(d));
  }
}

bool Applier::DecidesAnIntentIn(std::span<const Decoded> recs) const {
  if (!decides_) return false;
  return std::any_of(recs.begin(), recs.end(),
                     [](const Decoded& d) { return d.record && d.record->has_intent(); });
}

Status Applier::FillBatch(std::vector<Decoded>* recs, std::deque<journal::ReadBatch>* topups,
                          size_t* bytes) {
  // A caller of a synchronous write waits for the deciding target: no delay for it.
  if (DecidesAnIntentIn(*recs)) return Status::OK();
  const auto deadline = std::chrono::steady_clock::now() + options_.batch_delay;
  while (recs->size() < read_records_ && *bytes < read_bytes_) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= decltype(left)::zero() || Interrupted()) break;
    // In slices, so that a stop or an operator's command is not held up by a long delay.
    auto slice = std::min(std::chrono::ceil<std::chrono::milliseconds>(left), options_.idle_wait);
    if (!journal_->WaitForNewerThan(recs->back().lsn, slice)) continue;
    // A batch of its own for what arrived: the views of the records read so far point into
    // the batches before it, which a deque never moves.
    journal::ReadBatch& more = topups->emplace_back();
    SLUICE_RETURN_IF_ERROR(reader_->Read(read_records_ - recs->size(), read_bytes_ - *bytes, &more));
    size_t before = recs->size();
    Decode(more, recs);
    *bytes += more.payload_bytes();
    if (DecidesAnIntentIn(std::span<const Decoded>(*recs).subspan(before))) break;
  }
  return Status::OK();
}

bool Applier::EnterGate() {
  if (!options_.gate) return true;
  while (!options_.gate->Enter(gate_pass_, options_.priority, options_.idle_wait)) {
    if (Interrupted()) {
      gate_pass_.Release();
      return false;
    }
  }
  return true;
}

void Applier::Run() {
  journal::ReadBatch batch;
  std::deque<journal::ReadBatch> topups;  // what batch_delay added to `batch`
  std::vector<Decoded> recs;
  while (true) {
    {
      std::lock_guard lk(mu_);
      if (stop_) break;
    }
    ProcessCommands();
    if (!connected_) {
      Status s = ConnectAndPosition();
      if (s.code() == Code::kNeedsResync || s.code() == Code::kOutOfRange) {
        SetState(ApplierState::kNeedsResync, s.message());
        // Nothing the journal holds can be applied until an operator resyncs the target:
        // a cursor left where it is would stop retention on the stream for good.
        journals_->DetachCursor(options_.stream, target_, s.message()).IgnoreError();  // unregistered in tools
        WaitForStop();
        break;
      }
      if (!s.ok()) {
        SetState(ApplierState::kDown, s.ToString());
        Backoff();
        continue;
      }
    }
    if (decides_ && recover_intents_) {
      Status rs = RecoverUndecidedIntents();
      if (!rs.ok()) {
        SetState(ApplierState::kDown, rs.ToString());
        connected_ = false;
        Backoff();
        continue;
      }
      recover_intents_ = false;
    }
    if (status().state == ApplierState::kBlocked) {
      // Only an operator's retry or discard moves a blocked stream.
      gate_pass_.Release();
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !commands_.empty(); });
      continue;
    }

    Status s = reader_->Read(read_records_, read_bytes_, &batch);
    if (!s.ok()) {
      if (s.code() == Code::kOutOfRange) {
        // Retention deleted what this target still needed (its cursor was detached).
        SetState(ApplierState::kNeedsResync, s.message());
        journals_->DetachCursor(options_.stream, target_, s.message()).IgnoreError();  // unregistered in tools
        WaitForStop();
        break;
      }
      SetState(ApplierState::kDown, s.ToString());
      connected_ = false;
      Backoff();
      continue;
    }
    // A read that stopped at a limit means a backlog: the pass stays held between its
    // batches, so lower streams wait until this one has caught up. A short read means
    // this stream is at its head and holds nobody up while it waits.
    bool full = batch.size() >= read_records_ || batch.payload_bytes() >= read_bytes_;
    if (!full) gate_pass_.Release();
    if (batch.empty()) {
      reader_->WaitForRecords(options_.idle_wait);
      continue;
    }
    recs.clear();
    topups.clear();
    Decode(batch, &recs);
    if (!full && options_.batch_delay.count() > 0) {
      // A trickle: wait a little for more, so that it is applied in fewer transactions.
      size_t bytes = batch.payload_bytes();
      Status fs = FillBatch(&recs, &topups, &bytes);
      if (!fs.ok()) {
        SetState(ApplierState::kDown, fs.ToString());
        connected_ = false;
        Backoff();
        continue;
      }
      full = recs.size() >= read_records_ || bytes >= read_bytes_;
    }
    size_t n = ApplicablePrefix(recs);
    // The intent this applier decides next. Records before it that change nothing on the
    // target (the previous call's outcome marker, switch markers) are covered by the
    // intent's own watermark write: one transaction instead of two on a synchronous
    // caller's path.
    const bool decide_next = decides_ && n < recs.size() && recs[n].record && recs[n].record->has_intent() &&
                             std::all_of(recs.begin(), recs.begin() + static_cast<std::ptrdiff_t>(n),
                                         [](const Decoded& d) { return d.skip; });
    if (decide_next) {
      if (!EnterGate()) {
        Status rs = Reposition(recs.front().lsn);  // read again once the gate lets us in
        if (!rs.ok()) {
          SetState(ApplierState::kDown, rs.ToString());
          connected_ = false;
        }
        continue;
      }
      Status ds = DecideIntent(recs[n]);
      if (ds.code() == Code::kAborted) continue;  // blocked at the intent; the status says why
      // The reader stands after the batch; reading on from just after the intent needs a
      // new position only when the batch went beyond it (a seek scans its segment).
      if (ds.ok() && recs[n].lsn != recs.back().lsn) ds = Reposition(recs[n].lsn + 1);
      if (!ds.ok()) {
        SetState(ApplierState::kDown, ds.ToString());
        connected_ = false;
        Backoff();
      }
      continue;
    }
    if (n == 0) {
      // The first record is an intent whose outcome is not journaled yet. Read again from
      // the intent, with a larger batch if the outcome may lie beyond this one. Waiting
      // for an outcome is not work: lower streams may go on meanwhile.
      gate_pass_.Release();
      full = recs.size() >= read_records_;
      if (full) read_records_ = std::min<size_t>(read_records_ * 2, 1 << 20);
      Lsn last_seen = recs.back().lsn;
      // Fewer records than asked for while newer ones exist: the byte bound stopped the
      // read (a large intent, e.g. a 10 MiB BLOB), so the outcome lies beyond it.
      if (!full && journal_->WaitForNewerThan(last_seen, std::chrono::milliseconds(0))) {
        full = true;
        read_bytes_ = std::min<size_t>(read_bytes_ * 2, size_t{1} << 30);
      }
      Status rs = Reposition(recs.front().lsn);
      if (!rs.ok()) {
        SetState(ApplierState::kDown, rs.ToString());
        connected_ = false;
        Backoff();
        continue;
      }
      if (!full) journal_->WaitForNewerThan(last_seen, options_.idle_wait);
      continue;
    }
    if (!EnterGate()) {
      // Stopping, or an operator's command waits: the batch is read again afterwards.
      Status rs = Reposition(recs.front().lsn);
      if (!rs.ok()) {
        SetState(ApplierState::kDown, rs.ToString());
        connected_ = false;
      }
      continue;
    }
    read_records_ = options_.batch_records;
    read_bytes_ = options_.batch_bytes;
    Status as = ApplyRange(std::span<Decoded>(recs.data(), n));
    if (as.ok()) {
      backoff_ = std::chrono::milliseconds(0);
      if (!full) gate_pass_.Release();  // caught up (what FillBatch added was all there was)
      if (n < recs.size()) {
        Status rs = Reposition(recs[n].lsn);
        if (!rs.ok()) {
          SetState(ApplierState::kDown, rs.ToString());
          connected_ = false;
        }
      }
      continue;
    }
    if (as.code() == Code::kAborted) continue;  // blocked; the status says why
    // Transient, or the target itself is broken: reconnect, re-read the watermark (the
    // commit may have happened before the connection broke) and try again.
    SetState(ApplierState::kDown, as.ToString());
    connected_ = false;
    Backoff();
  }
  gate_pass_.Release();
  SetState(ApplierState::kStopped);
}

size_t Applier::ApplicablePrefix(std::vector<Decoded>& recs) {
  for (size_t i = 0; i < recs.size(); ++i) {
    Decoded& d = recs[i];
    if (!d.record) continue;
    switch (d.record->body_case()) {
      case v1::Record::kOutcome:
      case v1::Record::kSwitchMarker:
        d.skip = true;
        break;
      case v1::Record::kIntent: {
        bool decided = false;
        for (size_t j = i + 1; j < recs.size(); ++j) {
          const auto& o = recs[j].record;
          if (o && o->has_outcome() && o->outcome().intent_lsn() == d.lsn) {
            decided = true;
            d.skip = !o->outcome().applied();
            break;
          }
        }
        if (!decided) return i;
        break;
      }
      default:
        break;
    }
  }
  return recs.size();
}

Status Applier::ApplyRange(std::span<Decoded> recs) {
  if (recs.empty()) return Status::OK();
  // A record that cannot even be decoded is rejected on its own.
  for (size_t i = 0; i < recs.size(); ++i) {
    if (!recs[i].decode_error.empty()) {
      SLUICE_RETURN_IF_ERROR(ApplyRange(recs.subspan(0, i)));
      SLUICE_RETURN_IF_ERROR(HandleRejected(recs[i], Status::InvalidArgument(recs[i].decode_error)));
      return ApplyRange(recs.subspan(i + 1));
    }
  }
  std::vector<store::ApplyItem> items;
  items.reserve(recs.size());
  for (const Decoded& d : recs) {
    if (!d.skip) items.push_back(store::ApplyItem{d.lsn, &*d.record});
  }
  Status s = backend_->ApplyBatch(key_, items, {}, recs.back().lsn);
  if (s.ok()) {
    SLUICE_FAILPOINT("applier.after_commit");
    // Before Advanced: whoever waits for these LSNs sees their rejections resolved.
    ResolveAppliedInOrder(recs);
    Advanced(recs.back().lsn, items.size());
    return s;
  }
  if (s.retryable()) return s;
  if (recs.size() == 1) return HandleRejected(recs[0], s);
  // Find the offending record by bisection: each half is its own transaction, so the
  // good records around a bad one are applied exactly once.
  size_t mid = recs.size() / 2;
  SLUICE_RETURN_IF_ERROR(ApplyRange(recs.subspan(0, mid)));
  return ApplyRange(recs.subspan(mid));
}

store::ErrorEntry Applier::MakeEntry(const Decoded& rec, const Status& error) const {
  store::ErrorEntry e;
  e.stream = options_.stream;
  e.lsn = rec.lsn;
  e.record_kind = rec.record ? std::string(record::RecordKind(*rec.record)) : "undecodable";
  e.message = error.message();
  e.payload_json = rec.record ? record::RecordToJson(*rec.record) : std::string();
  e.failed_at_us = NowMicros();
  return e;
}

Status Applier::HandleRejected(Decoded& rec, const Status& error) {
  store::ErrorEntry entry = MakeEntry(rec, error);
  ErrorRecord logged;
  logged.epoch = key_.epoch;
  logged.target = target_;
  logged.stream = options_.stream;
  logged.lsn = rec.lsn;
  logged.kind = entry.record_kind;
  logged.message = entry.message;
  logged.record_b64 = record::Base64Encode(rec.payload);
  logged.payload_json = entry.payload_json;
  logged.failed_at_us = entry.failed_at_us;
  // The local log first: if we crash before the target commits, the record is retried
  // on restart, and a second identical entry folds into the first.
  SLUICE_RETURN_IF_ERROR(error_log_->AppendRejection(logged).Annotate("writing the error log"));
  open_rejections_.insert(rec.lsn);
  SLUICE_LOG_WARN("target '{}' stream '{}': LSN {} ({}) rejected: {}", target_, options_.stream,
                  rec.lsn, entry.record_kind, entry.message);
  if (ledger_) ledger_->NoteRejected(target_, rec.lsn);
  {
    std::lock_guard lk(mu_);
    status_.rejected++;
  }
  if (options_.on_error == OnError::kBlock) {
    // Shown in the target's table too, without moving the watermark.
    Lsn applied = status().applied_lsn;
    Status s = backend_->ApplyBatch(key_, {}, std::span<const store::ErrorEntry>(&entry, 1), applied);
    if (!s.ok()) return s;
    {
      std::lock_guard lk(mu_);
      status_.blocked_lsn = rec.lsn;
    }
    blocked_at_ = rec.lsn;
    block_message_ = fmt::format("blocked at LSN {} (on_error = block): {}", rec.lsn, entry.message);
    SetState(ApplierState::kBlocked, block_message_);
    return Status::Aborted("blocked");
  }
  Status s = CommitWatermark(rec.lsn, std::span<const store::ErrorEntry>(&entry, 1));
  if (!s.ok() && !s.retryable()) {
    // Even an empty transaction fails: the target is broken, not the record.
    open_rejections_.erase(rec.lsn);
    error_log_->MarkResolved(key_.epoch, options_.stream, rec.lsn, "withdrawn").IgnoreError();  // best effort
    return s.Annotate("the target refuses even the watermark update");
  }
  return s;
}

Status Applier::CommitWatermark(Lsn lsn, std::span<const store::ErrorEntry> errors) {
  SLUICE_RETURN_IF_ERROR(backend_->ApplyBatch(key_, {}, errors, lsn));
  Advanced(lsn, 0);
  return Status::OK();
}

void Applier::Advanced(Lsn lsn, size_t records) {
  // The ledger and the cursor first: whoever waits for this LSN sees their effects.
  journals_->AdvanceCursor(options_.stream, target_, lsn).IgnoreError();  // unregistered in tools
  if (ledger_) ledger_->NoteApplied(target_, lsn);
  {
    std::lock_guard lk(mu_);
    status_.applied_lsn = lsn;
    status_.records_applied += records;
    status_.batches_applied++;
    if (status_.state != ApplierState::kRunning) {
      status_.state = ApplierState::kRunning;
      status_.last_error.clear();
    }
  }
  cv_.notify_all();
}

Result<std::optional<v1::SyncOutcome>> Applier::FindOutcome(Lsn lsn) {
  // The shared scan has read up to the head: an intent it holds as undecided has no
  // outcome anywhere, without reading from the intent to the head again.
  auto scan = IntentScan::For(journal_);
  SLUICE_RETURN_IF_ERROR(scan->CatchUp());
  if (scan->IsUndecided(lsn)) return std::optional<v1::SyncOutcome>();
  // Decided: its outcome follows it, usually closely (the reader starts from the index).
  SLUICE_ASSIGN_OR_RETURN(auto reader, journal::Reader::Open(journal_, lsn + 1));
  journal::ReadBatch batch;
  while (true) {
    SLUICE_RETURN_IF_ERROR(reader->Read(4096, 8 << 20, &batch));
    if (batch.empty()) return std::optional<v1::SyncOutcome>();
    for (const auto& rv : batch.records()) {
      auto r = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
      if (r.ok() && r->has_outcome() && r->outcome().intent_lsn() == lsn) {
        return std::optional<v1::SyncOutcome>(r->outcome());
      }
    }
  }
}

Status Applier::DecideIntent(Decoded& rec) {
  // Another target may have decided it already (it was active then): follow it.
  SLUICE_ASSIGN_OR_RETURN(auto known, FindOutcome(rec.lsn));
  if (known) {
    if (known->applied()) {
      store::ApplyItem item{rec.lsn, &*rec.record};
      Status s = backend_->ApplyBatch(key_, std::span<const store::ApplyItem>(&item, 1), {}, rec.lsn);
      if (s.ok()) {
        ResolveAppliedInOrder(rec.lsn);
        Advanced(rec.lsn, 1);
        return s;
      }
      if (s.retryable()) return s;
      // The target that decided applied it; this one cannot. Retrying cannot help: it is
      // a rejection like any other (error log, on_error) and this target diverges.
      return HandleRejected(rec, s);
    }
    return CommitWatermark(rec.lsn, {});
  }
  if (!outcome_sink_) return Status::FailedPrecondition("no outcome sink: cannot decide intents");
  store::ApplyItem item{rec.lsn, &*rec.record};
  SLUICE_FAILPOINT("applier.before_apply_intent");
  auto result = backend_->ApplyIntent(key_, item, options_.intent_max_rows);
  IntentDecision d;
  d.intent_lsn = rec.lsn;
  d.target = target_;
  if (result.ok()) {
    SLUICE_FAILPOINT("applier.intent_applied_before_outcome");
    Advanced(rec.lsn, 1);
    d.applied = true;
    d.result = std::move(result).value();
    if (d.result.already_applied) {
      // Committed by an earlier attempt whose answer was lost: applied, result unknown.
      d.result_known = false;
      d.message = "applied by an earlier attempt whose answer was lost; its result was not kept";
    }
    return outcome_sink_(d);
  }
  if (result.status().retryable()) return result.status();
  // Rejected: the outcome is journaled before the watermark moves past the intent.
  d.applied = false;
  d.message = result.status().message();
  SLUICE_LOG_INFO("target '{}': sync write at LSN {} rejected: {}", target_, rec.lsn, d.message);
  SLUICE_RETURN_IF_ERROR(outcome_sink_(d));
  return CommitWatermark(rec.lsn, {});
}

Status Applier::RecoverUndecidedIntents() {
  if (!outcome_sink_) return Status::OK();
  Lsn watermark = status().applied_lsn;
  // Shared by every applier of this journal and kept up to date as records are made
  // durable: after a decider change or a reconnect only what is new is read, not the
  // whole retained stream.
  auto scan = IntentScan::For(journal_);
  SLUICE_RETURN_IF_ERROR(scan->CatchUp());
  for (Lsn lsn : scan->Undecided()) {
    if (lsn > watermark) break;
    IntentDecision d;
    d.intent_lsn = lsn;
    d.applied = true;
    d.target = target_;
    d.result_known = false;
    d.message = "applied before a restart; its result was not kept";
    SLUICE_LOG_WARN("target '{}': sync write at LSN {} was applied before a crash without an outcome; journaling it as applied",
                    target_, lsn);
    SLUICE_RETURN_IF_ERROR(outcome_sink_(d));
  }
  return Status::OK();
}

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
