#include "service/ingest_service.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "rpc/status_mapping.h"

namespace sluice::service {
namespace {

using config::TokenRole;

// Requests of one CommitStream journaled but not yet acknowledged. Bounds the memory a
// fast producer can hold in the service while durability catches up.
constexpr size_t kMaxStreamInFlight = 64;

}  // namespace

grpc::Status IngestService::Hello(grpc::ServerContext* context, const v1::HelloRequest* request,
                                  v1::HelloResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kIngest, "Ingest.Hello");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  if (request->client_id().empty()) {
    return rpc::ToGrpcStatus(Status::InvalidArgument("Ingest.Hello: client_id is empty"));
  }
  // A journal that failed cannot say which of the queued sequences reached the disk.
  for (const auto& s : ctx_.config->streams) {
    journal::Journal* j = ctx_.journals->stream(s.name);
    if (j == nullptr) continue;
    if (Status h = j->health(); !h.ok()) {
      return rpc::ToGrpcStatus(Status::Unavailable(fmt::format(
          "Ingest.Hello: the journal of stream '{}' failed, so the sequences it holds are not "
          "known until sluiced restarts ({}); keep the spool and ask again",
          s.name, h.ToString())));
    }
  }
  auto last = ctx_.dedup->Hello(request->client_id());
  for (const auto& s : ctx_.config->streams) {
    auto it = last.find(s.name);
    uint64_t seq = it == last.end() ? 0 : it->second;
    // The table counts a sequence as soon as its records are queued. A client told N
    // drops N from its spool, so answer only once N is durable (as the resubmission
    // refusal does): everything assigned now includes N's records.
    if (seq > 0) {
      journal::Journal* j = ctx_.journals->stream(s.name);
      journal::Lsn assigned = j == nullptr ? 0 : j->last_assigned_lsn();
      if (assigned > 0) {
        if (Status d = j->WaitDurable(assigned); !d.ok()) {
          return rpc::ToGrpcStatus(Status::Unavailable(fmt::format(
              "Ingest.Hello: the journal of stream '{}' failed before sequence {} was on disk "
              "({}); keep the spool and ask again once sluiced restarts",
              s.name, seq, d.ToString())));
        }
      }
    }
    (*response->mutable_last_sequence())[s.name] = seq;
  }
  response->set_node_id(ctx_.config->node.id);
  response->set_max_message_bytes(ctx_.config->limits.max_message_size);
  response->set_max_records_per_request(static_cast<uint32_t>(
      std::min<uint64_t>(ctx_.config->limits.max_records_per_request, UINT32_MAX)));
  return grpc::Status::OK;
}

grpc::Status IngestService::Commit(grpc::ServerContext* context, const v1::CommitRequest* request,
                                   v1::CommitResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kIngest, "Ingest.Commit");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  auto journaled = JournalCommit(ctx_, *request);
  if (!journaled.ok()) return rpc::ToGrpcStatus(journaled.status());
  Status s = WaitCommitDurable(*journaled);
  if (!s.ok()) return rpc::ToGrpcStatus(s);
  SLUICE_FAILPOINT("ingest.before_ack");
  *response = std::move(journaled->response);
  return grpc::Status::OK;
}

// Requests are journaled as they arrive and acknowledged in order by a second thread as
// they become durable, so a producer that keeps requests in flight gets group commit.
grpc::Status IngestService::CommitStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::CommitResponse, v1::CommitRequest>* stream) {
  {
    // An open stream is not a call in progress (it may idle for hours); each request on
    // it is, from its arrival until its answer is written.
    auto caller = AdmitCall(ctx_, *context, TokenRole::kIngest, "Ingest.CommitStream");
    if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
    caller->timer.Cancel();  // the opening is no request; each request is timed below
  }

  struct Item {
    Result<JournaledCommit> journaled;
    CallGate::Pass pass;
    CallLatency::Timer timer;  // from the request's arrival until its answer is written
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;      // guarded by mu
  bool reading_done = false;   // guarded by mu
  bool writer_failed = false;  // guarded by mu
  grpc::Status final_status;   // written by the writer, read after join

  std::thread writer([&] {
    while (true) {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return !queue.empty() || reading_done; });
      if (queue.empty()) return;
      Item item = std::move(queue.front());
      queue.pop_front();
      lk.unlock();
      cv.notify_all();
      const Result<JournaledCommit>& j = item.journaled;
      Status s = j.ok() ? WaitCommitDurable(*j) : j.status();
      if (s.ok()) SLUICE_FAILPOINT("ingest.before_ack");
      if (s.ok() && !stream->Write(j->response)) s = Status::Unavailable("the client went away");
      if (!s.ok()) {
        final_status = rpc::ToGrpcStatus(s);
        lk.lock();
        writer_failed = true;
        lk.unlock();
        cv.notify_all();
        // A refused request ended the reading already. Otherwise (the journal failed, the
        // client went away) the reader may be blocked in Read() waiting for a client that
        // will get no answer: cancelling unblocks it (the client then sees CANCELLED).
        if (j.ok()) context->TryCancel();
        return;
      }
    }
  });

  v1::CommitRequest request;
  while (stream->Read(&request)) {
    Item item{Status::Unavailable(
                  "Ingest.CommitStream: sluiced is shutting down; the requests answered so far "
                  "are acknowledged, resubmit the rest on another address or once it is back"),
              ctx_.gate->Enter(), StartCallTimer(ctx_, "Ingest.CommitStream")};
    if (!item.pass) item.timer.Cancel();
    if (item.pass) item.journaled = JournalCommit(ctx_, request);
    bool failed = !item.journaled.ok();
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return queue.size() < kMaxStreamInFlight || writer_failed; });
    if (writer_failed) break;
    queue.push_back(std::move(item));
    lk.unlock();
    cv.notify_all();
    if (failed) break;  // the answers so far go out in order, then this error ends the call
  }
  {
    std::lock_guard lk(mu);
    reading_done = true;
  }
  cv.notify_all();
  writer.join();
  return final_status;
}

}  // namespace sluice::service
