// `sluice journal dump`: the records of a data directory's journals, read from the files.
#include "journal/dump.h"

#include <utility>

#include <fmt/format.h>

#include "journal/journal_listing.h"
#include "journal/segment_reader.h"

namespace sluice::journal {

using listing::CheckDataDir;
using listing::IsStreamName;
using listing::JournalDir;
using listing::ListSegments;
using listing::ListStreams;
using listing::StreamDirs;

Status DumpJournal(FileSystem* fs, const std::string& data_dir,
                   const std::optional<std::string>& stream, Lsn from, uint64_t limit,
                   uint32_t max_record_bytes, const DumpCallback& on_record) {
  SLUICE_RETURN_IF_ERROR(CheckDataDir(fs, data_dir));
  const std::string journal_dir = JournalDir(data_dir);
  std::vector<std::string> names;
  if (stream) {
    if (!IsStreamName(*stream) || !fs->ListDir(JoinPath(journal_dir, *stream)).ok()) {
      return Status::NotFound(fmt::format("no stream '{}' in {}", *stream, journal_dir));
    }
    names.push_back(*stream);
  } else {
    SLUICE_ASSIGN_OR_RETURN(StreamDirs dirs, ListStreams(fs, journal_dir));
    names = std::move(dirs.names);
  }

  for (const auto& name : names) {
    SLUICE_ASSIGN_OR_RETURN(auto files, ListSegments(fs, JoinPath(journal_dir, name), nullptr));
    uint64_t delivered = 0;
    Lsn expected = 0;  // the LSN the next record must have; 0: not known yet
    bool stream_done = false;
    for (size_t i = 0; i < files.size() && !stream_done; ++i) {
      const bool last = i + 1 == files.size();
      // Segment i holds LSNs below the next segment's name: skip it unless `from` is there.
      if (!last && files[i + 1].name_lsn <= from) continue;
      const std::string& path = files[i].path;
      auto file = fs->NewReadableFile(path);
      if (!file.ok() && file.status().code() == Code::kNotFound) {
        expected = 0;  // deleted by retention since it was listed
        continue;
      }
      if (!file.ok()) return file.status();
      SLUICE_ASSIGN_OR_RETURN(uint64_t size, (*file)->Size());
      std::string header_bytes(kSegmentHeaderSize, '\0');
      SLUICE_ASSIGN_OR_RETURN(size_t got,
                              (*file)->ReadAt(0, kSegmentHeaderSize, header_bytes.data()));
      header_bytes.resize(got);
      auto header = DecodeSegmentHeader(header_bytes);
      if (!header.ok()) {
        if (last) break;  // a segment being created, or never completed before a crash
        return header.status().Annotate(fmt::format("segment {} offset 0", path));
      }
      if (expected != 0 && header->first_lsn != expected) {
        return Status::Corruption(fmt::format(
            "segment {} starts at LSN {}, but the segment before it ends at LSN {}: a segment is "
            "missing",
            path, header->first_lsn, expected - 1));
      }
      expected = header->first_lsn;
      FrameIterator it(file->get(), kSegmentHeaderSize, size, max_record_bytes);
      FrameView frame;
      FrameCheck damage = FrameCheck::kOk;
      while (true) {
        const uint64_t at = it.offset();
        SLUICE_ASSIGN_OR_RETURN(auto step, it.Next(&frame, &damage));
        if (step == FrameIterator::Step::kEnd) break;
        bool bad_lsn = step == FrameIterator::Step::kFrame && frame.lsn != expected;
        if (step == FrameIterator::Step::kDamage || bad_lsn) {
          if (last) {
            stream_done = true;  // a torn or live tail: recovery cuts it, readers never see it
            break;
          }
          return Status::Corruption(fmt::format(
              "segment {} is damaged at offset {} ({}) after LSN {}", path, at,
              bad_lsn ? fmt::format("record has LSN {} where LSN {} was expected", frame.lsn,
                                    expected)
                      : std::string(FrameCheckName(damage)),
              expected - 1));
        }
        ++expected;
        if (frame.lsn < from) continue;
        on_record(name, frame.lsn, frame.type, frame.payload);
        if (limit != 0 && ++delivered >= limit) {
          stream_done = true;
          break;
        }
      }
    }
  }
  return Status::OK();
}

}  // namespace sluice::journal
