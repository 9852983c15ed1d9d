// The Sampling service's trigger calls: trigger types (burst_type) written through the
// catalog like points, and Trigger, which turns one event of a type into one burst_sample
// row and journals it.
//
// Where a trigger goes: the configuration has no routing of record kinds to streams, so a
// triggered sample is journaled on the [sampling] stream (default "samples"), beside the
// sampler's own records. A request's client tag is de-duplicated as an Ingest.Commit on
// that stream (commit_admission.h): its sequence is in the same numbering as the client's
// commits there.
//
// Thread safety: as SamplingService (sampling_service.h).

#include <optional>
#include <string>

#include <fmt/format.h>

#include "rpc/status_mapping.h"
#include "sampling/trigger.h"
#include "service/commit_admission.h"
#include "service/sampling_service.h"

namespace sluice::service {
namespace {

using config::TokenRole;

constexpr std::string_view kTrigger = "Sampling.Trigger";

grpc::Status Refuse(Status s) { return rpc::ToGrpcStatus(s.Annotate(kTrigger)); }

// "trigger type 'breaker fault' (id 3)", as trigger.h's messages name a type.
std::string TypeName(const sampling::TriggerType& type) {
  return fmt::format("trigger type '{}' (id {})", type.name, type.id);
}

// The request's type, by id or by name; NOT_FOUND naming what was asked for.
Result<sampling::TriggerType> FindType(const sampling::Catalog& catalog,
                                       const v1::TriggerRequest& request) {
  std::optional<sampling::TriggerType> type;
  std::string asked;
  switch (request.type_case()) {
    case v1::TriggerRequest::kTypeId:
      type = catalog.FindTriggerType(request.type_id());
      asked = fmt::format("no trigger type {}", request.type_id());
      break;
    case v1::TriggerRequest::kTypeName:
      type = catalog.FindTriggerType(std::string_view(request.type_name()));
      asked = fmt::format("no trigger type named '{}'", request.type_name());
      break;
    case v1::TriggerRequest::TYPE_NOT_SET:
      return Status::InvalidArgument("no trigger type given (type_id or type_name)");
  }
  if (type) return *std::move(type);
  std::string known;
  for (const auto& t : catalog.TriggerTypes())
    known += fmt::format("{}{} '{}'", known.empty() ? "" : ", ", t.id, t.name);
  return Status::NotFound(fmt::format("{} in the catalog (trigger types: {})", asked,
                                      known.empty() ? "none" : known));
}

// The sample of `request`'s values, named or positional (not both).
Result<v1::TriggerSample> BuildSample(const sampling::TriggerType& type,
                                      const v1::TriggerRequest& request, int64_t occur_time_us,
                                      const record::Limits& limits) {
  const int positional =
      request.ints_size() + request.floats_size() + request.strings_size();
  if (request.values_size() > 0 && positional > 0) {
    return Status::InvalidArgument(fmt::format(
        "{}: give the values either named ({} in `values`) or by position ({} in `ints`, "
        "`floats` and `strings`), not both",
        TypeName(type), request.values_size(), positional));
  }
  if (request.values_size() == 0) {
    sampling::PositionalTriggerValues values;
    values.ints.assign(request.ints().begin(), request.ints().end());
    values.floats.assign(request.floats().begin(), request.floats().end());
    values.strings.assign(request.strings().begin(), request.strings().end());
    return sampling::BuildTriggerSample(type, occur_time_us, values, limits);
  }
  sampling::NamedTriggerValues values;
  values.reserve(static_cast<size_t>(request.values_size()));
  for (int i = 0; i < request.values_size(); ++i) {
    const v1::TriggerColumnValue& v = request.values(i);
    switch (v.value_case()) {
      case v1::TriggerColumnValue::kIntValue:
        values.emplace_back(v.column(), v.int_value());
        break;
      case v1::TriggerColumnValue::kFloatValue:
        values.emplace_back(v.column(), v.float_value());
        break;
      case v1::TriggerColumnValue::kStringValue:
        values.emplace_back(v.column(), v.string_value());
        break;
      case v1::TriggerColumnValue::VALUE_NOT_SET:
        return Status::InvalidArgument(fmt::format(
            "{}: values[{}] (column '{}') has no value (int_value, float_value or string_value)",
            TypeName(type), i, v.column()));
    }
  }
  return sampling::BuildTriggerSample(type, occur_time_us, values, limits);
}

}  // namespace

grpc::Status SamplingService::PutTriggerTypes(grpc::ServerContext* context,
                                              const v1::PutTriggerTypesRequest* request,
                                              v1::ExecuteResponse* response) {
  v1::CatalogChange change;
  *change.mutable_put_trigger_types() = request->types();
  if (change.put_trigger_types_size() == 0) {
    return rpc::ToGrpcStatus(
        Status::InvalidArgument("Sampling.PutTriggerTypes: no trigger type given"));
  }
  return WriteChange(context, std::move(change), request->request_id(),
                     "Sampling.PutTriggerTypes", response);
}

grpc::Status SamplingService::DeleteTriggerTypes(grpc::ServerContext* context,
                                                 const v1::DeleteTriggerTypesRequest* request,
                                                 v1::ExecuteResponse* response) {
  v1::CatalogChange change;
  *change.mutable_delete_trigger_types() = request->type_ids();
  if (change.delete_trigger_types_size() == 0) {
    return rpc::ToGrpcStatus(
        Status::InvalidArgument("Sampling.DeleteTriggerTypes: no trigger type id given"));
  }
  return WriteChange(context, std::move(change), request->request_id(),
                     "Sampling.DeleteTriggerTypes", response);
}

grpc::Status SamplingService::ListTriggerTypes(grpc::ServerContext* context,
                                               const v1::ListTriggerTypesRequest* /*request*/,
                                               v1::ListTriggerTypesResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kRead, "Sampling.ListTriggerTypes");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  for (const auto& t : parts_.catalog->TriggerTypes())
    *response->add_types() = sampling::TriggerTypeToProto(t);
  return grpc::Status::OK;
}

