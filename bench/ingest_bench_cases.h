#pragma once
// The cases of `sluice-bench ingest`, each on a fresh sluiced and target (Env); each
// returns its result rows (with "error" when it failed).

#include <nlohmann/json.hpp>
#include <vector>

#include "bench/ingest_bench_load.h"
#include "bench/ingest_bench_setup.h"

namespace sluice::bench::ingest {

// Commit throughput and acknowledgement latency of --clients producers using `api`.
nlohmann::json CommitCase(const Args& args, testing::PgServer* pg, int seq, Api api,
                          int64_t batch_rows);

// Commit-to-applied throughput of --sustained-rows rows, against raw binary COPY of the
// same rows into a fresh database.
nlohmann::json SustainedCase(const Args& args, testing::PgServer* pg, int seq);

// Sql.Execute latency, idle and under a commit load, against the same statement over libpq.
std::vector<nlohmann::json> SqlExecuteCase(const Args& args, testing::PgServer* pg, int seq);

}  // namespace sluice::bench::ingest
