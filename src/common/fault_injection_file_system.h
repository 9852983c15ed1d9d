#pragma once
// Test infrastructure: a FileSystem wrapper that injects I/O errors and simulates power
// loss (modelled on RocksDB's utilities/fault_injection_fs.h).
//
// Power loss model. The wrapper remembers, for every file written through it, how many
// bytes its last successful WritableFile::Sync made durable (a file opened with
// ReopenWritableFile starts with its size at that moment), and the creations and renames
// that no SyncDir of the directories involved has made durable yet. DropUnsyncedData()
// then puts the disk in the worst state a real power loss could leave:
//   - every such file is cut back to its synced size (by default). With
//     SetUnsyncedPageLoss(kAnyPages, seed) each unsynced 4 KiB page is instead kept or
//     lost independently, as a disk that writes back dirty pages in any order leaves
//     them: the file ends after the last page kept, and a lost page before it reads as
//     zeros;
//   - a rename not yet made durable is undone: the new name goes back to the old one and
//     a file the rename replaced comes back with the contents it had (saved at rename
//     time, cut to what was synced of it);
//   - a file whose creation was not made durable disappears.
// A rename needs a SyncDir of both its source and its destination directory.
// Known simplifications: a deletion is durable at once (a file deleted without a
// SyncDir stays deleted), so is a Truncate and a CreateDirs, and truncating an existing
// file with NewWritableFile is treated as if the file had been created empty.
// Files never written through the wrapper count as fully durable.
//
// After DropUnsyncedData the "process" that wrote the files is dead: every WritableFile
// opened before it fails Append and Sync (its Close just releases the descriptor).
//
// Thread safety: all methods, and all methods of the files it returns, may be called
// from any thread. One mutex serialises them, including the calls into the base file
// system, so that a power loss never lands in the middle of an Append.

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_system.h"

namespace sluice {

class FaultInjectionFileSystem : public FileSystem {
 public:
  // `base` is not owned and must outlive this object. The files this object returns must
  // not outlive it.
  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;
  FaultInjectionFileSystem(const FaultInjectionFileSystem&) = delete;
  FaultInjectionFileSystem& operator=(const FaultInjectionFileSystem&) = delete;

  // The error a full disk gives, for the injection methods below.
  static Status NoSpace();

  // ---- Injected errors. They apply to files of any path opened through this object.

  // The next `n` appends succeed; every one after fails with `s` and writes nothing.
  // n = 0 fails the next append.
  void FailAppendsAfter(int n, Status s);
  // When on, the next Append writes only the first half of its data to the base file and
  // returns an IOError (one shot: the flag clears itself).
  void SetShortWrite(bool on);
  // The next `n` WritableFile::Sync calls succeed; every one after fails with `s` and
  // makes nothing durable.
  void FailSyncAfter(int n, Status s);
  // Same for SyncDir.
  void FailDirSyncAfter(int n, Status s);
  // Removes every injected error, the pending short write and both ignore modes below.
  void ClearFaults();

  // ---- Breaking durability on purpose, to prove that a power-loss test catches it.

  // When on, WritableFile::Sync returns OK but makes nothing durable.
  void SetIgnoreSyncs(bool on);
  // When on, SyncDir returns OK but makes nothing durable.
  void SetIgnoreDirSyncs(bool on);

  // ---- Power loss.

  // How DropUnsyncedData loses the unsynced bytes of a file.
  enum class PageLoss {
    kPrefix,    // all of them: the file is cut back to its synced size
    kAnyPages,  // each unsynced page kept or lost at random (pseudo-random from `seed`)
  };
  void SetUnsyncedPageLoss(PageLoss mode, uint64_t seed = 0);
  static constexpr uint64_t kPageSize = 4096;

  // Drops everything not made durable, as described above, and kills open writers.
  // Returns the first error of the base file system but goes on with the rest.
  Status DropUnsyncedData();

  // ---- Counters (calls since construction, including failed and ignored ones).
  int64_t append_count() const;
  int64_t sync_count() const;
  int64_t dir_sync_count() const;
  // How many DropUnsyncedData calls happened: the writers' "process generation".
  int64_t generation() const;

  // ---- FileSystem.
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        bool exclusive) override;
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override;
  Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool Exists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status DeleteFile(const std::string& path) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Result<SpaceInfo> Space(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  Result<int> LockHolder(const std::string& path) override;

 private:
  class Writer;

  // Durability of one file's data. Shared with the writers of the file, so that a Sync
  // through a writer still lands on the right file after the file was renamed.
  struct FileState {
    uint64_t synced_size = 0;
  };

  // A creation or rename that is not durable until every directory in `pending_dirs`
  // has been synced.
  struct MetadataOp {
    enum class Kind { kCreate, kRename };
    Kind kind;
    std::string path;  // kCreate: the new file; kRename: the destination
    std::string from;  // kRename: the source
    // kRename: what the destination held before, if it existed.
    std::optional<std::string> replaced_contents;
    std::set<std::string> pending_dirs;
  };

  // An injected error that fires after `remaining` more successful calls.
  struct Countdown {
    int remaining = -1;  // -1: disarmed
    Status error;
    // Counts a call; returns the error when this call must fail.
    std::optional<Status> Tick();
  };

  // REQUIRES: mu_ held (all of these).
  Status CheckAliveLocked(int64_t generation, const std::string& path) const;
  Status RevertLocked(const MetadataOp& op);
  void MoveStateLocked(const std::string& from, const std::string& to);
  Result<std::string> DurableContentsLocked(const std::string& path);
  // kAnyPages: keeps a random subset of the pages of `path` past `synced_size`.
  Status DropRandomPagesLocked(const std::string& path, uint64_t synced_size, uint64_t size);

  FileSystem* const base_;

  mutable std::mutex mu_;
  // Everything below is guarded by mu_.
  std::map<std::string, std::shared_ptr<FileState>> files_;  // key: normalized path
  std::list<MetadataOp> pending_ops_;                         // oldest first
  Countdown append_failure_;
  Countdown sync_failure_;
  Countdown dir_sync_failure_;
  bool short_write_ = false;
  bool ignore_syncs_ = false;
  bool ignore_dir_syncs_ = false;
  PageLoss page_loss_ = PageLoss::kPrefix;
  uint64_t page_loss_state_ = 0;  // splitmix64 state for kAnyPages
  int64_t append_count_ = 0;
  int64_t sync_count_ = 0;
  int64_t dir_sync_count_ = 0;
  int64_t generation_ = 0;
};

}  // namespace sluice
