#pragma once
// Helpers shared by the journal's unit tests (header-only, tests only): a temporary
// directory per test, raw file access for damaging segments, reading a whole journal
// back, and a FileSystem wrapper whose fdatasync can be held closed so a test can look
// at the journal between its write and its sync without relying on timing.

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/file_system.h"
#include "journal/journal.h"
#include "journal/reader.h"
#include "support/temp_dir.h"

namespace sluice::journal::testing {

using ::sluice::testing::TempDir;

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Segment files of a journal directory, sorted by name (= by first LSN).
inline std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".seg") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A payload that names its record and whose size varies with it, so a record that is
// read back at the wrong LSN, truncated or mixed with another is noticed.
inline std::string PayloadFor(uint64_t key, size_t size) {
  std::string s = fmt::format("rec-{}-", key);
  while (s.size() < size) s += static_cast<char>('a' + (key + s.size()) % 26);
  return s;
}

struct Record {
  Lsn lsn = 0;
  uint16_t type = 0;
  std::string payload;
};

// Every durable record of `journal` from `from` on, read through a Reader in batches.
inline Result<std::vector<Record>> ReadAll(const Journal& journal, Lsn from = 1,
                                           size_t max_records = 37, size_t max_bytes = 1 << 20) {
  SLUICE_ASSIGN_OR_RETURN(auto reader, Reader::Open(&journal, from));
  std::vector<Record> out;
  ReadBatch batch;
  while (true) {
    SLUICE_RETURN_IF_ERROR(reader->Read(max_records, max_bytes, &batch));
    if (batch.empty()) break;
    for (const auto& r : batch.records()) out.push_back(Record{r.lsn, r.type, std::string(r.payload)});
  }
  return out;
}

// Forwards to a base FileSystem. While the gate is closed, WritableFile::Sync blocks
// (after counting itself as waiting) until the gate opens again. With SkipSyncs(true),
// file and directory syncs return OK without reaching the disk: for tests that do not
// simulate power loss and only need to run fast.
class GatedFileSystem : public FileSystem {
 public:
  explicit GatedFileSystem(FileSystem* base) : base_(base) {}

  void SkipSyncs(bool on) { skip_syncs_ = on; }

  void CloseGate() {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  void OpenGate() {
    {
      std::lock_guard lk(mu_);
      closed_ = false;
    }
    cv_.notify_all();
  }
  // Waits until `n` syncs are blocked at the closed gate.
  void WaitForBlockedSyncs(int n) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return blocked_ >= n; });
  }
  int blocked() {
    std::lock_guard lk(mu_);
    return blocked_;
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        bool exclusive) override {
    SLUICE_ASSIGN_OR_RETURN(auto f, base_->NewWritableFile(path, exclusive));
    return std::unique_ptr<WritableFile>(std::make_unique<File>(this, std::move(f)));
  }
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    SLUICE_ASSIGN_OR_RETURN(auto f, base_->ReopenWritableFile(path));
    return std::unique_ptr<WritableFile>(std::make_unique<File>(this, std::move(f)));
  }
  Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    return base_->NewReadableFile(path);
  }
  Status SyncDir(const std::string& path) override {
    return skip_syncs_ ? Status::OK() : base_->SyncDir(path);
  }
  Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return base_->RenameFile(from, to);
  }
  Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }
  Result<SpaceInfo> Space(const std::string& path) override { return base_->Space(path); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  Result<int> LockHolder(const std::string& path) override { return base_->LockHolder(path); }

 private:
  class File : public WritableFile {
   public:
    File(GatedFileSystem* fs, std::unique_ptr<WritableFile> base) : fs_(fs), base_(std::move(base)) {}
    Status Append(std::string_view data) override { return base_->Append(data); }
    Status Sync() override {
      {
        std::unique_lock lk(fs_->mu_);
        if (fs_->closed_) {
          ++fs_->blocked_;
          fs_->cv_.notify_all();
          fs_->cv_.wait(lk, [&] { return !fs_->closed_; });
          --fs_->blocked_;
        }
      }
      return fs_->skip_syncs_ ? Status::OK() : base_->Sync();
    }
    Status Close() override { return base_->Close(); }
    uint64_t Size() const override { return base_->Size(); }
    const std::string& path() const override { return base_->path(); }

   private:
    GatedFileSystem* fs_;
    std::unique_ptr<WritableFile> base_;
  };

  FileSystem* base_;
  std::atomic<bool> skip_syncs_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int blocked_ = 0;
};

}  // namespace sluice::journal::testing
