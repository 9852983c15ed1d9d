#include "common/fault_injection_file_system.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice {
namespace {

using ::testing::HasSubstr;

class FaultInjectionFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice_fifs_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(std::string_view name) const { return JoinPath(dir_, name); }

  std::unique_ptr<WritableFile> Create(const std::string& path) {
    auto file = fs_.NewWritableFile(path, /*exclusive=*/true);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(file).value() : nullptr;
  }

  // Creates `path` holding `contents`, synced and closed, its directory entry durable.
  void CreateDurable(const std::string& path, std::string_view contents) {
    auto file = Create(path);
    ASSERT_NE(file, nullptr);
    ASSERT_TRUE(file->Append(contents).ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Close().ok());
    ASSERT_TRUE(fs_.SyncDir(DirName(path)).ok());
  }

  // Contents of `path` on the real disk, or "<missing>".
  std::string Contents(const std::string& path) {
    if (!base_->Exists(path)) return "<missing>";
    auto contents = ReadWholeFile(base_, path);
    EXPECT_TRUE(contents.ok()) << contents.status().ToString();
    return contents.ok() ? *contents : "<error>";
  }

  void PowerLoss() { ASSERT_TRUE(fs_.DropUnsyncedData().ok()); }

  FileSystem* base_ = FileSystem::Default();
  FaultInjectionFileSystem fs_{base_};
  std::string dir_;
};

// ---- Power loss: file data.

TEST_F(FaultInjectionFileSystemTest, UnsyncedTailIsDroppedSyncedDataKept) {
  const std::string path = Path("seg");
  auto file = Create(path);
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  ASSERT_TRUE(file->Append("durable|").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append("lost").ok());
  EXPECT_EQ(Contents(path), "durable|lost") << "nothing is dropped before the power loss";

  PowerLoss();
  EXPECT_EQ(Contents(path), "durable|");
}

// A disk may write dirty pages back in any order: after a power loss a later unsynced
// page can be there while an earlier one is not (a hole of zeros).
TEST_F(FaultInjectionFileSystemTest, UnsyncedPagesCanBeLostInAnyOrder) {
  constexpr uint64_t kPage = FaultInjectionFileSystem::kPageSize;
  const std::string synced(kPage + 100, 's');  // the synced size ends inside page 1
  std::string unsynced;
  for (int i = 0; i < 8; ++i) unsynced.append(kPage, static_cast<char>('a' + i));
  int out_of_order = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    const std::string path = Path(fmt::format("seg{}", seed));
    FaultInjectionFileSystem fs(base_);
    fs.SetUnsyncedPageLoss(FaultInjectionFileSystem::PageLoss::kAnyPages, seed);
    {
      auto file = fs.NewWritableFile(path, /*exclusive=*/true);
      ASSERT_TRUE(file.ok());
      ASSERT_TRUE(fs.SyncDir(dir_).ok());
      ASSERT_TRUE((*file)->Append(synced).ok());
      ASSERT_TRUE((*file)->Sync().ok());
      ASSERT_TRUE((*file)->Append(unsynced).ok());
      ASSERT_TRUE(fs.DropUnsyncedData().ok());
    }
    const std::string after = Contents(path);
    const std::string written = synced + unsynced;
    ASSERT_GE(after.size(), synced.size());
    ASSERT_LE(after.size(), written.size());
    EXPECT_EQ(after.substr(0, synced.size()), synced) << "synced bytes must survive";
    // Every page past the synced size is either what was written or all zeros, and
    // the file ends at a page boundary or where the writes ended.
    EXPECT_TRUE(after.size() % kPage == 0 || after.size() == written.size() ||
                after.size() == synced.size());
    bool hole = false;
    for (uint64_t at = synced.size(); at < after.size();) {
      uint64_t end = std::min<uint64_t>((at / kPage + 1) * kPage, after.size());
      std::string_view got = std::string_view(after).substr(at, end - at);
      std::string_view want = std::string_view(written).substr(at, end - at);
      if (got != want) {
        EXPECT_EQ(got, std::string(got.size(), '\0')) << "page at " << at;
        hole = true;
      }
      at = end;
    }
    if (hole) ++out_of_order;
  }
  EXPECT_GT(out_of_order, 0) << "no seed lost an earlier page and kept a later one";
}

