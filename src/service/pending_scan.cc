#include "service/pending_scan.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "journal/reader.h"
#include "record/record_codec.h"
#include "store/schema.h"

namespace sluice::service {
namespace {

// A journaled row as the target will see it: the sample, and what its converging rule
// compares.
struct Candidate {
  int64_t ts_us = 0;
  double value = 0;
  uint32_t quality = 0;
  bool manual = false;
  uint64_t version = 0;
};

// The target's rule (store/: `(excluded.manual, excluded.ver) > (t.manual, t.ver)`):
// strictly greater, so among equals the first journaled stays.
bool Replaces(const Candidate& next, const Candidate& held) {
  return std::tie(next.manual, next.version) > std::tie(held.manual, held.version);
}

v1::HistorySample ToSample(const Candidate& c) {
  v1::HistorySample s;
  s.set_ts_us(c.ts_us);
  // Both backends store a NaN value as NULL.
  if (!std::isnan(c.value)) s.set_value(c.value);
  s.set_quality(c.quality);
  s.set_manual(c.manual);
  s.set_pending(true);
  return s;
}

// Keeps the rows of the query: those of [start, end) by (point, ts), and per point the
// nearest row on each side of the range.
class Collector {
 public:
  explicit Collector(const PendingQuery& query)
      : query_(query), points_(query.point_ids.begin(), query.point_ids.end()) {
    std::sort(points_.begin(), points_.end());
  }

  void Add(int64_t point_id, const Candidate& row) {
    if (!std::binary_search(points_.begin(), points_.end(), point_id)) return;
    if (row.ts_us < query_.start_us) {
      KeepNearest(&before_, point_id, row, [](int64_t ts, int64_t held) { return ts > held; });
      return;
    }
    if (row.ts_us >= query_.end_us) {
      KeepNearest(&after_, point_id, row, [](int64_t ts, int64_t held) { return ts < held; });
      return;
    }
    ++matching_rows_;
    // Past the limit only the count goes on, so the error can say how much there is.
    if (overflowed_) return;
    auto [it, inserted] = in_range_.try_emplace({point_id, row.ts_us}, row);
    if (inserted) {
      if (in_range_.size() > query_.max_samples) {
        overflowed_ = true;
        in_range_.clear();
      }
      return;
    }
    if (Replaces(row, it->second)) it->second = row;
  }

  bool overflowed() const { return overflowed_; }
  size_t matching_rows() const { return matching_rows_; }

  history::PendingSamples Finish() {
    history::PendingSamples out;
    for (const auto& [point_id, row] : before_) out[point_id].push_back(ToSample(row));
    for (const auto& [key, row] : in_range_) out[key.first].push_back(ToSample(row));
    for (const auto& [point_id, row] : after_) out[point_id].push_back(ToSample(row));
    return out;
  }

 private:
  template <typename Nearer>
  static void KeepNearest(std::unordered_map<int64_t, Candidate>* side, int64_t point_id,
                          const Candidate& row, Nearer nearer) {
    auto [it, inserted] = side->try_emplace(point_id, row);
    if (inserted) return;
    Candidate& held = it->second;
    if (nearer(row.ts_us, held.ts_us) || (row.ts_us == held.ts_us && Replaces(row, held)))
      held = row;
  }

