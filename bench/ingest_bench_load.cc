#include "bench/ingest_bench_load.h"

#include <grpcpp/grpcpp.h>

#include <deque>

#include "rpc/channel.h"

namespace sluice::bench::ingest {

Status CommitLoad::Open() {
  if (o_.api != Api::kLibrary) return Status::OK();
  for (int i = 0; i < o_.clients; ++i) {
    client::ClientOptions co;
    co.addresses = {address_};
    // A loaded 2-core machine may hold a commit for seconds; a timeout would only turn
    // a slow figure into an error.
    co.commit_timeout = std::chrono::seconds(120);
    co.call_timeout = std::chrono::seconds(120);
    SLUICE_ASSIGN_OR_RETURN(auto c, client::Client::Open(co));
    clients_.push_back(std::move(c));
  }
  return Status::OK();
}

void CommitLoad::Start() {
  auto ready = std::make_shared<std::barrier<>>(o_.clients + 1);
  for (int i = 0; i < o_.clients; ++i) {
    threads_.emplace_back([this, i, ready] {
      if (o_.api == Api::kLibrary) {
        RunLibrary(i, ready.get());
      } else {
        RunStream(i, ready.get());
      }
    });
  }
  ready->arrive_and_wait();  // every warm-up done
  start_ = Clock::now();
  deadline_ = start_ + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(o_.seconds));
  ready->arrive_and_wait();  // go
}

LoadResult CommitLoad::Result() {
  LoadResult r;
  r.start = start_;
  r.end = start_;
  for (const auto& s : per_thread_) {
    r.rows += s.rows;
    r.total_rows += s.all_rows;
    r.commits += s.commits;
    r.end = std::max(r.end, s.end);
    r.last_lsn = std::max(r.last_lsn, s.last_lsn);
    r.latencies_ms.insert(r.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    if (r.error.empty()) r.error = s.error;
  }
  std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
  return r;
}

std::optional<v1::SampleBatch> CommitLoad::NextBatch(PerThread* s) {
  const int64_t first = next_batch_.fetch_add(1) * o_.batch_rows;
  int64_t n = o_.batch_rows;
  if (o_.max_rows > 0) {
    if (first >= o_.max_rows) return std::nullopt;
    n = std::min(n, o_.max_rows - first);
  }
  if (first + n > w_->max_rows()) {
    s->error = fmt::format("the workload ran out of timestamps at row {}: raise --points", first);
    return std::nullopt;
  }
  return w_->Batch(first, n);
}

bool CommitLoad::CommitOne(client::Client* c, PerThread* s, bool timed) {
  auto batch = NextBatch(s);
  if (!batch) return false;
  const int64_t n = batch->point_id_size();
  const auto t0 = Clock::now();
  auto r = c->CommitSamples(kStream, std::move(*batch));
  const auto t1 = Clock::now();
  if (!r.ok()) {
    s->error = r.status().ToString();
    return false;
  }
  if (r->state != client::CommitState::kAcknowledged || r->lsns.empty()) {
    s->error = fmt::format("a commit was answered with state {} instead of acknowledged",
                           static_cast<int>(r->state));
    return false;
  }
  s->last_lsn = std::max(s->last_lsn, r->lsns.back());
  if (timed) {
    s->Acknowledged(n, t0, t1);
  } else {
    s->all_rows += n;
  }
  return true;
}

void CommitLoad::RunLibrary(int i, std::barrier<>* ready) {
  PerThread& s = per_thread_[static_cast<size_t>(i)];
  client::Client* c = clients_[static_cast<size_t>(i)].get();
  bool ok = !o_.warm_up || CommitOne(c, &s, /*timed=*/false);
  ready->arrive_and_wait();
  ready->arrive_and_wait();
  while (ok && !stop_.load() && Clock::now() < deadline_) ok = CommitOne(c, &s, /*timed=*/true);
  // One failure ends the case: its figure would be wrong.
  if (!s.error.empty()) stop_.store(true);
}

void CommitLoad::RunStream(int i, std::barrier<>* ready) {
  PerThread& s = per_thread_[static_cast<size_t>(i)];
  // Plain, 64 MiB messages, its own connection (as a separate producer process has).
  // Without a CA file to read, opening a channel cannot fail.
  auto stub = v1::Ingest::NewStub(rpc::NewChannel(address_, rpc::ChannelOptions{}).value());
  grpc::ClientContext ctx;
  auto stream = stub->CommitStream(&ctx);
  const std::string client_id = fmt::format("bench-stream-{}-{}", getpid(), i);
  uint64_t sequence = 0;
  struct Sent {
    Clock::time_point at;
    int64_t rows;
    bool timed;
  };
  std::deque<Sent> in_flight;
  auto send = [&](bool timed) {
    auto batch = NextBatch(&s);
    if (!batch) return false;
    const int64_t n = batch->point_id_size();
    v1::CommitRequest req;
    req.set_stream(kStream);
    req.set_client_id(client_id);
    req.set_sequence(++sequence);
    *req.add_records()->mutable_samples() = std::move(*batch);
    in_flight.push_back({Clock::now(), n, timed});
    if (!stream->Write(req)) {
      s.error = "Ingest.CommitStream: the call ended while sending";
      return false;
    }
    return true;
  };
  auto receive = [&] {
    v1::CommitResponse resp;
    if (!stream->Read(&resp)) {
      s.error = "Ingest.CommitStream: the call ended before every request was answered";
      return false;
    }
    const auto now = Clock::now();
    const Sent sent = in_flight.front();
    in_flight.pop_front();
    if (resp.lsns_size() == 0) {
      s.error = "Ingest.CommitStream: an answer without LSNs";
      return false;
    }
    s.last_lsn = std::max(s.last_lsn, resp.lsns(resp.lsns_size() - 1));
    if (sent.timed) {
      s.Acknowledged(sent.rows, sent.at, now);
    } else {
      s.all_rows += sent.rows;
    }
    return true;
  };

  bool ok = !o_.warm_up || (send(false) && receive());
  ready->arrive_and_wait();
  ready->arrive_and_wait();
  bool more = ok;  // batches left to send
  while (ok && (more || !in_flight.empty())) {
    more = more && !stop_.load() && Clock::now() < deadline_;
    while (more && in_flight.size() < static_cast<size_t>(o_.window)) more = send(true);
    ok = s.error.empty() && (in_flight.empty() || receive());
  }
  ok = ok && s.error.empty();
  if (ok) {
    stream->WritesDone();
  } else {
    stop_.store(true);
    ctx.TryCancel();
  }
  grpc::Status gs = stream->Finish();
  if (!gs.ok() && gs.error_code() != grpc::StatusCode::CANCELLED) {
    s.error +=
        fmt::format("{}Ingest.CommitStream: {}", s.error.empty() ? "" : "; ", gs.error_message());
  }
}

}  // namespace sluice::bench::ingest
