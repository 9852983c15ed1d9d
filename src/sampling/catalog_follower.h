#pragma once
// Makes the daemon's Catalog follow the model journal: "the journal decides".
//
// Catalog intents (v1::SyncIntent with `catalog` set) are remembered as they are read; a
// change is applied to the Catalog when the intent's outcome marker says applied, and
// forgotten when it says rejected. So a call answered OUTCOME_UNKNOWN whose intent is
// applied later still takes effect, and one never applied never does.
//
// The catalog is saved to a snapshot, DATA_DIR/state/sampling.json (protobuf JSON of
// v1::CatalogSnapshot, replaced atomically): the entries, the model stream's LSN it is
// current through and the intents read but not decided yet. Open() loads it and reads the
// journal after it up to the durable head, so a restart needs no database and the
// sampler starts with its definitions. It is saved after each change and every
// `save_interval` while the follower reads on, and the follower holds a journal cursor
// (`cursor`) at the snapshot's LSN, so retention never deletes what the snapshot does not
// cover. If the journal nevertheless no longer holds the LSN after the snapshot (a
// snapshot restored from elsewhere), the follower logs an error, reports it in stats()
// and stops following: it does not guess.
//
// Damage in the snapshot is an error of Open() (kCorruption) naming the file and the field.
//
// Thread safety: Start/Stop from one thread; WaitDecided and stats from any thread. The
// on_change callback runs on the follower's thread (or in Open), one call at a time.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/file_system.h"
#include "common/status.h"
#include "journal/journal_set.h"
#include "journal/reader.h"
#include "sampling/catalog.h"

namespace sluice::sampling {

struct CatalogFollowerOptions {
  FileSystem* fs = FileSystem::Default();
  std::string path;  // usually DATA_DIR/state/sampling.json
  std::string stream = "model";
  std::string cursor = "#sampling";  // empty: none
  std::chrono::milliseconds save_interval{10'000};
  // After each change applied to the catalog.
  std::function<void()> on_change;
};

struct CatalogFollowerStats {
  uint64_t lsn = 0;        // the model stream is read through this LSN
  uint64_t saved_lsn = 0;  // the snapshot on disk is current through this LSN
  size_t pending = 0;      // catalog intents read, not decided yet
  uint64_t applied = 0;    // changes applied since Open
  uint64_t rejected = 0;   // catalog intents whose outcome was "rejected"
  std::string error;       // why the follower stopped ("" while it follows)
};

class CatalogFollower {
 public:
  // `journals` and `catalog` must outlive the follower.
  static Result<std::unique_ptr<CatalogFollower>> Open(journal::JournalSet* journals,
                                                       Catalog* catalog,
                                                       CatalogFollowerOptions options);
  ~CatalogFollower();  // Stop()

  // Follows the journal on a thread of its own.
  void Start();
  // Stops the thread and saves the snapshot; returns the save's status.
  Status Stop();

  // Waits until the outcome of the catalog intent at `intent_lsn` has been read (and, if
  // applied, applied to the catalog and announced through on_change). False when
  // `timeout` passed first.
  bool WaitDecided(uint64_t intent_lsn, std::chrono::milliseconds timeout);

  CatalogFollowerStats stats() const;
  Status Save();

 private:
  CatalogFollower(journal::JournalSet* journals, Catalog* catalog, CatalogFollowerOptions options)
      : journals_(journals), catalog_(catalog), options_(std::move(options)) {}
  Status LoadSnapshot();
  // Reads what is durable after lsn_; returns the number of records read, or the error
  // that stops the follower.
  Result<size_t> ReadAvailable();
  void Run(std::stop_token stop);

  journal::JournalSet* const journals_;
  Catalog* const catalog_;
  const CatalogFollowerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t lsn_ = 0;                               // GUARDED_BY(mu_)
  uint64_t saved_lsn_ = 0;                         // GUARDED_BY(mu_)
  std::map<uint64_t, v1::CatalogChange> pending_;  // GUARDED_BY(mu_)
  // Intents decided in the batch being read, until on_change has run for it: WaitDecided
  // does not return for them before whoever follows the catalog has been told.
  std::set<uint64_t> deciding_;  // GUARDED_BY(mu_)
  uint64_t applied_ = 0;                           // GUARDED_BY(mu_)
  uint64_t rejected_ = 0;                          // GUARDED_BY(mu_)
  std::string error_;                              // GUARDED_BY(mu_)
  bool changed_since_save_ = false;                // GUARDED_BY(mu_)

  // Used by Open, then by the follower's thread only.
  std::unique_ptr<journal::Reader> reader_;
  std::mutex save_mu_;  // one save at a time
  std::jthread thread_;
};

}  // namespace sluice::sampling
