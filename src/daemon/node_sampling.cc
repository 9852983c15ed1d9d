#include "daemon/node_sampling.h"

#include <ctime>

#include <fmt/format.h>

#include "common/log.h"

namespace sluice::daemon {
namespace {

// "2026-12-06T12:00:05Z" (with ".250" when not a whole second).
std::string IsoTime(int64_t us) {
  const int64_t secs = us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000;
  const int64_t frac_ms = (us - secs * 1'000'000) / 1000;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return frac_ms == 0 ? fmt::format("{}Z", buf) : fmt::format("{}.{:03}Z", buf, frac_ms);
}

constexpr int32_t kSeverityWarning = 2;  // as the controller's state changes
constexpr int32_t kSeverityError = 3;

// What the recall rows admitted on this thread during one TriggerRecall add up to. The
// windows call the record sink on the thread of the Trigger for the rows it emits at once
// (and on their own thread for later ticks), so a thread-local tally sees exactly the
// trigger's rows.
struct TriggerTally {
  uint64_t rows = 0;
  journal::Lsn last_lsn = 0;
};
thread_local TriggerTally* tls_trigger_tally = nullptr;

}  // namespace

Result<std::unique_ptr<NodeSampling>> NodeSampling::Open(const config::Config& config,
                                                         journal::JournalSet* journals,
                                                         admission::Admitter* admitter,
                                                         const std::string& state_dir) {
  std::unique_ptr<NodeSampling> s(new NodeSampling(config, admitter));
  s->journals_ = journals;
  s->events_stream_ =
      config.FindStream("events") != nullptr ? "events" : config.StreamsByPriority().front()->name;
  s->points_ = std::make_unique<sampling::PointTable>(config.sampling.max_points);
  sampling::CatalogFollowerOptions fo;
  fo.path = JoinPath(state_dir, "sampling.json");
  fo.on_change = [p = s.get()] { p->ApplyDefinitions(); };
  SLUICE_ASSIGN_OR_RETURN(s->follower_,
                          sampling::CatalogFollower::Open(journals, &s->catalog_, fo));
  if (config.sampling.enabled) {
    sampling::SamplerOptions so;
    so.day_rule.utc_offset_us = config.sampling.utc_offset_us;
    so.day_rule.day_start_us = config.sampling.day_start_us;
    so.old_after_intervals = config.sampling.old_after_intervals;
    so.late_tolerance_us = config.sampling.late_tolerance_ms * 1000;
    s->sampler_ = std::make_unique<sampling::Sampler>(
        &s->clock_, s->points_.get(), so,
        [p = s.get()](const v1::Record& r) { return p->AdmitRecord(r); },
        [p = s.get()](const sampling::CycleIssue& i) { p->ReportIssue(i); },
        [p = s.get()](v1::SampleInterval, int64_t, int64_t) {
          p->cycles_.fetch_add(1, std::memory_order_relaxed);
        });
    sampling::RecallOptions ro;
    ro.old_after_us = int64_t{config.sampling.old_after_intervals} * 1'000'000;
    s->recall_ = std::make_unique<sampling::RecallWindows>(
        &s->clock_, s->points_.get(), ro,
        [p = s.get()](const v1::Record& r) { return p->AdmitRecallRecord(r); },
        [p = s.get()](const sampling::RecallIssue& i) { p->ReportRecallIssue(i); });
  }
  s->ApplyDefinitions();
  const auto fs = s->follower_->stats();
  SLUICE_LOG_INFO("sampling: {} points, {} definitions ({} sampled), {} recall windows{}",
                  s->catalog_.point_count(), s->catalog_.definition_count(),
                  s->active_definitions_.load(), s->recall_definitions_.load(),
                  config.sampling.enabled
                      ? fmt::format("; records to stream '{}'", config.sampling.stream)
                      : std::string("; the sampler and the recall windows are disabled "
                                    "([sampling] enabled = false)"));
  if (!fs.error.empty()) SLUICE_LOG_ERROR("sampling catalog: {}", fs.error);
  return s;
}

NodeSampling::~NodeSampling() {
  Status s = Stop();
  if (!s.ok()) SLUICE_LOG_ERROR("sampling: {}", s.ToString());
}

Status NodeSampling::Start() {
  follower_->Start();
  if (sampler_) SLUICE_RETURN_IF_ERROR(sampler_->Start());
  if (recall_) SLUICE_RETURN_IF_ERROR(recall_->Start());
  return Status::OK();
}

Status NodeSampling::Stop() {
  // The recall windows first: Stop emits the rows already taken, while admission runs.
  if (recall_) recall_->Stop();
  if (sampler_) sampler_->Stop();
  if (!follower_) return Status::OK();
  Status s = follower_->Stop();
  return s.ok() ? s : s.Annotate("saving the sampling catalog");
}

service::SamplingParts NodeSampling::parts() {
  return {&catalog_, follower_.get(), points_.get(), &clock_, this};
}

void NodeSampling::ApplyDefinitions() {
  std::vector<sampling::Definition> defs = catalog_.ActiveDefinitions();
  active_definitions_.store(defs.size());
  std::vector<sampling::RecallDefinition> recalls = catalog_.Recalls();
  recall_definitions_.store(recalls.size());
  if (!sampler_) return;
  Status s = sampler_->SetDefinitions(defs);
  // The catalog checks every interval, so this is a bug, not bad input: say it loudly.
  if (!s.ok())
    SLUICE_LOG_ERROR("sampling: the catalog's definitions were refused by the sampler: {}",
                     s.ToString());
  sampling::LimitsByPoint limits;
  for (const sampling::Point& p : catalog_.Points()) limits.emplace(p.id, p.limits);
  s = recall_->SetDefinitions(std::move(recalls), std::move(limits));
  // The service checks the rings' bound before journaling and the catalog the rest; a
  // refusal here keeps the windows on their previous set, which nobody asked for.
  if (!s.ok()) {
    JournalIssue("sluice.recall.refused", kSeverityError,
                 fmt::format("recall: the catalog's recall definitions were refused, the recall "
                             "windows keep their previous set: {}",
                             s.ToString()));
  }
}

Status NodeSampling::AdmitRecord(const v1::Record& record) {
  // Not waiting for durability: the sampler's cycle stays short, and a journal failure is
  // sticky, so the next cycle's admission reports it (as a missed cycle).
  auto lsn = admitter_->Admit(config_.sampling.stream, record, /*wait=*/false);
  return lsn.ok() ? Status::OK() : lsn.status();
}

Status NodeSampling::AdmitRecallRecord(const v1::Record& record) {
  const uint64_t rows = static_cast<uint64_t>(record.recall().rows_size());
  // Not waiting either: the windows' mutex is held while the sink runs. A trigger waits
  // for its own rows afterwards (TriggerRecall).
  auto lsn = admitter_->Admit(config_.sampling.stream, record, /*wait=*/false);
  if (!lsn.ok()) return lsn.status();
  recall_rows_.fetch_add(rows, std::memory_order_relaxed);
  if (tls_trigger_tally != nullptr) {
    tls_trigger_tally->rows += rows;
    tls_trigger_tally->last_lsn = *lsn;
  }
  return Status::OK();
}

Result<uint64_t> NodeSampling::TriggerRecall(int64_t recall_id, int64_t event_ts_us) {
  if (!recall_) {
    return Status::FailedPrecondition(
        "the recall windows do not run on this node ([sampling] enabled = false)");
  }
  TriggerTally tally;
  tls_trigger_tally = &tally;
  Status s = recall_->Trigger(recall_id, event_ts_us);
  tls_trigger_tally = nullptr;
  SLUICE_RETURN_IF_ERROR(s);
  if (tally.last_lsn != 0) {
    journal::Journal* j = journals_->stream(config_.sampling.stream);
    if (j == nullptr)
      return Status::Internal(fmt::format("no stream '{}'", config_.sampling.stream));
    SLUICE_RETURN_IF_ERROR(j->WaitDurable(tally.last_lsn));
  }
  return tally.rows;
}

size_t NodeSampling::OpenRecallEvents(int64_t recall_id) const {
  return recall_ ? recall_->OpenEvents(recall_id) : 0;
}

size_t NodeSampling::MaxRecallRingValues() const {
  return sampling::RecallOptions{}.max_ring_values;
}

void NodeSampling::ReportRecallIssue(const sampling::RecallIssue& issue) {
  int32_t severity = kSeverityError;
  switch (issue.kind) {
    case sampling::RecallIssue::Kind::kMissed:
      // A gap in the rings; the events it cuts into are reported as lost on their own.
      recall_missed_.fetch_add(static_cast<uint64_t>(issue.count), std::memory_order_relaxed);
      severity = kSeverityWarning;
      break;
    case sampling::RecallIssue::Kind::kLost:
      recall_lost_.fetch_add(static_cast<uint64_t>(issue.count), std::memory_order_relaxed);
      break;
    case sampling::RecallIssue::Kind::kNotStored:
      recall_not_stored_.fetch_add(static_cast<uint64_t>(issue.count), std::memory_order_relaxed);
      break;
  }
  const std::string text = issue.event_ts_us != 0
                               ? fmt::format("{} (event {}, {})", issue.detail,
                                             IsoTime(issue.event_ts_us), issue.event_ts_us)
                               : issue.detail;
  JournalIssue(fmt::format("sluice.recall.{}", sampling::RecallIssueKindName(issue.kind)), severity,
               text);
}

void NodeSampling::JournalIssue(std::string_view kind, int32_t severity, const std::string& text) {
  if (severity >= kSeverityError) {
    SLUICE_LOG_ERROR("{}", text);
  } else {
    SLUICE_LOG_WARN("{}", text);
  }
  const int64_t now = clock_.NowUs();
  {
    std::lock_guard lk(issue_mu_);
    last_issue_ = text;
    last_issue_us_ = now;
  }
  v1::Record r;
  auto* e = r.mutable_events()->add_events();
  e->set_ts_us(now);
  e->set_kind(std::string(kind));
  e->set_severity(severity);
  e->set_source(config_.node.id);
  e->set_text(text);
  auto lsn = admitter_->Admit(events_stream_, std::move(r), /*wait=*/false);
  if (!lsn.ok()) {
    SLUICE_LOG_ERROR("sampling: journaling the event '{}' on stream '{}': {}", text, events_stream_,
                     lsn.status().ToString());
  }
}

void NodeSampling::ReportIssue(const sampling::CycleIssue& issue) {
  const bool missed = issue.kind == sampling::CycleIssue::Kind::kMissed;
  const std::string_view interval = sampling::Info(issue.interval).name;
  const std::string text =
      missed ? fmt::format("sampling {}: {} cycle(s) missed from boundary {} on ({})", interval,
                           issue.count, IsoTime(issue.boundary_us), issue.detail)
             : fmt::format("sampling {}: cycle of boundary {} late ({}), {} cycle(s)", interval,
                           IsoTime(issue.boundary_us), issue.detail, issue.count);
  if (missed) {
    missed_.fetch_add(static_cast<uint64_t>(issue.count), std::memory_order_relaxed);
  } else {
    late_.fetch_add(1, std::memory_order_relaxed);
  }
  JournalIssue(missed ? "sluice.sampling.missed" : "sluice.sampling.late",
               missed ? kSeverityError : kSeverityWarning, text);
}

void NodeSampling::FillStatus(v1::SamplingStatus* out) const {
  out->set_enabled(sampler_ != nullptr);
  out->set_points(points_->size());
  out->set_max_points(points_->max_points());
  out->set_catalog_points(catalog_.point_count());
  out->set_definitions(catalog_.definition_count());
  out->set_active_definitions(active_definitions_.load());
  out->set_cycles(cycles_.load());
  out->set_late(late_.load());
  out->set_missed(missed_.load());
  {
    std::lock_guard lk(issue_mu_);
    out->set_last_issue(last_issue_);
    out->set_last_issue_us(last_issue_us_);
  }
  out->set_recall_definitions(recall_definitions_.load());
  out->set_recall_open_events(recall_ ? recall_->OpenEvents() : 0);
  out->set_recall_rows(recall_rows_.load());
  out->set_recall_missed(recall_missed_.load());
  out->set_recall_lost(recall_lost_.load());
  out->set_recall_not_stored(recall_not_stored_.load());
  const auto fs = follower_->stats();
  out->set_catalog_lsn(fs.lsn);
  out->set_catalog_error(fs.error);
}

}  // namespace sluice::daemon
