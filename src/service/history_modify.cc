// History.ModifySamples: the manual correction of history samples, a synchronous write.
// The request is checked (sample_edits.h), the edited samples' stored rows are read on the
// active target so every target logs the same old value, and the corrections are
// journaled as ONE KIND_SAMPLE_MODIFY intent in the model stream, decided by the active
// target and applied by every other one in its order.
#include <chrono>

#include <fmt/format.h>

#include "rpc/status_mapping.h"
#include "service/history_service.h"
#include "service/sample_edits.h"
#include "store/schema.h"

namespace sluice::service {
namespace {

constexpr std::string_view kMethod = "History.ModifySamples";
constexpr size_t kReadBatchRows = 1000;

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

grpc::Status RefuseModify(const Status& s) { return rpc::ToGrpcStatus(s.Annotate(kMethod)); }

// The edited samples' rows on the active target. The connection goes back to the pool
// before the write waits for its outcome.
Result<StoredSamples> ReadStored(const ServiceContext& ctx, const SyncServices& sync,
                                 const v1::ModifySamplesRequest& request) {
  SLUICE_ASSIGN_OR_RETURN(std::string active, ctx.cluster->WaitActive());
  auto lease = sync.reads->Acquire(active);
  if (!lease.ok()) return lease.status().WithRetryable(true);
  const std::string_view table = store::schema::SampleTableName(request.interval());
  StoredSamples stored;
  for (const v1::SqlStatement& read : StoredSampleReads(request, table)) {
    Status s = (*lease)->Query(
        read, kReadBatchRows, 0,
        [&](const std::vector<std::string>&, std::vector<std::vector<v1::SqlValue>>& rows) {
          return AddStoredRows(rows, &stored);
        });
    if (!s.ok()) {
      if (s.retryable()) lease->Discard();
      return s.Annotate(
          fmt::format("reading the edited samples of {} on target '{}'", table, active));
    }
  }
  return stored;
}

}  // namespace

grpc::Status HistoryService::ModifySamples(grpc::ServerContext* context,
                                           const v1::ModifySamplesRequest* request,
                                           v1::ExecuteResponse* response) {
  // An unauthorised caller is refused before any check says anything about the data.
  auto admitted = AdmitCall(ctx_, *context, config::TokenRole::kSql, kMethod);
  if (!admitted.ok()) return rpc::ToGrpcStatus(admitted.status());
  SampleEditLimits limits;
  limits.max_string_length = ctx_.config->limits.max_string_length;
  limits.timestamp_min_us = ctx_.config->limits.timestamp_min;
  limits.timestamp_max_ahead_us =
      std::chrono::duration_cast<std::chrono::microseconds>(ctx_.config->limits.timestamp_max_ahead)
          .count();
  const auto known = catalog_->KnownPoints();
  Status checked = CheckSampleEdits(
      *request, limits, [&](int64_t id) { return known->contains(id); }, WallMicros());
  if (!checked.ok()) return RefuseModify(checked);

  // What the samples hold now, on the active target: the old values every target logs.
  auto stored = ReadStored(ctx_, sync_, *request);
  if (!stored.ok()) return RefuseModify(stored.status());
  auto intent = BuildSampleModify(*request, *stored, admitted->caller.name);
  if (!intent.ok()) return RefuseModify(intent.status());
  // `why` is repeated in every correction: many edits with a long reason may not fit one
  // record (the version and times the admitter adds are a few bytes more).
  const size_t bytes = intent->ByteSizeLong() + 64;
  if (bytes > ctx_.config->journal.max_record_size) {
    return RefuseModify(Status::InvalidArgument(
        fmt::format("{} edits with a reason of {} bytes make a record of {} bytes, above "
                    "journal.max_record_size = {}; send fewer edits per request",
                    request->edits_size(), request->why().size(), bytes,
                    ctx_.config->journal.max_record_size)));
  }
  return SyncWriteIntent(ctx_, sync_, *intent, 0, response);
}

}  // namespace sluice::service
