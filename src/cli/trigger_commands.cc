// `sluice trigger-types put|list|delete` and `sluice trigger TYPE col=value ...`: trigger
// types (burst_type) and triggered samples (burst_sample) through the Sampling service.
// Type writes are catalog writes, reported as `sluice points` reports them (catalog_write_report.h);
// a trigger is journaled like a commit and reported with its LSN.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/sample_csv.h"
#include "cli/text_util.h"
#include "cli/trigger_values.h"
#include "cli/catalog_write_report.h"

namespace sluice::cli {
namespace {

struct TypePutArgs {
  int32_t id = 0;
  std::string name;
  std::string description;
  std::vector<std::string> ints, floats, strings;
};

struct TriggerArgs {
  std::string type;
  std::optional<std::string> time;
  std::optional<int64_t> time_us;
  std::vector<std::string> values;
};

void RunTypePut(Context* context, const TypePutArgs& args) {
  auto conn = Connection::Open(context->service, "trigger-types put", &context->exit_code);
  if (!conn) return;
  v1::PutTriggerTypesRequest req;
  auto* t = req.add_types();
  t->set_id(args.id);
  t->set_name(args.name);
  t->set_description(args.description);
  for (const auto& c : args.ints) t->add_int_columns(c);
  for (const auto& c : args.floats) t->add_float_columns(c);
  for (const auto& c : args.strings) t->add_string_columns(c);
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().PutTriggerTypes(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.PutTriggerTypes", s);
    return;
  }
  context->exit_code = ReportCatalogWrite(
      resp, fmt::format("trigger type {} '{}' ({} int, {} float, {} string columns)", args.id,
                        args.name, args.ints.size(), args.floats.size(), args.strings.size()));
}

// The catalog's trigger types, by id; nullopt (the exit code set) when the call failed.
std::optional<std::vector<v1::CatalogTriggerType>> ListTypes(Connection& conn, Context* context) {
  v1::ListTriggerTypesResponse resp;
  auto ctx = conn.NewContext();
  grpc::Status s = conn.sampling().ListTriggerTypes(ctx.get(), v1::ListTriggerTypesRequest(), &resp);
  if (!s.ok()) {
    context->exit_code = conn.Fail("Sampling.ListTriggerTypes", s);
    return std::nullopt;
  }
  return std::vector<v1::CatalogTriggerType>(resp.types().begin(), resp.types().end());
}

void RunTypeList(Context* context) {
  auto conn = Connection::Open(context->service, "trigger-types list", &context->exit_code);
  if (!conn) return;
  auto types = ListTypes(*conn, context);
  if (!types) return;
  // CSV; each column list is one field, its names comma-separated (so quoted).
  fmt::print("id,name,description,int_columns,float_columns,string_columns\n");
  for (const auto& t : *types) {
    fmt::print("{},{},{},{},{},{}\n", t.id(), CsvField(t.name()), CsvField(t.description()),
               CsvField(fmt::format("{}", fmt::join(t.int_columns(), ","))),
               CsvField(fmt::format("{}", fmt::join(t.float_columns(), ","))),
               CsvField(fmt::format("{}", fmt::join(t.string_columns(), ","))));
  }
}

void RunTypeDelete(Context* context, const std::vector<int32_t>& ids) {
  auto conn = Connection::Open(context->service, "trigger-types delete", &context->exit_code);
  if (!conn) return;
  v1::DeleteTriggerTypesRequest req;
  for (int32_t id : ids) req.add_type_ids(id);
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().DeleteTriggerTypes(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.DeleteTriggerTypes", s);
    return;
  }
  context->exit_code = ReportCatalogWrite(resp, fmt::format("{} trigger type(s) deleted", ids.size()));
}

void RunTrigger(Context* context, const TriggerArgs& args) {
  v1::TriggerRequest req;
  if (args.time) {
    auto us = ParseSampleTime(*args.time);
    if (!us.ok()) {
      fmt::print(stderr, "sluice trigger: --time: {}\n", us.status().message());
      context->exit_code = kExitUsage;
      return;
    }
    req.set_occur_time_us(*us);
  } else if (args.time_us) {
    req.set_occur_time_us(*args.time_us);
  }
  if (req.occur_time_us() < 0 || (req.occur_time_us() == 0 && (args.time || args.time_us))) {
    // 0 would mean "now" to the service: a time given must be a real one.
    fmt::print(stderr, "sluice trigger: the time {} µs is before 1970-01-01T00:00:00Z + 1 µs\n",
               req.occur_time_us());
    context->exit_code = kExitUsage;
    return;
  }
  auto conn = Connection::Open(context->service, "trigger", &context->exit_code);
  if (!conn) return;
  // The type tells each column's kind, so the values can be parsed as what they are.
  auto types = ListTypes(*conn, context);
  if (!types) return;
  auto type = FindTriggerType(*types, args.type);
  if (!type.ok()) {
    fmt::print(stderr, "sluice trigger: {}\n", type.status().message());
    context->exit_code = kExitFailed;
    return;
  }
  auto values = ParseTriggerValues(*type, args.values);
  if (!values.ok()) {
    fmt::print(stderr, "sluice trigger: {}\n", values.status().message());
    context->exit_code = kExitUsage;
    return;
  }
  req.set_type_id(type->id());
  for (auto& v : *values) *req.add_values() = std::move(v);
  v1::CommitResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().Trigger(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.Trigger", s);
    return;
  }
  fmt::print("journaled: {} with {} value(s) (lsn {})\n", DescribeTriggerType(*type),
             req.values_size(), resp.lsns_size() > 0 ? resp.lsns(0) : 0);
  context->exit_code = kExitOk;
}

}  // namespace

void RegisterTriggerCommands(CLI::App& app, Context* context) {
  CLI::App* types = app.add_subcommand(
      "trigger-types", "Trigger types: the kinds of event `sluice trigger` records (burst_type)");
  types->require_subcommand(1);

  auto put_args = std::make_shared<TypePutArgs>();
  auto* put = types->add_subcommand(
      "put", "Creates or replaces one trigger type: its name and its int, float and string columns");
  put->add_option("--id", put_args->id, "The type id (> 0; burst_sample.trigger_type)")->required();
  put->add_option("--name", put_args->name, "The unique name")->required();
  put->add_option("--description", put_args->description, "What the event is");
  put->add_option("--int", put_args->ints, "Int columns in order (int_1, int_2, ...): a,b")
      ->delimiter(',');
  put->add_option("--float", put_args->floats, "Float columns in order (float_1, ...)")
      ->delimiter(',');
  put->add_option("--string", put_args->strings, "String columns in order (str_1, ...)")
      ->delimiter(',');
  put->callback([context, put_args] { RunTypePut(context, *put_args); });

  auto* list = types->add_subcommand("list", "Prints every trigger type as CSV");
  list->callback([context] { RunTypeList(context); });

  auto del_ids = std::make_shared<std::vector<int32_t>>();
  auto* del = types->add_subcommand("delete", "Deletes trigger types");
  del->add_option("ID", *del_ids, "Trigger type ids")->required();
  del->callback([context, del_ids] { RunTypeDelete(context, *del_ids); });

  auto args = std::make_shared<TriggerArgs>();
  auto* trigger = app.add_subcommand(
      "trigger",
      "Records one event of a trigger type (a burst_sample row): `sluice trigger 'breaker "
      "fault' breaker=4001 current_ka=12.5 relay=R7`; columns not given are NULL (only after "
      "the last one given of each kind)");
  trigger->add_option("TYPE", args->type, "The trigger type's name or id")->required();
  trigger->add_option("VALUES", args->values, "COLUMN=VALUE, parsed by the column's kind");
  auto* time = trigger->add_option(
      "--time", args->time,
      "When the event occurred: ISO 8601 (2026-12-06T12:00:00.250Z, +08:00, ...) or µs since "
      "1970 (default: when the service receives it)");
  trigger->add_option("--time-us", args->time_us, "When the event occurred, in µs since 1970")
      ->excludes(time);
  trigger->callback([context, args] { RunTrigger(context, *args); });
}

}  // namespace sluice::cli
