#include "sampling/recall.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace sluice::sampling {
namespace {

// Ticks are multiples of the period since the epoch; floor division also below zero.
int64_t FloorTo(int64_t t, int64_t period) { return t - (((t % period) + period) % period); }
int64_t CeilTo(int64_t t, int64_t period) {
  const int64_t floor = FloorTo(t, period);
  return floor == t ? t : floor + period;
}
// Ticks of `period` in [first, last], both taken as given (first aligned).
int64_t TicksBetween(int64_t first, int64_t last, int64_t period) {
  return last >= first ? (last - first) / period + 1 : 0;
}

constexpr size_t kRecentEvents = 64;

enum LimitBit : uint8_t { kBelowLolo = 1, kBelowLo = 2, kAboveHi = 4, kAboveHihi = 8 };

uint8_t OutsideBits(const PointLimits& l, double v) {
  uint8_t bits = 0;
  if (l.lolo && v < *l.lolo) bits |= kBelowLolo;
  if (l.lo && v < *l.lo) bits |= kBelowLo;
  if (l.hi && v > *l.hi) bits |= kAboveHi;
  if (l.hihi && v > *l.hihi) bits |= kAboveHihi;
  return bits;
}

std::string CrossingText(int64_t point_id, uint8_t crossed, double v, const PointLimits& l) {
  if (crossed & kAboveHihi)
    return fmt::format("point {} rose above hihi {} ({})", point_id, *l.hihi, v);
  if (crossed & kBelowLolo)
    return fmt::format("point {} fell below lolo {} ({})", point_id, *l.lolo, v);
  if (crossed & kAboveHi) return fmt::format("point {} rose above hi {} ({})", point_id, *l.hi, v);
  return fmt::format("point {} fell below lo {} ({})", point_id, *l.lo, v);
}

bool SameLimits(const PointLimits& a, const PointLimits& b) {
  return a.lolo == b.lolo && a.lo == b.lo && a.hi == b.hi && a.hihi == b.hihi;
}

// What a definition's ring depends on: with these unchanged, its ring and events stay.
bool SameShape(const RecallDefinition& a, const RecallDefinition& b) {
  return a.point_ids == b.point_ids && a.period_us == b.period_us && a.before_us == b.before_us;
}

std::vector<PointLimits> LimitsOf(const RecallDefinition& d, const LimitsByPoint& limits) {
  std::vector<PointLimits> out(d.point_ids.size());
  if (!d.on_limit) return out;
  for (size_t i = 0; i < d.point_ids.size(); ++i) {
    auto it = limits.find(d.point_ids[i]);
    if (it != limits.end()) out[i] = it->second;
  }
  return out;
}

}  // namespace

std::string_view RecallIssueKindName(RecallIssue::Kind kind) {
  switch (kind) {
    case RecallIssue::Kind::kMissed:
      return "missed";
    case RecallIssue::Kind::kNotStored:
      return "not_stored";
    case RecallIssue::Kind::kLost:
      return "lost";
  }
  return "?";
}

RecallWindows::Window::Window(RecallDefinition d, std::vector<PointLimits> l)
    : def(std::move(d)),
      limits(std::move(l)),
      ring(def.point_ids.size(), static_cast<size_t>(RecallRingSamples(def))),
      outside(def.point_ids.size(), 0),
      known(def.point_ids.size(), 0) {}

RecallWindows::RecallWindows(Clock* clock, const PointTable* points, RecallOptions options,
                             RecordSink records, IssueSink issues)
    : clock_(clock),
      points_(points),
      options_(options),
      records_(std::move(records)),
      issues_(std::move(issues)) {}

RecallWindows::~RecallWindows() { Stop(); }

