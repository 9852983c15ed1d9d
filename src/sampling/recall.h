#pragma once
// Recall windows: high-rate samples around an event. Each recall definition
// (catalog_types.h) names points, a period and how long before and after an event to keep.
// Its points are read from the point table at every multiple of the period (ticks aligned
// to the epoch, like the sampler's boundaries) into a ring holding before_us / period_us
// ticks plus the current one (recall_ring.h). An event starts
//   - by Trigger(recall_id, event_ts_us), an API call, or
//   - for an on_limit definition, when one of its points crosses one of its limits
//     (PointLimits: value < lolo, < lo, > hi, > hihi): a limit the point was inside of at
//     the previous tick and is outside of at this one. A point that stays outside does not
//     trigger again; back inside and out again it does. Each limit counts on its own, so a
//     value going from beyond hi to beyond hihi is a new event. A point never updated or
//     NaN keeps its previous state; the first tick with a value only sets it (a point found
//     outside at start-up is not an event). The event's time is the tick's.
// An event's window is [event_ts - before_us, event_ts + after_us]. Its rows already in the
// ring (the pre-window, and when the event lies in the past also post-window ticks already
// taken) go to the record sink at once; every later tick in the window goes out as it is
// taken, batched per definition into one record per `post_batch_us` (one per tick when the
// period is that long or longer) and flushed when an event ends. Every row is a
// v1::RecallRow (point_id, event_ts_us, ts_us = the tick, value, quality) bound for
// recall_sample, whose key (point_id, event_ts, ts) makes a repeated row an upsert. A
// second event during an open one is an event of its own (its own event_ts, its own
// copy of the rows they share); a trigger at the event_ts of an event already open or
// among the last 64 closed of the same definition is the same event and emits nothing.
//
// Values: the point's value and quality at the tick, plus QUALITY_OLD_DATA when it was not
// updated within `old_after_us` before the tick; a point never updated is NaN with
// QUALITY_INVALID | QUALITY_OLD_DATA, as the sampler does.
//
// Nothing is silent (RecallIssue): ticks skipped because the clock jumped or the thread
// stalled (kMissed); a record the sink refused (kNotStored, with its row count); ticks of
// an event's window that will never be emitted (kLost): already past but not in the ring
// (older than its oldest tick, before sampling started, or missed), refused because
// `max_open_events` events are open, or cut short by Stop() or by a change of the
// definition. Stop() emits the rows already taken; what it loses is the post-window ticks
// not sampled yet, reported per open event.
//
// Memory is bounded: rings hold at most `max_ring_values` (point, tick) values in all
// (SetDefinitions refuses more; 12 bytes each plus 8 per tick), at most `max_open_events`
// events are open (a few words each, they hold no rows), and rows waiting for their batch
// are flushed at `max_rows_per_record` per definition.
//
// Threads: one thread ticks every definition on the Clock. Trigger, SetDefinitions, Start
// and Stop may be called from any thread. All state is under one mutex, held also while the
// sinks run: the sinks are called one at a time, on the recall thread or on the thread of
// the Trigger / SetDefinitions / Stop call that emits, and must not call back into this
// object. A Trigger thus returns once its immediate rows were handed to the sink.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "sampling/catalog_types.h"
#include "sampling/clock.h"
#include "sampling/point_table.h"
#include "sampling/recall_ring.h"
#include "sampling/recall_validate.h"
#include "sluice/v1/records.pb.h"

namespace sluice::sampling {

struct RecallIssue {
  enum class Kind { kMissed, kNotStored, kLost };
  int64_t recall_id = 0;
  int64_t event_ts_us = 0;  // the event concerned; 0 for kMissed
  Kind kind = Kind::kMissed;
  // kMissed: ticks skipped in a row; kNotStored: rows in the refused record; kLost: ticks
  // (each of every point of the definition) of the event's window that will not be emitted.
  int64_t count = 0;
  std::string detail;  // for a person: what, when and why
};
std::string_view RecallIssueKindName(RecallIssue::Kind kind);  // "missed", "not_stored", "lost"

struct RecallOptions {
  int64_t old_after_us = 30'000'000;  // 0: never mark QUALITY_OLD_DATA on updated points
  size_t max_ring_values = 20'000'000;
  size_t max_open_events = 1'000;
  size_t max_rows_per_record = 100'000;
  int64_t post_batch_us = 1'000'000;
};

class RecallWindows {
 public:
  using RecordSink = std::function<Status(const v1::Record&)>;
  using IssueSink = std::function<void(const RecallIssue&)>;

