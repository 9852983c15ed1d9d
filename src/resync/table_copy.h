#pragma once
// The table copy of `sluice target resync NAME --from OTHER` (docs/resync.md): copies
// every Sluice-managed table and the watermark rows from a source target, as of one
// consistent snapshot, into a destination target in its own dialect, so that the
// destination's appliers can go on from the copied watermarks.
//
// The destination is emptied first and gets the watermark rows last, in the transaction
// of the last batch: a destination that has watermark rows holds a complete copy. After
// each committed batch, a resume mark (the table and the last key copied) replaces the
// mark file atomically. A copy started again with the mark file of an interrupted one
// continues after the mark, provided it copies from the same source target and that
// target's watermark rows are still those the mark was written against (it has not moved
// on); otherwise it starts over and says so (CopyResult::restart_reason). A finished copy deletes its mark file.
//
// Thread safety: CopyTables writes the destination from the calling thread and calls
// `progress` from it; the source is read on a thread of its own, one batch ahead
// (resync/batch_prefetch.h), which ends before CopyTables returns.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/file_system.h"
#include "common/status.h"
#include "store/backend.h"
#include "store/copy_io.h"

namespace sluice::resync {

// A target to copy from or into.
struct CopyEndpoint {
  std::string dialect;            // "sqlite", "postgres"
  store::BackendOptions options;  // name and connection
};

struct CopyOptions {
  // The resume mark file (required). Its directory must exist.
  std::string mark_path;
  // Rows read and written per batch (per transaction, resume mark and, on PostgreSQL,
  // COPY on the destination), at most: a table whose rows are wide gets fewer, so that
  // a batch's rows take about `batch_bytes` of memory (resync::BatchRows; 0: no byte
  // limit). A sample table row takes 280 bytes as a CopyRow, so its batches are
  // 50,000 rows, about 14 MB; burst_sample rows (153 columns) come about 2,700 a batch.
  // Up to three batches are in memory at once (one written, one ready, one read).
  // Each batch costs the destination a durable commit, a fsynced mark and, on
  // PostgreSQL, a COPY whose set-up per partition is paid again per command: 5,000
  // rows a batch made the copy about half as fast (sluice-bench resync).
  size_t batch_rows = 50'000;
  size_t batch_bytes = 16 << 20;
  // Count every table's rows in the snapshot first, for CopyProgress::rows_total.
  bool count_rows = true;
  FileSystem* fs = FileSystem::Default();
  // Called once the source's snapshot is open (its watermarks read), before anything is
  // written: from then on the source may change without changing the copy.
  std::function<void()> on_snapshot;
};

struct CopyProgress {
  size_t tables_done = 0;
  size_t tables_total = 0;
  std::string table;        // the table being copied; "" once every table is done
  int64_t rows_copied = 0;  // rows in the destination so far, earlier runs included
  int64_t rows_total = -1;  // rows in the snapshot; -1 when not counted
  int64_t batches = 0;      // batches committed by this run
  bool done = false;        // the watermarks are written: the copy is complete
};

// Called after each committed batch (and its mark), and once more when the copy is
// done. An error it returns stops the copy (the mark stays) and is returned.
using CopyProgressCallback = std::function<Status(const CopyProgress&)>;

struct CopyResult {
  CopyProgress progress;       // the last one
  bool resumed = false;        // continued after a mark
  std::string restart_reason;  // why a mark found was not used; "" when there was none
  int64_t rows_this_run = 0;
  size_t watermark_rows = 0;
  // The watermark rows copied (node, epoch, stream, lsn, updated_at), as in the snapshot.
  std::vector<store::CopyRow> watermarks;
};

Result<CopyResult> CopyTables(const CopyEndpoint& source, const CopyEndpoint& destination,
                              const CopyOptions& options, const CopyProgressCallback& progress);

// The resume mark, as the mark file holds it (a text file, see table_copy.cc).
struct ResumeMark {
  std::string source_digest;  // of the source and its watermark rows (WatermarkDigest)
  std::string table;          // the table being copied
  store::CopyRow after;       // the last key committed in it
  int64_t rows_copied = 0;
};

std::string EncodeMark(const ResumeMark& mark);
// Parses and validates a mark file's contents; errors (kCorruption) name `path` and what
// is wrong.
Result<ResumeMark> DecodeMark(std::string_view contents, const std::string& path);
// A digest (hex) of the source's identity ("<dialect>:<target name>") and its watermark
// rows: equal for the same source with equal rows in the same order. The identity is in
// it because target-local ids (event_log.id) differ between targets that hold the same
// records, so a copy begun from one target must not be continued from another.
std::string WatermarkDigest(std::string_view source,
                            const std::vector<store::CopyRow>& watermarks);

}  // namespace sluice::resync
