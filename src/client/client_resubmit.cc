// The background thread that delivers the spool, stream by stream, in order.
//
// Entries are sent pipelined on one CommitStream call (the service journals them as they
// arrive and answers each in order once durable, so a backlog drains with group commit,
// not one fsync round trip per entry). When the stream ends without settling the next
// entry (an error, a lost connection), that entry is sent alone with a unary Commit,
// whose answer is precise, on every address in turn. For each entry the service answers
// one of:
//   OK                                   delivered.
//   "expected sequence N", N > sequence  an earlier attempt was admitted and its answer
//                                        lost: delivered (the service de-duplicated it).
//   "expected sequence N", N < sequence  a real gap: sequences before this one never
//                                        reached the service. Nothing the client can fix:
//                                        reported, retried, never skipped.
//   INVALID_ARGUMENT, NOT_FOUND,         refused for good (bad records, unknown stream):
//   OUT_OF_RANGE                         kept under SPOOL_DIR/rejected/, and the entries
//                                        behind it take its sequence (it was not consumed).
//   anything else                        retried later (auth, budget, the service's state).

#include <fmt/format.h>

#include "client/client_impl.h"
#include "common/log.h"

namespace sluice::client {
namespace {

// Entries delivered per stream before the thread looks at the other streams.
constexpr size_t kEntriesPerPass = 256;
// Cursor persistence (and retention) during a long drain, every this many entries.
constexpr uint64_t kFlushEvery = 256;
// Commits sent on a CommitStream ahead of their answers. The service holds up to 64
// journaled-but-unanswered requests per stream; staying below keeps it reading.
constexpr size_t kStreamWindow = 32;

bool RefusedForGood(grpc::StatusCode code) {
  return code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::NOT_FOUND ||
         code == grpc::StatusCode::OUT_OF_RANGE;
}

}  // namespace

void ClientImpl::WakeResubmitter() {
  {
    std::lock_guard lk(wake_mu_);
    wake_ = true;
  }
  wake_cv_.notify_all();
}

void ClientImpl::ResubmitLoop() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point unreachable_until{};
  std::map<StreamState*, Clock::time_point> stuck_until;
  while (!stop_.load()) {
    bool progress = false;
    const auto now = Clock::now();
    if (now >= unreachable_until) {
      for (StreamState* st : AllStreams()) {
        if (stop_.load()) break;
        auto it = stuck_until.find(st);
        if (it != stuck_until.end() && now < it->second) continue;
        const Drain d = DrainStream(st);
        if (d == Drain::kProgress) progress = true;
        if (d == Drain::kStuck) stuck_until[st] = Clock::now() + options_.resubmit_interval;
        if (d == Drain::kUnreachable) {
          unreachable_until = Clock::now() + options_.resubmit_interval;
          break;
        }
      }
    }
    std::unique_lock lk(wake_mu_);
    if (stopping_) break;
    if (!progress) {
      wake_cv_.wait_for(lk, options_.resubmit_interval, [&] { return wake_ || stopping_; });
    }
    wake_ = false;
  }
}

void ClientImpl::SetErrorLocked(StreamState* st, std::string error) {
  if (error != st->last_error) {
    SLUICE_LOG_WARN("client {}: spool stream '{}': {}", client_id_, st->name, error);
  }
  st->last_error = std::move(error);
}

ClientImpl::Drain ClientImpl::DrainStream(StreamState* st) {
  bool need_hello = false;
  {
    std::lock_guard lk(st->mu);
    if (st->pending.empty()) {
      if (!st->flush_needed) return Drain::kIdle;
      FlushDrainedLocked(st);
      return st->flush_needed ? Drain::kStuck : Drain::kProgress;
    }
    if (!st->known) {
      std::optional<uint64_t> last;
      {
        std::lock_guard sl(streams_mu_);
        if (hello_known_) {
          auto it = hello_last_.find(st->name);
          last = it == hello_last_.end() ? 0 : it->second;
        }
      }
      if (last) NumberLocked(st, *last);
      if (!st->known && last) return Drain::kStuck;  // the anchor could not be written
    }
    need_hello = !st->known;
  }
  if (need_hello) {
    Status s = EnsureHello(/*background=*/true);
    std::lock_guard lk(st->mu);
    if (!s.ok()) {
      // Not SetErrorLocked: "the service is away" is the normal state of a spool.
      st->last_error = s.ToString();
      return s.code() == Code::kUnavailable ? Drain::kUnreachable : Drain::kStuck;
    }
    if (!st->known) return Drain::kStuck;
  }

  size_t done = 0;
  while (done < kEntriesPerPass) {
    if (stop_.load()) return Drain::kUnreachable;
    // Admitted before this process said Hello: nothing to send.
    {
      std::scoped_lock lk(st->mu, streams_mu_);
      auto it = hello_last_.find(st->name);
      const uint64_t admitted = hello_known_ && it != hello_last_.end() ? it->second : 0;
      while (!st->pending.empty() && st->pending.front().sequence <= admitted) {
        FinishFrontLocked(st, /*delivered=*/true);
        ++done;
      }
      if (st->pending.empty()) break;
    }
    auto streamed = StreamEntries(st, kEntriesPerPass - done);
    if (!streamed.ok()) return Drain::kUnreachable;
    if (*streamed > 0) {
      done += *streamed;
      continue;
    }
    // The stream settled nothing: find out about the front entry on its own.
    const Drain d = SendFront(st);
    if (d != Drain::kProgress) return d;
    ++done;
  }
  return Drain::kProgress;
}

