#pragma once
// `sluice-bench resync`'s source target and its baseline: a PostgreSQL database holding
// model rows and N sample rows, loaded the raw way (binary COPY), and the raw copy of
// every copied table to another PostgreSQL database through a `COPY ... TO STDOUT |
// COPY ... FROM STDIN` pipe. The loaders use the caller's connections (one thread).

#include <libpq-fe.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace sluice::bench::resync_bench {

// The sample table the rows go to: 1 min samples, so N rows over --points points span
// several daily partitions.
inline constexpr const char* kSampleTable = "sample_1min";
// The backend's default partition span (store::BackendOptions::partition_span_us).
inline constexpr int64_t kPartitionSpanUs = 86'400'000'000;

struct SourceShape {
  int64_t rows = 0;    // sample rows
  int64_t points = 0;  // points (one point and one sample_define row each)
};

// What the source holds: rows per copied table are counted by the benchmark afterwards.
struct SourceSpan {
  int64_t first_ts = 0;  // µs, of the oldest sample row
  int64_t last_ts = 0;   // µs, of the newest
};

// Fills a database whose schema the backend's own Connect() created: `points` point and
// sample_define rows, a burst_type and a recall_define row, a watermark row, and
// `rows` sample rows (point i % points, one minute apart per round of points, values a
// sine with noise, a few bad qualities) by binary COPY with their partitions.
Result<SourceSpan> FillSource(PGconn* conn, const SourceShape& shape);

// The raw pipe: for every table resync copies (store::CopyTables() and sluice_watermark),
// `COPY (SELECT <columns> FROM t) TO STDOUT (FORMAT binary)` in one REPEATABLE READ READ
// ONLY transaction on `source`, each chunk handed as it arrives to `COPY t (<columns>)
// FROM STDIN (FORMAT binary)` on `destination`, one transaction per table. Returns the
// rows copied (the COPY FROM counts). REQUIRES: the destination's schema and the
// partitions the rows need exist.
Result<int64_t> RawCopyPipe(PGconn* source, PGconn* destination);

}  // namespace sluice::bench::resync_bench
