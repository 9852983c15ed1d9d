#include "journal/verify.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include <fmt/format.h>

#include "journal/journal_listing.h"
#include "journal/segment_reader.h"

namespace sluice::journal {
namespace {

using Severity = VerifyProblem::Severity;
using listing::CheckDataDir;
using listing::JournalDir;
using listing::kEpochFile;
using listing::ListSegments;
using listing::ListStreams;
using listing::SegmentFile;
using listing::StreamDirs;

// Offset of the first valid frame at or after `from` in the file, if any. Used where
// recovery asks the same question: does anything acknowledged lie behind this damage?
Result<std::optional<uint64_t>> FindValidFrame(FileSystem* fs, const std::string& path,
                                               uint64_t from, uint32_t max_record_bytes) {
  SLUICE_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(fs, path));
  for (size_t off = from; off + kFrameHeaderSize <= bytes.size(); ++off) {
    FrameView f;
    if (DecodeFrame(std::string_view(bytes).substr(off), max_record_bytes, &f) ==
        FrameCheck::kOk) {
      return std::optional<uint64_t>(off);
    }
  }
  return std::optional<uint64_t>();
}

class StreamVerifier {
 public:
  StreamVerifier(FileSystem* fs, uint32_t max_record_bytes, VerifyReport* report,
                 StreamVerifyReport* out)
      : fs_(fs), max_record_bytes_(max_record_bytes), report_(report), out_(out) {}

  Status Run() {
    auto files = ListSegments(fs_, out_->dir, &out_->problems);
    if (!files.ok()) {
      // The stream directory vanished or cannot be read: the stream cannot be checked.
      Problem(Severity::kDamage, out_->dir, 0,
              fmt::format("cannot list the stream directory: {}", files.status().ToString()));
      return Status::OK();
    }
    for (size_t i = 0; i < files->size(); ++i) {
      SLUICE_RETURN_IF_ERROR(CheckSegment((*files)[i], i + 1 == files->size()));
    }
    return Status::OK();
  }

 private:
  struct Previous {
    std::string path;
    uint64_t number = 0;
    Lsn last_lsn = 0;
    uint64_t end = 0;      // offset after its last valid record
    bool damaged = false;  // its last LSN is where the damage starts, not where it ends
  };

  void Problem(Severity severity, std::string file, uint64_t offset, std::string message) {
    out_->problems.push_back({severity, std::move(file), offset, std::move(message)});
  }

  // Forgets what was counted so far: retention deletes oldest first, so when a segment
  // has gone, so has everything before it.
  void ResetForRetention() {
    out_->segments = 0;
    out_->records = 0;
    out_->first_lsn = 0;
    out_->last_lsn = 0;
    out_->bytes = 0;
    prev_.reset();
  }

  Status CheckSegment(const SegmentFile& file, bool last) {
    auto scan_or = ScanSegment(fs_, file.path, max_record_bytes_);
    if (!scan_or.ok() && scan_or.status().code() == Code::kNotFound) {
      if (!report_->live()) {
        // A daemon may have started since the lock was probed; ask again.
        SLUICE_ASSIGN_OR_RETURN(report_->live_pid,
                                fs_->LockHolder(JoinPath(report_->data_dir, "LOCK")));
      }
      if (report_->live()) {
        Problem(Severity::kNote, file.path, 0,
                "deleted by retention during the scan; the segments before it are gone too");
        ResetForRetention();
      } else {
        Problem(Severity::kDamage, file.path, 0,
                "disappeared during the scan, and no daemon holds the directory");
        prev_.reset();
      }
      return Status::OK();
    }
    if (!scan_or.ok()) return CheckUnreadableSegment(file, last, scan_or.status());

    SegmentScan scan = std::move(*scan_or);
    if (scan.damaged && scan.valid_after_damage && last && report_->live()) {
      // The tail was being written while it was read; read it again now that the bytes
      // found behind it are complete.
      auto again = ScanSegment(fs_, file.path, max_record_bytes_);
      if (again.ok()) scan = std::move(*again);
    }
    const SegmentHeader& h = scan.header;
    CheckHeader(file, h);

    out_->segments++;
    out_->bytes += scan.file_size;
    if (scan.records > 0) {
      if (out_->first_lsn == 0) out_->first_lsn = h.first_lsn;
      out_->last_lsn = scan.last_lsn;
      out_->records += scan.records;
    }

    if (scan.damaged) {
      uint64_t tail = scan.file_size - scan.valid_end;
      if (!last || scan.valid_after_damage) {
        std::string why =
            scan.valid_after_damage
                ? fmt::format("a valid record follows at offset {}", scan.valid_after_offset)
                : std::string("later segments exist");
        Problem(Severity::kDamage, file.path, scan.valid_end,
                fmt::format("{} after LSN {}; {}: records behind the damage are lost and "
                            "recovery will refuse to open the journal",
                            scan.damage, scan.last_lsn, why));
      } else if (report_->live()) {
        Problem(Severity::kNote, file.path, scan.valid_end,
                fmt::format("live tail: {} bytes at offset {} still being written", tail,
                            scan.valid_end));
      } else {
        Problem(Severity::kWarning, file.path, scan.batch_end,
                fmt::format("torn tail: {} bytes at offset {} will be cut on next open ({}{})",
                            scan.file_size - scan.batch_end, scan.batch_end, scan.damage,
                            scan.unsynced_group_after_damage
                                ? fmt::format("; the {} valid records behind it belong to the "
                                              "last write group, which was never synced",
                                              scan.records_after_damage)
                                : std::string()));
      }
    } else if (scan.incomplete_batch()) {
      std::string what = fmt::format("LSN {}..{} at offset {} are the beginning of a request "
                                     "whose end is missing",
                                     scan.batch_end_lsn + 1, scan.last_lsn, scan.batch_end);
      if (!last) {
        Problem(Severity::kDamage, file.path, scan.batch_end,
                what + "; later segments exist: recovery will refuse to open the journal");
      } else if (report_->live()) {
        Problem(Severity::kNote, file.path, scan.batch_end,
                "live tail: " + what + " (still being written)");
      } else {
        Problem(Severity::kWarning, file.path, scan.batch_end,
                "torn tail: " + what + "; it will be cut on next open");
      }
    }
    prev_ = Previous{file.path, h.number, scan.last_lsn, scan.valid_end, scan.damaged};
    return Status::OK();
  }