  const PendingQuery& query_;
  std::vector<int64_t> points_;                                // sorted
  std::map<std::pair<int64_t, int64_t>, Candidate> in_range_;  // (point, ts), in output order
  std::unordered_map<int64_t, Candidate> before_;
  std::unordered_map<int64_t, Candidate> after_;
  size_t matching_rows_ = 0;
  bool overflowed_ = false;
};

// Feeds the rows of one record to `collector`. A record the target cannot apply (not
// decodable, columns of different lengths) is not pending either: its applier sends it to
// the error log, so it never reaches the table.
void Collect(const journal::RecordView& view, v1::SampleInterval interval, Collector* collector) {
  auto record = record::DecodeRecord(view.lsn, view.type, view.payload);
  if (!record.ok()) return;
  if (record->has_samples()) {
    const v1::SampleBatch& b = record->samples();
    if (b.interval() != interval) return;
    const int n = b.point_id_size();
    if (b.ts_us_size() != n || b.value_size() != n || b.quality_size() != n) return;
    for (int i = 0; i < n; ++i) {
      collector->Add(b.point_id(i),
                     Candidate{b.ts_us(i), b.value(i), b.quality(i), false, record->version()});
    }
  } else if (record->has_correction()) {
    const v1::SampleCorrection& c = record->correction();
    if (c.interval() != interval) return;
    collector->Add(c.point_id(),
                   Candidate{c.ts_us(), c.value(), c.quality(), c.manual(), record->version()});
  }
}

constexpr size_t kReadRecords = 1024;
constexpr size_t kReadBytes = 8 << 20;

Status ScanStream(const journal::Journal& journal, journal::Lsn applied, const PendingQuery& query,
                  Collector* collector) {
  // The head as of now: what is journaled meanwhile is newer than the query.
  const journal::Lsn head = journal.durable_lsn();
  if (applied > head) {
    return Status::FailedPrecondition(fmt::format(
        "pending samples: target '{}' has applied stream '{}' up to LSN {}, above the journal's "
        "head {}: "
        "the journal was recreated, so what the target lacks cannot be known (it needs a resync)",
        query.target, journal.stream(), applied, head));
  }
  if (applied == head) return Status::OK();
  if (applied + 1 < journal.first_lsn()) {
    return Status::FailedPrecondition(fmt::format(
        "pending samples: target '{}' has applied stream '{}' up to LSN {}, but the journal keeps "
        "records "
        "from LSN {} only: retention deleted records the target never applied (it needs a resync)",
        query.target, journal.stream(), applied, journal.first_lsn()));
  }
  auto reader = journal::Reader::Open(&journal, applied + 1);
  if (!reader.ok()) {
    return reader.status().Annotate(fmt::format("pending samples: reading stream '{}' from LSN {}",
                                                journal.stream(), applied + 1));
  }
  journal::ReadBatch batch;
  while ((*reader)->next_lsn() <= head) {
    Status s = (*reader)->Read(kReadRecords, kReadBytes, &batch);
    if (!s.ok()) {
      return s.Annotate(fmt::format("pending samples: reading stream '{}' at LSN {}",
                                    journal.stream(), (*reader)->next_lsn()));
    }
    if (batch.empty()) break;
    for (const journal::RecordView& view : batch.records()) {
      if (view.lsn > head) break;
      Collect(view, query.interval, collector);
    }
  }
  return Status::OK();
}

}  // namespace

Status ValidatePendingQuery(const PendingQuery& query) {
  SLUICE_RETURN_IF_ERROR(
      store::schema::SampleTable(query.interval).status().Annotate("pending samples"));
  if (query.end_us <= query.start_us) {
    return Status::InvalidArgument(
        fmt::format("pending samples: the range [{}, {}) is empty: end must be after start",
                    query.start_us, query.end_us));
  }
  return Status::OK();
}

Result<history::PendingSamples> ScanPendingSamples(const journal::JournalSet& journals,
                                                   const AppliedPositions& applied,
                                                   const PendingQuery& query) {
  SLUICE_RETURN_IF_ERROR(ValidatePendingQuery(query));
  const std::string_view table = store::schema::SampleTableName(query.interval);
  Collector collector(query);
  for (const std::string& name : journals.stream_names()) {
    const journal::Journal* j = journals.stream(name);
    if (j == nullptr) continue;
    auto it = applied.find(name);
    SLUICE_RETURN_IF_ERROR(ScanStream(*j, it == applied.end() ? 0 : it->second, query, &collector));
  }
  if (collector.overflowed()) {
    return Status::ResourceExhausted(
        fmt::format("pending samples: {} journaled rows of {} for {} point(s) in [{}, {}) are not "
                    "applied on target "
                    "'{}' yet, more than the limit of {} samples: narrow the range or the points, "
                    "or read without "
                    "pending data",
                    collector.matching_rows(), table, query.point_ids.size(), query.start_us,
                    query.end_us, query.target, query.max_samples));
  }
  return collector.Finish();
}

}  // namespace sluice::service