Result<size_t> ClientImpl::StreamEntries(StreamState* st, size_t max) {
  std::vector<PendingEntry> entries;
  {
    std::lock_guard lk(st->mu);
    for (size_t i = 0; i < st->pending.size() && i < max; ++i) entries.push_back(st->pending[i]);
  }
  if (entries.empty()) return size_t{0};
  // Committers queue entries before they are durable (see SpoolLocked).
  Status durable = spool_->WaitDurable(st->name, entries.back().lsn);
  auto read = durable.ok() ? spool_->Read(st->name, entries.front().lsn, entries.size())
                           : Result<std::vector<SpooledCommit>>(durable);
  if (!read.ok()) {
    std::lock_guard lk(st->mu);
    SetErrorLocked(st, fmt::format("reading spooled commits from LSN {}: {}", entries.front().lsn,
                                   read.status().ToString()));
    return size_t{0};  // SendFront reports it as stuck
  }
  std::vector<SpooledCommit>& commits = *read;
  for (size_t i = 0; i < commits.size() && i < entries.size(); ++i) {
    if (commits[i].lsn != entries[i].lsn) {
      commits.resize(i);  // the spool and the memory disagree: let SendFront say so
      break;
    }
    commits[i].request.set_sequence(entries[i].sequence);
    commits[i].request.set_client_id(client_id_);
  }
  if (commits.empty()) return size_t{0};

  std::optional<size_t> address;
  for (size_t i : conns_->Order()) {
    if (stop_.load()) break;
    if (conns_->Connect(i)) {
      address = i;
      break;
    }
  }
  if (!address) {
    std::lock_guard lk(st->mu);
    st->last_error = "no address of the service answered";
    return Status::Unavailable("no address of the service answered");
  }
  Endpoint& e = conns_->endpoint(*address);
  // A generous deadline for the whole call: each entry has its own commit_timeout's worth,
  // bounded so that a stuck call is noticed.
  auto ctx = conns_->NewContext(options_.commit_timeout * 4);
  {
    std::lock_guard lk(resubmit_ctx_mu_);
    resubmit_ctx_ = ctx.get();
  }
  if (stop_.load()) ctx->TryCancel();
  auto call = e.ingest->CommitStream(ctx.get());
  size_t sent = 0;
  size_t answered = 0;
  bool writing = true;
  v1::CommitResponse resp;
  while (answered < commits.size()) {
    while (writing && sent < commits.size() && sent - answered < kStreamWindow) {
      if (!call->Write(commits[sent].request)) {
        writing = false;
        break;
      }
      ++sent;
    }
    if (writing && sent == commits.size()) {
      call->WritesDone();
      writing = false;
    }
    if (!call->Read(&resp)) break;
    if (resp.sequence() != commits[answered].request.sequence()) {
      SLUICE_LOG_WARN("client {}: stream '{}': answer for sequence {} where {} was expected",
                      client_id_, st->name, resp.sequence(), commits[answered].request.sequence());
      ctx->TryCancel();  // Finish() must not wait for answers nobody reads
      break;
    }
    conns_->MarkGood(*address);
    std::lock_guard lk(st->mu);
    if (st->pending.empty() || st->pending.front().lsn != commits[answered].lsn) {
      ctx->TryCancel();
      break;
    }
    FinishFrontLocked(st, /*delivered=*/true);
    ++answered;
  }
  if (writing) call->WritesDone();
  // The final status matters little: an unsettled entry is settled by SendFront, which
  // gets the service's precise answer for it alone.
  grpc::Status gs = call->Finish();
  {
    std::lock_guard lk(resubmit_ctx_mu_);
    resubmit_ctx_ = nullptr;
  }
  if (!gs.ok() && answered < commits.size()) {
    SLUICE_LOG_DEBUG("client {}: stream '{}': CommitStream on {} ended after {} of {}: {}",
                     client_id_, st->name, e.address, answered, commits.size(), gs.error_message());
  }
  return answered;
}

