#pragma once
// Samples that a history query sees although the active target does not hold them yet
// (issue #12, item 5: `include_pending`): read from the journal past the active target's
// applied position by the service (service/pending_samples.h), handed to the query, which
// merges them into the rows it reads.
//
// Per point, the samples are in time order, one per timestamp, every one with `pending`
// set (and `manual` when a manual SampleCorrection wrote it). Among the journaled rows of
// one point and time the one the target will keep wins: the target's converging rule,
// the greater (manual, Record.version), and among equals the first journaled (a row of a
// later record replaces an earlier one, a manual correction replaces any sample, a plain
// sample never replaces a manual correction). `value` is absent where the target will
// hold NULL (a NaN value).
//
// Bounds travel in the same vector, marked by their time: for a query of [start, end),
//  - a first sample with ts < start is the point's newest pending sample before start;
//  - a last sample with ts >= end is the point's first pending sample at or after end;
//  - every other sample has start <= ts < end.
// A query that wants bounds takes, per side, the nearer of the stored bound and the
// pending one; a query that does not drops the samples outside [start, end).
//
// Merging with the stored rows: a pending sample replaces the stored one of the same
// point and time, except a stored manual correction, which a plain pending sample (not
// manual) never replaces in the target either. (A stored non-manual correction journaled
// after a pending sample, on another stream, also stays in the target; the stored rows'
// versions would be needed to see that case, which no query reads today.)
//
// Plain data; not synchronised.

#include <cstdint>
#include <map>
#include <vector>

#include "sluice/v1/service.pb.h"

namespace sluice::history {

// point_id -> that point's pending samples of the queried interval table (see above);
// points without any pending sample are absent.
using PendingSamples = std::map<int64_t, std::vector<v1::HistorySample>>;

}  // namespace sluice::history
