// `sluice status`, `sluice switch`, `sluice errors list|retry|discard`, `sluice target
// disable|enable|forget`: what an operator sees and does through sluiced's Admin service.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/status_view.h"
#include "cli/status_watch.h"
#include "common/wall_clock.h"
#include "config/values.h"

namespace sluice::cli {
namespace {

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  o.add_whitespace = true;
  // Cannot fail for a message without Any fields.
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

struct StatusArgs {
  bool json = false;
  double watch_s = 0;
  int count = 0;
};

// A page drawn over the previous one on a terminal: cursor home, each line erased to its
// end, and whatever the previous page had below erased; no flicker of a cleared screen.
std::string RedrawnInPlace(const std::string& page, bool first) {
  std::string out = first ? "\033[2J\033[H" : "\033[H";
  for (char c : page) {
    if (c == '\n') out += "\033[K";
    out += c;
  }
  return out + "\033[J";
}

int RunStatus(const ServiceOptions& so, const StatusArgs& args) {
  int code = kExitOk;
  auto conn = Connection::Open(so, "status", &code);
  if (!conn) return code;
  // Redrawn in place only where someone looks at it; a file or a pipe gets one block per
  // refresh, blank-line separated, that a script can split.
  const bool redraw = args.watch_s > 0 && isatty(STDOUT_FILENO) == 1;
  CatchUpWatch watch;
  for (int n = 1;; ++n) {
    v1::StatusResponse resp;
    auto ctx = conn->NewContext(std::chrono::seconds(30));
    grpc::Status st = conn->admin().Status(ctx.get(), v1::StatusRequest(), &resp);
    if (!st.ok()) return conn->Fail("Admin.Status", st);
    std::string page;
    if (args.json) {
      page = ToJson(resp) + "\n";
    } else {
      const int64_t now = NowMicros();
      page = RenderStatus(resp, now);
      if (args.watch_s > 0) {
        watch.Observe(resp, now);
        page += "\n" + watch.Render(resp, now);
      }
    }
    if (redraw) {
      fmt::print("{}", RedrawnInPlace(page, n == 1));
    } else {
      fmt::print("{}{}", n > 1 && !args.json ? "\n" : "", page);
    }
    std::fflush(stdout);
    if (args.watch_s <= 0 || (args.count > 0 && n >= args.count)) break;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int64_t>(args.watch_s * 1000)));
  }
  return kExitOk;
}

struct SwitchArgs {
  std::string to;
  bool wait = false;
  std::string timeout = "5min";
};

// After a NOT_FOUND: which targets could have been meant (best effort).
void PrintPrimaries(Connection& conn) {
  v1::StatusResponse resp;
  auto ctx = conn.NewContext(std::chrono::seconds(10));
  if (!conn.admin().Status(ctx.get(), v1::StatusRequest(), &resp).ok()) return;
  std::string names;
  for (const auto& t : resp.targets()) {
    if (t.role() != "primary") continue;
    names += fmt::format("{}{} (priority {})", names.empty() ? "" : ", ", t.name(), t.priority());
  }
  if (!names.empty()) fmt::print(stderr, "sluice switch: the primaries are {}\n", names);
}