ClientImpl::Drain ClientImpl::SendFront(StreamState* st) {
  PendingEntry front;
  {
    std::lock_guard lk(st->mu);
    if (st->pending.empty()) return Drain::kProgress;
    front = st->pending.front();
  }
  Status durable = spool_->WaitDurable(st->name, front.lsn);
  auto read = durable.ok() ? spool_->Read(st->name, front.lsn, 1)
                           : Result<std::vector<SpooledCommit>>(durable);
  if (!read.ok() || read->empty() || read->front().lsn != front.lsn) {
    std::lock_guard lk(st->mu);
    SetErrorLocked(st, fmt::format("reading spooled commit at LSN {}: {}", front.lsn,
                                   read.ok() ? "not found" : read.status().ToString()));
    return Drain::kStuck;
  }
  SpooledCommit& c = read->front();
  v1::CommitRequest& req = c.request;
  req.set_sequence(front.sequence);
  req.set_client_id(client_id_);

  std::string why;
  for (size_t i : conns_->Order()) {
    if (stop_.load()) return Drain::kUnreachable;
    Endpoint& e = conns_->endpoint(i);
    if (!conns_->Connect(i)) {
      why += fmt::format("{}{}: cannot connect", why.empty() ? "" : "; ", e.address);
      continue;
    }
    auto ctx = conns_->NewContext(options_.commit_timeout);
    {
      std::lock_guard lk(resubmit_ctx_mu_);
      resubmit_ctx_ = ctx.get();
    }
    if (stop_.load()) ctx->TryCancel();
    v1::CommitResponse resp;
    grpc::Status gs = e.ingest->Commit(ctx.get(), req, &resp);
    {
      std::lock_guard lk(resubmit_ctx_mu_);
      resubmit_ctx_ = nullptr;
    }
    if (Connections::Classify(gs) != Reach::kAnswered) {
      why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", e.address, gs.error_message());
      continue;
    }
    conns_->MarkGood(i);
    const uint64_t expected = ExpectedSequence(gs);
    std::lock_guard lk(st->mu);
    if (st->pending.empty() || st->pending.front().lsn != front.lsn) return Drain::kProgress;
    if (gs.ok() || expected > front.sequence) {
      if (!gs.ok()) {
        SLUICE_LOG_INFO("client {}: stream '{}' sequence {}: admitted earlier (answer lost)",
                        client_id_, st->name, front.sequence);
      }
      FinishFrontLocked(st, /*delivered=*/true);
      return Drain::kProgress;
    }
    if (expected != 0) {
      SetErrorLocked(
          st,
          fmt::format(
              "sequence gap: the service expects sequence {} but the next spooled commit has {} "
              "(sequences in between never reached it; was its data directory replaced?)",
              expected, front.sequence));
      return Drain::kStuck;
    }
    if (RefusedForGood(gs.error_code())) {
      const std::string message = rpc::FromGrpcStatus(gs, e.address).ToString();
      Status s = spool_->AppendReject(st->name, c, front.sequence, message);
      if (!s.ok()) {
        SetErrorLocked(st, "recording a refused commit: " + s.ToString());
        return Drain::kStuck;
      }
      SLUICE_LOG_ERROR(
          "client {}: stream '{}' sequence {}: refused by the service, kept in {}/rejected: {}",
          client_id_, st->name, front.sequence, spool_->dir(), message);
      FinishFrontLocked(st, /*delivered=*/false);
      // Its sequence was not consumed: the commits behind it move down by one.
      for (auto& p : st->pending) --p.sequence;
      --st->next_sequence;
      return Drain::kProgress;
    }
    SetErrorLocked(st, rpc::FromGrpcStatus(gs, e.address).ToString());
    return Drain::kStuck;
  }
  std::lock_guard lk(st->mu);
  st->last_error = "no address of the service answered: " + why;
  return Drain::kUnreachable;
}

void ClientImpl::FinishFrontLocked(StreamState* st, bool delivered) {
  st->pending.pop_front();
  if (delivered) {
    ++st->delivered;
    st->last_error.clear();
  } else {
    ++st->rejected;
  }
  if (st->pending.empty()) {
    // Everything up to the last record (anchors and rejects included) is done.
    Status s = spool_->MarkDelivered(st->name, spool_->last_lsn(st->name));
    if (!s.ok())
      SLUICE_LOG_WARN("client {}: spool stream '{}': {}", client_id_, st->name, s.ToString());
    FlushDrainedLocked(st);
    return;
  }
  Status s = spool_->MarkDelivered(st->name, st->pending.front().lsn - 1);
  if (!s.ok())
    SLUICE_LOG_WARN("client {}: spool stream '{}': {}", client_id_, st->name, s.ToString());
  if ((st->delivered + st->rejected) % kFlushEvery == 0) {
    // Not needed for correctness (a stale cursor only resends what the service
    // de-duplicates), but it lets retention free the spool during a long drain.
    Status f = spool_->Flush();
    if (!f.ok()) SLUICE_LOG_WARN("client {}: spool: {}", client_id_, f.ToString());
  }
}

void ClientImpl::FlushDrainedLocked(StreamState* st) {
  // The stream goes back to sending directly only once its cursor is durable: otherwise a
  // restart would find delivered entries "pending", newer than what was sent directly.
  Status s = spool_->Flush();
  st->flush_needed = !s.ok();
  if (!s.ok()) {
    st->last_error = "saving the spool's cursor: " + s.ToString();
    SLUICE_LOG_WARN("client {}: stream '{}': {}", client_id_, st->name, st->last_error);
  }
}

}  // namespace sluice::client
