#pragma once
// A commit request checked whole and journaled, as Ingest.Commit and Ingest.CommitStream
// take it, and as Sampling.Trigger admits the record it builds (so a trigger's client tag
// is de-duplicated exactly like a commit's on the same stream).
//
// Before anything is journaled the request is checked whole (the stream, the client's
// sequence, the limits, every record through the Admitter), so a refusal journaled
// nothing and leaves the client's sequence where it was:
//   NOT_FOUND            the stream does not exist
//   FAILED_PRECONDITION  the client's sequence is not the next one ("expected sequence N")
//   INVALID_ARGUMENT     a limit or a record ("record I: ..."), naming the limit and value
//   RESOURCE_EXHAUSTED   the journal's budget or free-space floor
// Authentication is the caller's (AdmitCall), before this.
//
// Thread safety: safe from any thread (the context's parts are).

#include <cstdint>
#include <string>

#include "service/service_context.h"
#include "sluice/v1/service.pb.h"

namespace sluice::service {

// A request that is journaled: its LSNs, to be acknowledged once `last` is durable.
struct JournaledCommit {
  journal::Journal* journal = nullptr;
  journal::Lsn last = 0;
  v1::CommitResponse response;
  std::string stream;
  uint64_t sequence = 0;  // the client's sequence; 0 without a client id
};

// Checks and journals `request` without waiting for durability.
Result<JournaledCommit> JournalCommit(const ServiceContext& ctx, const v1::CommitRequest& request);

// Waits until the commit is durable. A journal failure after the records were queued is
// UNAVAILABLE ("resubmit it with the same sequence"), never a definite failure: recovery
// keeps what reached the disk, and de-duplication tells the resubmitting client which
// happened.
Status WaitCommitDurable(const JournaledCommit& commit);

}  // namespace sluice::service