  // The same checks as Journal::Recover, each reported rather than fatal.
  void CheckHeader(const SegmentFile& file, const SegmentHeader& h) {
    const std::optional<Epoch>& expected = report_->epoch ? report_->epoch : out_->epoch;
    if (expected && h.epoch != *expected) {
      Problem(Severity::kDamage, file.path, 0,
              fmt::format("segment belongs to journal epoch {}, but {} is {}", EpochToHex(h.epoch),
                          report_->epoch ? "this data directory's epoch" : "the stream's epoch",
                          EpochToHex(*expected)));
    }
    if (!out_->epoch) out_->epoch = h.epoch;
    if (h.stream != out_->name) {
      Problem(Severity::kDamage, file.path, 0,
              fmt::format("segment belongs to stream '{}', not '{}'", h.stream, out_->name));
    }
    if (h.first_lsn != file.name_lsn) {
      Problem(Severity::kDamage, file.path, 0,
              fmt::format("segment starts at LSN {}, not at the LSN {} in its name", h.first_lsn,
                          file.name_lsn));
    }
    if (!prev_) return;  // the first segment, or the chain was already broken
    const Previous& p = *prev_;
    if (h.number == p.number + 1 && (h.prev_last_lsn == p.last_lsn || p.damaged)) return;
    if (h.number > p.number + 1) {
      // Name the first missing file: it starts just after the predecessor's last LSN.
      std::string missing = JoinPath(out_->dir, SegmentFileName(p.last_lsn + 1));
      Problem(Severity::kDamage, missing, 0,
              fmt::format("segment missing: {} (number {}) follows LSN {}, but its predecessor {} "
                          "is number {} and ends at LSN {}; {} segment(s) holding LSN {}..{} are "
                          "missing, the first named {}",
                          file.path, h.number, h.prev_last_lsn, p.path, p.number, p.last_lsn,
                          h.number - p.number - 1, p.last_lsn + 1, h.prev_last_lsn,
                          SegmentFileName(p.last_lsn + 1)));
    } else if (h.number == p.number + 1 && h.prev_last_lsn > p.last_lsn) {
      Problem(Severity::kDamage, p.path, p.end,
              fmt::format("records missing: {} follows LSN {}, but its predecessor ends at LSN {} "
                          "(offset {}): LSN {}..{} are lost",
                          file.path, h.prev_last_lsn, p.last_lsn, p.end, p.last_lsn + 1,
                          h.prev_last_lsn));
    } else {
      Problem(Severity::kDamage, file.path, 0,
              fmt::format("segment (number {}, follows LSN {}) does not follow {} (number {}, "
                          "last LSN {})",
                          h.number, h.prev_last_lsn, p.path, p.number, p.last_lsn));
    }
  }

