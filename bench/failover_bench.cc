// `sluice-bench failover`: how long synchronous writes stop when the active target fails,
// and how fast a target that was down catches up.
//
// Setup: two throw-away PostgreSQL servers (fsync on), each a primary of a real `sluiced`
// (the one built in this build tree) on loopback: pg-a (priority 100, active at start) and
// pg-b (90). [health] and the switch deadline keep their defaults (probe every 200 ms,
// probe timeout 500 ms, switch deadline 2 s). During the trials two loads run through
// the public client library (include/sluice/client.h):
//  - samples: one client committing --load-batch-rows rows to the `samples` stream at
//    --load-rows-per-s;
//  - sync: one client calling Sql.Execute in a tight loop, each call inserting a row
//    with a unique id into a table made for it (created through Sql.Execute first, so
//    both targets have it), with a per-call deadline (--call-timeout-ms). Every call is
//    recorded: start, completion, outcome and the target that decided it
//    (ExecuteResponse.target).
//
// Trials. Before each, the service must be active with both targets up, eligible and
// caught up (every applier at the stream heads of the moment), then 200 ms of quiet.
// Then the active target's server is failed at T0 (steady clock, taken just before the
// signal):
//  - crash (--trials): SIGKILL of its postmaster;
//  - hang (--hang-trials): SIGSTOP of every process of the server.
// The failover time is from T0 to the completion of the first synchronous call that
// succeeded (OUTCOME_APPLIED) with the other target as its decider. Then the failed
// server is brought back (crash: wait for the orphaned backends, restart with crash
// recovery; hang: SIGCONT) and the next trial waits until it has caught up; the active
// target alternates. Each trial also reports where the time went, from what sluiced
// recorded, as times from T0: `down_ms` when the health monitor marked the target down
// (TargetStatus.health_since_us), `switching_ms` the `switching(FROM -> TO)` state change
// (from the state events every target's event_log receives; stamped before the state is
// persisted), `active_ms` the new target active (it has applied every ordered write up to
// its switch markers). Per fault kind: detect (T0 -> down), down_to_switching,
// switching_to_active, and active_to_call_done (negative when the call in flight at the
// fault was decided by the new target before the state turned active).
//
// Catch-up. After the trials the loads stop and the standby primary's server is stopped
// (fast shutdown) for --down-seconds while --catchup-clients clients commit
// --catchup-batch-rows batches at --catchup-rows-per-s in total (0: as fast as they can).
// Once the active target has applied all of it, the server is started again; the clock
// runs from when it accepts connections until its watermark of every stream reaches the
// head (Admin.Status, polled every 10 ms): catchup_rows_per_s = the rows committed while
// it was down / that time. It includes the applier's reconnection backoff (which grows
// to seconds while a target is down; reported as catchup_reconnect_ms), so
// catchup_apply_rows_per_s gives the rate from the first applied record on. Baseline,
// same run, same server: the same rows loaded with libpq binary COPY into a fresh database
// with the same schema (from the backend's Connect(), partitions created before the
// clock), one transaction per --catchup-batch-rows rows, as the ingest benchmark's
// baseline. catchup_ratio = catchup_rows_per_s / baseline_rows_per_s.
//
// Verification, at the end, on both servers once both have caught up:
//  - samples: row i of the workload carries value i + 0.25; every acknowledged commit's
//    rows must be there (the key (point_id, ts) makes duplicates impossible, so count
//    and sum(value) against the acknowledged rows tell lost rows);
//  - synchronous writes: every call answered APPLIED, or answered UNKNOWN and then
//    resolved APPLIED through GetOutcome, must have its row exactly once; a call refused
//    (UNAVAILABLE: nothing journaled) or REJECTED must have none. lost counts missing
//    rows, duplicated counts extra copies (a row twice, or a row of a call that was
//    refused); calls whose outcome the client could not learn (its deadline passed, no
//    LSN) are `unresolved` and may hold their row at most once.

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/failover_bench_cases.h"
#include "bench/failover_bench_load.h"
#include "bench/failover_bench_setup.h"
#include "bench/machine_info.h"
#include "common/file_system.h"
#include "common/log.h"
#include "support/net.h"
#include "support/pg_server.h"

