#include "record/validate.h"

#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace sluice::record {
namespace {

Status CheckTimestamp(int64_t ts, std::string_view what, size_t row, const Limits& limits,
                      int64_t now_us) {
  int64_t max = now_us + limits.timestamp_max_ahead_us;
  if (ts < limits.timestamp_min_us || ts > max) {
    return Status::InvalidArgument(fmt::format(
        "{} of row {} is {} µs since 1970-01-01 UTC, outside the admitted window [{}, {}] (not "
        "before the configured minimum, not more than {} s ahead of now)",
        what, row, ts, limits.timestamp_min_us, max, limits.timestamp_max_ahead_us / 1'000'000));
  }
  return Status::OK();
}

Status CheckString(std::string_view what, size_t bytes, const Limits& limits) {
  if (bytes <= limits.max_string_length) return Status::OK();
  return Status::InvalidArgument(fmt::format("{} is {} bytes long, above limits.max_string_length = {}",
                                             what, bytes, limits.max_string_length));
}

std::string_view SqlValueKind(const v1::SqlValue& v) {
  switch (v.kind_case()) {
    case v1::SqlValue::kTextValue: return "string";
    case v1::SqlValue::kBlobValue: return "BLOB";
    case v1::SqlValue::kClobValue: return "CLOB";
    default: return "value";
  }
}

Status CheckParams(const v1::SqlStatement& st, const Limits& limits) {
  for (int p = 0; p < st.params_size(); ++p) {
    const auto& v = st.params(p);
    switch (v.kind_case()) {
      case v1::SqlValue::kTextValue:
        SLUICE_RETURN_IF_ERROR(
            CheckString(fmt::format("parameter ${} (a string)", p + 1), v.text_value().size(), limits));
        break;
      case v1::SqlValue::kBlobValue:
      case v1::SqlValue::kClobValue: {
        size_t bytes = v.has_blob_value() ? v.blob_value().size() : v.clob_value().size();
        if (bytes > limits.max_lob_size) {
          return Status::InvalidArgument(
              fmt::format("parameter ${} is a {} of {} bytes, above limits.max_lob_size = {}", p + 1,
                          SqlValueKind(v), bytes, limits.max_lob_size));
        }
        break;
      }
      default:
        break;
    }
  }
  return Status::OK();
}

Status ValidateSamples(const v1::SampleBatch& s, const Limits& limits, int64_t now_us) {
  if (s.interval() == v1::SAMPLE_INTERVAL_UNSPECIFIED || !v1::SampleInterval_IsValid(s.interval())) {
    return Status::InvalidArgument(
        fmt::format("sample batch has no valid interval ({})", static_cast<int>(s.interval())));
  }
  size_t n = static_cast<size_t>(s.point_id_size());
  if (static_cast<size_t>(s.ts_us_size()) != n || static_cast<size_t>(s.value_size()) != n ||
      static_cast<size_t>(s.quality_size()) != n) {
    return Status::InvalidArgument(
        fmt::format("sample batch columns differ in length: point_id {}, ts_us {}, value {}, quality {}",
                    n, s.ts_us_size(), s.value_size(), s.quality_size()));
  }
  if (n == 0) return Status::InvalidArgument("sample batch has no rows");
  if (n > limits.max_rows_per_record) {
    return Status::InvalidArgument(
        fmt::format("sample batch has {} rows, above the limit of {}", n, limits.max_rows_per_record));
  }
  for (size_t i = 0; i < n; ++i) {
    SLUICE_RETURN_IF_ERROR(CheckTimestamp(s.ts_us(static_cast<int>(i)), "ts_us", i, limits, now_us));
  }
  return Status::OK();
}

Status ValidateEvents(const v1::EventBatch& events, const Limits& limits, int64_t now_us) {
  if (events.events_size() == 0) return Status::InvalidArgument("event batch has no events");
  for (int i = 0; i < events.events_size(); ++i) {
    const auto& e = events.events(i);
    SLUICE_RETURN_IF_ERROR(CheckTimestamp(e.ts_us(), "ts_us", static_cast<size_t>(i), limits, now_us));
    for (auto [name, value] : {std::pair<const char*, const std::string*>{"kind", &e.kind()},
                               {"source", &e.source()},
                               {"text", &e.text()}}) {
      SLUICE_RETURN_IF_ERROR(CheckString(fmt::format("event {} field '{}'", i, name), value->size(), limits));
    }
  }
  return Status::OK();
}

Status ValidateTriggers(const v1::TriggerBatch& triggers, const Limits& limits, int64_t now_us) {
  for (int i = 0; i < triggers.samples_size(); ++i) {
    const auto& t = triggers.samples(i);
    SLUICE_RETURN_IF_ERROR(
        CheckTimestamp(t.occur_time_us(), "occur_time_us", static_cast<size_t>(i), limits, now_us));
    for (auto [name, count] : {std::pair<const char*, int>{"int", t.int_values_size()},
                               {"float", t.float_values_size()},
                               {"string", t.string_values_size()}}) {
      if (count > kMaxTriggerValues) {
        return Status::InvalidArgument(fmt::format(
            "trigger sample {} has {} {} values, above the {} {} columns of a burst table", i, count,
            name, kMaxTriggerValues, name));
      }
    }
    for (int s = 0; s < t.string_values_size(); ++s) {
      SLUICE_RETURN_IF_ERROR(CheckString(fmt::format("trigger sample {} string value {}", i, s),
                                         t.string_values(s).size(), limits));
    }
  }
  return Status::OK();
}

Status ValidateCorrection(const v1::SampleCorrection& c, std::string_view what, size_t row,
                          const Limits& limits, int64_t now_us) {
  if (c.interval() == v1::SAMPLE_INTERVAL_UNSPECIFIED || !v1::SampleInterval_IsValid(c.interval())) {
    return Status::InvalidArgument(fmt::format("{} {} has no valid interval ({})", what, row,
                                               static_cast<int>(c.interval())));
  }
  SLUICE_RETURN_IF_ERROR(CheckTimestamp(c.ts_us(), "ts_us", row, limits, now_us));
  if (c.has_old_value() != c.has_old_quality()) {
    // Both come from the one row the service read, or neither (an inserted sample).
    return Status::InvalidArgument(fmt::format(
        "{} {} (point {}, ts {}) has {} but not {}; give both (the sample it replaced) or "
        "neither (a sample it inserted)",
        what, row, c.point_id(), c.ts_us(), c.has_old_value() ? "old_value" : "old_quality",
        c.has_old_value() ? "old_quality" : "old_value"));
  }
  SLUICE_RETURN_IF_ERROR(
      CheckString(fmt::format("{} {} field 'who'", what, row), c.who().size(), limits));
  return CheckString(fmt::format("{} {} field 'why'", what, row), c.why().size(), limits);
}

// A synchronous write: KIND_SQL and KIND_MODEL carry a statement (checked by admission's
// SQL check) and no corrections; KIND_SAMPLE_MODIFY carries corrections, which its target
// applies itself, and no statement at all.
Status ValidateIntent(const v1::SyncIntent& intent, const Limits& limits, int64_t now_us) {
  if (intent.kind() != v1::SyncIntent::KIND_SAMPLE_MODIFY) {
    if (intent.corrections_size() != 0) {
      return Status::InvalidArgument(fmt::format(
          "intent of kind {} carries {} sample corrections; only KIND_SAMPLE_MODIFY may",
          v1::SyncIntent::Kind_Name(intent.kind()), intent.corrections_size()));
    }
    return CheckParams(intent.statement(), limits);
  }
  const v1::SqlStatement& st = intent.statement();
  if (!st.text().empty() || !st.dialect_text().empty() || st.params_size() != 0) {
    return Status::InvalidArgument(
        "intent of kind KIND_SAMPLE_MODIFY carries an SQL statement; its corrections are "
        "applied by the target itself and the statement must be empty");
  }
  const size_t n = static_cast<size_t>(intent.corrections_size());
  if (n == 0) {
    return Status::InvalidArgument("intent of kind KIND_SAMPLE_MODIFY carries no correction");
  }
  if (n > limits.max_rows_per_record) {
    return Status::InvalidArgument(
        fmt::format("intent of kind KIND_SAMPLE_MODIFY carries {} corrections, above the limit of {}",
                    n, limits.max_rows_per_record));
  }
  for (size_t i = 0; i < n; ++i) {
    SLUICE_RETURN_IF_ERROR(ValidateCorrection(intent.corrections(static_cast<int>(i)),
                                              "correction", i, limits, now_us));
  }
  return Status::OK();
}

}  // namespace

