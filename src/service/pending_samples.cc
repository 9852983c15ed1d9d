#include "service/pending_samples.h"

#include <charconv>

#include <fmt/format.h>

#include "service/read_pool.h"

namespace sluice::service {
namespace {

// An LSN column as a backend returns it: an integer (both dialects do), or its text.
Result<journal::Lsn> LsnValue(const v1::SqlValue& v, const std::string& stream) {
  int64_t n = -1;
  if (v.kind_case() == v1::SqlValue::kIntValue) {
    n = v.int_value();
  } else if (v.kind_case() == v1::SqlValue::kTextValue) {
    const std::string& t = v.text_value();
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (ec != std::errc() || end != t.data() + t.size()) n = -1;
  }
  if (n < 0) {
    return Status::Corruption(fmt::format(
        "the watermark row of stream '{}' holds no valid LSN ({})", stream, v.ShortDebugString()));
  }
  return static_cast<journal::Lsn>(n);
}

}  // namespace

Result<AppliedPositions> ReadAppliedPositions(store::Backend& target, const std::string& node_id,
                                              const std::string& epoch_hex) {
  v1::SqlStatement read;
  read.set_text("SELECT stream, lsn FROM sluice_watermark WHERE node = $1 AND epoch = $2");
  read.add_params()->set_text_value(node_id);
  read.add_params()->set_text_value(epoch_hex);
  AppliedPositions positions;
  Status s = target.Query(
      read, 256, 0,
      [&](const std::vector<std::string>&, std::vector<std::vector<v1::SqlValue>>& rows) -> Status {
        for (const auto& row : rows) {
          if (row.size() != 2) {
            return Status::Internal(
                fmt::format("the watermark read returned {} columns, not 2", row.size()));
          }
          const std::string& stream = row[0].text_value();
          SLUICE_ASSIGN_OR_RETURN(journal::Lsn lsn, LsnValue(row[1], stream));
          positions[stream] = lsn;
        }
        return Status::OK();
      });
  if (!s.ok()) {
    return s.Annotate(
        fmt::format("reading the watermarks of node '{}' on target '{}'", node_id, target.name()));
  }
  return positions;
}

namespace {

PendingQuery MakeQuery(const std::string& target, v1::SampleInterval interval,
                       std::span<const int64_t> point_ids, int64_t start_us, int64_t end_us,
                       size_t max_samples) {
  PendingQuery query;
  query.interval = interval;
  query.point_ids = point_ids;
  query.start_us = start_us;
  query.end_us = end_us;
  query.max_samples = max_samples;
  query.target = target;
  return query;
}

Status CheckContext(const ServiceContext& ctx) {
  if (ctx.journals == nullptr || ctx.config == nullptr) {
    return Status::FailedPrecondition(
        "pending samples: this node has no journals or configuration");
  }
  return Status::OK();
}

Result<history::PendingSamples> Collect(const ServiceContext& ctx, store::Backend& target,
                                        const PendingQuery& query) {
  auto applied =
      ReadAppliedPositions(target, ctx.config->node.id, journal::EpochToHex(ctx.journals->epoch()));
  if (!applied.ok()) return applied.status().Annotate("pending samples");
  return ScanPendingSamples(*ctx.journals, *applied, query);
}

}  // namespace

Result<history::PendingSamples> CollectPendingSamples(
    const ServiceContext& ctx, const std::string& active_target, v1::SampleInterval interval,
    std::span<const int64_t> point_ids, int64_t start_us, int64_t end_us, size_t max_samples) {
  const PendingQuery query =
      MakeQuery(active_target, interval, point_ids, start_us, end_us, max_samples);
  // Bad input is refused before the target is asked anything.
  SLUICE_RETURN_IF_ERROR(ValidatePendingQuery(query));
  SLUICE_RETURN_IF_ERROR(CheckContext(ctx));
  if (ctx.reads == nullptr) {
    return Status::FailedPrecondition(
        "pending samples: this node has no read connections to its targets");
  }
  if (ctx.config->FindTarget(active_target) == nullptr) {
    return Status::NotFound(
        fmt::format("pending samples: no target '{}' in the configuration", active_target));
  }
  SLUICE_ASSIGN_OR_RETURN(ReadPool::Lease lease, ctx.reads->Acquire(active_target));
  auto pending = Collect(ctx, *lease.operator->(), query);
  // A broken connection is not given back to the pool.
  if (!pending.ok() && pending.status().retryable()) lease.Discard();
  return pending;
}

Result<history::PendingSamples> CollectPendingSamples(
    const ServiceContext& ctx, store::Backend& active_target, v1::SampleInterval interval,
    std::span<const int64_t> point_ids, int64_t start_us, int64_t end_us, size_t max_samples) {
  const PendingQuery query =
      MakeQuery(active_target.name(), interval, point_ids, start_us, end_us, max_samples);
  SLUICE_RETURN_IF_ERROR(ValidatePendingQuery(query));
  SLUICE_RETURN_IF_ERROR(CheckContext(ctx));
  return Collect(ctx, active_target, query);
}

}  // namespace sluice::service
