// `sluice recall ...`: recall windows through the Sampling service. define, list and
// remove work on the catalog's recall definitions (writes reported as `sluice sql` reports
// them: exit 0 / 1 / 4); trigger starts an event of the daemon's recall windows.

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/catalog_write_report.h"
#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/sample_csv.h"
#include "cli/text_util.h"
#include "config/values.h"

namespace sluice::cli {
namespace {

struct RecallDefineArgs {
  int64_t id = 0;
  std::string name;
  std::vector<int64_t> points;
  int64_t period_ms = 0;
  double before_s = 0;
  double after_s = 0;
  bool on_limit = false;
};

struct RecallTriggerArgs {
  std::string recall;  // a name, or an id when all digits
  std::optional<std::string> time;
};

// Seconds given on the command line -> microseconds; nullopt (with the message printed)
// when not a finite number >= 0.
std::optional<int64_t> SecondsToUs(double seconds, std::string_view option) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) {
    fmt::print(stderr, "sluice recall define: {} {}: must be a number of seconds >= 0\n", option,
               seconds);
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(seconds * 1e6));
}

void RunRecallDefine(Context* context, const RecallDefineArgs& args) {
  const auto before_us = SecondsToUs(args.before_s, "--before-s");
  const auto after_us = SecondsToUs(args.after_s, "--after-s");
  if (!before_us || !after_us) {
    context->exit_code = kExitUsage;
    return;
  }
  v1::PutRecallsRequest req;
  v1::CatalogRecall* r = req.add_recalls();
  r->set_id(args.id);
  r->set_name(args.name);
  for (int64_t p : args.points) r->add_point_ids(p);
  r->set_period_us(args.period_ms * 1000);
  r->set_before_us(*before_us);
  r->set_after_us(*after_us);
  r->set_on_limit(args.on_limit);
  // The service checks the rest (periods, window sizes, points in the catalog) and names
  // the field.
  auto conn = Connection::Open(context->service, "recall define", &context->exit_code);
  if (!conn) return;
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().PutRecalls(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.PutRecalls", s);
    return;
  }
  context->exit_code = ReportCatalogWrite(
      resp, fmt::format("recall {} '{}' over {} point(s)", args.id, args.name, args.points.size()));
}

void RunRecallList(Context* context) {
  auto conn = Connection::Open(context->service, "recall list", &context->exit_code);
  if (!conn) return;
  v1::ListRecallsResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().ListRecalls(ctx.get(), v1::ListRecallsRequest(), &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.ListRecalls", s);
    return;
  }
  // CSV; the point list is one quoted field. A name may hold commas or quotes: it is
  // quoted, its quotes doubled.
  fmt::print("id,name,points,period_ms,before_s,after_s,on_limit,open_events\n");
  for (int i = 0; i < resp.recalls_size(); ++i) {
    const v1::CatalogRecall& r = resp.recalls(i);
    std::string name;
    for (char c : r.name()) name += c == '"' ? std::string("\"\"") : std::string(1, c);
    const uint64_t open = i < resp.states_size() ? resp.states(i).open_events() : 0;
    fmt::print("{},\"{}\",\"{}\",{},{},{},{},{}\n", r.id(), name, fmt::join(r.point_ids(), ","),
               static_cast<double>(r.period_us()) / 1e3, static_cast<double>(r.before_us()) / 1e6,
               static_cast<double>(r.after_us()) / 1e6, r.on_limit() ? "true" : "false", open);
  }
}

void RunRecallRemove(Context* context, const std::vector<int64_t>& ids) {
  auto conn = Connection::Open(context->service, "recall remove", &context->exit_code);
  if (!conn) return;
  v1::DeleteRecallsRequest req;
  for (int64_t id : ids) req.add_recall_ids(id);
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().DeleteRecalls(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.DeleteRecalls", s);
    return;
  }
  context->exit_code =
      ReportCatalogWrite(resp, fmt::format("{} recall definition(s) removed", ids.size()));
}

void RunRecallTrigger(Context* context, const RecallTriggerArgs& args) {
  v1::TriggerRecallRequest req;
  if (AllDigits(args.recall)) {
    req.set_recall_id(std::stoll(args.recall));
  } else {
    req.set_recall_name(args.recall);
  }
  if (args.time) {
    auto ts = ParseSampleTime(*args.time);
    if (!ts.ok()) {
      fmt::print(stderr, "sluice recall trigger: --time: {}\n", ts.status().message());
      context->exit_code = kExitUsage;
      return;
    }
    if (*ts <= 0) {
      fmt::print(stderr, "sluice recall trigger: --time {}: not after 1970\n", *args.time);
      context->exit_code = kExitUsage;
      return;
    }
    req.set_event_ts_us(*ts);
  }
  auto conn = Connection::Open(context->service, "recall trigger", &context->exit_code);
  if (!conn) return;
  v1::TriggerRecallResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().TriggerRecall(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.TriggerRecall", s);
    return;
  }
  fmt::print(
      "event {} ({} µs) of recall {}: {} row(s) journaled now, the rest of the window as "
      "it is sampled\n",
      config::FormatTimestamp(resp.event_ts_us()), resp.event_ts_us(), args.recall,
      resp.rows_emitted());
}

}  // namespace

void RegisterRecallCommands(CLI::App& app, Context* context) {
  CLI::App* recall = app.add_subcommand(
      "recall", "Recall windows: samples of points around an event (Sampling service)");
  recall->require_subcommand(1);

  auto define_args = std::make_shared<RecallDefineArgs>();
  auto* define = recall->add_subcommand(
      "define", "Creates or replaces a recall definition (upserted by --id)");
  define->add_option("--id", define_args->id, "The recall id (> 0)")->required();
  define->add_option("--name", define_args->name, "Its name (a trigger may use it)")->required();
  define->add_option("--points", define_args->points, "Point ids, comma-separated")
      ->required()
      ->delimiter(',');
  define->add_option("--period-ms", define_args->period_ms, "The sampling period in ms (>= 10)")
      ->required();
  define->add_option("--before-s", define_args->before_s,
                     "Seconds kept before an event (default 0)");
  define->add_option("--after-s", define_args->after_s, "Seconds kept after an event (default 0)");
  define->add_flag("--on-limit", define_args->on_limit,
                   "Also start an event when one of the points crosses one of its limits");
  define->callback([context, define_args] { RunRecallDefine(context, *define_args); });

  auto* list = recall->add_subcommand(
      "list", "Prints the recall definitions as CSV, with the events open in the daemon");
  list->callback([context] { RunRecallList(context); });

  auto remove_ids = std::make_shared<std::vector<int64_t>>();
  auto* remove = recall->add_subcommand(
      "remove", "Removes recall definitions (their open events are cut short)");
  remove->add_option("ID", *remove_ids, "Recall ids")->required();
  remove->callback([context, remove_ids] { RunRecallRemove(context, *remove_ids); });

  auto trigger_args = std::make_shared<RecallTriggerArgs>();
  auto* trigger = recall->add_subcommand(
      "trigger", "Starts an event of a recall definition: its window goes to recall_sample");
  trigger
      ->add_option("RECALL", trigger_args->recall,
                   "The recall definition: its id (all digits) or its name")
      ->required();
  trigger->add_option("--time", trigger_args->time,
                      "The event's time: ISO 8601 (\"2026-12-06T12:00:00.5Z\") or µs since "
                      "1970 (default: now, as the daemon receives the call)");
  trigger->callback([context, trigger_args] { RunRecallTrigger(context, *trigger_args); });
}

}  // namespace sluice::cli
