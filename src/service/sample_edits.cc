#include "service/sample_edits.h"

#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "store/schema.h"

namespace sluice::service {
namespace {

std::string EditName(int index, const v1::SampleEdit& e) {
  return fmt::format("edits[{}] (point {}, ts {})", index, e.point_id(), e.ts_us());
}

Result<double> NumberOf(const v1::SqlValue& v) {
  switch (v.kind_case()) {
    case v1::SqlValue::kNullValue:
      return std::numeric_limits<double>::quiet_NaN();
    case v1::SqlValue::kDoubleValue:
      return v.double_value();
    case v1::SqlValue::kIntValue:
      return static_cast<double>(v.int_value());
    default:
      return Status::Internal("not a number");
  }
}

}  // namespace

Status CheckSampleEdits(const v1::ModifySamplesRequest& request, const SampleEditLimits& limits,
                        const std::function<bool(int64_t)>& known_point, int64_t now_us) {
  const int interval = request.interval();
  if (interval == v1::SAMPLE_INTERVAL_UNSPECIFIED || !v1::SampleInterval_IsValid(interval)) {
    return Status::InvalidArgument(fmt::format(
        "interval {} is not a sample interval; give one of the ten (1s ... 1d)", interval));
  }
  if (request.edits_size() == 0) return Status::InvalidArgument("no edit given");
  if (request.edits_size() > kMaxSampleEdits) {
    return Status::InvalidArgument(
        fmt::format("{} edits in one request, above the limit of {}; send them in several requests",
                    request.edits_size(), kMaxSampleEdits));
  }
  if (request.why().empty()) {
    return Status::InvalidArgument("why is empty; a manual correction needs its reason");
  }
  if (request.why().size() > limits.max_string_length) {
    return Status::InvalidArgument(
        fmt::format("why is {} bytes long, above limits.max_string_length = {}",
                    request.why().size(), limits.max_string_length));
  }
  const int64_t latest_us = now_us + limits.timestamp_max_ahead_us;
  std::map<SampleKey, int> seen;
  for (int i = 0; i < request.edits_size(); ++i) {
    const v1::SampleEdit& e = request.edits(i);
    if (!known_point(e.point_id())) {
      return Status::InvalidArgument(
          fmt::format("{}: point {} is not in the catalog", EditName(i, e), e.point_id()));
    }
    if (e.ts_us() < limits.timestamp_min_us || e.ts_us() > latest_us) {
      return Status::InvalidArgument(fmt::format(
          "{}: ts {} µs since 1970-01-01 UTC is outside the admitted window [{}, {}] (not "
          "before [limits] timestamp_min, not more than {} s ahead of now)",
          EditName(i, e), e.ts_us(), limits.timestamp_min_us, latest_us,
          limits.timestamp_max_ahead_us / 1'000'000));
    }
    if (!e.has_value() && !e.has_quality()) {
      return Status::InvalidArgument(fmt::format(
          "{}: neither value nor quality is given; an edit sets one or both", EditName(i, e)));
    }
    if (e.has_value() && !std::isfinite(e.value())) {
      return Status::InvalidArgument(
          fmt::format("{}: value {} is not a finite number", EditName(i, e), e.value()));
    }
    auto [it, inserted] = seen.try_emplace(SampleKey{e.point_id(), e.ts_us()}, i);
    if (!inserted) {
      return Status::InvalidArgument(
          fmt::format("{}: the same sample as edits[{}]; edit a sample once per request",
                      EditName(i, e), it->second));
    }
  }
  return Status::OK();
}

std::vector<v1::SqlStatement> StoredSampleReads(const v1::ModifySamplesRequest& request,
                                                std::string_view table) {
  std::vector<v1::SqlStatement> reads;
  const size_t n = static_cast<size_t>(request.edits_size());
  for (size_t first = 0; first < n; first += kEditsPerRead) {
    const size_t last = std::min(n, first + kEditsPerRead);
    // Integer literals only, so the text is safe to build and the same on every dialect.
    std::string sql = fmt::format(
        "SELECT point_id, ts, value, quality FROM {} WHERE (point_id, ts) IN (VALUES ", table);
    for (size_t i = first; i < last; ++i) {
      const v1::SampleEdit& e = request.edits(static_cast<int>(i));
      fmt::format_to(std::back_inserter(sql), "{}({}, {})", i == first ? "" : ", ", e.point_id(),
                     e.ts_us());
    }
    sql += ")";
    reads.emplace_back().set_text(std::move(sql));
  }
  return reads;
}

Status AddStoredRows(const std::vector<std::vector<v1::SqlValue>>& rows, StoredSamples* stored) {
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    auto value = row.size() == 4 ? NumberOf(row[2]) : Result<double>(Status::Internal(""));
    if (row.size() != 4 || row[0].kind_case() != v1::SqlValue::kIntValue ||
        row[1].kind_case() != v1::SqlValue::kIntValue || !value.ok() ||
        row[3].kind_case() != v1::SqlValue::kIntValue) {
      return Status::Internal(
          fmt::format("reading the stored samples: row {} is not (point_id, ts, value, quality) as "
                      "integers and a number: {} columns",
                      r, row.size()));
    }
    (*stored)[SampleKey{row[0].int_value(), row[1].int_value()}] =
        StoredSample{*value, static_cast<uint32_t>(row[3].int_value())};
  }
  return Status::OK();
}

