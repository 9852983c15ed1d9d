#include "common/file_system.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice_fs_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(std::string_view name) const { return JoinPath(dir_, name); }

  void WriteFile(const std::string& path, std::string_view contents) {
    auto file = fs_->NewWritableFile(path, /*exclusive=*/false);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Append(contents).ok());
    ASSERT_TRUE((*file)->Close().ok());
  }

  std::string ReadFile(const std::string& path) {
    auto contents = ReadWholeFile(fs_, path);
    EXPECT_TRUE(contents.ok()) << contents.status().ToString();
    return contents.ok() ? *contents : "<error>";
  }

  // The pid LockHolder reports, or -1 (and a test failure) when it fails.
  int HolderOf(const std::string& path) {
    auto holder = fs_->LockHolder(path);
    EXPECT_TRUE(holder.ok()) << holder.status().ToString();
    return holder.ok() ? *holder : -1;
  }

  FileSystem* fs_ = FileSystem::Default();
  std::string dir_;
};

TEST_F(FileSystemTest, AppendSyncAndReadBack) {
  const std::string path = Path("a");
  auto file = fs_->NewWritableFile(path, /*exclusive=*/true);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->path(), path);
  EXPECT_EQ((*file)->Size(), 0u);
  ASSERT_TRUE((*file)->Append("hello ").ok());
  ASSERT_TRUE((*file)->Append("").ok());
  ASSERT_TRUE((*file)->Append("world").ok());
  EXPECT_EQ((*file)->Size(), 11u);
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_FALSE((*file)->Append("more").ok());
  EXPECT_FALSE((*file)->Sync().ok());

  EXPECT_EQ(ReadFile(path), "hello world");
  auto size = fs_->FileSize(path);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 11u);
}

TEST_F(FileSystemTest, ReadAtHonoursOffsetsAndEndOfFile) {
  const std::string path = Path("r");
  WriteFile(path, "0123456789");
  auto file = fs_->NewReadableFile(path);
  ASSERT_TRUE(file.ok());
  char buf[16];
  auto n = (*file)->ReadAt(3, 4, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "3456");
  n = (*file)->ReadAt(8, 16, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "89");
  n = (*file)->ReadAt(100, 16, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  auto size = (*file)->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 10u);
}

TEST_F(FileSystemTest, MissingFilesAreNotFound) {
  EXPECT_EQ(fs_->NewReadableFile(Path("nope")).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->FileSize(Path("nope")).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->ReopenWritableFile(Path("nope")).status().code(), Code::kNotFound);
  Status s = fs_->DeleteFile(Path("nope"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr(Path("nope")));
  EXPECT_FALSE(fs_->Exists(Path("nope")));
}

TEST_F(FileSystemTest, ExclusiveCreateRefusesAnExistingFile) {
  const std::string path = Path("x");
  WriteFile(path, "keep me");
  auto again = fs_->NewWritableFile(path, /*exclusive=*/true);
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(ReadFile(path), "keep me");
  // Non-exclusive creation truncates.
  WriteFile(path, "new");
  EXPECT_EQ(ReadFile(path), "new");
}

TEST_F(FileSystemTest, ReopenAppendsAtTheEnd) {
  const std::string path = Path("log");
  WriteFile(path, "abc");
  auto file = fs_->ReopenWritableFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->Size(), 3u);
  ASSERT_TRUE((*file)->Append("def").ok());
  EXPECT_EQ((*file)->Size(), 6u);
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(ReadFile(path), "abcdef");
}

