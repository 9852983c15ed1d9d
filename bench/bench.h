#pragma once
// sluice-bench subcommands. Each registers itself on the top-level app from main.cc and
// prints exactly one JSON object on stdout; progress goes to stderr.

#include <CLI/CLI.hpp>

namespace sluice::bench {

// Where a subcommand's callback leaves the process exit code.
struct Context {
  int exit_code = 0;
};

// `sluice-bench journal`: append throughput and latency of the journal under group
// commit, against plain write + fdatasync on the same filesystem.
void RegisterJournalBench(CLI::App& app, Context* context);

// `sluice-bench apply`: applier throughput, journal -> PostgreSQL / SQLite, for sample
// rows, against raw COPY / prepared INSERT of the same rows in the same batches.
void RegisterApplyBench(CLI::App& app, Context* context);

}  // namespace sluice::bench