namespace sluice::bench {
namespace failover {
namespace {

int RunFailoverBench(const Args& args) {
  log::Logger().set_level(spdlog::level::warn);
  MachineInfo machine = GetMachineInfo();
  WarnIfUnrepresentative(machine);
  nlohmann::json machine_json = ToJson(machine);
  machine_json["dir"] = args.dir;
  machine_json["filesystem"] = FileSystemType(args.dir);
  machine_json["sluiced"] = args.sluiced;
  machine_json["loadavg_start"] = LoadAverage();

  nlohmann::json result = {{"case", "failover"},
                           {"trials", args.trials},
                           {"hang_trials", args.hang_trials},
                           {"down_seconds", args.down_seconds},
                           {"load_rows_per_s", args.load_rows_per_s},
                           {"call_timeout_ms", args.call_timeout_ms}};
  if (args.ordered_batch_delay_ms >= 0) result["ordered_batch_delay_ms"] = args.ordered_batch_delay_ms;
  std::vector<std::string> errors;
  auto finish = [&]() {
    if (!errors.empty()) result["error"] = fmt::format("{}", fmt::join(errors, "; "));
    machine_json["loadavg_end"] = LoadAverage();
    nlohmann::json out = {{"bench", "failover"}, {"machine", machine_json}, {"results", {result}}};
    if (args.json) {
      std::cout << out.dump(2) << std::endl;
    } else {
      nlohmann::json brief = result;
      brief.erase("trial_detail");
      std::cout << brief.dump(2) << std::endl;
    }
    return errors.empty() ? 0 : 1;
  };

  // Two PostgreSQL servers.
  std::unique_ptr<testing::PgServer> pgs[2];
  testing::PgServer* servers[2];
  int tcp_ports[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    fmt::print(stderr, "starting PostgreSQL server for '{}' ... ", kTargets[static_cast<size_t>(i)]);
    std::fflush(stderr);
    testing::PgServerOptions po;
    po.shared_buffers = args.pg_shared_buffers;
    if (args.pg_tcp) {
      po.port = tcp_ports[i] = testing::FreePort();
      if (po.port == 0) {
        errors.push_back("no free loopback port for PostgreSQL");
        return finish();
      }
      po.settings.emplace_back("listen_addresses", "127.0.0.1");
    }
    auto server = testing::PgServer::CreateAndStart(po);
    if (!server.ok()) {
      errors.push_back(server.status().ToString());
      return finish();
    }
    pgs[i] = std::move(server).value();
    servers[i] = pgs[i].get();
    if (Status s = servers[i]->CreateDatabase(kDb); !s.ok()) {
      errors.push_back(s.ToString());
      return finish();
    }
    fmt::print(stderr, "{}\n", servers[i]->data_dir());
  }
  {
    nlohmann::json settings = nlohmann::json::object();
    for (const char* name : {"server_version", "fsync", "synchronous_commit", "shared_buffers"}) {
      auto v = servers[0]->QueryValue(fmt::format("SHOW {}", name));
      settings[name] = v.ok() ? *v : v.status().ToString();
    }
    settings["data_dir_filesystem"] = FileSystemType(servers[0]->data_dir());
    settings["sluiced_connects_over"] = args.pg_tcp ? "tcp loopback" : "unix socket";
    machine_json["postgres"] = settings;
  }

  ScratchDir scratch(args.dir, "sluice-bench-failover");
  // The harness itself keeps to the Unix sockets; only sluiced's targets change.
  const auto target_conninfo = [&](int i) {
    return args.pg_tcp ? fmt::format("host=127.0.0.1 port={} dbname='{}' user=postgres", tcp_ports[i], kDb)
                       : servers[i]->ConnInfo(kDb);
  };
  Daemon d(args.sluiced, scratch.path(), {target_conninfo(0), target_conninfo(1)}, args.ordered_batch_delay_ms);
  if (Status s = d.Start(); !s.ok()) {
    errors.push_back(s.ToString());
    return finish();
  }
  fmt::print(stderr, "sluiced pid {} on {} ({})\n", d.pid(), d.address(), d.log_path());
  auto fail = [&](const std::string& what) {
    errors.push_back(what);
    fmt::print(stderr, "error: {}\nsluiced log tail:\n{}\n", what, d.LogTail());
    return finish();
  };

  SyncLoop sync(d.address(), args.call_timeout_ms);
  if (Status s = sync.Open(); !s.ok()) return fail(s.ToString());
  {
    v1::ExecuteRequest req;
    req.mutable_statement()->set_text(
        fmt::format("CREATE TABLE {} (id bigint NOT NULL, at_us bigint NOT NULL)", kSyncTable));
    auto r = sync.client()->Execute(req);
    if (!r.ok() || r->outcome() != v1::OUTCOME_APPLIED) {
      return fail("creating the table: " + (r.ok() ? r->ShortDebugString() : r.status().ToString()));
    }
  }

  Workload w(args.points);
  SampleLedger ledger;
  std::vector<Trial> trials;
  {
    SampleLoad load(d.address(), &w, &ledger, 1, args.load_batch_rows, args.load_rows_per_s);
    if (Status s = load.Open(); !s.ok()) return fail(s.ToString());
    const auto trials_start = Clock::now();
    load.Start();
    sync.Start();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    result["loadavg_trials_start"] = LoadAverage();
    const int total = args.trials + args.hang_trials;
    for (int i = 0; i < total; ++i) {
      const bool hang = i >= args.trials;
      Trial t = RunTrial(d, sync, servers, hang);
      fmt::print(stderr, "[{} {}/{}] {} -> {}: failover {:.1f} ms (down at {:.1f}, active at {:.1f}); back in {:.0f} ms{}\n",
                 t.fault, hang ? i - args.trials + 1 : i + 1, hang ? args.hang_trials : args.trials, t.from, t.to,
                 t.failover_ms, t.down_ms, t.active_ms, t.recover_ms, t.error.empty() ? "" : " ERROR " + t.error);
      trials.push_back(t);
      if (!t.error.empty() && std::isnan(t.recover_ms)) break;  // the service did not come back
      if (!load.error().empty()) break;
    }
    result["loadavg_trials_end"] = LoadAverage();
    sync.Stop();
    load.Stop();
    if (!load.error().empty()) errors.push_back("sample load: " + load.error());
    result["trial_samples_per_s"] = Rounded(static_cast<double>(load.rows()) / Seconds(Clock::now() - trials_start));
  }

  // Switching times from the state events.
  auto events = StateEvents(servers[0]);
  if (!events.ok()) events = StateEvents(servers[1]);
  if (events.ok()) {
    for (auto& t : trials) {
      for (const auto& [ts, text] : *events) {
        if (ts >= t.t0_us && text.starts_with(fmt::format("switching({} -> {})", t.from, t.to))) {
          t.switching_ms = static_cast<double>(ts - t.t0_us) / 1000.0;
          break;
        }
      }
    }
  }

  // Catch-up.
  CatchUp c;
  if (args.down_seconds > 0) {
    c = RunCatchUp(args, d, servers, w, &ledger);
    if (!c.error.empty()) errors.push_back("catch-up: " + c.error);
  }
  double baseline_rows_per_s = NAN;
  if (c.error.empty() && c.rows > 0) {
    const double catchup = static_cast<double>(c.rows) / c.seconds;
    fmt::print(stderr, "  '{}' caught up {} rows in {:.2f} s ({:.0f} rows/s; reconnected after {:.0f} ms)\n",
               c.target, c.rows, c.seconds, catchup, c.reconnect_ms);
    testing::PgServer* pg = servers[c.target == kTargets[0] ? 0 : 1];
    fmt::print(stderr, "  baseline: binary COPY of the same {} rows into the server of '{}' ... ", c.rows, c.target);
    std::fflush(stderr);
    auto b = PostgresBaseline(pg, w, c.first_row, c.rows, args.catchup_batch_rows);
    if (!b.ok()) {
      errors.push_back("baseline: " + b.status().ToString());
    } else {
      baseline_rows_per_s = static_cast<double>(c.rows) / *b;
      fmt::print(stderr, "{:.2f} s, {:.0f} rows/s\n", *b, baseline_rows_per_s);
      result["baseline_seconds"] = Round3(*b);
    }
  }

  // Verification on both servers, once both have applied everything.
  Verification v;
  bool servers_up = true;
  for (int i = 0; i < 2; ++i) {
    if (!servers[i]->running()) {
      servers_up = false;
      errors.push_back(fmt::format("the server of '{}' is not running; nothing verified", kTargets[static_cast<size_t>(i)]));
    }
  }
  if (servers_up) {
    auto caught = WaitCaughtUp(d, "", std::chrono::seconds(600));
    if (!caught.ok()) errors.push_back("final catch-up: " + caught.status().ToString());
    std::map<int64_t, SyncCall::Kind> outcomes;
    for (const auto& call : sync.Calls()) {
      SyncCall::Kind kind = call.kind;
      if (kind == SyncCall::kUnknown) {
        v.sync_unknown++;
        auto r = call.lsn != 0 ? sync.client()->GetOutcome(call.lsn)
                               : sync.client()->GetOutcomeByRequestId(call.request_id);
        if (r.ok() && r->outcome() == v1::OUTCOME_APPLIED) kind = SyncCall::kApplied;
        if (r.ok() && r->outcome() == v1::OUTCOME_REJECTED) kind = SyncCall::kRejected;
      }
      outcomes[call.id] = kind;
      switch (kind) {
        case SyncCall::kApplied: v.sync_applied++; break;
        case SyncCall::kRejected: v.sync_rejected++; break;
        case SyncCall::kRefused: v.sync_refused++; break;
        case SyncCall::kUnresolved: v.sync_unresolved++; break;
        case SyncCall::kError: v.sync_errors++; break;
        default: break;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (Status s = VerifyTarget(servers[i], kTargets[static_cast<size_t>(i)], &ledger, outcomes, &v); !s.ok()) {
        errors.push_back(fmt::format("verifying {}: {}", kTargets[static_cast<size_t>(i)], s.ToString()));
      }
    }
    for (const auto& p : v.problems) fmt::print(stderr, "  PROBLEM: {}\n", p);
  }

  sync.Stop();
  if (Status s = d.Stop(); !s.ok()) errors.push_back(s.ToString());
  if (!args.keep_log.empty()) {
    std::ifstream in(d.log_path(), std::ios::binary);
    std::ofstream out(args.keep_log, std::ios::binary);
    out << in.rdbuf();
    if (!out) errors.push_back("cannot write " + args.keep_log);
  }

  // The result.
  nlohmann::json crash = Summary(trials, "crash");
  nlohmann::json hang = Summary(trials, "hang");
  result["failover_p50_ms"] = crash["p50_ms"];
  result["failover_p99_ms"] = crash["p99_ms"];
  result["failover_max_ms"] = crash["max_ms"];
  result["hang_failover_p50_ms"] = hang["p50_ms"];
  result["hang_failover_p99_ms"] = hang["p99_ms"];
  result["hang_failover_max_ms"] = hang["max_ms"];
  // null when the check could not run (a server did not come back).
  result["lost"] = servers_up ? nlohmann::json(v.lost) : nlohmann::json(nullptr);
  result["duplicated"] = servers_up ? nlohmann::json(v.duplicated) : nlohmann::json(nullptr);
  const double catchup = c.rows > 0 && std::isfinite(c.seconds) ? static_cast<double>(c.rows) / c.seconds : NAN;
  result["catchup_rows_per_s"] = Rounded(catchup);
  result["baseline_rows_per_s"] = Rounded(baseline_rows_per_s);
  result["catchup_ratio"] = Round3(catchup / baseline_rows_per_s);
  result["catchup_rows"] = c.rows;
  result["catchup_seconds"] = Round3(c.seconds);
  result["catchup_reconnect_ms"] = Round3(c.reconnect_ms);
  result["catchup_apply_rows_per_s"] = Rounded(static_cast<double>(c.rows) / c.apply_seconds);
  result["catchup_apply_ratio"] = Round3(static_cast<double>(c.rows) / c.apply_seconds / baseline_rows_per_s);
  result["catchup_down_s"] = Round3(c.down_s);
  result["catchup_load_rows_per_s"] = Rounded(c.load_rows_per_s);
  result["crash"] = crash;
  result["hang"] = hang;
  result["samples_acked"] = v.samples_acked;
  result["sync_calls"] = sync.Calls().size();
  result["sync_applied"] = v.sync_applied;
  result["sync_refused"] = v.sync_refused;
  result["sync_unknown"] = v.sync_unknown;
  result["sync_unresolved"] = v.sync_unresolved;
  result["sync_rejected"] = v.sync_rejected;
  result["sync_errors"] = v.sync_errors;
  if (!v.problems.empty()) result["problems"] = v.problems;
  const auto num = [&](const char* k) {
    return result[k].is_number() ? result[k].get<double>() : std::nan("");
  };
  result["goals"] = {
      {"crash_p50_le_50ms", num("failover_p50_ms") <= 50},
      {"crash_p99_le_200ms", num("failover_p99_ms") <= 200},
      {"hang_p99_le_1s", num("hang_failover_p99_ms") <= 1000},
      {"catchup_ratio_ge_0_8", num("catchup_ratio") >= 0.8},
      {"nothing_lost_or_duplicated", servers_up && v.lost == 0 && v.duplicated == 0},
  };
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& t : trials) detail.push_back(TrialJson(t));
  result["trial_detail"] = detail;
  for (const auto& t : trials) {
    if (!t.error.empty()) errors.push_back(fmt::format("{} trial {} -> {}: {}", t.fault, t.from, t.to, t.error));
  }
  return finish();
}

}  // namespace
}  // namespace failover

void RegisterFailoverBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<failover::Args>();
  CLI::App* cmd = app.add_subcommand(
      "failover",
      "Failover of a real sluiced between two PostgreSQL primaries: time from a crash "
      "(SIGKILL) or hang (SIGSTOP) of the active server to the first synchronous write on "
      "the other, catch-up rate of a server that was down against raw COPY, and a check "
      "that nothing acknowledged was lost or duplicated");
  cmd->add_flag("--json", args->json, "Print one JSON object (default: the result without the per-trial detail)");
  cmd->add_option("--trials", args->trials, "Crash trials (SIGKILL of the active server's postmaster)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--hang-trials", args->hang_trials, "Hang trials (SIGSTOP of every process of the active server)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--down-seconds", args->down_seconds,
                  "How long the standby's server stays down for the catch-up measurement (0: skip it)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--load-rows-per-s", args->load_rows_per_s, "Sample rows per second committed during the trials")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--load-batch-rows", args->load_batch_rows, "Rows per commit during the trials")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--catchup-clients", args->catchup_clients, "Committing clients while the standby is down")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--catchup-batch-rows", args->catchup_batch_rows,
                  "Rows per commit while the standby is down (and per baseline transaction)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--catchup-rows-per-s", args->catchup_rows_per_s,
                  "Sample rows per second committed while the standby is down (0: as fast as possible)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--call-timeout-ms", args->call_timeout_ms, "Deadline of each synchronous call")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000));
  cmd->add_option("--points", args->points, "Distinct points (rows cycle over them)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--pg-tcp", args->pg_tcp, "sluiced connects to the servers over TCP loopback (default: Unix sockets)");
  cmd->add_option("--pg-shared-buffers", args->pg_shared_buffers, "shared_buffers of each PostgreSQL server")
      ->capture_default_str();
  cmd->add_option("--ordered-batch-delay-ms", args->ordered_batch_delay_ms,
                  "batch_delay of the ordered streams (an experiment: how much of a switch is "
                  "the appliers waiting to fill a batch); -1 keeps sluiced's default")
      ->capture_default_str()
      ->check(CLI::Range(-1, 10000));
  cmd->add_option("--keep-log", args->keep_log, "Copy sluiced's log to this file at the end")->capture_default_str();
  cmd->add_option("--sluiced", args->sluiced, "The sluiced binary")->capture_default_str()->check(CLI::ExistingFile);
  cmd->add_option("--dir", args->dir, "Directory for sluiced's data (a fresh subdirectory, removed afterwards)")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->callback([=] { context->exit_code = failover::RunFailoverBench(*args); });
}

}  // namespace sluice::bench
