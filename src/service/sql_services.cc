#include "service/sql_services.h"

#include <map>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "journal/reader.h"
#include "replicate/record_codec.h"
#include "service/status_mapping.h"

namespace sluice::service {
namespace {

using config::TokenRole;

// The active target (waiting while switching), or UNAVAILABLE naming the state: nothing
// may be journaled then.
Result<std::string> ActiveTarget(const ServiceContext& ctx) { return ctx.cluster->WaitActive(); }

grpc::Status Write(const ServiceContext& ctx, const SyncServices& sync, grpc::ServerContext* context,
                   const v1::ExecuteRequest* request, v1::SyncIntent::Kind kind, std::string_view method,
                   v1::ExecuteResponse* response) {
  auto caller = AdmitCall(ctx, *context, TokenRole::kSql, method);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  // Held until the call is over: a manual switchover lets the old target decide this
  // write even if it is journaled just after the switch began.
  cluster::SyncWritePass pass;
  auto active = ctx.cluster->WaitActive(&pass);
  if (!active.ok()) return ToGrpcStatus(active.status());
  SLUICE_FAILPOINT("sync.after_wait_active");
  v1::SyncIntent intent;
  intent.set_kind(kind);
  *intent.mutable_statement() = request->statement();
  intent.set_request_id(request->request_id());
  auto result = sync.writer->Execute(intent, sync.outcome_wait, request->max_rows());
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(result).value();
  return grpc::Status::OK;
}

}  // namespace

grpc::Status SqlService::Execute(grpc::ServerContext* context, const v1::ExecuteRequest* request,
                                 v1::ExecuteResponse* response) {
  if (!request->read_only()) {
    return Write(ctx_, sync_, context, request, v1::SyncIntent::KIND_SQL, "Sql.Execute", response);
  }
  auto caller = AdmitCall(ctx_, *context, TokenRole::kSql, "Sql.Execute");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto active = ActiveTarget(ctx_);
  if (!active.ok()) return ToGrpcStatus(active.status());
  auto lease = sync_.reads->Acquire(*active);
  if (!lease.ok()) return ToGrpcStatus(lease.status().WithRetryable(true));
  size_t max_rows = request->max_rows() ? request->max_rows() : 100000;
  Status s = (*lease)->Query(request->statement(), 1000, max_rows,
                             [&](const std::vector<std::string>& columns,
                                 std::vector<std::vector<v1::SqlValue>>& rows) {
                               if (response->columns_size() == 0) {
                                 for (const auto& c : columns) response->add_columns(c);
                               }
                               for (auto& row : rows) {
                                 auto* r = response->add_rows();
                                 for (auto& v : row) *r->add_values() = std::move(v);
                               }
                               return Status::OK();
                             });
  if (!s.ok()) {
    if (s.retryable()) lease->Discard();
    return ToGrpcStatus(s);
  }
  response->set_outcome(v1::OUTCOME_READ);
  response->set_target(*active);
  return grpc::Status::OK;
}

grpc::Status SqlService::GetOutcome(grpc::ServerContext* context, const v1::GetOutcomeRequest* request,
                                    v1::ExecuteResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kSql, "Sql.GetOutcome");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto result = request->lsn() == 0 && !request->request_id().empty()
                    ? sync_.writer->GetOutcomeByRequestId(request->request_id())
                    : sync_.writer->GetOutcome(request->lsn());
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(result).value();
  return grpc::Status::OK;
}

grpc::Status ModelService::Update(grpc::ServerContext* context, const v1::ExecuteRequest* request,
                                  v1::ExecuteResponse* response) {
  return Write(ctx_, sync_, context, request, v1::SyncIntent::KIND_MODEL, "Model.Update", response);
}

