#include "admission/admitter.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "admission/sql_check.h"
#include "common/file_system.h"

namespace sluice::admission {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t VersionFloor(int64_t now_us) {
  return now_us <= 0 ? 1 : static_cast<uint64_t>(now_us) << kVersionClockShift;
}

Result<std::unique_ptr<Admitter>> Admitter::Open(journal::JournalSet* journals, AdmissionOptions options) {
  std::unique_ptr<Admitter> a(new Admitter(journals, std::move(options)));
  FileSystem* fs = journals->options().fs;
  a->version_path_ = JoinPath(JoinPath(journals->options().data_dir, "state"), "version");
  uint64_t start = 1;
  if (fs->Exists(a->version_path_)) {
    SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, a->version_path_));
    try {
      size_t used = 0;
      start = std::stoull(text, &used);
      if (used == 0) throw std::invalid_argument("empty");
    } catch (const std::exception&) {
      return Status::Corruption(fmt::format("{}: '{}' is not a version number", a->version_path_, text));
    }
  }
  // A hybrid clock: never below the wall clock in the high bits, so a data directory
  // that was lost or replaced (no state/version) still starts above every version its
  // targets hold, as long as the clock did not go back and versions were not handed
  // out faster than 2^kClockShift per µs on average.
  start = std::max(start, VersionFloor(NowMicros()));
  a->next_version_ = start;
  a->reserved_until_ = start;  // nothing reserved yet in this run
  return a;
}

Result<uint64_t> Admitter::NextVersions(uint64_t count) {
  uint64_t v = next_version_.fetch_add(count);
  if (v + count <= reserved_until_) return v;  // benign race: re-checked under the lock below
  std::lock_guard lk(reserve_mu_);
  if (v + count > reserved_until_) {
    // Whoever writes raises the mark above every version handed out so far, so the mark
    // only grows whatever order the threads take the lock in.
    uint64_t until = v + count + options_.version_block;
    SLUICE_RETURN_IF_ERROR(WriteFileAtomically(journals_->options().fs, version_path_,
                                               fmt::format("{}\n", until))
                               .Annotate("reserving admission versions"));
    reserved_until_.store(until);
  }
  return v;
}

Status Admitter::CheckTimestamp(int64_t ts, std::string_view what, size_t row, int64_t now_us) const {
  int64_t max = now_us + options_.timestamp_max_ahead_us;
  if (ts < options_.timestamp_min_us || ts > max) {
    return Status::InvalidArgument(fmt::format(
        "{} of row {} is {} µs since 1970-01-01 UTC, outside the admitted window [{}, {}] (not "
        "before the configured minimum, not more than {} s ahead of now)",
        what, row, ts, options_.timestamp_min_us, max, options_.timestamp_max_ahead_us / 1'000'000));
  }
  return Status::OK();
}