grpc::Status SamplingService::Trigger(grpc::ServerContext* context,
                                      const v1::TriggerRequest* request,
                                      v1::CommitResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kIngest, kTrigger);
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  const std::string& stream = ctx_.config->sampling.stream;
  if (ctx_.config->FindStream(stream) == nullptr) {
    // Only a config without [sampling] and without a "samples" stream gets here (a
    // [sampling] table must name a defined stream).
    return Refuse(Status::FailedPrecondition(fmt::format(
        "triggered samples are journaled on the [sampling] stream '{}', which is not defined; "
        "define it with [[stream]] or name another in [sampling] stream",
        stream)));
  }
  const v1::ClientTag& tag = request->client();
  if (tag.client_id().empty() && tag.sequence() != 0) {
    return Refuse(Status::InvalidArgument(fmt::format(
        "client.sequence {} is given without client.client_id; a sequence numbers a client's "
        "commits",
        tag.sequence())));
  }

  auto type = FindType(*parts_.catalog, *request);
  if (!type.ok()) return Refuse(type.status());
  const int64_t occur_time_us =
      request->occur_time_us() == 0 ? parts_.clock->NowUs() : request->occur_time_us();
  record::Limits limits;
  limits.max_string_length = ctx_.config->limits.max_string_length;
  auto sample = BuildSample(*type, *request, occur_time_us, limits);
  if (!sample.ok()) return Refuse(sample.status());

  v1::CommitRequest commit;
  commit.set_stream(stream);
  commit.set_client_id(tag.client_id());
  commit.set_sequence(tag.sequence());
  *commit.add_records()->mutable_triggers()->add_samples() = std::move(sample).value();
  auto journaled = JournalCommit(ctx_, commit);
  if (!journaled.ok()) {
    return Refuse(journaled.status().Annotate(
        fmt::format("{} at {}", TypeName(*type), occur_time_us)));
  }
  if (Status s = WaitCommitDurable(*journaled); !s.ok()) return Refuse(s);
  *response = std::move(journaled->response);
  return grpc::Status::OK;
}

}  // namespace sluice::service
