#include "common/fault_injection_file_system.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

namespace sluice {
namespace {

// One spelling per file, so that "d//f", "d/./f" and "d/f" share their durability state
// and SyncDir("d/") matches files created as "d/f".
std::string Normalize(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

}  // namespace

// Forwards to the base file, under the file system's mutex, applying its faults.
class FaultInjectionFileSystem::Writer final : public WritableFile {
 public:
  Writer(FaultInjectionFileSystem* fs, std::unique_ptr<WritableFile> base,
         std::shared_ptr<FileState> state, int64_t generation)
      : fs_(fs), base_(std::move(base)), state_(std::move(state)), generation_(generation) {}

  Status Append(std::string_view data) override {
    std::lock_guard lock(fs_->mu_);
    ++fs_->append_count_;
    SLUICE_RETURN_IF_ERROR(fs_->CheckAliveLocked(generation_, path()));
    if (auto error = fs_->append_failure_.Tick()) return *error;
    if (fs_->short_write_) {
      fs_->short_write_ = false;
      const size_t half = data.size() / 2;
      SLUICE_RETURN_IF_ERROR(base_->Append(data.substr(0, half)));
      return Status::IOError(fmt::format("injected short write to {}: wrote {} of {} bytes",
                                         path(), half, data.size()));
    }
    return base_->Append(data);
  }

  Status Sync() override {
    std::lock_guard lock(fs_->mu_);
    ++fs_->sync_count_;
    SLUICE_RETURN_IF_ERROR(fs_->CheckAliveLocked(generation_, path()));
    if (auto error = fs_->sync_failure_.Tick()) return *error;
    if (fs_->ignore_syncs_) return Status::OK();
    SLUICE_RETURN_IF_ERROR(base_->Sync());
    state_->synced_size = base_->Size();
    return Status::OK();
  }

  // Works even for a writer killed by DropUnsyncedData: it only releases the descriptor.
  Status Close() override {
    std::lock_guard lock(fs_->mu_);
    return base_->Close();
  }

  uint64_t Size() const override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionFileSystem* const fs_;
  const std::unique_ptr<WritableFile> base_;
  const std::shared_ptr<FileState> state_;
  const int64_t generation_;  // fs_->generation_ when opened
};

std::optional<Status> FaultInjectionFileSystem::Countdown::Tick() {
  if (remaining < 0) return std::nullopt;
  if (remaining == 0) return error;
  --remaining;
  return std::nullopt;
}

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base) : base_(base) {}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

Status FaultInjectionFileSystem::NoSpace() {
  return Status::ResourceExhausted("injected error: No space left on device");
}

void FaultInjectionFileSystem::FailAppendsAfter(int n, Status s) {
  std::lock_guard lock(mu_);
  append_failure_ = Countdown{std::max(n, 0), std::move(s)};
}

void FaultInjectionFileSystem::SetShortWrite(bool on) {
  std::lock_guard lock(mu_);
  short_write_ = on;
}

void FaultInjectionFileSystem::FailSyncAfter(int n, Status s) {
  std::lock_guard lock(mu_);
  sync_failure_ = Countdown{std::max(n, 0), std::move(s)};
}

void FaultInjectionFileSystem::FailDirSyncAfter(int n, Status s) {
  std::lock_guard lock(mu_);
  dir_sync_failure_ = Countdown{std::max(n, 0), std::move(s)};
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard lock(mu_);
  append_failure_ = Countdown{};
  sync_failure_ = Countdown{};
  dir_sync_failure_ = Countdown{};
  short_write_ = false;
  ignore_syncs_ = false;
  ignore_dir_syncs_ = false;
}

void FaultInjectionFileSystem::SetUnsyncedPageLoss(PageLoss mode, uint64_t seed) {
  std::lock_guard lock(mu_);
  page_loss_ = mode;
  page_loss_state_ = seed;
}

void FaultInjectionFileSystem::SetIgnoreSyncs(bool on) {
  std::lock_guard lock(mu_);
  ignore_syncs_ = on;
}

void FaultInjectionFileSystem::SetIgnoreDirSyncs(bool on) {
  std::lock_guard lock(mu_);
  ignore_dir_syncs_ = on;
}

int64_t FaultInjectionFileSystem::append_count() const {
  std::lock_guard lock(mu_);
  return append_count_;
}

int64_t FaultInjectionFileSystem::sync_count() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

int64_t FaultInjectionFileSystem::dir_sync_count() const {
  std::lock_guard lock(mu_);
  return dir_sync_count_;
}

int64_t FaultInjectionFileSystem::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

Status FaultInjectionFileSystem::CheckAliveLocked(int64_t generation,
                                                  const std::string& path) const {
  if (generation == generation_) return Status::OK();
  return Status::IOError(
      fmt::format("{} was opened before a simulated power loss; its writer is gone", path));
}

// ---- Power loss.

Status FaultInjectionFileSystem::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  Status first_error;
  auto note = [&first_error](const Status& s) {
    if (first_error.ok() && !s.ok()) first_error = s;
  };
  // Newest first, so that a chain such as create a, rename a -> b unwinds step by step.
  for (auto it = pending_ops_.rbegin(); it != pending_ops_.rend(); ++it) {
    note(RevertLocked(*it));
  }
  pending_ops_.clear();
  for (const auto& [path, state] : files_) {
    Result<uint64_t> size = base_->FileSize(path);
    if (!size.ok()) {
      if (size.status().code() != Code::kNotFound) note(size.status());
      continue;
    }
    if (*size <= state->synced_size) continue;
    if (page_loss_ == PageLoss::kAnyPages) {
      note(DropRandomPagesLocked(path, state->synced_size, *size));
    } else {
      note(base_->Truncate(path, state->synced_size));
    }
  }
  // What is left on disk now is all durable, like files never written through us.
  files_.clear();
  ++generation_;
  return first_error;
}