  // ScanSegment failed: a damaged header or an I/O error.
  Status CheckUnreadableSegment(const SegmentFile& file, bool last, const Status& status) {
    prev_.reset();  // nothing to chain the next segment to
    if (status.code() != Code::kCorruption) {
      Problem(Severity::kDamage, file.path, 0,
              fmt::format("cannot read the segment: {}", status.ToString()));
      return Status::OK();
    }
    if (!last) {
      Problem(Severity::kDamage, file.path, 0,
              fmt::format("{}; later segments exist", status.message()));
      return Status::OK();
    }
    // As in recovery: the newest segment's header may not have reached the disk before a
    // crash (or is being written now); then the segment holds nothing acknowledged,
    // unless valid records follow the header.
    auto found = FindValidFrame(fs_, file.path, kSegmentHeaderSize, max_record_bytes_);
    if (!found.ok()) {
      if (found.status().code() == Code::kNotFound && report_->live()) return Status::OK();
      Problem(Severity::kDamage, file.path, 0,
              fmt::format("cannot read the segment: {}", found.status().ToString()));
    } else if (found->has_value()) {
      Problem(Severity::kDamage, file.path, 0,
              fmt::format("{}, and records follow it (first at offset {})", status.message(),
                          **found));
    } else if (report_->live()) {
      Problem(Severity::kNote, file.path, 0, "live tail: the segment's header is being written");
    } else {
      Problem(Severity::kWarning, file.path, 0,
              fmt::format("{}: the segment was never completed and will be removed on next open",
                          status.message()));
    }
    return Status::OK();
  }

  FileSystem* const fs_;
  const uint32_t max_record_bytes_;
  VerifyReport* const report_;
  StreamVerifyReport* const out_;
  std::optional<Previous> prev_;
};

void ReadEpoch(FileSystem* fs, const std::string& journal_dir, bool any_segments,
               VerifyReport* report) {
  std::string path = JoinPath(journal_dir, kEpochFile);
  auto contents = ReadWholeFile(fs, path);
  if (!contents.ok()) {
    Severity severity = Severity::kDamage;
    std::string consequence = "segments cannot be checked against it";
    if (contents.status().code() == Code::kNotFound && !any_segments) {
      // Nothing was ever written under an epoch yet.
      severity = report->live() ? Severity::kNote : Severity::kWarning;
      consequence = "no segment exists yet";
    }
    report->problems.push_back({severity, path, 0,
                                fmt::format("cannot read the epoch ({}); {}",
                                            contents.status().ToString(), consequence)});
    return;
  }
  std::string_view hex(*contents);
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.remove_suffix(1);
  report->epoch = EpochFromHex(hex);
  if (!report->epoch) {
    report->problems.push_back(
        {Severity::kDamage, path, 0,
         fmt::format("the epoch file holds {} bytes that are not 32 lower-case hex digits",
                     contents->size())});
  }
}

}  // namespace

std::string_view SeverityName(VerifyProblem::Severity severity) {
  switch (severity) {
    case Severity::kNote: return "note";
    case Severity::kWarning: return "warning";
    case Severity::kDamage: return "damage";
  }
  return "unknown";
}

bool StreamVerifyReport::damaged() const {
  return std::any_of(problems.begin(), problems.end(),
                     [](const VerifyProblem& p) { return p.severity == Severity::kDamage; });
}

bool VerifyReport::damaged() const {
  if (std::any_of(problems.begin(), problems.end(),
                  [](const VerifyProblem& p) { return p.severity == Severity::kDamage; })) {
    return true;
  }
  return std::any_of(streams.begin(), streams.end(),
                     [](const StreamVerifyReport& s) { return s.damaged(); });
}

Result<VerifyReport> VerifyJournals(FileSystem* fs, const std::string& data_dir,
                                    uint32_t max_record_bytes) {
  SLUICE_RETURN_IF_ERROR(CheckDataDir(fs, data_dir));
  VerifyReport report;
  report.data_dir = data_dir;
  // Probed first: whatever is found at the tail afterwards is judged knowing a writer
  // may be active.
  SLUICE_ASSIGN_OR_RETURN(report.live_pid, fs->LockHolder(JoinPath(data_dir, "LOCK")));

  const std::string journal_dir = JournalDir(data_dir);
  SLUICE_ASSIGN_OR_RETURN(StreamDirs dirs, ListStreams(fs, journal_dir));
  report.problems = std::move(dirs.strays);

  bool any_segments = false;
  for (const auto& name : dirs.names) {
    auto files = ListSegments(fs, JoinPath(journal_dir, name), nullptr);
    if (files.ok() && !files->empty()) any_segments = true;
  }
  ReadEpoch(fs, journal_dir, any_segments, &report);

  for (const auto& name : dirs.names) {
    StreamVerifyReport& stream = report.streams.emplace_back();
    stream.name = name;
    stream.dir = JoinPath(journal_dir, name);
    SLUICE_RETURN_IF_ERROR(StreamVerifier(fs, max_record_bytes, &report, &stream).Run());
  }
  return report;
}

}  // namespace sluice::journal