grpc::Status ModelService::WatchChanges(grpc::ServerContext* context, const v1::WatchRequest* request,
                                        grpc::ServerWriter<v1::ModelChange>* writer) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kRead, "Model.WatchChanges");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  journal::Journal* j = ctx_.journals->stream("model");
  if (j == nullptr) return ToGrpcStatus(Status::Internal("no model stream"));
  journal::Lsn from = request->from_lsn() == 0 ? j->durable_lsn() + 1 : request->from_lsn();
  auto reader = journal::Reader::Open(j, from);
  if (!reader.ok()) return ToGrpcStatus(reader.status());
  // Intents seen and not decided yet; a change is published when its outcome says applied.
  std::map<journal::Lsn, v1::Record> pending;
  journal::ReadBatch batch;
  while (!context->IsCancelled()) {
    Status s = (*reader)->Read(1024, 4 << 20, &batch);
    if (!s.ok()) return ToGrpcStatus(s);
    if (batch.empty()) {
      (*reader)->WaitForRecords(std::chrono::milliseconds(200));
      continue;
    }
    for (const auto& rv : batch.records()) {
      auto rec = replicate::DecodeRecord(rv.lsn, rv.type, rv.payload);
      if (!rec.ok()) continue;
      if (rec->has_intent() && rec->intent().kind() == v1::SyncIntent::KIND_MODEL) {
        pending.emplace(rv.lsn, std::move(rec).value());
        continue;
      }
      if (!rec->has_outcome()) continue;
      auto it = pending.find(rec->outcome().intent_lsn());
      if (it == pending.end()) continue;
      if (rec->outcome().applied()) {
        v1::ModelChange change;
        change.set_lsn(it->first);
        *change.mutable_statement() = it->second.intent().statement();
        change.set_rows_affected(rec->outcome().rows_affected());
        change.set_target(rec->outcome().decided_by());
        change.set_admitted_at_us(it->second.admitted_at_us());
        if (!writer->Write(change)) return grpc::Status::OK;  // the watcher went away
      }
      pending.erase(it);
    }
  }
  return grpc::Status::OK;
}

grpc::Status DownloadService::ReadTable(grpc::ServerContext* context, const v1::ReadTableRequest* request,
                                        grpc::ServerWriter<v1::RowBatch>* writer) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kRead, "Download.ReadTable");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  v1::SqlStatement statement;
  if (!request->table().empty()) {
    const std::string& t = request->table();
    bool ok = !t.empty() && t.size() <= 128 && (std::isalpha(static_cast<unsigned char>(t[0])) || t[0] == '_');
    for (char c : t) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.');
    if (!ok) {
      return ToGrpcStatus(Status::InvalidArgument(fmt::format(
          "table name '{}' is not a plain identifier ([A-Za-z_][A-Za-z0-9_.]*, at most 128)", t)));
    }
    statement.set_text("SELECT * FROM " + t);
  } else if (!request->query().text().empty() || request->query().dialect_text_size() > 0) {
    statement = request->query();
  } else {
    return ToGrpcStatus(Status::InvalidArgument("ReadTable needs a table or a query"));
  }
  auto active = ActiveTarget(ctx_);
  if (!active.ok()) return ToGrpcStatus(active.status());
  auto lease = sync_.reads->Acquire(*active);
  if (!lease.ok()) return ToGrpcStatus(lease.status().WithRetryable(true));
  size_t batch_rows = request->batch_rows() ? request->batch_rows() : 1000;
  bool first = true;
  Status s = (*lease)->Query(statement, batch_rows, 0,
                             [&](const std::vector<std::string>& columns,
                                 std::vector<std::vector<v1::SqlValue>>& rows) {
                               if (context->IsCancelled()) return Status::Aborted("the caller went away");
                               v1::RowBatch b;
                               if (first) {
                                 for (const auto& c : columns) b.add_columns(c);
                                 first = false;
                               }
                               for (auto& row : rows) {
                                 auto* r = b.add_rows();
                                 for (auto& v : row) *r->add_values() = std::move(v);
                               }
                               if (!writer->Write(b)) return Status::Aborted("the caller went away");
                               return Status::OK();
                             });
  if (!s.ok()) {
    if (s.retryable() && s.code() != Code::kAborted) lease->Discard();
    return ToGrpcStatus(s);
  }
  return grpc::Status::OK;
}

}  // namespace sluice::service
