#pragma once
// End-to-end de-duplication of client commits (DESIGN guarantee 2).
//
// Each client has a persistent id and, per stream, a sequence: its commits on a stream
// carry 1, 2, 3, ... and one is admitted only if its sequence is the next one (last + 1).
// A client that lost an acknowledgement resubmits; the resubmission is refused with
// FAILED_PRECONDITION "expected sequence N", which tells the client it was admitted.
//
// The (client, sequence) of a commit is stamped into every record it journals
// (Record.client), so the journal itself is the durable truth. The table is kept in
// memory and written to a snapshot, DATA_DIR/state/dedup.json (replaced atomically):
//
//   {"format": 1, "epoch": "<journal epoch>",
//    "marks": {"samples": 1234, ...},          // per stream: the snapshot covers LSN <= mark
//    "clients": {"scada-1": {"last_seen_us": ..., "streams": {"samples": 42}}}}
//
// On Open the snapshot is loaded and every stream's records after its mark are scanned,
// taking the highest sequence per client: a stale snapshot (a crash long after it was
// written) never lets an acknowledged commit be admitted twice. Save() flushes the
// journals first and excludes commits in progress, so a snapshot never holds a sequence
// whose records are not durable, and its marks cover every sequence it holds.
//
// With `cursor` set, the table holds a journal cursor of that name on every stream and
// moves it to the marks of each snapshot written, so retention never deletes records the
// last snapshot does not cover (a crash then still finds them for the rebuild).
//
// A client idle for longer than `idle_forget` is forgotten (its next sequence is 1 again;
// a client learns that from Hello).
//
// Concurrency: Begin() locks (client, stream) until the Ticket is released, so two
// concurrent commits with the same sequence cannot both pass; the caller journals the
// records while it holds the ticket and calls Admitted().
//
// Thread safety: all methods are safe from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "common/file_system.h"
#include "common/status.h"
#include "journal/journal_set.h"

namespace sluice::admission {

struct DedupOptions {
  FileSystem* fs = FileSystem::Default();
  std::string path;    // usually DATA_DIR/state/dedup.json
  std::string cursor;  // journal cursor held at the snapshot's marks; empty: none
  std::chrono::microseconds idle_forget = std::chrono::hours(24 * 30);
  // Wall clock in µs since the epoch; tests replace it.
  std::function<int64_t()> now_us;
};

struct DedupRebuildStats {
  bool snapshot_loaded = false;
  uint64_t records_scanned = 0;  // journal records read after the snapshot's marks
  uint64_t tagged_records = 0;   // of those, records that carried a client tag
};

class DedupTable {
 public:
  // Loads the snapshot at options.path (if any) and rebuilds from each stream of
  // `journals` after the snapshot's mark. Fails with kCorruption naming the file when
  // the snapshot cannot be parsed. `journals` must outlive the table.
  static Result<std::unique_ptr<DedupTable>> Open(journal::JournalSet* journals,
                                                  DedupOptions options);
  ~DedupTable();  // stops the background thread (does not save)

  class Ticket;
  // Locks (client, stream) and checks `sequence` == last + 1; otherwise
  // kFailedPrecondition "client 'C' on stream 'S': sequence X is not the next one,
  // expected sequence N". REQUIRES: client non-empty.
  Result<Ticket> Begin(const std::string& client, const std::string& stream, uint64_t sequence);

  // The highest admitted sequence of a client on a stream (0: none).
  uint64_t LastSequence(const std::string& client, const std::string& stream) const;
  // Per stream, for Hello. Counts as activity of the client.
  std::map<std::string, uint64_t> Hello(const std::string& client);

  // Writes the snapshot (flushing every journal first) and moves the cursor to its marks.
  // OK without writing when neither the table nor the journals changed since the last.
  Status Save();
  // Forgets clients idle for longer than idle_forget; returns how many.
  size_t ForgetIdle();
  size_t client_count() const;
  const DedupRebuildStats& rebuild_stats() const { return rebuild_stats_; }

  // Saves and forgets idle clients every `interval` on a background thread.
  void StartBackground(std::chrono::milliseconds interval);
  // Stops the background thread, then saves once more.
  Status Stop();

 private:
  struct StreamEntry {
    std::mutex admit_mu;  // held by a Ticket
    uint64_t last = 0;    // guarded by DedupTable::mu_
  };
  struct ClientEntry {
    int64_t last_seen_us = 0;
    std::map<std::string, std::shared_ptr<StreamEntry>, std::less<>> streams;
  };

  DedupTable(journal::JournalSet* journals, DedupOptions options);
  Status LoadSnapshot(std::map<std::string, uint64_t>* marks);
  Status Rebuild(const std::map<std::string, uint64_t>& marks);
  void NoteSequence(const std::string& client, const std::string& stream, uint64_t sequence,
                    int64_t seen_us);
  int64_t Now() const { return options_.now_us(); }
  void BackgroundLoop(std::chrono::milliseconds interval);

  journal::JournalSet* journals_;
  DedupOptions options_;
  DedupRebuildStats rebuild_stats_;

  // Commits with a ticket hold it shared; Save() holds it exclusively while it flushes
  // the journals and copies the table.
  std::shared_mutex snapshot_mu_;
  mutable std::mutex mu_;
  std::map<std::string, ClientEntry, std::less<>> clients_;  // guarded by mu_
  bool dirty_ = false;                                       // guarded by mu_
  std::mutex save_mu_;                                       // one Save at a time
  std::map<std::string, uint64_t> saved_marks_;              // guarded by save_mu_

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;  // guarded by bg_mu_
  std::thread bg_thread_;
};

// Holds (client, stream) between the sequence check and the journaling of its records.
// Move-only; releasing it (destruction) lets the next commit of that client and stream in.
class DedupTable::Ticket {
 public:
  Ticket(Ticket&&) = default;
  Ticket& operator=(Ticket&&) = default;
  ~Ticket() = default;

  // The commit's records (at least one) are journaled: its sequence is now the last.
  void Admitted();
  uint64_t sequence() const { return sequence_; }

 private:
  friend class DedupTable;
  Ticket(DedupTable* table, std::shared_lock<std::shared_mutex> snapshot_guard,
         std::shared_ptr<StreamEntry> entry, uint64_t sequence);

  DedupTable* table_;
  // Declared before the entry lock so it is released after it.
  std::shared_lock<std::shared_mutex> snapshot_guard_;
  std::shared_ptr<StreamEntry> entry_;
  std::unique_lock<std::mutex> entry_lock_;
  uint64_t sequence_;
};

}  // namespace sluice::admission
