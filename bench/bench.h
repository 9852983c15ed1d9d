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

// `sluice-bench ingest`: a real sluiced with one PostgreSQL target, fed through the client
// library: commit throughput and ack latency, commit-to-applied throughput against raw
// COPY, and Sql.Execute latency against libpq.
void RegisterIngestBench(CLI::App& app, Context* context);

// `sluice-bench failover`: a real sluiced with two PostgreSQL primaries: time from a crash
// or hang of the active server to the first synchronous write on the other, catch-up of a
// server that was down against raw COPY, nothing lost or duplicated.
void RegisterFailoverBench(CLI::App& app, Context* context);

// `sluice-bench intent-recovery`: what a decider change or reconnect reads of a large
// retained model journal (shared intent scan, sparse index) against a full read.
void RegisterIntentRecoveryBench(CLI::App& app, Context* context);

// `sluice-bench sampler`: the active periodic sampler (issue #11) with N points at 1 s fed
// by updater threads: cycle duration p50/p99, missed cycles, CPU share.
void RegisterSamplerBench(CLI::App& app, Context* context);

// `sluice-bench query`: history queries (raw, 15 min aggregates, limit statistics; one point
// and 100) through the history library on PostgreSQL, against hand-written SQL on the
// same server; peak memory over one and seven days (issue #12).
void RegisterQueryBench(CLI::App& app, Context* context);

// `sluice-bench resync`: the table copy of `sluice target resync` (issue #15) from a
// PostgreSQL target into a fresh PostgreSQL and SQLite target, against a raw
// COPY TO STDOUT | COPY FROM STDIN pipe of the same tables.
void RegisterResyncBench(CLI::App& app, Context* context);

}  // namespace sluice::bench
