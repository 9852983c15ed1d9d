#pragma once
// The `sluice` command-line tool. Each group of subcommands (journal, later status, sql,
// commit, errors, target, switch) lives in its own file and is registered on the
// top-level app by main.cc.

#include <string>

#include <CLI/CLI.hpp>

namespace sluice::cli {

// Exit codes shared by every subcommand.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,  // the command ran and found a problem (damage, a failed check)
  kExitUsage = 2,   // bad arguments, or the target is not what the command works on
  kExitError = 3,   // the command could not run (I/O error, service unreachable)
  kExitUnknown = 4,  // `sluice sql`: the write's outcome is not known yet (ask --outcome LSN)
};

// How the commands that talk to sluiced reach it (global options --address, --token,
// --tls-ca; see client_connection.h).
struct ServiceOptions {
  std::string address = "127.0.0.1:7400";
  std::string token;
  std::string tls_ca;
  int connect_timeout_s = 5;
};

// Where a subcommand's callback leaves its exit code.
struct Context {
  int exit_code = kExitOk;
  ServiceOptions service;
};

// Registers the global options --address, --token and --tls-ca on the top-level app.
void RegisterServiceOptions(CLI::App& app, Context* context);
// Registers `sluice journal ...`.
void RegisterJournalCommands(CLI::App& app, Context* context);
// Registers `sluice status`, `sluice switch`, `sluice errors ...` and `sluice target ...`.
void RegisterAdminCommands(CLI::App& app, Context* context);
// Registers `sluice target resync` and `sluice target accept` on the `target` group
// (resync_commands.cc).
void RegisterResyncCommand(CLI::App& target, Context* context);
// Registers `sluice commit`.
void RegisterIngestCommands(CLI::App& app, Context* context);
// Registers `sluice sql` and `sluice download`.
void RegisterSqlCommands(CLI::App& app, Context* context);
// Registers `sluice points ...` and `sluice define ...` (the Sampling service).
void RegisterSamplingCommands(CLI::App& app, Context* context);
// Registers `sluice trigger-types ...` and `sluice trigger` (trigger_commands.cc).
void RegisterTriggerCommands(CLI::App& app, Context* context);
// Registers `sluice recall ...` (recall windows of the Sampling service).
void RegisterRecallCommands(CLI::App& app, Context* context);
// Registers `sluice query raw|interp|agg|limits` (the History service).
void RegisterQueryCommands(CLI::App& app, Context* context);
// Registers `sluice alarms` (Admin.ListAlarms, Admin.WatchAlarms; alarm_commands.cc).
void RegisterAlarmCommands(CLI::App& app, Context* context);
// Registers `sluice modify` (History.ModifySamples, modify_commands.cc).
void RegisterModifyCommands(CLI::App& app, Context* context);
// Registers `sluice verify` (Admin.Verify, verify_commands.cc).
void RegisterVerifyCommands(CLI::App& app, Context* context);
// Registers `sluice config reload` (Admin.ReloadConfig, config_commands.cc).
void RegisterConfigCommands(CLI::App& app, Context* context);

}  // namespace sluice::cli