TEST_F(FaultInjectionFileSystemTest, NeverSyncedFileInASyncedDirectoryIsEmpty) {
  const std::string path = Path("seg");
  auto file = Create(path);
  ASSERT_TRUE(file->Append("not synced").ok());
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  PowerLoss();
  EXPECT_EQ(Contents(path), "");
}

TEST_F(FaultInjectionFileSystemTest, ReopenedFileCountsExistingBytesAsSynced) {
  const std::string path = Path("old");
  ASSERT_TRUE(WriteFileAtomically(base_, path, "before|").ok());
  auto file = fs_.ReopenWritableFile(path);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("after").ok());
  PowerLoss();
  EXPECT_EQ(Contents(path), "before|");
}

TEST_F(FaultInjectionFileSystemTest, WritersOpenedBeforePowerLossAreDead) {
  const std::string path = Path("seg");
  CreateDurable(path, "abc");
  auto file = fs_.ReopenWritableFile(path);
  ASSERT_TRUE(file.ok());
  PowerLoss();
  EXPECT_EQ(fs_.generation(), 1);
  Status append = (*file)->Append("zombie");
  EXPECT_FALSE(append.ok());
  EXPECT_THAT(append.message(), HasSubstr(path));
  EXPECT_FALSE((*file)->Sync().ok());
  EXPECT_TRUE((*file)->Close().ok());
  EXPECT_EQ(Contents(path), "abc");

  // The restarted process writes normally.
  auto reopened = fs_.ReopenWritableFile(path);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)->Append("def").ok());
  ASSERT_TRUE((*reopened)->Sync().ok());
  PowerLoss();
  EXPECT_EQ(Contents(path), "abcdef");
}

// ---- Power loss: directory entries.

