#pragma once
// What `sluice journal verify` and `dump` find in a data directory: its stream
// directories and their segment files, listed without opening a Journal. Internal to
// verify.cc and dump.cc.

#include <string>
#include <string_view>
#include <vector>

#include "common/file_system.h"
#include "common/status.h"
#include "journal/format.h"
#include "journal/verify.h"

namespace sluice::journal::listing {

inline constexpr std::string_view kEpochFile = "EPOCH";

// DATA_DIR/journal.
std::string JournalDir(const std::string& data_dir);

// A name a stream directory may have.
bool IsStreamName(std::string_view name);

// kNotFound unless `data_dir` exists and has a journal/ directory.
Status CheckDataDir(FileSystem* fs, const std::string& data_dir);

struct StreamDirs {
  std::vector<std::string> names;      // sorted
  std::vector<VerifyProblem> strays;  // entries of journal/ that are not stream directories
};

// The stream directories of DATA_DIR/journal: every entry but EPOCH (and its temporary)
// that is a directory with a valid stream name.
Result<StreamDirs> ListStreams(FileSystem* fs, const std::string& journal_dir);

struct SegmentFile {
  Lsn name_lsn = 0;
  std::string path;
};

// Segment files of a stream directory, in LSN order; other names go to `strays` (when
// not null).
Result<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& dir,
                                              std::vector<VerifyProblem>* strays);

}  // namespace sluice::journal::listing
