#include "service/model_service.h"

#include <map>

#include "journal/reader.h"
#include "record/record_codec.h"
#include "rpc/status_mapping.h"

namespace sluice::service {

using config::TokenRole;

grpc::Status ModelService::Update(grpc::ServerContext* context, const v1::ExecuteRequest* request,
                                  v1::ExecuteResponse* response) {
  return SyncWrite(ctx_, sync_, context, request, v1::SyncIntent::KIND_MODEL, "Model.Update", response);
}

grpc::Status ModelService::WatchChanges(grpc::ServerContext* context, const v1::WatchRequest* request,
                                        grpc::ServerWriter<v1::ModelChange>* writer) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kRead, "Model.WatchChanges");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  journal::Journal* j = ctx_.journals->stream("model");
  if (j == nullptr) return rpc::ToGrpcStatus(Status::Internal("no model stream"));
  journal::Lsn from = request->from_lsn() == 0 ? j->durable_lsn() + 1 : request->from_lsn();
  auto reader = journal::Reader::Open(j, from);
  if (!reader.ok()) return rpc::ToGrpcStatus(reader.status());
  // Intents seen and not decided yet; a change is published when its outcome says applied.
  std::map<journal::Lsn, v1::Record> pending;
  journal::ReadBatch batch;
  while (!context->IsCancelled()) {
    Status s = (*reader)->Read(1024, 4 << 20, &batch);
    if (!s.ok()) return rpc::ToGrpcStatus(s);
    if (batch.empty()) {
      (*reader)->WaitForRecords(std::chrono::milliseconds(200));
      continue;
    }
    for (const auto& rv : batch.records()) {
      auto rec = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
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

}  // namespace sluice::service