TEST_F(FaultInjectionFileSystemTest, FileCreatedWithoutDirSyncVanishes) {
  const std::string path = Path("seg");
  auto file = Create(path);
  ASSERT_TRUE(file->Append("synced data").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  PowerLoss();
  EXPECT_FALSE(base_->Exists(path));
}

TEST_F(FaultInjectionFileSystemTest, FileCreatedWithDirSyncSurvives) {
  const std::string path = Path("seg");
  CreateDurable(path, "synced data");
  PowerLoss();
  EXPECT_EQ(Contents(path), "synced data");
}

TEST_F(FaultInjectionFileSystemTest, SyncOfAnotherDirectoryDoesNotHelp) {
  ASSERT_TRUE(fs_.CreateDirs(Path("a")).ok());
  ASSERT_TRUE(fs_.CreateDirs(Path("b")).ok());
  auto file = Create(Path("a/seg"));
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir(Path("b")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  PowerLoss();
  EXPECT_FALSE(base_->Exists(Path("a/seg")));
}

TEST_F(FaultInjectionFileSystemTest, PathsAreComparedNormalized) {
  const std::string path = dir_ + "//./seg";
  CreateDurable(path, "x");  // syncs DirName(path) == dir_ + "//."
  auto file = Create(Path("seg2"));
  ASSERT_TRUE(fs_.SyncDir(dir_ + "/").ok());
  PowerLoss();
  EXPECT_EQ(Contents(Path("seg")), "x");
  EXPECT_TRUE(base_->Exists(Path("seg2")));
}

TEST_F(FaultInjectionFileSystemTest, RenameOverExistingFileRevertedWithoutDirSync) {
  const std::string path = Path("CURRENT");
  CreateDurable(path, "v1");
  // WriteFileAtomically without its final step.
  auto tmp = Create(path + ".tmp");
  ASSERT_TRUE(tmp->Append("v2").ok());
  ASSERT_TRUE(tmp->Sync().ok());
  ASSERT_TRUE(tmp->Close().ok());
  ASSERT_TRUE(fs_.RenameFile(path + ".tmp", path).ok());
  EXPECT_EQ(Contents(path), "v2");

  PowerLoss();
  EXPECT_EQ(Contents(path), "v1");
  EXPECT_FALSE(base_->Exists(path + ".tmp")) << "its creation was never durable either";
}

TEST_F(FaultInjectionFileSystemTest, RenameRevertRestoresTheSourceName) {
  CreateDurable(Path("tmp"), "new");
  CreateDurable(Path("target"), "old");
  ASSERT_TRUE(fs_.RenameFile(Path("tmp"), Path("target")).ok());
  PowerLoss();
  EXPECT_EQ(Contents(Path("target")), "old");
  EXPECT_EQ(Contents(Path("tmp")), "new");
}

TEST_F(FaultInjectionFileSystemTest, RenameToAFreshNameRevertedWithoutDirSync) {
  CreateDurable(Path("a"), "payload");
  ASSERT_TRUE(fs_.RenameFile(Path("a"), Path("b")).ok());
  PowerLoss();
  EXPECT_FALSE(base_->Exists(Path("b")));
  EXPECT_EQ(Contents(Path("a")), "payload");
}

TEST_F(FaultInjectionFileSystemTest, RenameChainUnwindsToTheStart) {
  CreateDurable(Path("a"), "payload");
  ASSERT_TRUE(fs_.RenameFile(Path("a"), Path("b")).ok());
  ASSERT_TRUE(fs_.RenameFile(Path("b"), Path("c")).ok());
  PowerLoss();
  EXPECT_EQ(Contents(Path("a")), "payload");
  EXPECT_FALSE(base_->Exists(Path("b")));
  EXPECT_FALSE(base_->Exists(Path("c")));
}

TEST_F(FaultInjectionFileSystemTest, RenameKeptWithDirSync) {
  CreateDurable(Path("target"), "old");
  CreateDurable(Path("tmp"), "new");
  ASSERT_TRUE(fs_.RenameFile(Path("tmp"), Path("target")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  PowerLoss();
  EXPECT_EQ(Contents(Path("target")), "new");
  EXPECT_FALSE(base_->Exists(Path("tmp")));
}

TEST_F(FaultInjectionFileSystemTest, CrossDirectoryRenameNeedsBothDirectories) {
  ASSERT_TRUE(fs_.CreateDirs(Path("from")).ok());
  ASSERT_TRUE(fs_.CreateDirs(Path("to")).ok());
  CreateDurable(Path("from/f"), "data");
  ASSERT_TRUE(fs_.RenameFile(Path("from/f"), Path("to/f")).ok());
  ASSERT_TRUE(fs_.SyncDir(Path("to")).ok());
  PowerLoss();
  EXPECT_EQ(Contents(Path("from/f")), "data");
  EXPECT_FALSE(base_->Exists(Path("to/f")));

  ASSERT_TRUE(fs_.RenameFile(Path("from/f"), Path("to/f")).ok());
  ASSERT_TRUE(fs_.SyncDir(Path("to")).ok());
  ASSERT_TRUE(fs_.SyncDir(Path("from")).ok());
  PowerLoss();
  EXPECT_EQ(Contents(Path("to/f")), "data");
  EXPECT_FALSE(base_->Exists(Path("from/f")));
}

TEST_F(FaultInjectionFileSystemTest, SyncAfterRenameLandsOnTheNewName) {
  CreateDurable(Path("a"), "");
  auto file = fs_.ReopenWritableFile(Path("a"));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(fs_.RenameFile(Path("a"), Path("b")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  ASSERT_TRUE((*file)->Append("written after the rename").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Append(" and lost").ok());
  PowerLoss();
  EXPECT_EQ(Contents(Path("b")), "written after the rename");
}

TEST_F(FaultInjectionFileSystemTest, WriteFileAtomicallyIsDurable) {
  const std::string path = Path("cursor");
  ASSERT_TRUE(WriteFileAtomically(&fs_, path, "lsn=1").ok());
  ASSERT_TRUE(WriteFileAtomically(&fs_, path, "lsn=2").ok());
  EXPECT_EQ(fs_.dir_sync_count(), 2);
  EXPECT_EQ(fs_.sync_count(), 2);
  PowerLoss();
  EXPECT_EQ(Contents(path), "lsn=2");
  EXPECT_FALSE(base_->Exists(path + ".tmp"));
}

// ---- Injected errors.

TEST_F(FaultInjectionFileSystemTest, FailAppendsAfterN) {
  const std::string path = Path("seg");
  auto file = Create(path);
  fs_.FailAppendsAfter(2, FaultInjectionFileSystem::NoSpace());
  EXPECT_TRUE(file->Append("1").ok());
  EXPECT_TRUE(file->Append("2").ok());
  Status third = file->Append("3");
  EXPECT_EQ(third.code(), Code::kResourceExhausted);
  EXPECT_THAT(third.message(), HasSubstr("No space left on device"));
  EXPECT_EQ(file->Append("4").code(), Code::kResourceExhausted) << "later appends fail too";
  EXPECT_EQ(Contents(path), "12") << "a failed append writes nothing";
  EXPECT_EQ(fs_.append_count(), 4);

  fs_.ClearFaults();
  EXPECT_TRUE(file->Append("5").ok());
  EXPECT_EQ(Contents(path), "125");
}

TEST_F(FaultInjectionFileSystemTest, FailAppendsAfterZeroFailsTheNextOne) {
  auto file = Create(Path("seg"));
  fs_.FailAppendsAfter(0, Status::IOError("injected"));
  EXPECT_EQ(file->Append("x").code(), Code::kIOError);
  EXPECT_EQ(file->Size(), 0u);
}

TEST_F(FaultInjectionFileSystemTest, FailedSyncMakesNothingDurable) {
  const std::string path = Path("seg");
  auto file = Create(path);
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  ASSERT_TRUE(file->Append("a").ok());
  fs_.FailSyncAfter(1, Status::IOError("fdatasync: EIO"));
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append("b").ok());
  EXPECT_EQ(file->Sync().code(), Code::kIOError);
  EXPECT_EQ(fs_.sync_count(), 2);
  PowerLoss();
  EXPECT_EQ(Contents(path), "a");
}

TEST_F(FaultInjectionFileSystemTest, FailedDirSyncMakesNothingDurable) {
  auto file = Create(Path("seg"));
  ASSERT_TRUE(file->Sync().ok());
  fs_.FailDirSyncAfter(0, Status::IOError("fsync of directory: EIO"));
  EXPECT_FALSE(fs_.SyncDir(dir_).ok());
  PowerLoss();
  EXPECT_FALSE(base_->Exists(Path("seg")));
}

TEST_F(FaultInjectionFileSystemTest, ShortWriteLeavesHalfTheBytesOnce) {
  const std::string path = Path("seg");
  auto file = Create(path);
  fs_.SetShortWrite(true);
  Status s = file->Append("abcdefgh");
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_EQ(Contents(path), "abcd");
  EXPECT_EQ(file->Size(), 4u);
  EXPECT_TRUE(file->Append("ij").ok()) << "one shot";
  EXPECT_EQ(Contents(path), "abcdij");
}

// ---- Broken durability, which a power-loss test must notice.

TEST_F(FaultInjectionFileSystemTest, IgnoredSyncsLoseData) {
  const std::string path = Path("seg");
  auto file = Create(path);
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  fs_.SetIgnoreSyncs(true);
  ASSERT_TRUE(file->Append("acknowledged").ok());
  EXPECT_TRUE(file->Sync().ok()) << "the lie: OK without durability";
  PowerLoss();
  EXPECT_EQ(Contents(path), "");
}

TEST_F(FaultInjectionFileSystemTest, IgnoredDirSyncsLoseFiles) {
  fs_.SetIgnoreDirSyncs(true);
  CreateDurable(Path("seg"), "data");
  ASSERT_TRUE(WriteFileAtomically(&fs_, Path("cursor"), "v1").ok());
  PowerLoss();
  EXPECT_FALSE(base_->Exists(Path("seg")));
  EXPECT_FALSE(base_->Exists(Path("cursor")));

  fs_.ClearFaults();
  CreateDurable(Path("seg"), "data");
  PowerLoss();
  EXPECT_EQ(Contents(Path("seg")), "data");
}

// ---- Concurrency: a writer thread racing with the power loss.

TEST_F(FaultInjectionFileSystemTest, AcknowledgedRecordsSurviveAConcurrentPowerLoss) {
  const std::string path = Path("seg");
  auto file = Create(path);
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  const std::string record = "0123456789abcdef";
  std::atomic<int> acknowledged{0};
  std::atomic<bool> started{false};
  std::thread writer([&] {
    for (;;) {
      if (!file->Append(record).ok() || !file->Sync().ok()) return;
      acknowledged.fetch_add(1);
      started.store(true);
    }
  });
  while (!started.load()) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  PowerLoss();
  writer.join();

  const std::string contents = Contents(path);
  EXPECT_EQ(contents.size(), acknowledged.load() * record.size())
      << "every acknowledged record is there, and nothing else";
  EXPECT_GT(acknowledged.load(), 0);
}

}  // namespace
}  // namespace sluice
