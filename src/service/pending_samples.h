#pragma once
// `include_pending` for history queries (issue #12 item 5): the samples journaled on this
// node and not yet applied on the active target (history/pending.h says what a query
// gets; service/pending_scan.h how the journal is read and what it costs).
//
// Where "applied" ends, per stream: the target's own watermark row for (node, epoch,
// stream), read on a read connection of the target (ctx.reads) just before the journal
// is scanned. That row is the truth: the target moves it in the same transaction as the
// rows it applies, so everything up to it is in the tables and nothing past it is. What
// the replicator knows is not: an applier's status is what it last committed or read, so
// after a commit whose answer was lost it is behind the row, and a stopped target (taken
// out for maintenance, or down) has no applier at all; the journal cursor is advanced
// after each commit and saved lazily, so it can be behind too. A position behind the row
// would show applied rows as pending again; the row never does. Reading it goes through
// the target's read connection, never the applier's writer, so no applier waits for it.
//
// Consistency with the stored rows: call this BEFORE reading the stored rows of the same
// query. Whatever is applied between the two reads then appears in both (pending replaces
// stored with the same row); read the other way round, a record applied in between would
// be in neither.
//
// Thread safety: safe from any thread (borrows the node's journals and read pool).

#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"
#include "history/pending.h"
#include "service/pending_scan.h"
#include "service/service_context.h"
#include "store/backend.h"

namespace sluice::service {

// The watermarks of every stream for (node_id, epoch_hex) that `target` holds, read in
// one read-only query on `target` (a read connection: Backend::Query).
Result<AppliedPositions> ReadAppliedPositions(store::Backend& target, const std::string& node_id,
                                              const std::string& epoch_hex);

// The samples of `interval` for `point_ids` in [start_us, end_us), with the bounds on each
// side, journaled on this node and not applied on `active_target` (its watermark rows,
// read through ctx.reads, see above). Errors: those of ScanPendingSamples (bad range or
// interval, more than `max_samples`, a target whose positions the journal cannot serve),
// kNotFound for an unknown target, kFailedPrecondition without a read pool, the target's
// error when its watermarks cannot be read.
Result<history::PendingSamples> CollectPendingSamples(
    const ServiceContext& ctx, const std::string& active_target, v1::SampleInterval interval,
    std::span<const int64_t> point_ids, int64_t start_us, int64_t end_us, size_t max_samples);

// The same over a connection the caller holds on the active target already (the lease
// its read of the stored rows uses): its watermark rows are read on `active_target`.
Result<history::PendingSamples> CollectPendingSamples(
    const ServiceContext& ctx, store::Backend& active_target, v1::SampleInterval interval,
    std::span<const int64_t> point_ids, int64_t start_us, int64_t end_us, size_t max_samples);

}  // namespace sluice::service
