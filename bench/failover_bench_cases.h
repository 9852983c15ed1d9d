#pragma once
// The measurements of `sluice-bench failover`: one fault trial, the catch-up of a server
// that was down with its raw-COPY baseline, and the row-by-row verification at the end.
// failover_bench.cc runs them in that order.

#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bench/failover_bench_load.h"
#include "bench/failover_bench_setup.h"
#include "common/status.h"
#include "support/pg_server.h"

namespace sluice::bench::failover {

struct Trial {
  std::string fault;  // "crash" | "hang"
  std::string from, to;
  int64_t t0_us = 0;  // system clock, for matching sluiced's timestamps
  double failover_ms = NAN;
  double first_call_started_ms = NAN;  // when the successful call was sent, from T0
  double down_ms = NAN;       // T0 -> health monitor: down
  double switching_ms = NAN;  // T0 -> state switching (event_log)
  double active_ms = NAN;     // T0 -> state active(to)
  int refused = 0;            // calls refused between T0 and the first success
  int unknown = 0;
  double recover_ms = NAN;    // restart (or SIGCONT) until caught up and stable
  int restart_failures = 0;   // failed PgServer::Start() calls before one worked
  std::string error;
};

nlohmann::json TrialJson(const Trial& t);

// Fails the active target's server (SIGKILL of its postmaster, or SIGSTOP of every
// process when `hang`), measures the failover, then brings the server back and waits
// until the service is stable again.
Trial RunTrial(Daemon& d, SyncLoop& sync, testing::PgServer* servers[2], bool hang);

// Per fault kind ("crash", "hang"): the percentiles of the trials' times.
nlohmann::json Summary(const std::vector<Trial>& trials, const std::string& fault);

// The state changes every target's event_log received: (ts_us, text), oldest first.
Result<std::vector<std::pair<int64_t, std::string>>> StateEvents(testing::PgServer* pg);

// Loads rows [first, first + rows) of `w` into a fresh database on `pg` the raw way:
// binary COPY, one transaction per `batch_rows` rows. Returns the seconds it took.
Result<double> PostgresBaseline(testing::PgServer* pg, const Workload& w, int64_t first, int64_t rows,
                                int64_t batch_rows);

struct CatchUp {
  int64_t first_row = 0;  // the rows committed while it was down: [first_row, first_row + rows)
  int64_t rows = 0;
  double down_s = NAN;
  double seconds = NAN;       // server ready -> watermark at the heads
  double reconnect_ms = NAN;  // server ready -> first progress of its samples applier
  double apply_seconds = NAN; // first progress -> heads
  double load_rows_per_s = NAN;
  std::string target;
  std::string error;
};

// Stops the standby primary's server for --down-seconds while a load commits, then
// measures how fast it catches up once started again.
CatchUp RunCatchUp(const Args& args, Daemon& d, testing::PgServer* servers[2], const Workload& w,
                   SampleLedger* ledger);

struct Verification {
  int64_t lost = 0;
  int64_t duplicated = 0;
  int64_t samples_acked = 0;
  int64_t sync_applied = 0;      // APPLIED, directly or through GetOutcome
  int64_t sync_rejected = 0;
  int64_t sync_refused = 0;
  int64_t sync_unknown = 0;      // answered UNKNOWN (with an LSN)
  int64_t sync_unresolved = 0;   // no LSN: its row may be there once or not
  int64_t sync_unresolved_present = 0;
  int64_t sync_errors = 0;
  std::vector<std::string> problems;
};

// Checks `name`'s rows against the acknowledged samples (`ledger`) and the synchronous
// calls' outcomes (`sync`: id -> kind), adding to `v`.
Status VerifyTarget(testing::PgServer* pg, const std::string& name, SampleLedger* ledger,
                    const std::map<int64_t, SyncCall::Kind>& sync, Verification* v);

}  // namespace sluice::bench::failover
