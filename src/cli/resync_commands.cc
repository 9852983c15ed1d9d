// `sluice target resync NAME --from OTHER`: Admin.ResyncTarget (docs/resync.md). Follows
// the resync with a progress bar on a terminal (a line every few seconds otherwise) until
// it is done; the resync itself runs in sluiced, so ^C or a lost session only stops the
// following (the same command follows it again).

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/resync_progress.h"
#include "cli/status_view.h"

namespace sluice::cli {
namespace {

struct ResyncArgs {
  std::string target;
  std::string from;
  bool no_wait = false;
};

int RunTargetResync(const ServiceOptions& so, const ResyncArgs& args) {
  int code = kExitOk;
  auto conn = Connection::Open(so, "target resync", &code);
  if (!conn) return code;
  v1::ResyncTargetRequest req;
  req.set_target(args.target);
  req.set_from(args.from);
  req.set_no_wait(args.no_wait);
  // A resync of a large target takes as long as it takes: no deadline but ^C.
  auto ctx = conn->NewContext(std::chrono::hours(24 * 365));
  auto reader = conn->admin().ResyncTarget(ctx.get(), req);
  ResyncProgressPrinter progress;
  v1::ResyncProgress p;
  std::optional<v1::ResyncProgress> last;
  while (reader->Read(&p)) {
    last = p;
    progress.Show(p);
  }
  progress.Clear();
  grpc::Status st = reader->Finish();
  if (!st.ok()) return conn->Fail("Admin.ResyncTarget", st);
  if (!last) {
    fmt::print(stderr, "sluice target resync: the service ended the call without a word on the resync\n");
    return kExitFailed;
  }
  if (args.no_wait) {
    fmt::print("resync of target {} from {} begun; follow it with `sluice status` or `sluice target resync {} --from {}`\n",
               args.target, args.from, args.target, args.from);
    return kExitOk;
  }
  fmt::print("{}\n", ResyncLine(*last));
  if (!last->restart_reason().empty()) fmt::print("note: the interrupted copy was started over: {}\n", last->restart_reason());
  return kExitOk;
}

int RunTargetAccept(const ServiceOptions& so, const std::string& target, const std::string& reason) {
  int code = kExitOk;
  auto conn = Connection::Open(so, "target accept", &code);
  if (!conn) return code;
  v1::AcceptDifferenceRequest req;
  req.set_target(target);
  req.set_reason(reason);
  v1::AcceptDifferenceResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status st = conn->admin().AcceptDifference(ctx.get(), req, &resp);
  if (!st.ok()) return conn->Fail("Admin.AcceptDifference", st);
  fmt::print("{}\n", resp.message());
  return kExitOk;
}

}  // namespace

void RegisterResyncCommand(CLI::App& target, Context* context) {
  auto args = std::make_shared<ResyncArgs>();
  CLI::App* resync = target.add_subcommand(
      "resync",
      "Rebuild a target from a healthy one (after it was detached, restored from an old backup, "
      "replaced or diverged): its appliers stop, every Sluice-managed table and the watermarks "
      "are copied from one snapshot of the source, in the target's own dialect, and the target "
      "then catches up from the journal. The resync runs in sluiced: ^C stops following it, not "
      "the resync, and a restart of sluiced continues it (docs/resync.md)");
  resync->add_option("NAME", args->target, "The target to rebuild (not the active one)")->required();
  resync->add_option("--from", args->from, "The healthy target to copy from")->required();
  resync->add_flag("--no-wait", args->no_wait, "Return once the resync has begun");
  resync->footer(
      "Exit codes: 0 the resync is done (with --no-wait: begun), 1 the service refused or the "
      "resync failed (message on stderr; running the command again continues it), 2 usage "
      "error, 3 cannot reach the service.");
  resync->callback([context, args] { context->exit_code = RunTargetResync(context->service, *args); });

  auto accept_target = std::make_shared<std::string>();
  auto accept_reason = std::make_shared<std::string>();
  CLI::App* accept = target.add_subcommand(
      "accept",
      "Clear a target's \"diverged\" verdict without copying: accept that it differs from its peers "
      "(after `sluice verify --rows` named the rows). Recorded in every target's event_log; the "
      "other way out is `sluice target resync NAME --from OTHER`");
  accept->add_option("NAME", *accept_target, "The diverged target")->required();
  accept->add_option("--reason", *accept_reason, "Why (goes into event_log with the operator's name)");
  accept->footer(
      "Exit codes: 0 accepted, 1 the service refused (not diverged, unknown target), 2 usage "
      "error, 3 cannot reach the service.");
  accept->callback([context, accept_target, accept_reason] {
    context->exit_code = RunTargetAccept(context->service, *accept_target, *accept_reason);
  });
}

}  // namespace sluice::cli
