#pragma once
// The journal side of `include_pending` (issue #12 item 5): scans every stream's journal
// from just past a target's applied position up to the durable head and keeps the sample
// rows a history query asks for (history/pending.h says what they are and how they are
// merged). Records of any body are read, on every stream: a client chooses the stream of
// its samples, so no stream can be assumed to hold none. Kept are the SampleBatch rows and
// the plain SampleCorrection records (Record.correction) of the queried interval table
// and points; corrections that travel inside a synchronous write (SyncIntent) are left
// out: the active target decides and applies those in the transaction that moves its
// watermark past them, so they are never pending on it.
//
// Cost: one decode of every unapplied record (a scan of the unapplied journal), read as
// the appliers' readers read it, without any lock an applier takes. Memory: the kept
// samples of [start, end), bounded by `max_samples`, plus two bounds per point.
//
// Thread safety: a pure function; safe from any thread (the journals allow concurrent
// readers).

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "common/status.h"
#include "history/pending.h"
#include "journal/journal_set.h"

namespace sluice::service {

// stream name -> the LSN up to which a target has applied it (its watermark); a stream
// that is absent has nothing applied (0).
using AppliedPositions = std::map<std::string, journal::Lsn, std::less<>>;

struct PendingQuery {
  v1::SampleInterval interval = v1::SAMPLE_INTERVAL_UNSPECIFIED;
  std::span<const int64_t> point_ids;
  int64_t start_us = 0;
  int64_t end_us = 0;  // exclusive
  // More distinct samples in [start, end) than this: kResourceExhausted. No default: the
  // caller names its limit (0 allows none).
  size_t max_samples = 0;
  std::string target;  // the target whose positions these are, for messages only
};

// kInvalidArgument for an interval without a sample table or end <= start, the values
// named; OK otherwise. ScanPendingSamples checks it first too.
Status ValidatePendingQuery(const PendingQuery& query);

// The pending samples of `query` over every stream of `journals`, past `applied`.
// Errors: kInvalidArgument for an interval without a table or end <= start (the values
// named); kResourceExhausted for more than max_samples samples (the count of matching
// journaled rows and the limit named); kFailedPrecondition when a position is above its
// stream's head (the journal was recreated) or below its first retained record (the
// target needs a resync), since the pending data could not be complete; a journal read
// error, annotated with the stream.
Result<history::PendingSamples> ScanPendingSamples(const journal::JournalSet& journals,
                                                   const AppliedPositions& applied,
                                                   const PendingQuery& query);

}  // namespace sluice::service