Status Admitter::Validate(const v1::Record& r) const {
  const int64_t now = NowMicros();  // once per record, not per row
  switch (r.body_case()) {
    case v1::Record::kSamples: {
      const auto& s = r.samples();
      if (s.interval() == v1::SAMPLE_INTERVAL_UNSPECIFIED || !v1::SampleInterval_IsValid(s.interval())) {
        return Status::InvalidArgument(fmt::format("sample batch has no valid interval ({})",
                                                   static_cast<int>(s.interval())));
      }
      size_t n = static_cast<size_t>(s.point_id_size());
      if (static_cast<size_t>(s.ts_us_size()) != n || static_cast<size_t>(s.value_size()) != n ||
          static_cast<size_t>(s.quality_size()) != n) {
        return Status::InvalidArgument(fmt::format(
            "sample batch columns differ in length: point_id {}, ts_us {}, value {}, quality {}", n,
            s.ts_us_size(), s.value_size(), s.quality_size()));
      }
      if (n == 0) return Status::InvalidArgument("sample batch has no rows");
      if (n > options_.max_rows_per_record) {
        return Status::InvalidArgument(fmt::format("sample batch has {} rows, above the limit of {}", n,
                                                   options_.max_rows_per_record));
      }
      for (size_t i = 0; i < n; ++i) SLUICE_RETURN_IF_ERROR(CheckTimestamp(s.ts_us(static_cast<int>(i)), "ts_us", i, now));
      return Status::OK();
    }
    case v1::Record::kEvents: {
      if (r.events().events_size() == 0) return Status::InvalidArgument("event batch has no events");
      for (int i = 0; i < r.events().events_size(); ++i) {
        const auto& e = r.events().events(i);
        SLUICE_RETURN_IF_ERROR(CheckTimestamp(e.ts_us(), "ts_us", static_cast<size_t>(i), now));
        for (const std::string* f : {&e.kind(), &e.source(), &e.text()}) {
          if (f->size() > options_.max_string_length) {
            return Status::InvalidArgument(fmt::format("event {} has a string of {} bytes, above the limit of {}",
                                                       i, f->size(), options_.max_string_length));
          }
        }
      }
      return Status::OK();
    }
    case v1::Record::kSql:
      return CheckSqlRecord(r.sql(), options_.target_dialects);
    case v1::Record::kIntent:
      return CheckSqlRecord(r.intent().statement(), options_.target_dialects);
    case v1::Record::kCorrection:
      return CheckTimestamp(r.correction().ts_us(), "ts_us", 0, now);
    case v1::Record::kTriggers:
      for (int i = 0; i < r.triggers().samples_size(); ++i) {
        SLUICE_RETURN_IF_ERROR(CheckTimestamp(r.triggers().samples(i).occur_time_us(), "occur_time_us", static_cast<size_t>(i), now));
      }
      return Status::OK();
    case v1::Record::kRecall:
      for (int i = 0; i < r.recall().rows_size(); ++i) {
        SLUICE_RETURN_IF_ERROR(CheckTimestamp(r.recall().rows(i).ts_us(), "ts_us", static_cast<size_t>(i), now));
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

Result<journal::Lsn> Admitter::Admit(const std::string& stream, v1::Record record, bool wait) {
  journal::Journal* j = journals_->stream(stream);
  if (j == nullptr) return Status::NotFound(fmt::format("no stream '{}'", stream));
  SLUICE_RETURN_IF_ERROR(Validate(record));
  SLUICE_ASSIGN_OR_RETURN(uint64_t version, NextVersions(1));
  record.set_version(version);
  record.set_admitted_at_us(NowMicros());
  std::string payload;
  record.SerializeToString(&payload);
  // Frame type 1 is a v1::Record (replicate/record_codec.h: kRecordV1).
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, j->Append(1, payload));
  if (wait) SLUICE_RETURN_IF_ERROR(j->WaitDurable(lsn));
  return lsn;
}

Result<AdmittedBatch> Admitter::AdmitBatch(const std::string& stream, std::vector<v1::Record> records,
                                           const std::optional<v1::ClientTag>& client, bool wait) {
  journal::Journal* j = journals_->stream(stream);
  if (j == nullptr) return Status::NotFound(fmt::format("no stream '{}'", stream));
  if (records.empty()) return Status::InvalidArgument(fmt::format("a batch for stream '{}' has no records", stream));
  // Everything that can refuse one record is checked before anything is queued: that is
  // what makes the batch all or nothing (the journal itself then takes all or none).
  for (size_t i = 0; i < records.size(); ++i) {
    Status s = Validate(records[i]);
    if (!s.ok()) return s.Annotate(fmt::format("record {}", i));
  }
  // Versions are taken only for a batch that passed validation; one that the size check
  // below refuses leaves a gap, which is harmless (versions only need to grow).
  SLUICE_ASSIGN_OR_RETURN(uint64_t version, NextVersions(records.size()));
  const int64_t now = NowMicros();
  std::vector<std::string> payloads(records.size());
  std::vector<journal::AppendRecord> frames(records.size());
  const uint32_t max_bytes = j->options().max_record_bytes;
  for (size_t i = 0; i < records.size(); ++i) {
    v1::Record& r = records[i];
    r.set_version(version + i);
    r.set_admitted_at_us(now);
    if (client) {
      *r.mutable_client() = *client;
    } else {
      r.clear_client();
    }
    r.SerializeToString(&payloads[i]);
    if (payloads[i].size() > max_bytes) {
      // The journal would refuse it too, but without saying which record it was.
      return Status::InvalidArgument(fmt::format(
          "record {}: {} bytes serialized, above the maximum record size of {} bytes of stream '{}'",
          i, payloads[i].size(), max_bytes, stream));
    }
    // Frame type 1 is a v1::Record (replicate/record_codec.h: kRecordV1).
    frames[i] = journal::AppendRecord{1, payloads[i]};
  }
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn first, j->AppendBatch(frames));
  AdmittedBatch out{first, first + records.size() - 1};
  if (wait) SLUICE_RETURN_IF_ERROR(j->WaitDurable(out.last));
  return out;
}

}  // namespace sluice::admission
