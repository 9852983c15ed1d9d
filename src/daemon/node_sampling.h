#pragma once
// The sampling part of a node: the real-time point table, the sampling catalog and its
// follower of the model journal (DATA_DIR/state/sampling.json), and the periodic sampler.
//
// The sampler samples the catalog's active, enabled definitions (passive ones are only
// stored); each change of the catalog replaces its definitions, effective at the next
// boundary. Its records are admitted on the [sampling] stream. Cycle issues are never
// silent: each is logged (warning: late, error: missed), journaled as an event on the
// events stream (kind "sluice.sampling.late" / "sluice.sampling.missed", severity 2 / 3,
// the text names the interval, the boundary as an ISO time and the count) and counted
// for Admin.Status.
//
// The recall windows (sampling/recall.h) run beside the sampler, over the same clock and
// point table: each change of the catalog gives them its recall definitions and the
// limits of the points. Their rows are admitted on the [sampling] stream too; their
// issues are logged, journaled as events (kind "sluice.recall.missed" / ".lost" /
// ".not_stored"; severity 2 for missed ticks, 3 when rows of an event were not recorded)
// and counted for Admin.Status. A value is old data for them when it was not updated
// within old_after_intervals seconds before the tick (the sampler's rule at 1 s, its
// shortest interval).
//
// With [sampling] enabled = false, the catalog and the point table still serve the
// Sampling service; the sampler and the recall windows do not run (a recall trigger is
// refused).
//
// Thread safety: Open/Start/Stop from one thread; FillStatus, parts() and TriggerRecall
// from any.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "admission/admitter.h"
#include "config/config.h"
#include "journal/journal_set.h"
#include "sampling/catalog.h"
#include "sampling/catalog_follower.h"
#include "sampling/clock.h"
#include "sampling/point_table.h"
#include "sampling/recall.h"
#include "sampling/sampler.h"
#include "service/sampling_service.h"

namespace sluice::daemon {

class NodeSampling final : public service::RecallControl {
 public:
  // Loads the catalog (a damaged snapshot is an error naming the file and the field) and
  // catches up with the model journal. Nothing runs yet.
  static Result<std::unique_ptr<NodeSampling>> Open(const config::Config& config,
                                                    journal::JournalSet* journals,
                                                    admission::Admitter* admitter,
                                                    const std::string& state_dir);
  ~NodeSampling() override;

  Status Start();
  // Stops the recall windows (emitting the rows they took; their open events lose the rest,
  // reported) and the sampler, then the follower, and saves the catalog.
  Status Stop();

  service::SamplingParts parts();
  void FillStatus(v1::SamplingStatus* out) const;

  // service::RecallControl
  Result<uint64_t> TriggerRecall(int64_t recall_id, int64_t event_ts_us) override;
  size_t OpenRecallEvents(int64_t recall_id) const override;
  size_t MaxRecallRingValues() const override;

 private:
  NodeSampling(const config::Config& config, admission::Admitter* admitter)
      : config_(config), admitter_(admitter) {}
  void ApplyDefinitions();
  Status AdmitRecord(const v1::Record& record);
  void ReportIssue(const sampling::CycleIssue& issue);
  Status AdmitRecallRecord(const v1::Record& record);
  void ReportRecallIssue(const sampling::RecallIssue& issue);
  // Logs `text`, keeps it as the last issue and journals it as an event.
  void JournalIssue(std::string_view kind, int32_t severity, const std::string& text);

  const config::Config& config_;
  admission::Admitter* const admitter_;
  std::string events_stream_;

  sampling::SystemClock clock_;
  std::unique_ptr<sampling::PointTable> points_;
  sampling::Catalog catalog_;
  std::unique_ptr<sampling::CatalogFollower> follower_;
  std::unique_ptr<sampling::Sampler> sampler_;
  std::unique_ptr<sampling::RecallWindows> recall_;  // null when [sampling] enabled = false
  journal::JournalSet* journals_ = nullptr;

  std::atomic<uint64_t> cycles_{0};
  std::atomic<uint64_t> late_{0};
  std::atomic<uint64_t> missed_{0};
  std::atomic<uint64_t> active_definitions_{0};
  std::atomic<uint64_t> recall_definitions_{0};
  std::atomic<uint64_t> recall_rows_{0};
  std::atomic<uint64_t> recall_missed_{0};      // ticks
  std::atomic<uint64_t> recall_lost_{0};        // ticks of event windows
  std::atomic<uint64_t> recall_not_stored_{0};  // rows
  mutable std::mutex issue_mu_;
  std::string last_issue_;     // GUARDED_BY(issue_mu_)
  int64_t last_issue_us_ = 0;  // GUARDED_BY(issue_mu_)
};

}  // namespace sluice::daemon
