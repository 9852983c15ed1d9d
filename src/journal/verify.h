#pragma once
// Read-only checking of the journals of a data directory, for `sluice journal verify`
// (dumping them is dump.h). Nothing here ever writes, truncates or deletes: it may run
// beside a daemon that has the directory open.
//
// The verifier checks what Journal::Open's recovery checks (see journal.cc): the epoch of
// every segment against DATA_DIR/journal/EPOCH, the stream name, that its name is its
// first LSN, that segment numbers and LSNs follow on from the predecessor (so a missing
// segment is found), and every record's frame and checksum. It classifies what it finds
// the way recovery would act on it:
//   - an incomplete or invalid tail of the last segment with no valid record after it is
//     what recovery cuts off: a warning ("torn tail"), not damage; if a daemon holds the
//     directory it is the tail being written ("live tail") and not even a warning;
//   - anything else (damage in a segment that has a successor, damage with a valid record
//     after it, a missing segment, a segment of another epoch or stream) is damage:
//     recovery would refuse to open the journal.
// A segment that disappears while a live daemon's retention deletes it is not damage.
// It reads the files directly, not through a Journal: beside a live daemon it
// may count records that are written but not yet fdatasync'd.
//
// Thread safety: the functions are reentrant.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_system.h"
#include "common/status.h"
#include "journal/format.h"

namespace sluice::journal {

struct VerifyProblem {
  enum class Severity {
    kNote,     // expected in a live directory (live tail, segment deleted by retention)
    kWarning,  // harmless; recovery will deal with it (torn tail, stray file)
    kDamage,   // recovery would fail, or acknowledged data is lost
  };
  Severity severity = Severity::kDamage;
  std::string file;     // the file concerned (a segment, EPOCH, a directory)
  uint64_t offset = 0;  // byte offset in `file` (0 for whole-file problems)
  std::string message;  // says what is wrong and, for damage, what follows from it
};
std::string_view SeverityName(VerifyProblem::Severity severity);

struct StreamVerifyReport {
  std::string name;
  std::string dir;
  uint64_t segments = 0;
  uint64_t records = 0;    // valid records in the chain
  Lsn first_lsn = 0;       // first valid record; 0 when there is none
  Lsn last_lsn = 0;        // last valid record; 0 when there is none
  uint64_t bytes = 0;      // sizes of the segment files as read
  std::optional<Epoch> epoch;  // from the segment headers (the first readable one)
  std::vector<VerifyProblem> problems;

  bool damaged() const;
};

struct VerifyReport {
  std::string data_dir;
  std::optional<Epoch> epoch;  // from DATA_DIR/journal/EPOCH, when readable
  int live_pid = 0;            // pid of the daemon holding DATA_DIR/LOCK; 0 when free
  std::vector<StreamVerifyReport> streams;  // sorted by name
  std::vector<VerifyProblem> problems;      // about the directory itself (EPOCH, strays)

  bool live() const { return live_pid != 0; }
  // Any problem of severity kDamage, in the directory or in a stream.
  bool damaged() const;
};

// Checks every stream of DATA_DIR/journal. Fails (rather than reporting damage) only when
// `data_dir` is not a data directory (kNotFound: no journal/ directory) or cannot be read
// at all (I/O error listing it, probing the lock). Damage is reported in the result.
// `max_record_bytes` is the largest payload a record may have (the daemon's
// JournalOptions::max_record_bytes); longer lengths count as damage.
Result<VerifyReport> VerifyJournals(FileSystem* fs, const std::string& data_dir,
                                    uint32_t max_record_bytes);

}  // namespace sluice::journal