Result<v1::SyncIntent> BuildSampleModify(const v1::ModifySamplesRequest& request,
                                         const StoredSamples& stored, const std::string& who) {
  std::vector<std::string> missing;
  size_t missing_count = 0;
  v1::SyncIntent intent;
  intent.set_kind(v1::SyncIntent::KIND_SAMPLE_MODIFY);
  intent.set_request_id(request.request_id());
  for (int i = 0; i < request.edits_size(); ++i) {
    const v1::SampleEdit& e = request.edits(i);
    auto found = stored.find(SampleKey{e.point_id(), e.ts_us()});
    if (found == stored.end() && !request.insert_missing()) {
      if (missing.size() < kMissingSamplesShown) missing.push_back(EditName(i, e));
      ++missing_count;
      continue;
    }
    if (found == stored.end() && !e.has_value()) {
      return Status::InvalidArgument(fmt::format(
          "{}: the sample does not exist and no value is given; an inserted sample needs "
          "its value",
          EditName(i, e)));
    }
    v1::SampleCorrection* c = intent.add_corrections();
    c->set_interval(request.interval());
    c->set_point_id(e.point_id());
    c->set_ts_us(e.ts_us());
    c->set_value(e.has_value() ? e.value() : found->second.value);
    // An inserted sample without a quality given is good (then marked substituted).
    const uint32_t kept =
        found != stored.end() ? found->second.quality : static_cast<uint32_t>(v1::QUALITY_GOOD);
    const uint32_t quality = e.has_quality() ? e.quality() : kept;
    c->set_quality(quality | v1::QUALITY_SUBSTITUTED);
    c->set_manual(true);
    c->set_who(who);
    c->set_why(request.why());
    if (found != stored.end()) {
      c->set_old_value(found->second.value);
      c->set_old_quality(found->second.quality);
    }
    c->set_correct_recall(request.correct_recall());
  }
  if (missing_count > 0) {
    std::string names = fmt::format("{}", fmt::join(missing, ", "));
    if (missing_count > missing.size()) {
      names += fmt::format(" and {} more", missing_count - missing.size());
    }
    return Status::NotFound(
        fmt::format("{} of the {} edited samples do not exist in {}: {}; nothing was changed (set "
                    "insert_missing to insert them)",
                    missing_count, request.edits_size(),
                    store::schema::SampleTableName(request.interval()), names));
  }
  return intent;
}

}  // namespace sluice::service
