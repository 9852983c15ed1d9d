#pragma once
// Admission: the last check before a record is journaled. It validates the record
// (shapes, timestamps within the configured window, SQL with a text for every target's
// dialect and nothing non-deterministic), stamps it with the node-wide admission
// sequence (its version) and the admission time, and appends it to its stream's journal.
// A record refused here is never journaled, so a corrected retry is always safe.
//
// A multi-record request is admitted whole or not at all (AdmitBatch): every record is
// validated and stamped first, and only then are they queued with one
// Journal::AppendBatch, which takes all of them or none.
//
// Versions must keep growing across restarts (converging upserts compare them), so the
// sequence is reserved in blocks persisted in DATA_DIR/state/version: after a crash the
// next version starts above every version handed out before. They must also stay above
// what the targets hold when that file is gone (a lost or replaced data directory), so
// the sequence starts no lower than a hybrid clock, VersionFloor(now): µs since the
// epoch shifted left by kVersionClockShift bits (fits a signed 64-bit column until the
// year 2255).
//
// Thread safety: safe from any thread.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "journal/journal_set.h"
#include "record/validate.h"
#include "sluice/v1/records.pb.h"

namespace sluice::admission {

struct AdmissionOptions {
  std::vector<std::string> target_dialects;  // dialects some target uses
  record::Limits limits;                     // what every record is validated against
  uint64_t version_block = 1'000'000;        // versions reserved per state write
};

// Where the records of an admitted batch went: consecutive LSNs first..last.
struct AdmittedBatch {
  journal::Lsn first = 0;
  journal::Lsn last = 0;
};

class Admitter {
 public:
  static Result<std::unique_ptr<Admitter>> Open(journal::JournalSet* journals,
                                                AdmissionOptions options);

  // Checks `record` as it would be admitted now (record::Validate, then the SQL of sql
  // and intent records); the error names the field, the row and the value.
  Status Validate(const v1::Record& record) const;
  // Validates, stamps and queues the record on `stream`; returns its LSN. With `wait`
  // it returns once the record is acknowledged (durable by default).
  Result<journal::Lsn> Admit(const std::string& stream, v1::Record record, bool wait = true);
  // Admits `records` (at least one) on `stream` as one unit: all are validated, stamped
  // (consecutive versions, one admission time) and serialized before any is queued, then
  // they are queued with one Journal::AppendBatch under consecutive LSNs. Either every
  // record is journaled or none is. A refusal of a record is kInvalidArgument
  // "record I: <reason>" (I counts from 0); a refusal of the journal (budget, free space,
  // its sticky error) is returned as the journal gives it, and journaled nothing either.
  // `client` is stamped into every record (the records of one client request share its
  // sequence: DedupTable reads it back); without it any tag the records carry is removed,
  // as a tag is the service's to give.
  // With `wait` it returns once the last record is acknowledged (durable by default).
  Result<AdmittedBatch> AdmitBatch(const std::string& stream, std::vector<v1::Record> records,
                                   const std::optional<v1::ClientTag>& client, bool wait = true);

  uint64_t last_version() const { return next_version_.load() - 1; }

 private:
  Admitter(journal::JournalSet* journals, AdmissionOptions options)
      : journals_(journals), options_(std::move(options)) {}
  // Reserves `count` consecutive versions; returns the first.
  Result<uint64_t> NextVersions(uint64_t count);

  journal::JournalSet* journals_;
  const AdmissionOptions options_;
  std::string version_path_;
  std::atomic<uint64_t> next_version_{1};
  std::mutex reserve_mu_;
  std::atomic<uint64_t> reserved_until_{0};  // versions below it are ours (written under reserve_mu_)
};

int64_t NowMicros();

// Versions per µs the hybrid clock leaves room for (2^10), far above any admission rate.
inline constexpr int kVersionClockShift = 10;
// The lowest version handed out at a start at `now_us`.
uint64_t VersionFloor(int64_t now_us);

}  // namespace sluice::admission
