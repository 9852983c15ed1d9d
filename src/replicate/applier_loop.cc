// The applier's loop: read a batch, wait for more (batch_delay), hold back intents until
// their outcome is read, take the priority gate, apply; and what it does when that fails.
#include "replicate/applier.h"

#include <algorithm>
#include <deque>

#include <fmt/format.h>

#include "common/log.h"
#include "record/record_codec.h"

namespace sluice::replicate {

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
        GoDown(s);
        continue;
      }
    }
    if (decides_ && recover_intents_) {
      Status rs = RecoverUndecidedIntents();
      if (!rs.ok()) {
        GoDown(rs);
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
      GoDown(s);
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
        GoDown(fs);
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
        if (!rs.ok()) MarkDown(rs);
        continue;
      }
      Status ds = DecideIntent(recs[n]);
      if (ds.code() == Code::kAborted) continue;  // blocked at the intent; the status says why
      // The reader stands after the batch; reading on from just after the intent needs a
      // new position only when the batch went beyond it (a seek scans its segment).
      if (ds.ok() && recs[n].lsn != recs.back().lsn) ds = Reposition(recs[n].lsn + 1);
      if (!ds.ok()) GoDown(ds);
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
        GoDown(rs);
        continue;
      }
      if (!full) journal_->WaitForNewerThan(last_seen, options_.idle_wait);
      continue;
    }
    if (!EnterGate()) {
      // Stopping, or an operator's command waits: the batch is read again afterwards.
      Status rs = Reposition(recs.front().lsn);
      if (!rs.ok()) MarkDown(rs);
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
        if (!rs.ok()) MarkDown(rs);
      }
      continue;
    }
    if (as.code() == Code::kAborted) continue;  // blocked; the status says why
    // Transient, or the target itself is broken: reconnect and try again.
    GoDown(as);
  }
  gate_pass_.Release();
  SetState(ApplierState::kStopped);
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

}  // namespace sluice::replicate
