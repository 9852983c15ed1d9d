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

}  // namespace

Result<std::unique_ptr<NodeSampling>> NodeSampling::Open(const config::Config& config,
                                                         journal::JournalSet* journals,
                                                         admission::Admitter* admitter,
                                                         const std::string& state_dir) {
  std::unique_ptr<NodeSampling> s(new NodeSampling(config, admitter));
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
  }
  s->ApplyDefinitions();
  const auto fs = s->follower_->stats();
  SLUICE_LOG_INFO("sampling: {} points, {} definitions ({} sampled){}", s->catalog_.point_count(),
                  s->catalog_.definition_count(), s->active_definitions_.load(),
                  config.sampling.enabled
                      ? fmt::format("; records to stream '{}'", config.sampling.stream)
                      : std::string("; the sampler is disabled ([sampling] enabled = false)"));
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
  return Status::OK();
}

Status NodeSampling::Stop() {
  if (sampler_) sampler_->Stop();
  if (!follower_) return Status::OK();
  Status s = follower_->Stop();
  return s.ok() ? s : s.Annotate("saving the sampling catalog");
}

service::SamplingParts NodeSampling::parts() {
  return {&catalog_, follower_.get(), points_.get(), &clock_};
}

void NodeSampling::ApplyDefinitions() {
  std::vector<sampling::Definition> defs = catalog_.ActiveDefinitions();
  active_definitions_.store(defs.size());
  if (!sampler_) return;
  Status s = sampler_->SetDefinitions(defs);
  // The catalog checks every interval, so this is a bug, not bad input: say it loudly.
  if (!s.ok())
    SLUICE_LOG_ERROR("sampling: the catalog's definitions were refused by the sampler: {}",
                     s.ToString());
}

Status NodeSampling::AdmitRecord(const v1::Record& record) {
  // Not waiting for durability: the sampler's cycle stays short, and a journal failure is
  // sticky, so the next cycle's admission reports it (as a missed cycle).
  auto lsn = admitter_->Admit(config_.sampling.stream, record, /*wait=*/false);
  return lsn.ok() ? Status::OK() : lsn.status();
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
    SLUICE_LOG_ERROR("{}", text);
  } else {
    late_.fetch_add(1, std::memory_order_relaxed);
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
  e->set_kind(missed ? "sluice.sampling.missed" : "sluice.sampling.late");
  e->set_severity(missed ? kSeverityError : kSeverityWarning);
  e->set_source(config_.node.id);
  e->set_text(text);
  auto lsn = admitter_->Admit(events_stream_, std::move(r), /*wait=*/false);
  if (!lsn.ok()) {
    SLUICE_LOG_ERROR("sampling: journaling the event '{}' on stream '{}': {}", text, events_stream_,
                     lsn.status().ToString());
  }
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
  const auto fs = follower_->stats();
  out->set_catalog_lsn(fs.lsn);
  out->set_catalog_error(fs.error);
}

}  // namespace sluice::daemon