Status RecallWindows::SetDefinitions(std::vector<RecallDefinition> definitions,
                                     LimitsByPoint limits) {
  SLUICE_RETURN_IF_ERROR(ValidateRecallDefinitions(definitions, limits));
  size_t ring_values = 0;
  for (const RecallDefinition& d : definitions) {
    ring_values += d.point_ids.size() * static_cast<size_t>(RecallRingSamples(d));
  }
  if (ring_values > options_.max_ring_values) {
    return Status::InvalidArgument(
        fmt::format("recall definitions: their rings would hold {} values (points x (before_us / "
                    "period_us + 1), summed), more than max_ring_values {}",
                    ring_values, options_.max_ring_values));
  }

  std::lock_guard lock(mu_);
  const int64_t now = clock_->NowUs();
  std::map<int64_t, std::unique_ptr<Window>> next;
  for (RecallDefinition& d : definitions) {
    std::vector<PointLimits> point_limits = LimitsOf(d, limits);
    auto old = windows_.find(d.id);
    if (old != windows_.end() && SameShape(old->second->def, d)) {
      std::unique_ptr<Window> w = std::move(old->second);
      windows_.erase(old);
      bool same_limits = true;
      for (size_t i = 0; i < point_limits.size(); ++i) {
        same_limits = same_limits && SameLimits(point_limits[i], w->limits[i]);
      }
      // Crossings are judged against the limits of the previous tick: new limits start
      // from a fresh state rather than report a crossing no value made.
      if (!same_limits) std::fill(w->known.begin(), w->known.end(), 0);
      w->def = std::move(d);
      w->limits = std::move(point_limits);
      next.emplace(w->def.id, std::move(w));
      continue;
    }
    auto w = std::make_unique<Window>(std::move(d), std::move(point_limits));
    w->next_tick_us = CeilTo(now, w->def.period_us);
    next.emplace(w->def.id, std::move(w));
  }
  for (auto& [id, gone] : windows_) CloseAll(*gone, "its definition was changed or removed");
  windows_ = std::move(next);
  wake_.request_stop();  // the thread's next tick may be earlier now
  return Status::OK();
}

Status RecallWindows::Start() {
  if (thread_.joinable()) return Status::FailedPrecondition("recall windows are already running");
  if (options_.old_after_us < 0 || options_.max_open_events < 1 ||
      options_.max_rows_per_record < 1 || options_.post_batch_us < 0) {
    return Status::InvalidArgument(
        "recall options: old_after_us and post_batch_us must be >= 0, max_open_events and "
        "max_rows_per_record >= 1");
  }
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_->NowUs();
    for (auto& [id, w] : windows_) w->next_tick_us = CeilTo(now, w->def.period_us);
    running_ = true;
  }
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
  return Status::OK();
}

void RecallWindows::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    running_ = false;
  }
  thread_.request_stop();
  thread_.join();
  std::lock_guard lock(mu_);
  for (auto& [id, w] : windows_) CloseAll(*w, "recall windows were stopped");
}

void RecallWindows::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::stop_source wake;
    int64_t next = std::numeric_limits<int64_t>::max();
    {
      std::lock_guard lock(mu_);
      wake_ = wake;
      for (const auto& [id, w] : windows_) next = std::min(next, w->next_tick_us);
    }
    bool reached;
    {
      std::stop_callback forward(stop, [&wake] { wake.request_stop(); });
      reached = clock_->WaitUntil(next, wake.get_token());
    }
    if (stop.stop_requested()) return;
    if (!reached) continue;  // woken by SetDefinitions: the next tick is computed again
    std::lock_guard lock(mu_);
    const int64_t now = clock_->NowUs();
    for (auto& [id, w] : windows_) {
      if (w->next_tick_us <= now) Tick(*w, now);
    }
  }
}

