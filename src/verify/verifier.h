#pragma once
// The consistency check between targets (docs/verify.md): for each compared table, each
// target computes per time bucket its row count and checksum (checksum_sql.h); buckets
// whose figures differ from the reference target's are reported, and on request their
// rows: a differing bucket is split into narrower buckets, compared the same way, until
// a bucket holds at most `leaf_rows` rows on every target, whose keys and row hashes are
// then fetched and compared. So memory and network carry one line per bucket plus at
// most `leaf_rows` rows per target at a time, whatever the size of the tables.
//
// Reads only, through Backend::Query (a read-only transaction per query). Each table is
// read on every target at once, one thread per target.
//
// Thread safety: RunVerify uses each target's backend from one thread at a time and
// calls `emit` and `cancelled` from the calling thread only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/v1/service.pb.h"
#include "store/backend.h"
#include "verify/checksum_sql.h"
#include "verify/table_specs.h"

namespace sluice::verify {

inline constexpr int64_t kDayUs = 86'400'000'000;

struct VerifyTarget {
  std::string name;
  store::Backend* backend = nullptr;  // connected; not owned
};

struct VerifyOptions {
  TimeRange range;
  int64_t bucket_us = kDayUs;
  std::vector<const TableSpec*> tables;  // in the order they are read
  bool rows = false;                     // list the differing rows
  size_t max_rows = 100;                 // at most this many listed
  size_t leaf_rows = 10'000;             // rows fetched per target for one comparison
  // A table without time is one bucket: its rows are listed only up to this many.
  size_t max_untimed_rows = 1'000'000;
};

// Receives progress, differing buckets and rows as they are found; false stops the check
// (the caller has gone).
using VerifyEmit = std::function<bool(const v1::VerifyResponse&)>;
// True once the check is to stop (checked between queries and between batches of rows).
using VerifyCancelled = std::function<bool()>;

// Compares `targets` (at least two; the first is the reference) over `options`. Returns
// the summary (the caller adds what it knows: skipped targets, lag); an error when a
// target cannot be read (naming it and the table) or the check was cancelled (kAborted).
Result<v1::VerifySummary> RunVerify(std::span<const VerifyTarget> targets,
                                    const VerifyOptions& options, const VerifyEmit& emit,
                                    const VerifyCancelled& cancelled);

}  // namespace sluice::verify