int RunSwitch(const ServiceOptions& so, const SwitchArgs& args) {
  auto timeout = config::ParseDuration(args.timeout);
  if (!timeout.ok()) {
    fmt::print(stderr, "sluice switch: --timeout: {}\n", timeout.status().message());
    return kExitUsage;
  }
  int code = kExitOk;
  auto conn = Connection::Open(so, "switch", &code);
  if (!conn) return code;
  v1::SwitchRequest req;
  req.set_target(args.to);
  v1::SwitchResponse resp;
  {
    auto ctx = conn->NewContext(std::chrono::seconds(30));
    grpc::Status st = conn->admin().Switch(ctx.get(), req, &resp);
    if (!st.ok()) {
      code = conn->Fail("Admin.Switch", st);
      if (st.error_code() == grpc::StatusCode::NOT_FOUND) PrintPrimaries(*conn);
      return code;
    }
  }
  fmt::print("{}\n", resp.message());
  std::fflush(stdout);
  if (!args.wait) return kExitOk;

  // Until NAME is active, the service goes another way, or the time is up. Progress is
  // printed at once, then every second (and whenever the state changes).
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const bool bounded = timeout->count() > 0;
  const auto deadline = start + *timeout;
  Clock::time_point printed_at{};
  std::string printed_state;
  while (true) {
    v1::StatusResponse s;
    auto ctx = conn->NewContext(std::chrono::seconds(30));
    grpc::Status st = conn->admin().Status(ctx.get(), v1::StatusRequest(), &s);
    if (!st.ok()) return conn->Fail("Admin.Status", st);
    SwitchProgress p = JudgeSwitch(s, args.to);
    const auto now = Clock::now();
    const std::string elapsed =
        HumanAge(std::chrono::duration_cast<std::chrono::microseconds>(now - start).count());
    if (p.verdict == SwitchVerdict::kDone) {
      fmt::print("'{}' is active ({} after the request): {}\n", args.to, elapsed, p.message);
      return kExitOk;
    }
    if (p.verdict == SwitchVerdict::kElsewhere) {
      fmt::print(stderr, "sluice switch: the switch did not end on '{}': {}\n", args.to, p.message);
      return kExitFailed;
    }
    if (DescribeState(s) != printed_state || now - printed_at >= std::chrono::seconds(1)) {
      fmt::print("[{}] {}\n", elapsed, p.message);
      std::fflush(stdout);
      printed_state = DescribeState(s);
      printed_at = now;
    }
    if (bounded && now >= deadline) {
      fmt::print(stderr,
                 "sluice switch: '{}' is not active after {} (--timeout): {}; the switch goes on "
                 "in the service (watch it with `sluice status`)\n",
                 args.to, config::FormatDuration(*timeout), p.message);
      return kExitFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

struct ErrorsListArgs {
  std::string target;
  std::string stream;
  bool all = false;
  bool json = false;
};

int RunErrorsList(const ServiceOptions& so, const ErrorsListArgs& args) {
  int code = kExitOk;
  auto conn = Connection::Open(so, "errors list", &code);
  if (!conn) return code;
  v1::ListErrorsRequest req;
  req.set_target(args.target);
  req.set_stream(args.stream);
  req.set_include_resolved(args.all);
  v1::ListErrorsResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status st = conn->admin().ListErrors(ctx.get(), req, &resp);
  if (!st.ok()) return conn->Fail("Admin.ListErrors", st);
  if (args.json) {
    // A JSON array of entries, "[]" when there are none: what scripts iterate over.
    // (Protobuf's JSON of the response would be an object, and "{}" when empty.)
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : resp.errors()) entries.push_back(nlohmann::json::parse(ToJson(e)));
    fmt::print("{}\n", entries.dump(2));
    return kExitOk;
  }
  if (resp.errors().empty()) {
    fmt::print("no {}errors\n", args.all ? "" : "open ");
    return kExitOk;
  }
  Table t({"TARGET", "STREAM", "LSN", "KIND", "STATE", "FAILED AT", "MESSAGE"});
  for (const auto& e : resp.errors()) {
    std::string msg = e.message();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    t.Add({e.target(), e.stream(), std::to_string(e.lsn()), e.kind(), e.state(),
           config::FormatTimestamp(e.failed_at_us() / 1'000'000 * 1'000'000), msg});
  }
  fmt::print("{}", t.Render());
  return kExitOk;
}

struct ErrorsActionArgs {
  std::string target;
  std::string stream;
  uint64_t lsn = 0;
  bool all = false;
  bool retry = true;
};

int RunErrorsAction(const ServiceOptions& so, const ErrorsActionArgs& args) {
  std::string command = args.retry ? "errors retry" : "errors discard";
  if ((args.lsn == 0) == !args.all) {
    fmt::print(stderr, "sluice {}: give exactly one of --lsn N and --all\n", command);
    return kExitUsage;
  }
  int code = kExitOk;
  auto conn = Connection::Open(so, command, &code);
  if (!conn) return code;
  v1::ErrorActionRequest req;
  req.set_target(args.target);
  req.set_stream(args.stream);
  req.set_lsn(args.lsn);
  req.set_all(args.all);
  v1::ErrorActionResponse resp;
  // Each record is re-applied on the target: allow time for many.
  auto ctx = conn->NewContext(std::chrono::seconds(args.all ? 3600 : 120));
  grpc::Status st = args.retry ? conn->admin().RetryErrors(ctx.get(), req, &resp)
                               : conn->admin().DiscardErrors(ctx.get(), req, &resp);
  if (!st.ok()) return conn->Fail(args.retry ? "Admin.RetryErrors" : "Admin.DiscardErrors", st);
  fmt::print("{} {} record(s) on target {}\n", args.retry ? "retried" : "discarded", resp.done(),
             args.target);
  for (const auto& f : resp.failures()) fmt::print(stderr, "sluice {}: {}\n", command, f);
  if (!resp.failures().empty()) {
    fmt::print(stderr, "sluice {}: {} record(s) failed\n", command, resp.failures_size());
    return kExitFailed;
  }
  return kExitOk;
}

int RunTargetEnable(const ServiceOptions& so, const std::string& name, bool enable) {
  std::string command = enable ? "target enable" : "target disable";
  int code = kExitOk;
  auto conn = Connection::Open(so, command, &code);
  if (!conn) return code;
  v1::SetTargetEnabledRequest req;
  req.set_target(name);
  req.set_enabled(enable);
  v1::SetTargetEnabledResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status st = conn->admin().SetTargetEnabled(ctx.get(), req, &resp);
  if (!st.ok()) return conn->Fail("Admin.SetTargetEnabled", st);
  if (enable) {
    fmt::print("target {} enabled: it catches up from its watermark (watch with sluice status)\n",
               name);
  } else {
    fmt::print(
        "target {} disabled: the journal keeps what it has not applied (within its retention "
        "budget); `sluice target enable {}` brings it back\n",
        name, name);
  }
  return kExitOk;
}

int RunTargetForget(const ServiceOptions& so, const std::string& name) {
  int code = kExitOk;
  auto conn = Connection::Open(so, "target forget", &code);
  if (!conn) return code;
  v1::ForgetTargetRequest req;
  req.set_target(name);
  v1::ForgetTargetResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status st = conn->admin().ForgetTarget(ctx.get(), req, &resp);
  if (!st.ok()) return conn->Fail("Admin.ForgetTarget", st);
  fmt::print("{}\n", resp.message());
  return kExitOk;
}

constexpr const char* kServiceExitCodes =
    "Exit codes: 0 success, 1 the service refused or the operation failed (message on "
    "stderr), 2 usage error, 3 cannot reach the service.";

}  // namespace

void RegisterAdminCommands(CLI::App& app, Context* context) {
  auto status_args = std::make_shared<StatusArgs>();
  CLI::App* status = app.add_subcommand(
      "status",
      "Show the service state (active, switching, isolated: since when and why), journal "
      "usage, the streams (priority, head LSN), the targets (health, catch-up: lag, rate, "
      "ETA), per target and stream what waits (records, bytes, the oldest waiting record's "
      "commit time and age, rate, ETA), and every journal cursor that holds segments");
  status->add_flag("--json", status_args->json, "Print the full status as JSON");
  status->add_option("--watch", status_args->watch_s,
                     "Refresh every SECONDS (2 when none is given) until interrupted, with a "
                     "progress bar of each target's catch-up; redrawn in place on a terminal")
      ->expected(0, 1)
      ->default_str("2")
      ->check(CLI::PositiveNumber)
      ->type_name("SECONDS");
  status->add_option("--count", status_args->count, "With --watch: stop after N refreshes")
      ->check(CLI::PositiveNumber);
  status->footer(kServiceExitCodes);
  status->callback(
      [context, status_args] { context->exit_code = RunStatus(context->service, *status_args); });

  auto switch_args = std::make_shared<SwitchArgs>();
  CLI::App* sw = app.add_subcommand(
      "switch",
      "Manual switchover: make another primary the active target. The old target first decides "
      "the synchronous writes already journaled; then, as on a failover, NAME becomes active "
      "once it has applied every time-ordered write journaled before the switch");
  sw->add_option("--to", switch_args->to, "The primary to make active")
      ->required()
      ->type_name("NAME");
  sw->add_flag("--wait", switch_args->wait,
               "Wait until it is active, printing its catch-up (lag, rate, ETA) every second");
  sw->add_option("--timeout", switch_args->timeout,
                 "With --wait: give up waiting after DURATION (\"30s\", \"10min\"; \"0\": no limit)")
      ->type_name("DURATION")
      ->capture_default_str();
  sw->footer(
      "Exit codes: 0 the switch has begun, or NAME is active already (with --wait: NAME is "
      "active), 1 the service refused the switch (NOT_FOUND: no such target; "
      "FAILED_PRECONDITION: a replica, disabled, diverged, needs a resync, or another switch "
      "is under way; UNAVAILABLE: NAME is down) or, with --wait, the service went another way "
      "(another target active or taking over, or isolated) or NAME was not active within "
      "--timeout, 2 usage error, 3 cannot reach the service.");
  sw->callback(
      [context, switch_args] { context->exit_code = RunSwitch(context->service, *switch_args); });

  CLI::App* errors = app.add_subcommand(
      "errors", "The error log: records a target rejected permanently (list, retry, discard)");
  errors->require_subcommand(1);

  auto list_args = std::make_shared<ErrorsListArgs>();
  CLI::App* list = errors->add_subcommand("list", "List rejected records (open ones by default)");
  list->add_option("--target", list_args->target, "Only this target");
  list->add_option("--stream", list_args->stream, "Only this stream");
  list->add_flag("--all", list_args->all, "Include retried and discarded ones");
  list->add_flag("--json", list_args->json, "Print a JSON array of the entries ([] when none)");
  list->footer(kServiceExitCodes);
  list->callback(
      [context, list_args] { context->exit_code = RunErrorsList(context->service, *list_args); });

  for (bool retry : {true, false}) {
    auto args = std::make_shared<ErrorsActionArgs>();
    args->retry = retry;
    CLI::App* action = errors->add_subcommand(
        retry ? "retry" : "discard",
        retry ? "Re-apply rejected records on their target (only that target)"
              : "Give up on rejected records (a blocked stream moves past them)");
    action->add_option("--target", args->target, "The target")->required();
    action->add_option("--stream", args->stream,
                       "The stream (needed when the LSN has errors on several)");
    action->add_option("--lsn", args->lsn, "The rejected record's LSN");
    action->add_flag("--all", args->all, "Every open error of the target (and stream, if given)");
    action->footer(std::string(kServiceExitCodes) +
                   " With --all, 1 also when some records failed (each is named on stderr).");
    action->callback(
        [context, args] { context->exit_code = RunErrorsAction(context->service, *args); });
  }

  CLI::App* target = app.add_subcommand(
      "target", "Take a target out for maintenance and bring it back; rebuild one from another; forget a removed one");
  target->require_subcommand(1);
  for (bool enable : {false, true}) {
    auto name = std::make_shared<std::string>();
    CLI::App* sub = target->add_subcommand(
        enable ? "enable" : "disable",
        enable ? "Start feeding the target again; it catches up from its watermark"
               : "Stop feeding the target; the journal keeps what it has not applied (the choice "
                 "survives a restart of sluiced)");
    sub->add_option("NAME", *name, "The target")->required();
    sub->footer(kServiceExitCodes);
    sub->callback([context, name, enable] {
      context->exit_code = RunTargetEnable(context->service, *name, enable);
    });
  }
  auto forget_name = std::make_shared<std::string>();
  CLI::App* forget = target->add_subcommand(
      "forget",
      "Drop the journal cursors of a target removed from the config, so that retention frees "
      "the segments they hold (sluiced names such cursors when it starts; `sluice status` shows "
      "them). The target's database is not touched; added back later, it needs a resync");
  forget->add_option("NAME", *forget_name, "The removed target")->required();
  forget->footer(std::string(kServiceExitCodes) +
                 " 1 also when NAME is still configured (FAILED_PRECONDITION) or has no cursor "
                 "(NOT_FOUND).");
  forget->callback(
      [context, forget_name] { context->exit_code = RunTargetForget(context->service, *forget_name); });
  RegisterResyncCommand(*target, context);
}

}  // namespace sluice::cli