Status FaultInjectionFileSystem::DropRandomPagesLocked(const std::string& path,
                                                       uint64_t synced_size, uint64_t size) {
  SLUICE_ASSIGN_OR_RETURN(std::string contents, ReadWholeFile(base_, path));
  contents.resize(std::min<uint64_t>(contents.size(), size));
  auto next_random = [this] {  // splitmix64: reproducible from the seed
    uint64_t z = (page_loss_state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  // Pages are aligned to the file, as in the page cache; the page holding the synced
  // size keeps its synced part whatever happens to the rest of it.
  uint64_t new_size = synced_size;
  for (uint64_t page = synced_size / kPageSize * kPageSize; page < contents.size();
       page += kPageSize) {
    uint64_t from = std::max(page, synced_size);
    uint64_t to = std::min<uint64_t>(page + kPageSize, contents.size());
    if (next_random() % 2 == 0) {
      new_size = to;
    } else {
      std::fill(contents.begin() + static_cast<std::ptrdiff_t>(from),
                contents.begin() + static_cast<std::ptrdiff_t>(to), '\0');
    }
  }
  SLUICE_RETURN_IF_ERROR(base_->Truncate(path, synced_size));
  if (new_size == synced_size) return Status::OK();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_->ReopenWritableFile(path));
  Status s = file->Append(std::string_view(contents).substr(synced_size, new_size - synced_size));
  if (s.ok()) s = file->Sync();
  Status close_status = file->Close();
  return s.ok() ? close_status : s;
}

Status FaultInjectionFileSystem::RevertLocked(const MetadataOp& op) {
  switch (op.kind) {
    case MetadataOp::Kind::kCreate: {
      files_.erase(op.path);
      Status s = base_->DeleteFile(op.path);
      return s.code() == Code::kNotFound ? Status::OK() : s;
    }
    case MetadataOp::Kind::kRename: {
      // A destination deleted since stays deleted (deletions are durable at once).
      if (base_->Exists(op.path)) {
        SLUICE_RETURN_IF_ERROR(base_->RenameFile(op.path, op.from));
        MoveStateLocked(op.path, op.from);
      }
      if (!op.replaced_contents) return Status::OK();
      SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                              base_->NewWritableFile(op.path, /*exclusive=*/false));
      Status s = file->Append(*op.replaced_contents);
      if (s.ok()) s = file->Sync();
      Status close_status = file->Close();
      return s.ok() ? close_status : s;
    }
  }
  return Status::Internal("unknown metadata operation");
}

void FaultInjectionFileSystem::MoveStateLocked(const std::string& from, const std::string& to) {
  auto it = files_.find(from);
  if (it == files_.end()) {
    // An untracked file is fully durable, whatever name it has.
    files_.erase(to);
    return;
  }
  std::shared_ptr<FileState> state = std::move(it->second);
  files_.erase(it);
  files_[to] = std::move(state);
}

