#pragma once
// What the Sampling service needs of the node's recall windows (sampling/recall.h): the
// node implements it (daemon/node_sampling.h), so the service stays an adapter that does
// not own or start them.
//
// Thread safety: every method may be called from any thread.

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace sluice::service {

class RecallControl {
 public:
  virtual ~RecallControl() = default;

  // Starts an event of recall definition `recall_id` at `event_ts_us` and returns once
  // the rows it emitted at once (its window's ticks already taken) are durable in the
  // journal: their count (0 for a repeat of an open or recent event). Errors as
  // RecallWindows::Trigger: FailedPrecondition when the windows do not run, NotFound,
  // InvalidArgument (event_ts too far ahead), ResourceExhausted, or the journal's error.
  virtual Result<uint64_t> TriggerRecall(int64_t recall_id, int64_t event_ts_us) = 0;
  // Events of definition `recall_id` whose post-window is still being sampled.
  virtual size_t OpenRecallEvents(int64_t recall_id) const = 0;
  // The bound of the recall rings' values (points x ring ticks, summed over definitions):
  // a set of definitions above it would be refused by the windows.
  virtual size_t MaxRecallRingValues() const = 0;
};

}  // namespace sluice::service
