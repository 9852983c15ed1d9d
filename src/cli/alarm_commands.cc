// `sluice alarms [--watch] [--json]`: the alarm engine's active alarms and recent raises
// and clears (Admin.ListAlarms), or the current set then every raise and clear as it
// happens (Admin.WatchAlarms). The exit code says the worst active severity, so scripts
// can use it: 0 none, 1 a warning, 2 a critical (3: the service cannot be reached).

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "cli/alarm_view.h"
#include "cli/client_connection.h"
#include "cli/commands.h"
#include "common/wall_clock.h"

namespace sluice::cli {
namespace {

std::string OneLineJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  // Cannot fail for a message without Any fields.
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

// 1 and 2 say which alarms are active, so a refusal is 3 here, not Fail()'s 1.
int Failed(const Connection& conn, std::string_view what, const grpc::Status& st) {
  (void)conn.Fail(what, st);
  return kExitError;
}

struct AlarmsArgs {
  bool watch = false;
  bool json = false;
  int events = 0;  // with --watch: stop after this many raises and clears (0: never)
};

int RunList(Connection& conn, const AlarmsArgs& args) {
  v1::ListAlarmsResponse resp;
  auto ctx = conn.NewContext(std::chrono::seconds(30));
  grpc::Status st = conn.admin().ListAlarms(ctx.get(), v1::ListAlarmsRequest(), &resp);
  if (!st.ok()) return Failed(conn, "Admin.ListAlarms", st);
  if (args.json) {
    fmt::print("{}\n", OneLineJson(resp));
  } else {
    fmt::print("{}", RenderAlarms(resp, NowMicros()));
  }
  return AlarmsExitCode(resp.active());
}

// Prints the current set, then each raise and clear (one line each; one JSON object per
// line with --json) until the service ends the stream or --events are seen; the exit code
// is that of the active set at the end.
int RunWatch(Connection& conn, const AlarmsArgs& args) {
  auto ctx = conn.NewContext(std::chrono::hours(24 * 365));
  auto stream = conn.admin().WatchAlarms(ctx.get(), v1::WatchAlarmsRequest());
  std::map<std::pair<std::string, std::string>, v1::Alarm> active;
  v1::AlarmUpdate update;
  int seen = 0;
  while (stream->Read(&update)) {
    if (args.json) {
      fmt::print("{}\n", OneLineJson(update));
    } else if (update.snapshot()) {
      v1::ListAlarmsResponse as_list;
      *as_list.mutable_active() = update.active();
      fmt::print("{}", RenderAlarms(as_list, NowMicros(), 0));
    } else {
      fmt::print("{}", RenderAlarmEvent(update.event(), NowMicros()));
    }
    std::fflush(stdout);
    if (update.snapshot()) {
      for (const auto& a : update.active()) active[{a.check(), a.subject()}] = a;
      continue;
    }
    const v1::Alarm& a = update.event().alarm();
    if (update.event().raised()) {
      active[{a.check(), a.subject()}] = a;
    } else {
      active.erase({a.check(), a.subject()});
    }
    if (args.events > 0 && ++seen >= args.events) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status st = stream->Finish();
  if (!st.ok() && !(args.events > 0 && seen >= args.events))
    return Failed(conn, "Admin.WatchAlarms", st);
  google::protobuf::RepeatedPtrField<v1::Alarm> now;
  for (const auto& [key, a] : active) *now.Add() = a;
  return AlarmsExitCode(now);
}

int RunAlarms(const ServiceOptions& so, const AlarmsArgs& args) {
  int code = kExitOk;
  auto conn = Connection::Open(so, "alarms", &code);
  if (!conn) return code;
  return args.watch ? RunWatch(*conn, args) : RunList(*conn, args);
}

}  // namespace

void RegisterAlarmCommands(CLI::App& app, Context* context) {
  auto args = std::make_shared<AlarmsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "alarms",
      "The service's active alarms (severity, check, subject, value, threshold, since when) and "
      "the recent raises and clears; --watch: the current set, then every raise and clear as it "
      "happens (docs/alarms.md)");
  cmd->add_flag("--watch", args->watch,
                "Follow the alarms: print every raise and clear until interrupted");
  cmd->add_flag(
      "--json", args->json,
      "Print Admin.ListAlarms as JSON (with --watch: one Admin.WatchAlarms update per line)");
  cmd->add_option("--events", args->events, "With --watch: stop after N raises and clears")
      ->check(CLI::NonNegativeNumber);
  cmd->footer(
      "Exit codes (for scripts): 0 no alarm is active (info alarms aside), 1 a warning is active "
      "and no critical, 2 a critical alarm is active; with --watch, the active set when it ends. "
      "3 the service cannot be reached or refused the call.");
  cmd->callback([context, args] { context->exit_code = RunAlarms(context->service, *args); });
}

}  // namespace sluice::cli
