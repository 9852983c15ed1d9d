// `sluice status`, `sluice errors list|retry|discard`, `sluice target disable|enable`:
// what an operator sees and does through sluiced's Admin service.

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
#include "config/values.h"

namespace sluice::cli {
namespace {

// "0 B", "512 B", "1.5 KiB", "12.0 MiB", ...
std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  int unit = -1;
  while (v >= 1024 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

// "850ms", "12.3s", "4min 10s", "3h 5min", "2d 4h".
std::string HumanAge(int64_t us) {
  if (us < 1'000'000) return fmt::format("{}ms", us / 1000);
  int64_t s = us / 1'000'000;
  if (s < 60) return fmt::format("{:.1f}s", static_cast<double>(us) / 1e6);
  if (s < 3600) return fmt::format("{}min {}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {}min", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

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

// A table whose columns are as wide as their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const {
    std::vector<size_t> width;
    for (const auto& r : rows_) {
      if (width.size() < r.size()) width.resize(r.size(), 0);
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    std::string out;
    for (const auto& r : rows_) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
      }
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string RenderStatus(const v1::StatusResponse& s) {
  std::string out;
  std::string since =
      s.state_since_us() > 0
          ? " since " + config::FormatTimestamp(s.state_since_us() / 1'000'000 * 1'000'000)
          : "";
  if (s.state() == "active") {
    out += fmt::format("node {}: active, target {}{}\n", s.node_id(), s.active_target(), since);
  } else {
    out += fmt::format(
        "node {}: {}{}{}\n", s.node_id(),
        s.state() == "isolated" ? "ISOLATED (1+N: commits are kept in the journal)" : s.state(),
        since, s.state_reason().empty() ? "" : "\n  " + s.state_reason());
  }
  out += fmt::format(
      "journal: {} used{}, {} free on its filesystem\n", HumanBytes(s.journal_bytes()),
      s.journal_budget_bytes() ? " of a budget of " + HumanBytes(s.journal_budget_bytes()) : "",
      HumanBytes(s.free_bytes()));
  out += "\n";
  Table targets({"TARGET", "ROLE", "PRIORITY", "DRIVER", "ENABLED", "STATE"});
  for (const auto& t : s.targets()) {
    targets.Add({t.name() + (t.active() ? " (active)" : ""), t.role(),
                 t.role() == "primary" ? std::to_string(t.priority()) : "-", t.dialect(),
                 t.enabled() ? "yes" : "no", t.state()});
  }
  out += targets.Render() + "\n";

  std::map<std::string, uint64_t> heads;
  for (const auto& st : s.streams()) heads[st.name()] = st.head_lsn();
  Table appliers({"STREAM", "TARGET", "HEAD", "APPLIED", "LAG", "LAG BYTES", "OLDEST", "STATE"});
  std::vector<std::string> notes;
  // Grouped by stream, in the order the service lists streams.
  for (const auto& st : s.streams()) {
    for (const auto& a : s.appliers()) {
      if (a.stream() != st.name()) continue;
      std::string state = a.state();
      if (a.diverged()) state += ", DIVERGED";
      if (a.rejected() > 0) state += fmt::format(", {} rejected", a.rejected());
      appliers.Add({a.stream(), a.target(), std::to_string(heads[a.stream()]),
                    std::to_string(a.applied_lsn()), std::to_string(a.lag_records()),
                    HumanBytes(a.lag_bytes()),
                    a.lag_records() > 0 && a.oldest_unapplied_age_us() > 0
                        ? HumanAge(a.oldest_unapplied_age_us())
                        : "-",
                    state});
      if (!a.last_error().empty()) {
        notes.push_back(fmt::format("{} / {}: {}", a.target(), a.stream(), a.last_error()));
      }
    }
  }
  out += appliers.Render();
  if (!notes.empty()) {
    out += "\n";
    for (const auto& n : notes) out += n + "\n";
  }
  return out;
}

struct StatusArgs {
  bool json = false;
  double watch_s = 0;
  int count = 0;
};

int RunStatus(const ServiceOptions& so, const StatusArgs& args) {
  int code = kExitOk;
  auto conn = Connection::Open(so, "status", &code);
  if (!conn) return code;
  bool tty = isatty(STDOUT_FILENO) == 1;
  for (int n = 1;; ++n) {
    v1::StatusResponse resp;
    auto ctx = conn->NewContext(std::chrono::seconds(30));
    grpc::Status st = conn->admin().Status(ctx.get(), v1::StatusRequest(), &resp);
    if (!st.ok()) return conn->Fail("Admin.Status", st);
    if (args.watch_s > 0 && tty) fmt::print("\033[H\033[2J");
    if (args.json) {
      fmt::print("{}\n", ToJson(resp));
    } else {
      fmt::print("{}", RenderStatus(resp));
    }
    std::fflush(stdout);
    if (args.watch_s <= 0 || (args.count > 0 && n >= args.count)) break;
    if (!tty && !args.json) fmt::print("\n");
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int64_t>(args.watch_s * 1000)));
  }
  return kExitOk;
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
    fmt::print("{}\n", ToJson(resp));
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

constexpr const char* kServiceExitCodes =
    "Exit codes: 0 success, 1 the service refused or the operation failed (message on "
    "stderr), 2 usage error, 3 cannot reach the service.";

}  // namespace

void RegisterAdminCommands(CLI::App& app, Context* context) {
  auto status_args = std::make_shared<StatusArgs>();
  CLI::App* status = app.add_subcommand(
      "status",
      "Show the service state, journal usage, targets, and per stream x target: head LSN, "
      "applied LSN, lag in records and bytes, age of the oldest unapplied record, state");
  status->add_flag("--json", status_args->json, "Print the full status as JSON");
  status->add_option("--watch", status_args->watch_s, "Refresh every SECONDS until interrupted");
  status->add_option("--count", status_args->count, "With --watch: stop after N refreshes");
  status->footer(kServiceExitCodes);
  status->callback(
      [context, status_args] { context->exit_code = RunStatus(context->service, *status_args); });

  CLI::App* errors = app.add_subcommand(
      "errors", "The error log: records a target rejected permanently (list, retry, discard)");
  errors->require_subcommand(1);

  auto list_args = std::make_shared<ErrorsListArgs>();
  CLI::App* list = errors->add_subcommand("list", "List rejected records (open ones by default)");
  list->add_option("--target", list_args->target, "Only this target");
  list->add_option("--stream", list_args->stream, "Only this stream");
  list->add_flag("--all", list_args->all, "Include retried and discarded ones");
  list->add_flag("--json", list_args->json, "Print JSON");
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

  CLI::App* target =
      app.add_subcommand("target", "Take a target out for maintenance and bring it back");
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
}

}  // namespace sluice::cli