TEST_F(FileSystemTest, AppendErrorNamesTheFileAndKeepsErrno) {
  // /dev/full fails every write with ENOSPC: a real disk-full error without a full disk.
  if (!fs_->Exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto file = fs_->NewWritableFile("/dev/full", /*exclusive=*/false);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  Status s = (*file)->Append("data");
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_TRUE(s.retryable());
  EXPECT_THAT(s.message(), HasSubstr("/dev/full"));
  EXPECT_THAT(s.message(), HasSubstr("No space left on device"));
  EXPECT_EQ((*file)->Size(), 0u);
}

TEST_F(FileSystemTest, RenameDeleteTruncate) {
  WriteFile(Path("a"), "first");
  WriteFile(Path("b"), "second");
  ASSERT_TRUE(fs_->RenameFile(Path("a"), Path("b")).ok());
  EXPECT_FALSE(fs_->Exists(Path("a")));
  EXPECT_EQ(ReadFile(Path("b")), "first");

  ASSERT_TRUE(fs_->Truncate(Path("b"), 2).ok());
  EXPECT_EQ(ReadFile(Path("b")), "fi");

  ASSERT_TRUE(fs_->DeleteFile(Path("b")).ok());
  EXPECT_FALSE(fs_->Exists(Path("b")));
  Status s = fs_->RenameFile(Path("a"), Path("c"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr(Path("a")));
}

TEST_F(FileSystemTest, ListDirAndCreateDirs) {
  const std::string nested = Path("x/y/z");
  ASSERT_TRUE(fs_->CreateDirs(nested).ok());
  ASSERT_TRUE(fs_->CreateDirs(nested).ok()) << "mkdir -p is idempotent";
  ASSERT_TRUE(fs_->CreateDirs(nested + "/").ok());
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  WriteFile(Path("f1"), "1");
  WriteFile(Path("f2"), "2");

  auto names = fs_->ListDir(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, UnorderedElementsAre("x", "f1", "f2"));
  EXPECT_EQ(fs_->ListDir(Path("missing")).status().code(), Code::kNotFound);

  // A file in the way is an error, not a silent success.
  EXPECT_FALSE(fs_->CreateDirs(Path("f1")).ok());
  EXPECT_FALSE(fs_->CreateDirs(Path("f1/sub")).ok());
  EXPECT_TRUE(fs_->SyncDir(dir_).ok());
  EXPECT_FALSE(fs_->SyncDir(Path("missing")).ok());
}

TEST_F(FileSystemTest, SpaceReportsTheFilesystem) {
  auto space = fs_->Space(dir_);
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  EXPECT_GT(space->capacity_bytes, 0u);
  EXPECT_LE(space->available_bytes, space->capacity_bytes);
  EXPECT_FALSE(fs_->Space(Path("missing")).ok());
}

TEST_F(FileSystemTest, WriteFileAtomicallyReplacesAndLeavesNoTemporary) {
  const std::string path = Path("CURRENT");
  ASSERT_TRUE(WriteFileAtomically(fs_, path, "v1").ok());
  EXPECT_EQ(ReadFile(path), "v1");
  ASSERT_TRUE(WriteFileAtomically(fs_, path, "version two").ok());
  EXPECT_EQ(ReadFile(path), "version two");
  auto names = fs_->ListDir(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, UnorderedElementsAre("CURRENT"));
}

TEST_F(FileSystemTest, WriteFileAtomicallyFailureKeepsTheTarget) {
  // A non-empty directory cannot be replaced by a file: the rename fails.
  const std::string path = Path("state");
  ASSERT_TRUE(fs_->CreateDirs(path + "/inner").ok());
  Status s = WriteFileAtomically(fs_, path, "new");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_TRUE(std::filesystem::is_directory(path + "/inner"));
  EXPECT_FALSE(fs_->Exists(path + ".tmp")) << "the temporary is cleaned up";
}

TEST(PathTest, DirName) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("a/b/c/"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName(""), ".");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(DirName("/"), "/");
  EXPECT_EQ(DirName("a//b"), "a");
  EXPECT_EQ(DirName("/data/journal/s1/000001.seg"), "/data/journal/s1");
}

TEST(PathTest, JoinPath) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("a", "/b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "/b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("a", ""), "a");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
}

// ---- Locks.

TEST_F(FileSystemTest, LockWritesPidAndExcludesASecondLocker) {
  const std::string path = Path("LOCK");
  EXPECT_EQ(HolderOf(path), 0) << "no lock file yet";
  auto lock = fs_->LockFile(path);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ(ReadFile(path), fmt::format("{}\n", ::getpid()));

  auto holder = fs_->LockHolder(path);
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  EXPECT_EQ(*holder, ::getpid());

  // flock locks belong to the open file description, so this conflicts even in-process.
  auto second = fs_->LockFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            fmt::format("data directory lock {} is held by pid {}", path, ::getpid()));

  lock->reset();
  EXPECT_EQ(HolderOf(path), 0);
  auto third = fs_->LockFile(path);
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST_F(FileSystemTest, LockHolderDoesNotTakeTheLock) {
  const std::string path = Path("LOCK");
  auto lock = fs_->LockFile(path);
  ASSERT_TRUE(lock.ok());
  lock->reset();
  // The file still names us, but nobody holds the lock: the pid must not be trusted.
  EXPECT_EQ(ReadFile(path), fmt::format("{}\n", ::getpid()));
  EXPECT_EQ(HolderOf(path), 0);
  EXPECT_TRUE(fs_->LockFile(path).ok());
}

// Runs `child` in a forked process and returns its exit status (or -1 if it did not exit).
template <typename F>
int RunInChild(F child) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(child());
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST_F(FileSystemTest, LockExcludesAnotherProcess) {
  const std::string path = Path("LOCK");
  auto lock = fs_->LockFile(path);
  ASSERT_TRUE(lock.ok());
  const pid_t parent = ::getpid();
  int rc = RunInChild([&] {
    auto attempt = FileSystem::Default()->LockFile(path);
    if (attempt.ok()) return 1;
    if (attempt.status().code() != Code::kFailedPrecondition) return 2;
    if (attempt.status().message().find(fmt::format("held by pid {}", parent)) ==
        std::string::npos) {
      return 3;
    }
    auto holder = FileSystem::Default()->LockHolder(path);
    if (!holder.ok() || *holder != parent) return 4;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST_F(FileSystemTest, LockOfADeadProcessIsFree) {
  const std::string path = Path("LOCK");
  int ready[2];
  int release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = FileSystem::Default()->LockFile(path);
    char c = lock.ok() ? 'y' : 'n';
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    // Hold the lock until the parent has checked, then die without releasing it.
    if (::read(release[0], &c, 1) != 1) ::_exit(1);
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');

  auto attempt = fs_->LockFile(path);
  EXPECT_FALSE(attempt.ok());
  EXPECT_THAT(attempt.status().message(), HasSubstr(fmt::format("held by pid {}", child)));
  auto holder = fs_->LockHolder(path);
  ASSERT_TRUE(holder.ok());
  EXPECT_EQ(*holder, child);

  ASSERT_EQ(::write(release[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);

  EXPECT_EQ(HolderOf(path), 0);
  auto after = fs_->LockFile(path);
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

}  // namespace
}  // namespace sluice
