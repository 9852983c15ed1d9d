// `sluice config reload [--dry-run] [--no-wait]`: Admin.ReloadConfig (docs/reload.md).
// Prints what the reload does, waits until sluiced answers with its parts opened again,
// then follows the copy of every target the file added, with the resync's progress line.

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/resync_progress.h"
#include "cli/status_view.h"

namespace sluice::cli {
namespace {

struct ReloadArgs {
  bool dry_run = false;
  bool no_wait = false;
};

constexpr std::chrono::milliseconds kPoll{250};
// How long a reload may take to stop and open the node again.
constexpr std::chrono::seconds kReopenWait{120};

std::optional<v1::StatusResponse> TryStatus(Connection& conn) {
  v1::StatusResponse status;
  auto ctx = conn.NewContext(std::chrono::seconds(5));
  if (!conn.admin().Status(ctx.get(), v1::StatusRequest(), &status).ok()) return std::nullopt;
  return status;
}

void PrintPlan(const v1::ReloadConfigResponse& r) {
  fmt::print("{}\n", r.message());
  for (const auto& t : r.added_targets()) {
    std::string from;
    for (const auto& x : r.resyncs()) {
      if (x.target() == t) from = fmt::format(" (copied from {} first)", x.from());
    }
    fmt::print("  added:    {}{}\n", t, from);
  }
  for (const auto& t : r.removed_targets()) fmt::print("  removed:  {}\n", t);
  for (const auto& t : r.changed_targets()) fmt::print("  changed:  {}\n", t);
  if (!r.changed_settings().empty()) fmt::print("  settings: {}\n", fmt::join(r.changed_settings(), ", "));
  for (const auto& n : r.notes()) fmt::print("note: {}\n", n);
}

// The resync of `target` as the status shows it (nullopt while it has none).
std::optional<v1::ResyncProgress> ResyncOf(const v1::StatusResponse& s, const std::string& target) {
  for (const auto& r : s.resyncs()) {
    if (r.target() == target) return r;
  }
  return std::nullopt;
}

// Follows the copies of the added targets; false when one failed (it printed why).
bool FollowResyncs(Connection& conn, const v1::ReloadConfigResponse& plan) {
  ResyncProgressPrinter progress;
  bool ok = true;
  for (const auto& r : plan.resyncs()) {
    std::optional<v1::ResyncProgress> last;
    for (;;) {
      auto status = TryStatus(conn);
      last = status ? ResyncOf(*status, r.target()) : std::nullopt;
      if (last && last->state() != "running" && last->state() != "interrupted") break;
      if (last) progress.Show(*last);
      std::this_thread::sleep_for(kPoll);
    }
    progress.Clear();
    fmt::print("{}\n", ResyncLine(*last));
    if (last->state() == "failed") {
      fmt::print(stderr, "sluice config reload: the copy of target {} failed: {}\n  `sluice target resync {} --from {}` continues it\n",
                 r.target(), last->error(), r.target(), r.from());
      ok = false;
    }
  }
  return ok;
}

int RunConfigReload(const ServiceOptions& so, const ReloadArgs& args) {
  int code = kExitOk;
  auto conn = Connection::Open(so, "config reload", &code);
  if (!conn) return code;
  const std::optional<v1::StatusResponse> before = TryStatus(*conn);
  v1::ReloadConfigRequest req;
  req.set_dry_run(args.dry_run);
  v1::ReloadConfigResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status st = conn->admin().ReloadConfig(ctx.get(), req, &resp);
  if (!st.ok()) return conn->Fail("Admin.ReloadConfig", st);
  PrintPlan(resp);
  if (!resp.applied()) return kExitOk;
  const bool moves = std::find(resp.changed_settings().begin(), resp.changed_settings().end(), "node.listen") !=
                     resp.changed_settings().end();
  if (moves) {
    // The reopened node may not answer here any more.
    fmt::print("follow it with `sluice --address NEW status` (node.listen changes)\n");
    return kExitOk;
  }
  if (args.no_wait) {
    fmt::print("follow it with `sluice status`\n");
    return kExitOk;
  }

  // The node stops and opens again: wait for an answer from the reopened one.
  const int64_t opened_before = before ? before->opened_us() : 0;
  const auto until = std::chrono::steady_clock::now() + kReopenWait;
  std::optional<v1::StatusResponse> after;
  while (std::chrono::steady_clock::now() < until) {
    after = TryStatus(*conn);
    if (after && after->opened_us() != opened_before) break;
    after.reset();
    std::this_thread::sleep_for(kPoll);
  }
  if (!after) {
    fmt::print(stderr, "sluice config reload: sluiced at {} did not answer again within {} s; see its log\n",
               conn->address(), kReopenWait.count());
    return kExitFailed;
  }
  for (const auto& t : resp.added_targets()) {
    bool present = false;
    for (const auto& x : after->targets()) present = present || x.name() == t;
    if (!present) {
      fmt::print(stderr,
                 "sluice config reload: the reload failed and sluiced runs its previous config again "
                 "(target {} is not there); its log and event_log say why\n",
                 t);
      return kExitFailed;
    }
  }
  if (!FollowResyncs(*conn, resp)) return kExitFailed;
  fmt::print("reloaded: sluiced runs the new config\n");
  return kExitOk;
}

}  // namespace

void RegisterConfigCommands(CLI::App& app, Context* context) {
  CLI::App* config = app.add_subcommand("config", "sluiced's configuration");
  config->require_subcommand(1);
  auto args = std::make_shared<ReloadArgs>();
  CLI::App* reload = config->add_subcommand(
      "reload",
      "Read sluiced's config file again and apply it (as SIGHUP does): the node stops and opens "
      "again in the same process, so clients see UNAVAILABLE for a moment and lose nothing. A "
      "target the file adds is copied from a running target first (a resync). A file that does "
      "not parse, a change of node.id or node.data_dir, or a new target with nothing to copy "
      "from is refused and the running config stays (docs/reload.md)");
  reload->add_flag("--dry-run", args->dry_run, "Say what a reload would do, and do nothing");
  reload->add_flag("--no-wait", args->no_wait, "Return once the reload has begun");
  reload->footer(
      "Exit codes: 0 reloaded (copies of added targets done), nothing to do, or a dry run; 1 "
      "refused (the message names the file, line and key, or why), or the reload or a copy "
      "failed; 2 usage error; 3 cannot reach the service.");
  reload->callback([context, args] { context->exit_code = RunConfigReload(context->service, *args); });
}

}  // namespace sluice::cli
