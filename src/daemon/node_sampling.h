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
// With [sampling] enabled = false, the catalog and the point table still serve the
// Sampling service; only the sampler does not run.
//
// Thread safety: Open/Start/Stop from one thread; FillStatus and parts() from any.

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
#include "sampling/sampler.h"
#include "service/sampling_service.h"

namespace sluice::daemon {

class NodeSampling {
 public:
  // Loads the catalog (a damaged snapshot is an error naming the file and the field) and
  // catches up with the model journal. Nothing runs yet.
  static Result<std::unique_ptr<NodeSampling>> Open(const config::Config& config,
                                                    journal::JournalSet* journals,
                                                    admission::Admitter* admitter,
                                                    const std::string& state_dir);
  ~NodeSampling();

  Status Start();
  // Stops the sampler, then the follower, and saves the catalog.
  Status Stop();

  service::SamplingParts parts();
  void FillStatus(v1::SamplingStatus* out) const;

 private:
  NodeSampling(const config::Config& config, admission::Admitter* admitter)
      : config_(config), admitter_(admitter) {}
  void ApplyDefinitions();
  Status AdmitRecord(const v1::Record& record);
  void ReportIssue(const sampling::CycleIssue& issue);

  const config::Config& config_;
  admission::Admitter* const admitter_;
  std::string events_stream_;

  sampling::SystemClock clock_;
  std::unique_ptr<sampling::PointTable> points_;
  sampling::Catalog catalog_;
  std::unique_ptr<sampling::CatalogFollower> follower_;
  std::unique_ptr<sampling::Sampler> sampler_;

  std::atomic<uint64_t> cycles_{0};
  std::atomic<uint64_t> late_{0};
  std::atomic<uint64_t> missed_{0};
  std::atomic<uint64_t> active_definitions_{0};
  mutable std::mutex issue_mu_;
  std::string last_issue_;     // GUARDED_BY(issue_mu_)
  int64_t last_issue_us_ = 0;  // GUARDED_BY(issue_mu_)
};

}  // namespace sluice::daemon
