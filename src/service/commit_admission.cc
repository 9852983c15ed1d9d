#include "service/commit_admission.h"

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "record/record_codec.h"

namespace sluice::service {
namespace {

// Room for what the admitter stamps (version, admission time, client tag) beyond the
// record as the client sent it, when checking it against journal.max_record_size.
constexpr size_t kStampBytes = 64;

Status CheckRecord(const ServiceContext& ctx, const v1::Record& r, size_t index) {
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
  if (bytes > ctx.config->journal.max_record_size) {
    return Status::InvalidArgument(
        fmt::format("record {}: {} bytes serialized, above journal.max_record_size = {}", index,
                    bytes, ctx.config->journal.max_record_size));
  }
  return Status::OK();
}

// What the RPC allows: records per request, the kinds a client may commit, the size with
// the stamps. The record itself is validated by the admitter (record::Validate).
Status CheckLimits(const ServiceContext& ctx, const v1::CommitRequest& request) {
  const auto& limits = ctx.config->limits;
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
    SLUICE_RETURN_IF_ERROR(CheckRecord(ctx, request.records(i), static_cast<size_t>(i)));
  }
  return Status::OK();
}

}  // namespace

Result<JournaledCommit> JournalCommit(const ServiceContext& ctx, const v1::CommitRequest& request) {
  journal::Journal* j = ctx.journals->stream(request.stream());
  if (j == nullptr) {
    std::string names;
    for (const auto& n : ctx.journals->stream_names()) names += (names.empty() ? "" : ", ") + n;
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
    auto t = ctx.dedup->Begin(request.client_id(), request.stream(), request.sequence());
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
  SLUICE_RETURN_IF_ERROR(CheckLimits(ctx, request));

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
                          ctx.admitter->AdmitBatch(request.stream(), std::move(records), tag,
                                                   /*wait=*/false));
  JournaledCommit out;
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

Status WaitCommitDurable(const JournaledCommit& commit) {
  Status s = commit.journal->WaitDurable(commit.last);
  if (s.ok()) return s;
  // The records may be on disk (and be applied after a restart) or not. Retryable, so the
  // client keeps the sequence and resubmits it; the de-duplication then tells it which
  // one happened.
  return Status::Unavailable(fmt::format(
      "the journal of stream '{}' failed after the request was queued ({}): it may or may not "
      "be on disk; resubmit it{}, on another address or once sluiced restarts",
      commit.stream, s.ToString(),
      commit.sequence == 0 ? "" : fmt::format(" with the same sequence ({})", commit.sequence)));
}

}  // namespace sluice::service