Result<std::string> FaultInjectionFileSystem::DurableContentsLocked(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::string contents, ReadWholeFile(base_, path));
  if (auto it = files_.find(path); it != files_.end()) {
    contents.resize(std::min<uint64_t>(contents.size(), it->second->synced_size));
  }
  return contents;
}

// ---- FileSystem.

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path, bool exclusive) {
  std::lock_guard lock(mu_);
  const std::string key = Normalize(path);
  const bool existed = base_->Exists(path);
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                          base_->NewWritableFile(path, exclusive));
  auto state = std::make_shared<FileState>();
  files_[key] = state;
  if (!existed) {
    pending_ops_.push_back(MetadataOp{.kind = MetadataOp::Kind::kCreate,
                                      .path = key,
                                      .from = {},
                                      .replaced_contents = std::nullopt,
                                      .pending_dirs = {DirName(key)}});
  }
  return std::unique_ptr<WritableFile>(
      std::make_unique<Writer>(this, std::move(file), std::move(state), generation_));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::ReopenWritableFile(
    const std::string& path) {
  std::lock_guard lock(mu_);
  const std::string key = Normalize(path);
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_->ReopenWritableFile(path));
  std::shared_ptr<FileState>& state = files_[key];
  // Already tracked: its unsynced tail stays unsynced. Otherwise it is durable as it is.
  if (state == nullptr) state = std::make_shared<FileState>(FileState{file->Size()});
  return std::unique_ptr<WritableFile>(
      std::make_unique<Writer>(this, std::move(file), state, generation_));
}

Result<std::unique_ptr<ReadableFile>> FaultInjectionFileSystem::NewReadableFile(
    const std::string& path) {
  std::lock_guard lock(mu_);
  return base_->NewReadableFile(path);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  std::lock_guard lock(mu_);
  ++dir_sync_count_;
  if (auto error = dir_sync_failure_.Tick()) return *error;
  if (ignore_dir_syncs_) return Status::OK();
  SLUICE_RETURN_IF_ERROR(base_->SyncDir(path));
  const std::string key = Normalize(path);
  std::erase_if(pending_ops_, [&key](MetadataOp& op) {
    op.pending_dirs.erase(key);
    return op.pending_dirs.empty();
  });
  return Status::OK();
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& path) {
  std::lock_guard lock(mu_);
  return base_->CreateDirs(path);
}

Result<std::vector<std::string>> FaultInjectionFileSystem::ListDir(const std::string& path) {
  std::lock_guard lock(mu_);
  return base_->ListDir(path);
}

bool FaultInjectionFileSystem::Exists(const std::string& path) {
  std::lock_guard lock(mu_);
  return base_->Exists(path);
}

Result<uint64_t> FaultInjectionFileSystem::FileSize(const std::string& path) {
  std::lock_guard lock(mu_);
  return base_->FileSize(path);
}

Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  const std::string from_key = Normalize(from);
  const std::string to_key = Normalize(to);
  if (from_key == to_key) return base_->RenameFile(from, to);
  // Saved now: after the rename, the replaced file's data is gone from the base.
  std::optional<std::string> replaced;
  if (base_->Exists(to)) {
    SLUICE_ASSIGN_OR_RETURN(replaced, DurableContentsLocked(to_key));
  }
  SLUICE_RETURN_IF_ERROR(base_->RenameFile(from, to));
  MoveStateLocked(from_key, to_key);
  pending_ops_.push_back(MetadataOp{.kind = MetadataOp::Kind::kRename,
                                    .path = to_key,
                                    .from = from_key,
                                    .replaced_contents = std::move(replaced),
                                    .pending_dirs = {DirName(from_key), DirName(to_key)}});
  return Status::OK();
}

Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(base_->DeleteFile(path));
  files_.erase(Normalize(path));
  return Status::OK();
}

Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(base_->Truncate(path, size));
  if (auto it = files_.find(Normalize(path)); it != files_.end()) {
    it->second->synced_size = std::min(it->second->synced_size, size);
  }
  return Status::OK();
}

Result<SpaceInfo> FaultInjectionFileSystem::Space(const std::string& path) {
  std::lock_guard lock(mu_);
  return base_->Space(path);
}

Result<std::unique_ptr<FileLock>> FaultInjectionFileSystem::LockFile(const std::string& path) {
  std::lock_guard lock(mu_);
  return base_->LockFile(path);
}

Result<int> FaultInjectionFileSystem::LockHolder(const std::string& path) {
  std::lock_guard lock(mu_);
  return base_->LockHolder(path);
}

}  // namespace sluice
