// `sluice`: the command-line tool of the Sluice history data service.

#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace sluice::cli;
  CLI::App app{"sluice: inspect and operate a Sluice history data service", "sluice"};
  app.require_subcommand(1);
  // Subcommands created afterwards inherit this footer unless they set their own.
  app.footer(
      "Exit codes: 0 success, 1 the command found a problem or the service refused or failed "
      "(e.g. journal damage, a rejected commit), 2 usage error or not a data directory, 3 the "
      "command could not run (I/O error, cannot reach the service), 4 (sluice sql) a write's "
      "outcome is not known yet.\n"
      "Commands that talk to sluiced take --address (or SLUICE_ADDRESS), --token (or "
      "SLUICE_TOKEN) and --tls-ca, before or after the command name.");
  // Options of the top-level app are accepted after a subcommand's name too.
  app.fallthrough();
  Context context;
  RegisterServiceOptions(app, &context);
  RegisterJournalCommands(app, &context);
  RegisterAdminCommands(app, &context);
  RegisterIngestCommands(app, &context);
  RegisterSqlCommands(app, &context);
  RegisterSamplingCommands(app, &context);
  RegisterTriggerCommands(app, &context);
  RegisterRecallCommands(app, &context);
  RegisterQueryCommands(app, &context);
  RegisterModifyCommands(app, &context);
  RegisterAlarmCommands(app, &context);
  RegisterVerifyCommands(app, &context);
  RegisterConfigCommands(app, &context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and friends exit 0; every real parse error is a usage error.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice: error: {}\n", e.what());
    return kExitError;
  }
  return context.exit_code;
}