void RecallWindows::Tick(Window& w, int64_t now_us) {
  const int64_t period = w.def.period_us;
  // Ticks between the one due and the latest passed cannot be taken with the values they
  // had (the table holds only current values): they are reported, not faked.
  const int64_t latest = FloorTo(now_us, period);
  const int64_t skipped = (latest - w.next_tick_us) / period;
  if (skipped > 0) {
    issues_({w.def.id, 0, RecallIssue::Kind::kMissed, skipped,
             fmt::format("recall {}: {} ticks of {} µs from {} µs not taken: the clock jumped "
                         "forward or the thread stalled (now {} µs)",
                         w.def.id, skipped, period, w.next_tick_us, now_us)});
  }
  w.next_tick_us = latest + period;

  points_->Snapshot(w.def.point_ids, &snapshot_);
  RecallRing::Slot slot = w.ring.Append(latest);
  const int64_t old_before = latest - options_.old_after_us;
  for (size_t i = 0; i < snapshot_.size(); ++i) {
    const std::optional<PointValue>& v = snapshot_[i];
    if (!v) {
      slot.values[i] = std::numeric_limits<double>::quiet_NaN();
      slot.qualities[i] = v1::QUALITY_INVALID | v1::QUALITY_OLD_DATA;
      continue;
    }
    const bool old = options_.old_after_us > 0 && v->updated_us < old_before;
    slot.values[i] = v->value;
    slot.qualities[i] = v->quality | (old ? uint32_t{v1::QUALITY_OLD_DATA} : 0u);
  }
  const RecallRing::ConstSlot taken = w.ring.At(w.ring.size() - 1);

  bool ended = false;
  for (Event& e : w.open) {
    if (latest < e.start_us || latest > e.end_us || latest <= e.emitted_through_us) continue;
    if (w.pending.empty()) w.pending_since_us = latest;
    AddRows(w, taken, e.event_ts_us, &w.pending);
    w.pending_rows += w.def.point_ids.size();
    e.emitted_through_us = latest;
  }
  for (auto it = w.open.begin(); it != w.open.end();) {
    if (w.next_tick_us > it->end_us) {
      w.recent.push_back(it->event_ts_us);
      if (w.recent.size() > kRecentEvents) w.recent.pop_front();
      it = w.open.erase(it);
      ended = true;
    } else {
      ++it;
    }
  }
  if (!w.pending.empty() &&
      (ended || latest + period - w.pending_since_us >= options_.post_batch_us ||
       w.pending_rows >= options_.max_rows_per_record)) {
    Flush(w);
  }

  if (w.def.on_limit) {
    if (std::optional<std::string> why = DetectCrossing(w, taken)) {
      // Already reported as kNotStored / kLost when it fails; nobody waits for it here.
      (void)StartEvent(w, latest, *why);
    }
  }
}

std::optional<std::string> RecallWindows::DetectCrossing(Window& w,
                                                         const RecallRing::ConstSlot& slot) {
  std::optional<std::string> first;
  for (size_t i = 0; i < w.limits.size(); ++i) {
    const double v = slot.values[i];
    if (std::isnan(v)) continue;  // unknown: the previous state stands
    const uint8_t now = OutsideBits(w.limits[i], v);
    const uint8_t crossed = w.known[i] ? static_cast<uint8_t>(now & ~w.outside[i]) : 0;
    w.outside[i] = now;
    w.known[i] = 1;
    if (crossed != 0 && !first) first = CrossingText(w.def.point_ids[i], crossed, v, w.limits[i]);
  }
  return first;
}

Status RecallWindows::Trigger(int64_t recall_id, int64_t event_ts_us) {
  std::lock_guard lock(mu_);
  if (!running_) return Status::FailedPrecondition("recall windows are not running");
  auto it = windows_.find(recall_id);
  if (it == windows_.end()) {
    return Status::NotFound(fmt::format("trigger: no recall definition {}", recall_id));
  }
  const int64_t now = clock_->NowUs();
  if (event_ts_us > now + kMaxRecallWindowUs) {
    return Status::InvalidArgument(
        fmt::format("trigger of recall {}: event_ts_us {} is more than 1 h ahead of now ({} µs)",
                    recall_id, event_ts_us, now));
  }
  return StartEvent(*it->second, event_ts_us, "trigger");
}

