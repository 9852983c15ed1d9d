// Commits: the Hello handshake, sequence numbers, and commits sent directly or spooled.

#include <optional>

#include <fmt/format.h>

#include "client/client_impl.h"
#include "common/log.h"

namespace sluice::client {
namespace {

// How many times a fresh commit follows the service's "expected sequence N" before
// giving up: more than once means someone else is committing under this client id.
constexpr int kMaxAdoptions = 3;

// After a Hello found no address, committers spool at once for this long rather than
// each waiting for every address again (the resubmitter keeps trying meanwhile).
constexpr std::chrono::seconds kHelloRetry{3};

// An upper bound of the serialized size of `request`, cheap for sample batches: each
// value is counted at its longest encoding (a varint int64 in 10 bytes, a uint32 in 5)
// instead of being measured. ByteSizeLong() walks every value, and gRPC walks them twice
// more to send the request; in `sluice-bench ingest` the producers spent about a tenth of
// their CPU in this check alone. Other records are measured.
size_t RequestSizeBound(const v1::CommitRequest& request) {
  // A field's tag and length prefix (or a scalar field) take at most this much.
  constexpr size_t kField = 16;
  size_t bound = 4 * kField + request.stream().size() + request.client_id().size();
  for (const v1::Record& r : request.records()) {
    if (r.body_case() != v1::Record::kSamples) {
      bound += kField + r.ByteSizeLong();
      continue;
    }
    const v1::SampleBatch& s = r.samples();
    // The record in the request, version, admitted_at_us, client, samples; the batch's
    // interval and its four packed fields.
    bound += 10 * kField + (r.has_client() ? r.client().ByteSizeLong() : 0);
    const auto count = [](int n) { return static_cast<size_t>(n); };
    bound += 10 * count(s.point_id_size()) + 10 * count(s.ts_us_size()) +
             8 * count(s.value_size()) + 5 * count(s.quality_size());
  }
  return bound;
}

}  // namespace

Status ClientImpl::EnsureHello(bool background) {
  if (hello_done_.load()) return Status::OK();
  auto recent_failure = [&]() -> std::optional<Status> {
    std::lock_guard fl(hello_failure_mu_);
    if (hello_failure_.empty() ||
        std::chrono::steady_clock::now() - hello_failed_at_ >= kHelloRetry) {
      return std::nullopt;
    }
    return Status::Unavailable(hello_failure_);
  };
  if (!background) {
    if (auto s = recent_failure()) return *s;
  }
  std::lock_guard lk(hello_mu_);
  if (hello_done_.load()) return Status::OK();
  // Another thread may just have tried (while this one waited for the lock).
  if (!background) {
    if (auto s = recent_failure()) return *s;
  }
  v1::HelloRequest req;
  req.set_client_id(client_id_);
  std::string why;
  for (size_t i : conns_->Order()) {
    Endpoint& e = conns_->endpoint(i);
    if (!conns_->Connect(i)) {
      AddWhy(&why, e.address, "cannot connect");
      continue;
    }
    auto ctx = conns_->NewContext(options_.commit_timeout);
    v1::HelloResponse resp;
    grpc::Status gs = e.ingest->Hello(ctx.get(), req, &resp);
    if (Connections::Classify(gs) != Reach::kAnswered) {
      AddWhy(&why, e.address, gs.error_message());
      continue;
    }
    if (!gs.ok()) return rpc::FromGrpcStatus(gs, e.address).Annotate("hello");
    conns_->MarkGood(i);
    ApplyHello(resp);
    hello_done_.store(true);
    SLUICE_LOG_DEBUG("client {}: hello answered by {} (node '{}', {} streams known)", client_id_,
                     e.address, resp.node_id(), resp.last_sequence_size());
    return Status::OK();
  }
  std::string failure = fmt::format("no address of the service answered: {}", why);
  {
    std::lock_guard fl(hello_failure_mu_);
    hello_failed_at_ = std::chrono::steady_clock::now();
    hello_failure_ = failure;
  }
  return Status::Unavailable(std::move(failure));
}

void ClientImpl::ApplyHello(const v1::HelloResponse& response) {
  std::vector<StreamState*> streams;
  {
    std::lock_guard lk(streams_mu_);
    hello_last_.clear();
    for (const auto& [name, last] : response.last_sequence()) hello_last_[name] = last;
    hello_known_ = true;
    for (const auto& [name, st] : streams_) streams.push_back(st.get());
  }
  max_records_per_request_.store(response.max_records_per_request());
  service_max_message_bytes_.store(response.max_message_bytes());
  if (response.max_message_bytes() > 0 &&
      response.max_message_bytes() < options_.max_message_bytes) {
    SLUICE_LOG_WARN(
        "client {}: the service takes messages up to {} bytes, less than this client's "
        "max_message_bytes {}; commits are limited to the smaller",
        client_id_, response.max_message_bytes(), options_.max_message_bytes);
  }
  for (StreamState* st : streams) {
    uint64_t last = 0;
    {
      std::lock_guard lk(streams_mu_);
      auto it = hello_last_.find(st->name);
      if (it != hello_last_.end()) last = it->second;
    }
    std::lock_guard lk(st->mu);
    if (!st->known) NumberLocked(st, last);
  }
}

void ClientImpl::NumberLocked(StreamState* st, uint64_t last) {
  if (st->pending.empty()) {
    st->known = true;
    st->next_sequence = last + 1;
    return;
  }
  if (st->pending.front().sequence != 0) {
    st->known = true;
    st->next_sequence = std::max(last, st->pending.back().sequence) + 1;
    return;
  }
  // Unnumbered entries: number them durably before any is sent, so that a crash can never
  // renumber an entry that the service may already have admitted.
  const uint64_t base = last + 1;
  const journal::Lsn first = st->pending.front().lsn;
  Status s = spool_->AppendAnchor(st->name, first, base);
  if (!s.ok()) {
    st->last_error = "numbering spooled commits: " + s.ToString();
    SLUICE_LOG_ERROR("client {}: stream '{}': {}", client_id_, st->name, st->last_error);
    return;
  }
  for (auto& e : st->pending) e.sequence = base + (e.lsn - first);
  st->known = true;
  st->next_sequence = st->pending.back().sequence + 1;
  SLUICE_LOG_INFO("client {}: stream '{}': spooled commits numbered {}..{}", client_id_, st->name,
                  base, st->pending.back().sequence);
}

Status ClientImpl::CheckRecords(const std::string& stream,
                                const std::vector<v1::Record>& records) const {
  if (stream.empty()) return Status::InvalidArgument("commit: the stream name is empty");
  if (records.empty()) {
    return Status::InvalidArgument(fmt::format("commit to stream '{}' has no record", stream));
  }
  const uint32_t max = max_records_per_request_.load();
  if (max > 0 && records.size() > max) {
    return Status::InvalidArgument(fmt::format(
        "commit to stream '{}' has {} records; the service takes at most {} per request "
        "(limits.max_records_per_request)",
        stream, records.size(), max));
  }
  return Status::OK();
}

Result<CommitResult> ClientImpl::CommitSamples(const std::string& stream, v1::SampleBatch batch) {
  std::vector<v1::Record> records(1);
  *records[0].mutable_samples() = std::move(batch);
  return Commit(stream, std::move(records));
}

Result<CommitResult> ClientImpl::Commit(const std::string& stream,
                                        std::vector<v1::Record> records) {
  SLUICE_RETURN_IF_ERROR(CheckRecords(stream, records));
  v1::CommitRequest req;
  req.set_stream(stream);
  req.set_client_id(client_id_);
  req.mutable_records()->Reserve(static_cast<int>(records.size()));
  for (auto& r : records) *req.add_records() = std::move(r);
  // A commit too large for one message would be refused by gRPC on every attempt (and,
  // spooled, block its stream): refuse it now.
  uint64_t max_bytes = options_.max_message_bytes;
  if (const uint64_t service_max = service_max_message_bytes_.load(); service_max > 0) {
    max_bytes = std::min(max_bytes, service_max);
  }
  // Measured exactly only when the cheap bound says it may be too large.
  if (RequestSizeBound(req) > max_bytes) {
    if (const size_t bytes = req.ByteSizeLong(); bytes > max_bytes) {
      return Status::InvalidArgument(fmt::format(
          "commit to stream '{}' is {} bytes, above the largest message of {} bytes (the "
          "client's max_message_bytes and the service's limits.max_message_size): split it",
          stream, bytes, max_bytes));
    }
  }

  StreamState* st = GetStream(stream);
  std::unique_lock lk(st->mu);
  // Behind spooled commits: to the spool too, so the service sees the stream in order.
  if (st->spool_mode()) return SpoolLocked(st, lk, std::move(req));
  if (!st->known) {
    lk.unlock();
    Status s = EnsureHello(/*background=*/false);
    lk.lock();
    if (!s.ok() && s.code() != Code::kUnavailable) return s;
    if (!s.ok() && spool_ == nullptr) return s;
    if (st->spool_mode() || !st->known) return SpoolLocked(st, lk, std::move(req));
  }
  return SendLocked(st, lk, std::move(req));
}

Result<CommitResult> ClientImpl::SpoolLocked(StreamState* st, std::unique_lock<std::mutex>& lk,
                                             v1::CommitRequest request) {
  if (spool_ == nullptr) {
    return Status::Unavailable(fmt::format(
        "commit to stream '{}': no address of the service answered and the client has no spool",
        st->name));
  }
  const uint64_t seq = st->known ? st->next_sequence : 0;
  request.set_sequence(seq);
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, spool_->Queue(request));
  st->pending.push_back({lsn, seq});
  if (st->known) ++st->next_sequence;
  // Not under the stream's lock: other committers queue behind this one meanwhile (one
  // fdatasync for all of them), and the resubmitter is not starved of the lock. It waits
  // for durability itself before it reads an entry.
  lk.unlock();
  SLUICE_RETURN_IF_ERROR(spool_->WaitDurable(st->name, lsn));
  WakeResubmitter();
  CommitResult r;
  r.state = CommitState::kSpooled;
  r.sequence = seq;
  return r;
}

