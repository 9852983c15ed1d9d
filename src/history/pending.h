#pragma once
// Samples that a history query sees although the active target does not hold them yet
// (issue #12, item 5: `include_pending`): read from the journal past the active target's
// applied position by the service, handed to the query, which merges them into the rows
// it reads (a pending sample replaces a stored one of the same point and time).
//
// Plain data; not synchronised.

#include <cstdint>
#include <map>
#include <vector>

#include "sluice/v1/service.pb.h"

namespace sluice::history {

// point_id -> that point's pending samples of the queried interval table, in time order,
// one per timestamp (the newest journaled one wins); every one has `pending` set.
using PendingSamples = std::map<int64_t, std::vector<v1::HistorySample>>;

}  // namespace sluice::history
