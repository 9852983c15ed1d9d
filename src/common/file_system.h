#pragma once
// The one seam between Sluice and the filesystem (leveldb's Env, RocksDB's FileSystem).
// Everything that must survive a crash goes through it, so tests can wrap it to inject
// ENOSPC, short writes, failed fdatasync, and simulated power loss
// (see fault_injection_file_system.h).
//
// Thread safety: a FileSystem is safe to use from many threads. A WritableFile or
// ReadableFile is used by one thread at a time, except ReadableFile::ReadAt, which is
// safe to call concurrently.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` at the end of the file. A short write is reported as an error;
  // nothing is retried silently.
  virtual Status Append(std::string_view data) = 0;
  // fdatasync: everything appended so far survives power loss once this returns OK.
  virtual Status Sync() = 0;
  // Closes the file; later calls fail. Does not sync.
  virtual Status Close() = 0;
  // Bytes in the file, including those not yet synced.
  virtual uint64_t Size() const = 0;
  virtual const std::string& path() const = 0;
};

class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to `n` bytes at `offset` into `scratch`; returns the bytes read (fewer at the
  // end of the file, zero past it).
  virtual Result<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual Result<uint64_t> Size() const = 0;
  virtual const std::string& path() const = 0;
};

// Held while a data directory is in use; releasing it (destruction) unlocks.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct SpaceInfo {
  uint64_t capacity_bytes = 0;
  uint64_t available_bytes = 0;  // for an unprivileged user (statvfs f_bavail)
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The real filesystem. Never null; lives for the whole process.
  static FileSystem* Default();

  // Creates `path` (failing if it exists when `exclusive`, else truncating it).
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                bool exclusive) = 0;
  // Opens an existing file for appending at its end.
  virtual Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) = 0;

  // fsync of a directory: makes creations, renames and deletions in it durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Creates the directory and its missing parents (mkdir -p). Does not sync them.
  virtual Status CreateDirs(const std::string& path) = 0;
  // Names of the entries in a directory, without "." and "..", in no particular order.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Cuts a file to `size` bytes. Does not sync.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual Result<SpaceInfo> Space(const std::string& path) = 0;

  // Takes an exclusive lock on `path` (created if missing) and writes this process's pid
  // into it. If another process holds it, fails with kFailedPrecondition and a message
  // naming the holder's pid.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // The pid written in a lock file whose lock is held by a live process, or 0 when the
  // lock is free. Does not take the lock.
  virtual Result<int> LockHolder(const std::string& path) = 0;
};

// Replaces `path` atomically with `contents`: writes `path`.tmp, syncs it, renames it over
// `path`, and syncs the directory (the step leveldb's SetCurrentFile forgot).
Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view contents);

// Reads a whole file into a string.
Result<std::string> ReadWholeFile(FileSystem* fs, const std::string& path);

// The directory part of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string DirName(const std::string& path);
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace sluice