Result<CommitResult> ClientImpl::SendLocked(StreamState* st, std::unique_lock<std::mutex>& lk,
                                            v1::CommitRequest request) {
  uint64_t seq = st->next_sequence;
  request.set_sequence(seq);
  // Fresh: no attempt of this commit may have been admitted. Only a fresh commit may take
  // the number the service expects instead of its own (ours was stale); a commit sent
  // before may have been admitted under its number and must keep it.
  bool fresh = true;
  std::string why;
  for (int adoption = 0; adoption <= kMaxAdoptions; ++adoption) {
    bool adopted = false;
    for (size_t i : conns_->Order()) {
      Endpoint& e = conns_->endpoint(i);
      if (!conns_->Connect(i)) {
        AddWhy(&why, e.address, "cannot connect");
        continue;
      }
      auto ctx = conns_->NewContext(options_.commit_timeout);
      v1::CommitResponse resp;
      grpc::Status gs = e.ingest->Commit(ctx.get(), request, &resp);
      const Reach reach = Connections::Classify(gs);
      if (reach != Reach::kAnswered) {
        // Its answer may be lost after it was admitted: the next address gets the same
        // sequence, and the service de-duplicates.
        if (reach == Reach::kMaybeSent) fresh = false;
        AddWhy(&why, e.address, gs.error_message());
        continue;
      }
      conns_->MarkGood(i);
      if (gs.ok()) {
        st->next_sequence = seq + 1;
        CommitResult r;
        r.state = CommitState::kAcknowledged;
        r.sequence = seq;
        r.lsns.assign(resp.lsns().begin(), resp.lsns().end());
        r.address = e.address;
        return r;
      }
      const uint64_t expected = ExpectedSequence(gs);
      if (expected != 0 && !fresh && expected > seq) {
        st->next_sequence = expected;
        SLUICE_LOG_INFO(
            "client {}: stream '{}' sequence {}: admitted by an earlier attempt (answer lost)",
            client_id_, st->name, seq);
        CommitResult r;
        r.state = CommitState::kAlreadyAdmitted;
        r.sequence = seq;
        r.address = e.address;
        return r;
      }
      if (expected != 0 && fresh) {
        SLUICE_LOG_WARN(
            "client {}: stream '{}': the service expects sequence {}, not {}; following it",
            client_id_, st->name, expected, seq);
        seq = expected;
        st->next_sequence = seq;
        request.set_sequence(seq);
        adopted = true;
        break;
      }
      Status s = rpc::FromGrpcStatus(gs, e.address);
      if (expected != 0) {
        return Status::FailedPrecondition(fmt::format(
            "commit to stream '{}' sequence {}: {}; the service has lost sequences this client "
            "sent (was its data directory replaced?)",
            st->name, seq, s.message()));
      }
      if (!fresh) {
        return Status(s.code(),
                      s.message() +
                          " (an earlier attempt of this commit, whose answer was lost, "
                          "may have been admitted)",
                      s.retryable());
      }
      return s;
    }
    if (!adopted) break;
    if (adoption == kMaxAdoptions) {
      return Status::FailedPrecondition(fmt::format(
          "commit to stream '{}': the service's expected sequence keeps changing (is another "
          "process using client id '{}'?)",
          st->name, client_id_));
    }
  }
  // No address answered.
  if (spool_ == nullptr) {
    return Status::Unavailable(
        fmt::format("commit to stream '{}' sequence {}: no address of the service answered ({}){}",
                    st->name, seq, why, fresh ? "" : "; it may have been admitted"));
  }
  SLUICE_LOG_INFO("client {}: stream '{}': no address answered ({}); spooling", client_id_,
                  st->name, why);
  return SpoolLocked(st, lk, std::move(request));
}

}  // namespace sluice::client
