#pragma once
// The local error log of one target: DATA_DIR/errors/TARGET.log, JSON lines, appended
// and fsynced. It holds every record the target rejected permanently (with the record
// itself, so it can be retried after its journal segment is gone) and what the operator
// did about it. The target's own sluice_error table holds the same rejections, written
// in the same transaction as the watermark moving past them.
//
// A rejection is logged here *before* the target's transaction, so a crash in between
// can log it twice (the record is retried on restart and fails again); List() folds the
// log by (epoch, stream, LSN), so an operator sees it once. The journal's epoch is part
// of the key: a new epoch (the journal directory replaced, this log kept) numbers its
// records from 1 again, and its rejection at an LSN an old entry has is another record.
// Entries written before the epoch was logged have epoch "" and match any epoch in
// Find() and MarkResolved().
//
// A crash in the middle of an append leaves a torn last line. The next append (after a
// restart, or after a failed append) first ends it with a newline, so the torn bytes stay
// a line of their own; reading skips a line that is not JSON with a warning naming the
// file and line (and recovers an entry glued to a torn line by an older binary), so a
// torn line never breaks List() or a retry. A line that is JSON but not an entry is
// damage, reported as kCorruption with the file and line.
//
// Thread safety: safe from any thread (appends are serialised).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/file_system.h"
#include "common/status.h"

namespace sluice::replicate {

struct ErrorRecord {
  std::string epoch;         // the journal's epoch (hex); "" in entries of older binaries
  std::string target;
  std::string stream;
  uint64_t lsn = 0;
  std::string kind;          // record kind
  std::string message;       // the target's message
  std::string record_b64;    // the serialized record, base64
  std::string payload_json;  // the record, readable
  int64_t failed_at_us = 0;
  // open | retried | discarded | applied (in its order, after its rejection) | withdrawn
  // (the target itself failed, or a resync replaced what it held) | accepted (the
  // operator accepted that the target differs: no longer evidence of divergence)
  std::string state = "open";
  int64_t resolved_at_us = 0;
};

struct ErrorFilter {
  std::optional<std::string> target;
  std::optional<std::string> stream;
  std::optional<int64_t> since_us;
  std::optional<int64_t> until_us;
  bool include_resolved = false;
};

class ErrorLog {
 public:
  ErrorLog(FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}

  Status AppendRejection(const ErrorRecord& record);
  // Records what became of the rejection at (epoch, stream, lsn): the operator retried
  // (successfully) or discarded it, or the record was applied in its order after all.
  Status MarkResolved(const std::string& epoch, const std::string& stream, uint64_t lsn,
                      const std::string& state);
  // The rejections, folded by (epoch, stream, LSN), in LSN order per stream and epoch.
  Result<std::vector<ErrorRecord>> List(const ErrorFilter& filter) const;
  // The rejection at (epoch, stream, lsn); an entry without an epoch matches too.
  Result<ErrorRecord> Find(const std::string& epoch, const std::string& stream, uint64_t lsn) const;
  // How many rejections are open, per stream (streams without one are absent). Asked on
  // every alarm pass and /metrics scrape, so it reads the log again only when it changed:
  // the log is append-only, and every append goes through this object, so an unchanged
  // size and no append since the last count mean the same contents.
  Result<std::map<std::string, uint64_t>> OpenCountsByStream() const;

  const std::string& path() const { return path_; }

 private:
  Status AppendLine(const std::string& line);

  FileSystem* fs_;
  const std::string path_;
  mutable std::mutex mu_;
  std::unique_ptr<WritableFile> file_;  // guarded by mu_
  uint64_t appends_ = 0;                // guarded by mu_; lines appended by this object

  // The last OpenCountsByStream answer and what it was computed from; guarded by mu_.
  struct OpenCounts {
    uint64_t file_size = 0;
    uint64_t appends = 0;
    std::map<std::string, uint64_t> by_stream;
  };
  mutable std::optional<OpenCounts> open_counts_;
};

// Every target's rejections under DATA_DIR/errors/, filtered.
Result<std::vector<ErrorRecord>> ListErrors(FileSystem* fs, const std::string& data_dir,
                                            const ErrorFilter& filter);

int64_t NowMicros();

}  // namespace sluice::replicate
