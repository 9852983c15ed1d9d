#include "service/download_service.h"

#include <cctype>

#include <fmt/format.h>

#include "rpc/status_mapping.h"

namespace sluice::service {

using config::TokenRole;

grpc::Status DownloadService::ReadTable(grpc::ServerContext* context, const v1::ReadTableRequest* request,
                                        grpc::ServerWriter<v1::RowBatch>* writer) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kRead, "Download.ReadTable");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  v1::SqlStatement statement;
  if (!request->table().empty()) {
    const std::string& t = request->table();
    bool ok = !t.empty() && t.size() <= 128 && (std::isalpha(static_cast<unsigned char>(t[0])) || t[0] == '_');
    for (char c : t) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.');
    if (!ok) {
      return rpc::ToGrpcStatus(Status::InvalidArgument(fmt::format(
          "table name '{}' is not a plain identifier ([A-Za-z_][A-Za-z0-9_.]*, at most 128)", t)));
    }
    statement.set_text("SELECT * FROM " + t);
  } else if (!request->query().text().empty() || request->query().dialect_text_size() > 0) {
    statement = request->query();
  } else {
    return rpc::ToGrpcStatus(Status::InvalidArgument("ReadTable needs a table or a query"));
  }
  auto active = ctx_.cluster->WaitActive();
  if (!active.ok()) return rpc::ToGrpcStatus(active.status());
  auto lease = sync_.reads->Acquire(*active);
  if (!lease.ok()) return rpc::ToGrpcStatus(lease.status().WithRetryable(true));
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
    return rpc::ToGrpcStatus(s);
  }
  return grpc::Status::OK;
}

}  // namespace sluice::service