  // `clock` and `points` must outlive this object.
  RecallWindows(Clock* clock, const PointTable* points, RecallOptions options, RecordSink records,
                IssueSink issues);
  ~RecallWindows();  // Stop()
  RecallWindows(const RecallWindows&) = delete;
  RecallWindows& operator=(const RecallWindows&) = delete;

  // Replaces the whole set; `limits` gives the limits of points (those of on_limit
  // definitions are checked). A bad set is refused whole (ValidateRecallDefinitions, and
  // the rings' total against max_ring_values) and the current set stays. A definition
  // whose points, period and before_us are unchanged keeps its ring and open events (a
  // change of limits restarts its crossing detection); one changed or removed loses its
  // ring, and its open events are cut short (kLost).
  Status SetDefinitions(std::vector<RecallDefinition> definitions, LimitsByPoint limits);

  // Starts the thread; the first tick of each definition is the first multiple of its
  // period at or after now. REQUIRES: not running; options valid (else InvalidArgument).
  Status Start();
  // Stops the thread, emits the rows already taken and closes the open events (kLost for
  // their ticks not sampled yet).
  void Stop();

  // Starts an event of definition `recall_id` at `event_ts_us` and emits its rows already
  // in the ring before returning. OK also for a repeat of an open or recent event (nothing
  // emitted). FailedPrecondition when not running; NotFound for an unknown definition;
  // InvalidArgument for an event_ts more than 1 h ahead of the clock; ResourceExhausted
  // when max_open_events are open; the sink's error when it refused the rows (reported as
  // kNotStored too; the event stays open for its later ticks).
  Status Trigger(int64_t recall_id, int64_t event_ts_us);

  // Events whose post-window is still being sampled: of every definition, or of
  // definition `recall_id` (0 when it has none or is unknown).
  size_t OpenEvents() const;
  size_t OpenEvents(int64_t recall_id) const;

 private:
  struct Event {
    int64_t event_ts_us;
    int64_t start_us;            // event_ts - before_us
    int64_t end_us;              // event_ts + after_us
    int64_t emitted_through_us;  // the newest tick whose rows went out or are pending
  };
  struct Window {
    Window(RecallDefinition d, std::vector<PointLimits> l);
    RecallDefinition def;
    std::vector<PointLimits> limits;  // per point, in def.point_ids order
    RecallRing ring;
    int64_t next_tick_us = 0;
    std::vector<uint8_t> outside;  // per point: the limits it is beyond (bits)
    std::vector<uint8_t> known;    // per point: `outside` holds a state
    std::vector<Event> open;
    std::deque<int64_t> recent;       // event_ts of the last closed events
    std::vector<v1::Record> pending;  // post-window rows waiting for their batch
    size_t pending_rows = 0;
    int64_t pending_since_us = 0;  // the first tick in `pending`
  };

  void Run(std::stop_token stop);
  void Tick(Window& w, int64_t now_us);                                     // REQUIRES: mu_
  Status StartEvent(Window& w, int64_t event_ts_us, std::string_view why);  // REQUIRES: mu_
  // Appends the rows of `slot` under `event_ts_us` to `out`, a new record at the row bound.
  void AddRows(const Window& w, const RecallRing::ConstSlot& slot, int64_t event_ts_us,
               std::vector<v1::Record>* out) const;
  Status Emit(const Window& w, std::vector<v1::Record>& records, std::string_view what);
  void Flush(Window& w);                           // REQUIRES: mu_
  void CloseAll(Window& w, std::string_view why);  // REQUIRES: mu_
  std::optional<std::string> DetectCrossing(Window& w, const RecallRing::ConstSlot& slot);
  size_t OpenEventsLocked() const;  // REQUIRES: mu_

  Clock* const clock_;
  const PointTable* const points_;
  const RecallOptions options_;
  const RecordSink records_;
  const IssueSink issues_;

  mutable std::mutex mu_;
  std::map<int64_t, std::unique_ptr<Window>> windows_;  // GUARDED_BY(mu_), by id
  bool running_ = false;                                // GUARDED_BY(mu_)
  std::stop_source wake_;  // GUARDED_BY(mu_): wakes the thread's current wait
  std::vector<std::optional<PointValue>> snapshot_;  // GUARDED_BY(mu_)
  std::jthread thread_;
};

}  // namespace sluice::sampling
