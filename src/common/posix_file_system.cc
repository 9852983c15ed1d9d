// FileSystem on POSIX system calls (leveldb's env_posix.cc, reduced to what Sluice uses).

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "common/file_system.h"

namespace sluice {
namespace {

constexpr mode_t kFileMode = 0644;
constexpr mode_t kDirMode = 0755;

Status ClosedFileError(const std::string& path) {
  return Status::FailedPrecondition(fmt::format("file {} is already closed", path));
}

// Writes all of `data` at the descriptor's current position. write(2) may legitimately
// write less than asked (a signal, a pipe); the loop goes on until the kernel reports a
// real error such as ENOSPC, which is what the caller needs to see.
Status WriteAll(int fd, const std::string& path, std::string_view data, uint64_t* written) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("appending to", path, errno);
    }
    if (n == 0) {
      // A regular file never does this; do not spin on it.
      return Status::IOError(fmt::format("appending to {}: write made no progress with {} "
                                         "bytes left",
                                         path, data.size()));
    }
    *written += static_cast<uint64_t>(n);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status PreadAll(int fd, const std::string& path, uint64_t offset, size_t n, char* scratch,
                size_t* read) {
  *read = 0;
  while (*read < n) {
    ssize_t r = ::pread(fd, scratch + *read, n - *read, static_cast<off_t>(offset + *read));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(fmt::format("reading at offset {} of", offset + *read), path,
                               errno);
    }
    if (r == 0) break;  // end of file
    *read += static_cast<size_t>(r);
  }
  return Status::OK();
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Status Append(std::string_view data) override {
    if (fd_ < 0) return ClosedFileError(path_);
    return WriteAll(fd_, path_, data, &size_);
  }

  Status Sync() override {
    if (fd_ < 0) return ClosedFileError(path_);
    // Never retried: after a failed fdatasync the kernel may already have dropped the
    // dirty pages, so a second call can succeed without the data being on disk.
    if (::fdatasync(fd_) != 0) return Status::FromErrno("syncing", path_, errno);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return ClosedFileError(path_);
    int fd = fd_;
    fd_ = -1;
    // Not retried on EINTR: on Linux the descriptor is released regardless.
    if (::close(fd) != 0) return Status::FromErrno("closing", path_, errno);
    return Status::OK();
  }

  uint64_t Size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  int fd_;
  const std::string path_;
  uint64_t size_;  // bytes actually written, also after a failed append
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixReadableFile() override { ::close(fd_); }
  PosixReadableFile(const PosixReadableFile&) = delete;
  PosixReadableFile& operator=(const PosixReadableFile&) = delete;