Status RecallWindows::StartEvent(Window& w, int64_t event_ts_us, std::string_view why) {
  const auto same = [&](int64_t ts) { return ts == event_ts_us; };
  if (std::any_of(w.recent.begin(), w.recent.end(), same) ||
      std::any_of(w.open.begin(), w.open.end(),
                  [&](const Event& e) { return e.event_ts_us == event_ts_us; })) {
    return Status::OK();
  }
  const int64_t period = w.def.period_us;
  Event e{event_ts_us, event_ts_us - w.def.before_us, event_ts_us + w.def.after_us,
          std::numeric_limits<int64_t>::min()};
  const int64_t window_ticks = TicksBetween(CeilTo(e.start_us, period), e.end_us, period);
  if (OpenEventsLocked() >= options_.max_open_events) {
    issues_({w.def.id, event_ts_us, RecallIssue::Kind::kLost, window_ticks,
             fmt::format("recall {}: event at {} µs ({}) not recorded: {} events are open "
                         "(max_open_events)",
                         w.def.id, event_ts_us, why, options_.max_open_events)});
    return Status::ResourceExhausted(fmt::format("recall {}: {} events are open (max_open_events)",
                                                 w.def.id, options_.max_open_events));
  }

  std::vector<v1::Record> records;
  int64_t present = 0;
  for (size_t i = 0; i < w.ring.size(); ++i) {
    const RecallRing::ConstSlot slot = w.ring.At(i);
    if (slot.tick_us < e.start_us || slot.tick_us > e.end_us) continue;
    AddRows(w, slot, event_ts_us, &records);
    ++present;
  }
  // Ticks of the window already due (up to the last one taken or skipped) can only come
  // from the ring; those not there are lost, and said so.
  const int64_t last_due = std::min(e.end_us, w.next_tick_us - period);
  const int64_t absent = TicksBetween(CeilTo(e.start_us, period), last_due, period) - present;
  if (absent > 0) {
    issues_({w.def.id, event_ts_us, RecallIssue::Kind::kLost, absent,
             fmt::format("recall {}: event at {} µs ({}): {} ticks of its window are not in the "
                         "ring (it holds {} ticks from {} µs; earlier ones are older, before "
                         "sampling started, or were missed)",
                         w.def.id, event_ts_us, why, absent, w.ring.size(),
                         w.ring.empty() ? 0 : w.ring.oldest_us())});
  }
  e.emitted_through_us = w.next_tick_us - period;
  if (w.next_tick_us > e.end_us) {
    w.recent.push_back(event_ts_us);
    if (w.recent.size() > kRecentEvents) w.recent.pop_front();
  } else {
    w.open.push_back(e);
  }
  return Emit(w, records, fmt::format("event at {} µs ({})", event_ts_us, why));
}

void RecallWindows::AddRows(const Window& w, const RecallRing::ConstSlot& slot, int64_t event_ts_us,
                            std::vector<v1::Record>* out) const {
  for (size_t i = 0; i < w.def.point_ids.size(); ++i) {
    if (out->empty() ||
        static_cast<size_t>(out->back().recall().rows_size()) >= options_.max_rows_per_record) {
      out->emplace_back().mutable_recall();
    }
    v1::RecallRow* row = out->back().mutable_recall()->add_rows();
    row->set_point_id(w.def.point_ids[i]);
    row->set_event_ts_us(event_ts_us);
    row->set_ts_us(slot.tick_us);
    row->set_value(slot.values[i]);
    row->set_quality(slot.qualities[i]);
  }
}

Status RecallWindows::Emit(const Window& w, std::vector<v1::Record>& records,
                           std::string_view what) {
  Status first_error;
  for (const v1::Record& r : records) {
    Status st = records_(r);
    if (st.ok()) continue;
    issues_({w.def.id, r.recall().rows(0).event_ts_us(), RecallIssue::Kind::kNotStored,
             r.recall().rows_size(),
             fmt::format("recall {}: {}: a record of {} rows was not stored: {}", w.def.id, what,
                         r.recall().rows_size(), st.ToString())});
    if (first_error.ok()) first_error = st;
  }
  return first_error;
}

void RecallWindows::Flush(Window& w) {
  (void)Emit(w, w.pending, "post-window rows");  // refusals are reported by Emit
  w.pending.clear();
  w.pending_rows = 0;
}

void RecallWindows::CloseAll(Window& w, std::string_view why) {
  if (!w.pending.empty()) Flush(w);
  const int64_t period = w.def.period_us;
  for (const Event& e : w.open) {
    const int64_t first = std::max(CeilTo(e.start_us, period), e.emitted_through_us + period);
    const int64_t lost = TicksBetween(first, e.end_us, period);
    issues_({w.def.id, e.event_ts_us, RecallIssue::Kind::kLost, lost,
             fmt::format("recall {}: event at {} µs cut short: {}; its {} ticks from {} µs to "
                         "{} µs were not sampled",
                         w.def.id, e.event_ts_us, why, lost, first, e.end_us)});
    w.recent.push_back(e.event_ts_us);
    if (w.recent.size() > kRecentEvents) w.recent.pop_front();
  }
  w.open.clear();
}

size_t RecallWindows::OpenEvents() const {
  std::lock_guard lock(mu_);
  return OpenEventsLocked();
}

size_t RecallWindows::OpenEvents(int64_t recall_id) const {
  std::lock_guard lock(mu_);
  auto it = windows_.find(recall_id);
  return it == windows_.end() ? 0 : it->second->open.size();
}

size_t RecallWindows::OpenEventsLocked() const {
  size_t n = 0;
  for (const auto& [id, w] : windows_) n += w->open.size();
  return n;
}

}  // namespace sluice::sampling
