#include "common/file_system.h"

#include <fmt/format.h>

namespace sluice {

Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  // A leftover temporary from an earlier crash is simply overwritten.
  auto file = fs->NewWritableFile(tmp, /*exclusive=*/false);
  if (!file.ok()) return file.status().Annotate(fmt::format("replacing {}", path));
  Status s = (*file)->Append(contents);
  if (s.ok()) s = (*file)->Sync();
  // Close even after a failure so the descriptor is not leaked; the first error wins.
  Status close_status = (*file)->Close();
  if (s.ok()) s = close_status;
  if (s.ok()) s = fs->RenameFile(tmp, path);
  if (!s.ok()) {
    // The old contents of `path` are intact; the half-written temporary is only litter.
    fs->DeleteFile(tmp).IgnoreError();
    return s.Annotate(fmt::format("replacing {}", path));
  }
  // Without this the rename may be lost on power loss even though the caller was told
  // the new contents are durable.
  return fs->SyncDir(DirName(path)).Annotate(fmt::format("replacing {}", path));
}

Result<std::string> ReadWholeFile(FileSystem* fs, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, fs->NewReadableFile(path));
  SLUICE_ASSIGN_OR_RETURN(uint64_t size_hint, file->Size());
  std::string contents;
  contents.reserve(size_hint);
  // Read until end of file rather than trusting the size: the file may still grow.
  constexpr size_t kChunk = 64 * 1024;
  std::string scratch(kChunk, '\0');
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, file->ReadAt(contents.size(), kChunk, scratch.data()));
    if (n == 0) break;
    contents.append(scratch.data(), n);
  }
  return contents;
}

std::string DirName(const std::string& path) {
  size_t end = path.size();
  // "a/b/" names the same thing as "a/b".
  while (end > 1 && path[end - 1] == '/') --end;
  size_t slash = std::string_view(path.data(), end).rfind('/');
  if (slash == std::string::npos) return ".";
  while (slash > 0 && path[slash - 1] == '/') --slash;
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  const bool a_slash = a.back() == '/';
  const bool b_slash = b.front() == '/';
  if (a_slash && b_slash) b.remove_prefix(1);
  std::string joined(a);
  if (!a_slash && !b_slash) joined += '/';
  joined += b;
  return joined;
}

}  // namespace sluice