  Result<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
    size_t read = 0;
    SLUICE_RETURN_IF_ERROR(PreadAll(fd_, path_, offset, n, scratch, &read));
    return read;
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::FromErrno("stat of", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  const std::string& path() const override { return path_; }

 private:
  const int fd_;
  const std::string path_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    // The pid stays in the file: LockHolder trusts it only while the lock is held.
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  PosixFileLock(const PosixFileLock&) = delete;
  PosixFileLock& operator=(const PosixFileLock&) = delete;

 private:
  const int fd_;
};

int FlockNoBlock(int fd, int operation) {
  int rc;
  do {
    rc = ::flock(fd, operation | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

// The pid a lock holder wrote into its lock file, or 0 if there is none (yet).
int ReadPid(int fd) {
  char buf[32];
  size_t n = 0;
  if (!PreadAll(fd, "", 0, sizeof(buf), buf, &n).ok()) return 0;
  int pid = 0;
  auto [end, ec] = std::from_chars(buf, buf + n, pid);
  if (ec != std::errc() || end == buf || pid <= 0) return 0;
  return pid;
}

// A holder writes its pid right after taking the lock, so a reader that finds the lock
// held may catch the file still empty; it waits briefly for the pid to appear.
int ReadHolderPid(int fd) {
  constexpr int kAttempts = 50;
  for (int i = 0; i < kAttempts; ++i) {
    if (int pid = ReadPid(fd); pid != 0) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 0;
}

Status WritePid(int fd, const std::string& path) {
  if (::ftruncate(fd, 0) != 0) return Status::FromErrno("truncating lock file", path, errno);
  const std::string pid = fmt::format("{}\n", ::getpid());
  ssize_t n;
  do {
    n = ::pwrite(fd, pid.data(), pid.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::FromErrno("writing pid to lock file", path, errno);
  if (static_cast<size_t>(n) != pid.size()) {
    return Status::IOError(fmt::format("writing pid to lock file {}: short write", path));
  }
  if (::fsync(fd) != 0) return Status::FromErrno("syncing lock file", path, errno);
  return Status::OK();
}

Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path, int flags) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, kFileMode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno("opening for writing", path, errno);
  uint64_t size = 0;
  if ((flags & O_TRUNC) == 0) {
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      Status s = Status::FromErrno("stat of", path, errno);
      ::close(fd);
      return s;
    }
    size = static_cast<uint64_t>(st.st_size);
  }
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(fd, path, size));
}

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        bool exclusive) override {
    return OpenWritable(path, O_CREAT | O_TRUNC | (exclusive ? O_EXCL : 0));
  }

  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    // O_APPEND keeps appends at the end even if something else extended the file.
    return OpenWritable(path, O_APPEND);
  }

  Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return Status::FromErrno("opening for reading", path, errno);
    return std::unique_ptr<ReadableFile>(std::make_unique<PosixReadableFile>(fd, path));
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno("opening directory", path, errno);
    Status s;
    if (::fsync(fd) != 0) s = Status::FromErrno("syncing directory", path, errno);
    ::close(fd);
    return s;
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return Status::InvalidArgument("creating directory: empty path");
    // Create each prefix in turn; an existing one is fine as long as it is a directory.
    for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
      const std::string prefix = path.substr(0, pos);
      if (::mkdir(prefix.c_str(), kDirMode) != 0 && errno != EEXIST) {
        return Status::FromErrno("creating directory", prefix, errno);
      }
      if (pos == std::string::npos) break;
    }
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("stat of", path, errno);
    if (!S_ISDIR(st.st_mode)) {
      return Status::AlreadyExists(fmt::format("creating directory {}: not a directory", path));
    }
    return Status::OK();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());  // glibc opens it O_CLOEXEC
    if (dir == nullptr) return Status::FromErrno("listing directory", path, errno);
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(dir);
      if (entry == nullptr) break;
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int err = errno;
    ::closedir(dir);
    if (err != 0) return Status::FromErrno("listing directory", path, err);
    return names;
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("stat of", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::FromErrno(fmt::format("renaming {} to", from), to, errno);
    }
    return Status::OK();
  }

  Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno("deleting", path, errno);
    return Status::OK();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return Status::FromErrno(fmt::format("truncating to {} bytes", size), path, errno);
    }
    return Status::OK();
  }

  Result<SpaceInfo> Space(const std::string& path) override {
    struct statvfs st;
    if (::statvfs(path.c_str(), &st) != 0) return Status::FromErrno("statvfs of", path, errno);
    SpaceInfo info;
    info.capacity_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    info.available_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    return info;
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
    if (fd < 0) return Status::FromErrno("opening lock file", path, errno);
    // flock, not fcntl: fcntl locks belong to the process, so a second LockFile in the
    // same process would silently succeed and closing any descriptor of the file would
    // drop the lock. flock locks belong to the open file description.
    if (int err = FlockNoBlock(fd, LOCK_EX); err != 0) {
      Status s = err == EWOULDBLOCK ? HeldError(path, ReadHolderPid(fd))
                                    : Status::FromErrno("locking", path, err);
      ::close(fd);
      return s;
    }
    if (Status s = WritePid(fd, path); !s.ok()) {
      ::close(fd);  // releases the lock too
      return s;
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
  }

  // Probing with a shared lock means that a LockFile racing with this probe can fail as
  // if the lock were held; the window is the few microseconds between the two flocks.
  Result<int> LockHolder(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return 0;
      return Status::FromErrno("opening lock file", path, errno);
    }
    int err = FlockNoBlock(fd, LOCK_SH);
    Result<int> holder = 0;
    if (err == EWOULDBLOCK) {
      int pid = ReadHolderPid(fd);
      holder = pid != 0 ? Result<int>(pid)
                        : Result<int>(Status::IOError(fmt::format(
                              "lock file {} is locked but names no pid", path)));
    } else if (err != 0) {
      holder = Status::FromErrno("probing lock", path, err);
    } else {
      ::flock(fd, LOCK_UN);
    }
    ::close(fd);
    return holder;
  }

 private:
  static Status HeldError(const std::string& path, int pid) {
    if (pid == 0) {
      return Status::FailedPrecondition(
          fmt::format("data directory lock {} is held by another process", path));
    }
    return Status::FailedPrecondition(
        fmt::format("data directory lock {} is held by pid {}", path, pid));
  }
};

}  // namespace

FileSystem* FileSystem::Default() {
  // Never destroyed, so it stays usable from other objects' destructors at exit.
  static PosixFileSystem* const fs = new PosixFileSystem();
  return fs;
}

}  // namespace sluice
