#include "admission/admitter.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "admission/sql_check.h"
#include "common/file_system.h"
#include "record/record_codec.h"

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

Status Admitter::Validate(const v1::Record& r) const {
  SLUICE_RETURN_IF_ERROR(record::Validate(r, options_.limits, NowMicros()));
  switch (r.body_case()) {
    case v1::Record::kSql:
      return CheckSqlRecord(r.sql(), options_.target_dialects);
    case v1::Record::kIntent:
      // A sample modification has no statement (record::Validate made sure of it).
      if (r.intent().kind() == v1::SyncIntent::KIND_SAMPLE_MODIFY) return Status::OK();
      return CheckSqlRecord(r.intent().statement(), options_.target_dialects);
    default:
      return Status::OK();
  }
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
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, j->Append(record::kRecordV1, payload));
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
    frames[i] = journal::AppendRecord{record::kRecordV1, payloads[i]};
  }
  SLUICE_ASSIGN_OR_RETURN(journal::Lsn first, j->AppendBatch(frames));
  AdmittedBatch out{first, first + records.size() - 1};
  if (wait) SLUICE_RETURN_IF_ERROR(j->WaitDurable(out.last));
  return out;
}

}  // namespace sluice::admission
