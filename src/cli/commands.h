#pragma once
// The `sluice` command-line tool. Each group of subcommands (journal, later status, sql,
// commit, errors, target, switch) lives in its own file and is registered on the
// top-level app by main.cc.

#include <CLI/CLI.hpp>

namespace sluice::cli {

// Exit codes shared by every subcommand.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,  // the command ran and found a problem (damage, a failed check)
  kExitUsage = 2,   // bad arguments, or the target is not what the command works on
  kExitError = 3,   // the command could not run (I/O error, service unreachable)
};

// Where a subcommand's callback leaves its exit code.
struct Context {
  int exit_code = kExitOk;
};

// Registers `sluice journal ...`.
void RegisterJournalCommands(CLI::App& app, Context* context);

}  // namespace sluice::cli
