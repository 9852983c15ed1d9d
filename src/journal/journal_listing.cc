#include "journal/journal_listing.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace sluice::journal::listing {

using Severity = VerifyProblem::Severity;

std::string JournalDir(const std::string& data_dir) { return JoinPath(data_dir, "journal"); }

bool IsStreamName(std::string_view name) {
  if (name.empty() || name.size() > kMaxStreamNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

Status CheckDataDir(FileSystem* fs, const std::string& data_dir) {
  if (!fs->Exists(data_dir)) {
    return Status::NotFound(fmt::format("{} does not exist", data_dir));
  }
  if (!fs->Exists(JournalDir(data_dir))) {
    return Status::NotFound(
        fmt::format("{} is not a Sluice data directory (it has no journal/ directory)", data_dir));
  }
  return Status::OK();
}

Result<StreamDirs> ListStreams(FileSystem* fs, const std::string& journal_dir) {
  SLUICE_ASSIGN_OR_RETURN(auto entries, fs->ListDir(journal_dir));
  std::sort(entries.begin(), entries.end());
  StreamDirs out;
  for (const auto& name : entries) {
    if (name == kEpochFile || name == fmt::format("{}.tmp", kEpochFile)) continue;
    std::string path = JoinPath(journal_dir, name);
    if (!IsStreamName(name)) {
      out.strays.push_back({Severity::kWarning, path, 0,
                            "unexpected entry in the journal directory (not a stream name); "
                            "ignored"});
      continue;
    }
    // The FileSystem seam has no stat; a directory is what can be listed.
    auto listed = fs->ListDir(path);
    if (!listed.ok()) {
      out.strays.push_back({Severity::kWarning, path, 0,
                            fmt::format("not a stream directory, ignored ({})",
                                        listed.status().ToString())});
      continue;
    }
    out.names.push_back(name);
  }
  return out;
}

Result<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& dir,
                                              std::vector<VerifyProblem>* strays) {
  SLUICE_ASSIGN_OR_RETURN(auto names, fs->ListDir(dir));
  std::vector<SegmentFile> files;
  for (const auto& name : names) {
    if (auto lsn = ParseSegmentFileName(name)) {
      files.push_back({*lsn, JoinPath(dir, name)});
    } else if (strays != nullptr) {
      strays->push_back({Severity::kWarning, JoinPath(dir, name), 0,
                         "not a segment file name; ignored (recovery ignores it too)"});
    }
  }
  std::sort(files.begin(), files.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.name_lsn < b.name_lsn; });
  return files;
}

}  // namespace sluice::journal::listing
