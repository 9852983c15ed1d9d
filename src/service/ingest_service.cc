#include "service/ingest_service.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "record/record_codec.h"
#include "rpc/status_mapping.h"

namespace sluice::service {
namespace {

using config::TokenRole;

// Room for what the admitter stamps (version, admission time, client tag) beyond the
// record as the client sent it, when checking it against journal.max_record_size.
constexpr size_t kStampBytes = 64;

// Requests of one CommitStream journaled but not yet acknowledged. Bounds the memory a
// fast producer can hold in the service while durability catches up.
constexpr size_t kMaxStreamInFlight = 64;

// A journal failure after a request's records were queued: they may be on disk (and be
// applied after a restart) or not. Retryable, so the client keeps the sequence and
// resubmits it; the de-duplication then tells it which one happened.
Status AmbiguousJournalFailure(const Status& s, const std::string& stream, uint64_t sequence) {
  return Status::Unavailable(fmt::format(
      "the journal of stream '{}' failed after the request was queued ({}): it may or may not "
      "be on disk; resubmit it{}, on another address or once sluiced restarts",
      stream, s.ToString(),
      sequence == 0 ? "" : fmt::format(" with the same sequence ({})", sequence)));
}

}  // namespace

Status IngestService::CheckLimits(const v1::CommitRequest& request) const {
  const auto& limits = ctx_.config->limits;
  if (request.records_size() == 0) {
    return Status::InvalidArgument(
        fmt::format("commit to stream '{}' carries no records", request.stream()));
  }
  if (static_cast<uint64_t>(request.records_size()) > limits.max_records_per_request) {
    return Status::InvalidArgument(fmt::format(
        "commit to stream '{}' carries {} records, above limits.max_records_per_request = {}",
        request.stream(), request.records_size(), limits.max_records_per_request));
  }
  for (int i = 0; i < request.records_size(); ++i) {
    SLUICE_RETURN_IF_ERROR(CheckRecord(request.records(i), static_cast<size_t>(i)));
  }
  return Status::OK();
}

Status IngestService::CheckRecord(const v1::Record& r, size_t index) const {
  // What a record must satisfy to be admitted is record::Validate's, run by the admitter
  // in AdmitBatch (which names the record as "record I"); here only what the RPC allows.
  switch (r.body_case()) {
    case v1::Record::kIntent:
    case v1::Record::kOutcome:
    case v1::Record::kSwitchMarker:
      return Status::InvalidArgument(fmt::format(
          "record {}: a '{}' record cannot be committed; the service writes those itself (a "
          "synchronous write goes through Sql.Execute or Model.Update)",
          index, record::RecordKind(r)));
    default:
      break;
  }
  size_t bytes = r.ByteSizeLong() + kStampBytes;
  if (bytes > ctx_.config->journal.max_record_size) {
    return Status::InvalidArgument(
        fmt::format("record {}: {} bytes serialized, above journal.max_record_size = {}", index,
                    bytes, ctx_.config->journal.max_record_size));
  }
  return Status::OK();
}

Result<IngestService::Journaled> IngestService::Admit(const v1::CommitRequest& request) {
  journal::Journal* j = ctx_.journals->stream(request.stream());
  if (j == nullptr) {
    std::string names;
    for (const auto& n : ctx_.journals->stream_names()) names += (names.empty() ? "" : ", ") + n;
    return Status::NotFound(fmt::format("no stream '{}' (streams: {})", request.stream(), names));
  }
  // A journal that failed refuses everything until sluiced restarts; say so before the
  // sequence check, which could otherwise answer with a sequence that never became durable.
  SLUICE_RETURN_IF_ERROR(j->health());

  std::optional<admission::DedupTable::Ticket> ticket;
  if (!request.client_id().empty()) {
    if (request.sequence() == 0) {
      return Status::InvalidArgument(fmt::format(
          "client '{}': sequence 0 is not valid; a client's first commit on a stream carries 1",
          request.client_id()));
    }
    auto t = ctx_.dedup->Begin(request.client_id(), request.stream(), request.sequence());
    if (!t.ok()) {
      // "Expected sequence N" tells a resubmitting client that its earlier attempt was
      // admitted; that earlier attempt may still be on its way to disk. Answer only once
      // everything admitted so far is durable, or the client could drop a commit that a
      // crash then takes away.
      if (t.status().code() == Code::kFailedPrecondition) {
        journal::Lsn assigned = j->last_assigned_lsn();
        if (assigned > 0) SLUICE_RETURN_IF_ERROR(j->WaitDurable(assigned));
      }
      return t.status();
    }
    ticket.emplace(std::move(t).value());
  }
  SLUICE_RETURN_IF_ERROR(CheckLimits(request));

  // The admitter validates every record and checks the journal's budget for the whole
  // request before anything is queued: a request is journaled whole or not at all, and
  // a refused one leaves the client's sequence where it was.
  std::vector<v1::Record> records(request.records().begin(), request.records().end());
  std::optional<v1::ClientTag> tag;
  if (ticket) {
    tag.emplace();
    tag->set_client_id(request.client_id());
    tag->set_sequence(request.sequence());
  }
  SLUICE_ASSIGN_OR_RETURN(admission::AdmittedBatch admitted,
                          ctx_.admitter->AdmitBatch(request.stream(), std::move(records), tag,
                                                    /*wait=*/false));
  Journaled out;
  out.journal = j;
  out.stream = request.stream();
  for (journal::Lsn lsn = admitted.first; lsn <= admitted.last; ++lsn) out.response.add_lsns(lsn);
  out.last = admitted.last;
  if (ticket) {
    ticket->Admitted();
    out.response.set_sequence(request.sequence());
    out.sequence = request.sequence();
  }
  SLUICE_FAILPOINT("ingest.after_journal");
  return out;
}

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
  auto journaled = Admit(*request);
  if (!journaled.ok()) return rpc::ToGrpcStatus(journaled.status());
  Status s = journaled->journal->WaitDurable(journaled->last);
  if (!s.ok()) return rpc::ToGrpcStatus(AmbiguousJournalFailure(s, journaled->stream, journaled->sequence));
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
  }

  struct Item {
    Result<Journaled> journaled;
    CallGate::Pass pass;
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
      const Result<Journaled>& j = item.journaled;
      Status s = j.ok() ? j->journal->WaitDurable(j->last) : j.status();
      if (j.ok() && !s.ok()) s = AmbiguousJournalFailure(s, j->stream, j->sequence);
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
              ctx_.gate->Enter()};
    if (item.pass) item.journaled = Admit(request);
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
