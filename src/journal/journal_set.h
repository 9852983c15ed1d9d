#pragma once
// The journals of one data directory: the exclusive directory lock, the epoch, one
// Journal per stream, the shared disk budget, the named durable cursors and retention.
//
// Layout:
//   DATA_DIR/LOCK                 flock held while open; holds the owner's pid
//   DATA_DIR/journal/EPOCH        32 hex digits, random, written once
//   DATA_DIR/journal/STREAM/*.seg segments (see format.h)
//   DATA_DIR/state/cursors.json   named cursors, replaced atomically
//
// Cursors: each consumer of a stream (one per target) has a named cursor: the LSN up to
// which it has applied. Segments are deleted once every cursor of their stream has
// passed them. Advancing a cursor is cheap and in memory; cursors are persisted by
// FlushCursors() and always before retention deletes anything, so a crash can only
// leave a cursor behind where it was (which keeps more, never less).
//
// Thread safety: all methods are safe from any thread.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/file_system.h"
#include "journal/journal.h"
#include "journal/space_account.h"

namespace sluice::journal {

enum class RetentionPolicy {
  kHold,    // keep everything the cursor has not applied; appends fail at the budget
  kDetach,  // past its budget the cursor is marked "needs resync" and holds nothing
};
std::string_view RetentionPolicyName(RetentionPolicy policy);
std::optional<RetentionPolicy> ParseRetentionPolicy(std::string_view name);

struct CursorOptions {
  uint64_t budget_bytes = 0;  // 0: no budget
  RetentionPolicy policy = RetentionPolicy::kHold;
};

struct CursorState {
  std::string stream;
  std::string name;
  Lsn lsn = 0;  // everything <= lsn is applied
  CursorOptions options;
  bool needs_resync = false;
  std::string resync_reason;
};

struct StreamOptions {
  std::string name;
  uint64_t reserved_bytes = 0;
};

struct JournalSetOptions {
  FileSystem* fs = FileSystem::Default();
  std::string data_dir;
  std::vector<StreamOptions> streams;
  uint64_t segment_bytes = 64ull << 20;
  uint32_t max_record_bytes = 16u << 20;
  AckMode ack_mode = AckMode::kDurable;
  uint64_t budget_bytes = 0;            // 0: no total budget
  uint64_t free_space_floor_bytes = 0;  // 0: no floor
  // Retention runs in the background this often; 0 means only when RunRetention() is
  // called.
  std::chrono::milliseconds retention_interval{0};
};

struct RetentionReport {
  uint64_t bytes_freed = 0;
  std::vector<std::string> detached;  // "stream/cursor" marked needs resync now
};

class JournalSet {
 public:
  // Locks the data directory (kFailedPrecondition naming the holder's pid if another
  // process has it), creates or checks the epoch, and opens every stream's journal.
  static Result<std::unique_ptr<JournalSet>> Open(const JournalSetOptions& options);
  ~JournalSet();

  // The journal of a stream, or null when no such stream was configured.
  Journal* stream(std::string_view name) const;
  std::vector<std::string> stream_names() const;
  const Epoch& epoch() const { return epoch_; }
  SpaceAccount& space() { return *space_; }

  // Creates the cursor if it does not exist (at LSN 0: it holds the whole journal) and
  // persists it; updates its options if it does.
  Status RegisterCursor(const std::string& stream, const std::string& name,
                        const CursorOptions& options);
  // Moves a cursor forward (in memory). Never moves it back.
  Status AdvanceCursor(const std::string& stream, const std::string& name, Lsn lsn);
  Result<CursorState> GetCursor(const std::string& stream, const std::string& name) const;
  std::vector<CursorState> Cursors() const;
  // Clears "needs resync" (after an operator resynchronised the target) and sets its LSN.
  Status ResetCursor(const std::string& stream, const std::string& name, Lsn lsn);
  // Marks the cursor "needs resync" with `reason`, so it holds nothing any more: its
  // consumer found that what it needs is gone (a target added after retention deleted the
  // start of the stream), and holding more would only stop retention. Persisted.
  Status DetachCursor(const std::string& stream, const std::string& name, const std::string& reason);
  // Removes every cursor named `name` (on any stream) and persists the change; returns
  // how many there were (0: none, nothing changed). For consumers that are gone for good
  // (a target removed from the config): their cursors would hold the journal forever.
  Result<size_t> DropCursors(const std::string& name);
  // Persists the cursors if they changed.
  Status FlushCursors();

  // Detaches cursors past their budget (policy detach), then deletes every segment all
  // remaining cursors of its stream have passed. A stream with no cursor keeps all.
  Result<RetentionReport> RunRetention();

  const JournalSetOptions& options() const { return options_; }

 private:
  explicit JournalSet(const JournalSetOptions& options) : options_(options) {}
  Status LoadCursors();
  Status SaveCursorsLocked();
  void RetentionLoop();

  const JournalSetOptions options_;
  std::unique_ptr<FileLock> lock_;
  Epoch epoch_{};
  std::unique_ptr<SpaceAccount> space_;
  std::map<std::string, std::unique_ptr<Journal>, std::less<>> journals_;

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, CursorState> cursors_;  // guarded by mu_
  bool cursors_dirty_ = false;                                          // guarded by mu_
  std::mutex retention_mu_;  // one retention pass at a time

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread retention_thread_;
};

}  // namespace sluice::journal
