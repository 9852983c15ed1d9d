#include "http/status_metrics.h"

#include <array>
#include <string_view>

namespace sluice::http {
namespace {

using Type = MetricsWriter::Type;
using Labels = MetricsWriter::Labels;

// Every state the node can be in, so that each has a series (0 or 1) at every scrape and a
// change shows as one series falling and another rising.
constexpr std::array<std::string_view, 4> kStates = {"starting", "switching", "active", "isolated"};
constexpr std::array<std::string_view, 3> kHealths = {"up", "down", "unknown"};

uint64_t One(bool on) { return on ? 1 : 0; }

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

void WriteNode(const v1::StatusResponse& st, MetricsWriter& out) {
  out.Family("sluice_node_info", Type::kGauge, "Always 1; the node's id as a label.");
  out.Sample({{"node", st.node_id()}}, uint64_t{1});
  out.Family("sluice_node_state", Type::kGauge,
             "1 for the service state the node is in (docs/failover.md), 0 for the others.");
  for (std::string_view s : kStates) out.Sample({{"state", std::string(s)}}, One(st.state() == s));
  out.Family("sluice_node_state_since_seconds", Type::kGauge,
             "When the node entered its current state, seconds since the Unix epoch.");
  out.Sample({}, Seconds(st.state_since_us()));
  out.Family("sluice_active_target", Type::kGauge,
             "1 for the target that is active (serves reads and decides synchronous writes), 0 "
             "for every other target.");
  for (const auto& t : st.targets()) out.Sample({{"target", t.name()}}, One(t.active()));
}

void WriteStreams(const v1::StatusResponse& st, MetricsWriter& out) {
  out.Family(
      "sluice_records_admitted_total", Type::kCounter,
      "Records journaled on the stream (its durable head LSN): producers' records and the "
      "service's own (switch markers, synchronous-write intents and outcomes, state events).");
  for (const auto& s : st.streams()) out.Sample({{"stream", s.name()}}, s.head_lsn());
  out.Family("sluice_stream_journal_bytes", Type::kGauge,
             "Bytes of the stream's journal segments on disk.");
  for (const auto& s : st.streams()) out.Sample({{"stream", s.name()}}, s.bytes());
  out.Family("sluice_stream_priority", Type::kGauge,
             "The stream's priority: a target's appliers apply higher ones first.");
  for (const auto& s : st.streams()) out.Sample({{"stream", s.name()}}, static_cast<double>(s.priority()));
}

void WriteAppliers(const v1::StatusResponse& st, const OpenErrorCounts& open_errors,
                   MetricsWriter& out) {
  auto labels = [](const v1::ApplierStatus& a) -> Labels {
    return {{"target", a.target()}, {"stream", a.stream()}};
  };
  out.Family("sluice_records_applied_total", Type::kCounter,
             "Records of the stream the target has applied or passed (its watermark LSN); "
             "sluice_records_admitted_total minus this is the lag.");
  for (const auto& a : st.appliers()) out.Sample(labels(a), a.applied_lsn());
  out.Family("sluice_lag_records", Type::kGauge,
             "Records journaled that the target has not applied yet.");
  for (const auto& a : st.appliers()) out.Sample(labels(a), a.lag_records());
  out.Family("sluice_lag_bytes", Type::kGauge, "Journal bytes the target has not applied yet.");
  for (const auto& a : st.appliers()) out.Sample(labels(a), a.lag_bytes());
  out.Family("sluice_oldest_unapplied_age_seconds", Type::kGauge,
             "Age of the oldest record the target has not applied (0 when caught up).");
  for (const auto& a : st.appliers()) out.Sample(labels(a), Seconds(a.oldest_unapplied_age_us()));
  out.Family("sluice_oldest_unapplied_timestamp_seconds", Type::kGauge,
             "When the oldest record the target has not applied was committed, seconds since the "
             "Unix epoch (0 when caught up).");
  for (const auto& a : st.appliers()) out.Sample(labels(a), Seconds(a.oldest_unapplied_us()));
  out.Family("sluice_apply_records_per_second", Type::kGauge,
             "Records of the stream the target applied per second, recently.");
  for (const auto& a : st.appliers()) out.Sample(labels(a), a.apply_per_s());
  out.Family("sluice_catch_up_eta_seconds", Type::kGauge,
             "Seconds until the target is caught up on the stream at the current pace; 0 when "
             "caught up, -1 when its lag does not shrink.");
  for (const auto& a : st.appliers()) out.Sample(labels(a), a.eta_s());
  out.Family(
      "sluice_records_rejected_total", Type::kCounter,
      "Records the target rejected for good since sluiced started (each goes to its error log).");
  for (const auto& a : st.appliers()) out.Sample(labels(a), a.rejected());
  out.Family(
      "sluice_open_errors", Type::kGauge,
      "Entries of the target's error log neither retried nor discarded yet (sluice errors list).");
  for (const auto& a : st.appliers()) {
    auto it = open_errors.find({a.target(), a.stream()});
    out.Sample(labels(a), it == open_errors.end() ? uint64_t{0} : it->second);
  }
}

void WriteTargets(const v1::StatusResponse& st, MetricsWriter& out) {
  out.Family("sluice_target_health", Type::kGauge,
             "1 for the target's health as the failover monitor probes it, 0 for the others.");
  for (const auto& t : st.targets()) {
    for (std::string_view h : kHealths) {
      out.Sample({{"target", t.name()}, {"health", std::string(h)}},
                 One(t.health() == h || (h == "unknown" && t.health().empty())));
    }
  }
  out.Family(
      "sluice_target_enabled", Type::kGauge,
      "1 when the target is enabled, 0 when an operator took it out (sluice target disable).");
  for (const auto& t : st.targets()) out.Sample({{"target", t.name()}}, One(t.enabled()));
  out.Family(
      "sluice_target_eligible", Type::kGauge,
      "Primaries: 1 when the target could be active, 0 when it cannot (sluice status says why).");
  for (const auto& t : st.targets()) {
    if (t.role() == "primary") out.Sample({{"target", t.name()}}, One(t.ineligible().empty()));
  }
  out.Family("sluice_target_apply_records_per_second", Type::kGauge,
             "Records the target applied per second, recently, over every stream.");
  for (const auto& t : st.targets()) out.Sample({{"target", t.name()}}, t.apply_per_s());
}

void WriteJournal(const v1::StatusResponse& st, MetricsWriter& out) {
  out.Family("sluice_journal_bytes", Type::kGauge, "Bytes of every stream's journal on disk.");
  out.Sample({}, st.journal_bytes());
  out.Family("sluice_journal_budget_bytes", Type::kGauge,
             "The journal's disk budget ([journal] budget); 0: no budget.");
  out.Sample({}, st.journal_budget_bytes());
  out.Family("sluice_journal_free_bytes", Type::kGauge,
             "Free bytes of the file system that holds the journal, as last measured.");
  out.Sample({}, st.free_bytes());
  out.Family(
      "sluice_cursor_held_bytes", Type::kGauge,
      "Bytes of closed journal segments retention keeps for the cursor (a target's, or "
      "the service's own '#...'), with configured=\"false\" for a target no longer in the config.");
  for (const auto& c : st.cursors()) {
    out.Sample({{"stream", c.stream()},
                {"cursor", c.name()},
                {"configured", c.configured() ? "true" : "false"}},
               c.held_bytes());
  }
}

void WriteSampling(const v1::StatusResponse& st, MetricsWriter& out) {
  const v1::SamplingStatus& s = st.sampling();
  out.Family("sluice_sampling_enabled", Type::kGauge, "1 when sluiced's periodic sampler runs.");
  out.Sample({}, One(s.enabled()));
  out.Family("sluice_sampling_points", Type::kGauge, "Points in the real-time point table.");
  out.Sample({}, s.points());
  out.Family("sluice_sampling_cycles_total", Type::kCounter,
             "Interval cycles the sampler sampled since sluiced started.");
  out.Sample({}, s.cycles());
  out.Family("sluice_sampling_late_total", Type::kCounter,
             "Cycles sampled later than late_tolerance_ms after their boundary.");
  out.Sample({}, s.late());
  out.Family("sluice_sampling_missed_total", Type::kCounter,
             "Interval boundaries the sampler missed (a stall, a clock jump).");
  out.Sample({}, s.missed());
}

}  // namespace

void StatusMetrics::Write(const v1::StatusResponse& status, const OpenErrorCounts& open_errors,
                          MetricsWriter& out) {
  WriteNode(status, out);
  WriteStreams(status, out);
  WriteAppliers(status, open_errors, out);
  WriteTargets(status, out);
  WriteJournal(status, out);
  WriteSampling(status, out);
}

void StatusMetrics::Collect(MetricsWriter& out) {
  Write(status_(), open_errors_ ? open_errors_() : OpenErrorCounts{}, out);
}

}  // namespace sluice::http