Status Validate(const v1::Record& r, const Limits& limits, int64_t now_us) {
  switch (r.body_case()) {
    case v1::Record::kSamples:
      return ValidateSamples(r.samples(), limits, now_us);
    case v1::Record::kEvents:
      return ValidateEvents(r.events(), limits, now_us);
    case v1::Record::kSql:
      return CheckParams(r.sql(), limits);
    case v1::Record::kIntent:
      // A synchronous write's parameters, as an asynchronous one's; its statement is
      // checked by admission's SQL check.
      return ValidateIntent(r.intent(), limits, now_us);
    case v1::Record::kCorrection:
      SLUICE_RETURN_IF_ERROR(CheckTimestamp(r.correction().ts_us(), "ts_us", 0, limits, now_us));
      if (r.correction().has_old_value() != r.correction().has_old_quality()) {
        return ValidateCorrection(r.correction(), "correction", 0, limits, now_us);
      }
      SLUICE_RETURN_IF_ERROR(CheckString("correction field 'who'", r.correction().who().size(), limits));
      return CheckString("correction field 'why'", r.correction().why().size(), limits);
    case v1::Record::kTriggers:
      return ValidateTriggers(r.triggers(), limits, now_us);
    case v1::Record::kRecall:
      for (int i = 0; i < r.recall().rows_size(); ++i) {
        SLUICE_RETURN_IF_ERROR(
            CheckTimestamp(r.recall().rows(i).ts_us(), "ts_us", static_cast<size_t>(i), limits, now_us));
      }
      return Status::OK();
    case v1::Record::kOutcome:
    case v1::Record::kSwitchMarker:
      return Status::OK();
    case v1::Record::BODY_NOT_SET:
      return Status::InvalidArgument("record has no body");
  }
  return Status::InvalidArgument("record of an unknown kind");
}

}  // namespace sluice::record
