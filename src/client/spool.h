#pragma once
// The client's local spool: the commits the service could not take yet, kept in a
// JournalSet in the spool directory (one journal stream per service stream) until they
// are delivered, in order.
//
// Layout (the JournalSet's, see journal/journal_set.h):
//   SPOOL_DIR/LOCK, SPOOL_DIR/journal/EPOCH, SPOOL_DIR/journal/STREAM/*.seg
//   SPOOL_DIR/state/cursors.json   one cursor per stream, named "resubmit"
//   SPOOL_DIR/rejected/            commits the service refused for good, one file each
//
// Records of a spool journal:
//   kEntryRecord   a serialized v1::CommitRequest, with its sequence, or sequence 0 when
//                  it was spooled before the client ever reached the service and its
//                  number was not known ("unnumbered").
//   kAnchorRecord  numbers the unnumbered entries before it: the entry at LSN `first_lsn`
//                  + k gets sequence `base` + k. It is written (durably) once the service
//                  told the client its last sequence, before any of those entries is
//                  sent. Unnumbered entries are appended back to back (nothing else is
//                  written to the stream until they are numbered), so the entries from
//                  `first_lsn` to the anchor are exactly the ones it numbers.
//   kRejectRecord  the entry at `entry_lsn` was refused for good by the service, so its
//                  sequence was not consumed: every entry after it and before this record
//                  moves down by one.
// Anchor and reject records come after every entry they concern, so retention (which
// deletes from the front) never drops a rule that a retained entry still needs. The
// cursor of a stream is the LSN up to which everything is delivered.
//
// Numbers: the entries of a stream are numbered when they are appended if the next
// sequence is known, otherwise later by an anchor; so the pending entries of a stream are
// either all numbered or all unnumbered.
//
// Thread safety: all methods are safe from any thread. Appends to one stream must be
// ordered by the caller (the client holds the stream's lock).

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/file_system.h"
#include "journal/journal_set.h"
#include "journal/reader.h"
#include "sluice/v1/service.pb.h"

namespace sluice::client {

inline constexpr uint16_t kEntryRecord = 1;
inline constexpr uint16_t kAnchorRecord = 2;
inline constexpr uint16_t kRejectRecord = 3;
inline constexpr char kResubmitCursor[] = "resubmit";

struct SpoolOptions {
  FileSystem* fs = FileSystem::Default();
  std::string dir;
  uint64_t segment_bytes = 16ull << 20;
  uint32_t max_record_bytes = 64u << 20;
  uint64_t budget_bytes = 0;
};

// An entry not delivered yet.
struct PendingEntry {
  journal::Lsn lsn = 0;
  uint64_t sequence = 0;  // 0: unnumbered
};

// One spooled commit as read back.
struct SpooledCommit {
  journal::Lsn lsn = 0;
  v1::CommitRequest request;  // request.sequence as stored (0: unnumbered)
};

class Spool {
 public:
  static Result<std::unique_ptr<Spool>> Open(SpoolOptions options);
  ~Spool();

  // Every stream that has a journal in the spool.
  std::vector<std::string> streams() const;

  // The entries of `stream` after its cursor, in order, with their sequences after the
  // anchor and reject rules (0 where no anchor numbered them yet).
  Result<std::vector<PendingEntry>> Pending(const std::string& stream) const;

  // Queues `request` (its sequence may be 0) on its stream's journal, creating the
  // stream when needed; returns its LSN without waiting for it to be durable.
  Result<journal::Lsn> Queue(const v1::CommitRequest& request);
  // Waits until record `lsn` of `stream` is durable.
  Status WaitDurable(const std::string& stream, journal::Lsn lsn);
  // Queue + WaitDurable.
  Result<journal::Lsn> Append(const v1::CommitRequest& request);
  // Durably numbers the unnumbered entries of `stream` from `first_lsn` on from `base`.
  Status AppendAnchor(const std::string& stream, journal::Lsn first_lsn, uint64_t base);
  // Durably records that the entry at `entry_lsn` was refused with `message`, and keeps
  // a copy of the request under SPOOL_DIR/rejected/.
  Status AppendReject(const std::string& stream, const SpooledCommit& entry, uint64_t sequence,
                      const std::string& message);

  // Up to `max_entries` entries of `stream` from `from_lsn` on (anchor and reject records
  // are skipped).
  Result<std::vector<SpooledCommit>> Read(const std::string& stream, journal::Lsn from_lsn,
                                          size_t max_entries);

  // Highest LSN of `stream` (0 when it has no journal or nothing in it).
  journal::Lsn last_lsn(const std::string& stream) const;
  // Marks everything of `stream` up to `lsn` delivered (in memory; see Flush).
  Status MarkDelivered(const std::string& stream, journal::Lsn lsn);
  // Persists the cursors and deletes the segments every record of which is delivered.
  Status Flush();

  const std::string& dir() const { return options_.dir; }

 private:
  explicit Spool(SpoolOptions options) : options_(std::move(options)) {}
  // REQUIRES: mu_ held exclusively. (Re)opens the set with `streams`.
  Status OpenSetLocked(const std::vector<std::string>& streams);
  // REQUIRES: mu_ held (any mode).
  Status CheckStreamLocked(const std::string& stream) const;

  const SpoolOptions options_;
  // Shared: using the set; exclusive: reopening it to add a stream.
  mutable std::shared_mutex mu_;
  std::unique_ptr<journal::JournalSet> set_;  // guarded by mu_
  uint64_t generation_ = 0;                   // guarded by mu_; bumped on every reopen

  // Read positions, kept between Read calls so that draining reads each segment once.
  struct ReaderState {
    uint64_t generation = 0;
    std::unique_ptr<journal::Reader> reader;
  };
  std::mutex readers_mu_;
  std::map<std::string, ReaderState> readers_;  // guarded by readers_mu_
};

// Whether a service stream name can be a spool stream (the journal's rule).
bool ValidStreamName(std::string_view name);

}  // namespace sluice::client
