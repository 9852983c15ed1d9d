// `sluice-bench ingest`: the service end to end, as producers see it. A real `sluiced`
// process (the one built in this build tree) on loopback, with one target: a throw-away
// PostgreSQL server on a Unix socket (or, with --target sqlite, an SQLite file: the quick
// mode, which has no baselines).
//
// Producers are --clients threads, each with its own connection, as separate producer
// programs would be. They use the public client library (include/sluice/client.h), one
// Client per thread: a Client serialises the commits of one stream, so threads sharing
// one Client would measure a single commit in flight. The commit case also runs with the
// raw Ingest.CommitStream stub (--api stream), which keeps --window requests in flight
// per thread: the library's CommitSamples waits for each acknowledgement, so with small
// batches its throughput is bound by the journal's fdatasync latency, not by CPU; the
// stream shows what the service takes from producers that pipeline.
//
// Every case gets a fresh sluiced (fresh data directory, journal with durable acks) and a
// fresh target database, so that one case's backlog never slows the next.
//
// Workload: sample rows of the 1-minute table; row i is point i % points at
// ts = base + (i / points) minutes (base one day ago, so every timestamp lies in the past
// and inside the admission window), value a non-integral double, quality 192. A batch is
// a range of consecutive rows taken from a counter shared by the client threads, so the
// rows of a case are exactly rows 0..N-1, each once.
//
// Cases:
//  - commit: the producers commit batches of each --batch-rows size for --seconds, with
//    each --api; samples_per_s counts acknowledged rows (durable in the journal),
//    ack_p50/p99_ms is the latency of one commit (call to acknowledgement). Each producer
//    first commits one batch untimed (its Hello and connection). The target's applier
//    runs meanwhile, as in production.
//  - sustained: the producers (library) commit --sustained-rows rows in batches of
//    --sustained-batch-rows; the clock runs from the first commit until the target's
//    watermark reaches the last acknowledged LSN (Admin.Status, polled every 10 ms).
//    Baseline, same run, same PostgreSQL server: the same rows loaded with libpq binary
//    COPY into a fresh database with the same schema (from the backend's Connect(),
//    partitions created before the clock), one transaction per batch of the same size,
//    as apply_bench's baseline. ratio = samples_per_s / baseline_rows_per_s. Both sides
//    are checked (row count and sum of point ids).
//  - sql_execute: a synchronous write through Sql.Execute (the client library's
//    Execute): an UPDATE of one row of a two-row table created first through
//    Sql.Execute. Each call is paired with the same statement through libpq directly
//    against the same database (on the other row, so the two never wait for each
//    other), alternating, for --seconds; once idle and once during a commit load (the
//    producers committing --sustained-batch-rows batches through the library).
//    overhead_p50_ms = p50_ms - baseline_p50_ms.

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/ingest_bench_cases.h"
#include "bench/machine_info.h"
#include "common/log.h"

namespace sluice::bench {
namespace ingest {
namespace {

void PrintTable(const nlohmann::json& results) {
  for (const auto& row : results) {
    std::string line = fmt::format("{:<12}", row["case"].get<std::string>());
    for (const auto& [key, value] : row.items()) {
      if (key == "case" || key.starts_with("loadavg")) continue;
      line +=
          fmt::format(" {}={}", key, value.is_string() ? value.get<std::string>() : value.dump());
    }
    fmt::print("{}\n", line);
  }
}

int RunIngestBench(const Args& args) {
  // The client library logs reconnections; keep stderr for progress.
  log::Logger().set_level(spdlog::level::warn);
  MachineInfo machine = GetMachineInfo();
  WarnIfUnrepresentative(machine);
  const std::string fs_type = FileSystemType(args.dir);
  if (fs_type == "tmpfs") {
    fmt::print(stderr, "WARNING: {} is on tmpfs: fsync costs nothing there\n", args.dir);
  }
  nlohmann::json machine_json = ToJson(machine);
  machine_json["dir"] = args.dir;
  machine_json["filesystem"] = fs_type;
  machine_json["sluiced"] = args.sluiced;
  machine_json["loadavg_start"] = LoadAverage();

  std::unique_ptr<testing::PgServer> pg;
  if (args.target == "postgres") {
    fmt::print(stderr, "starting a PostgreSQL server ... ");
    std::fflush(stderr);
    testing::PgServerOptions po;  // fsync and synchronous_commit on
    po.shared_buffers = args.pg_shared_buffers;
    auto server = testing::PgServer::CreateAndStart(po);
    if (!server.ok()) {
      fmt::print(stderr, "error: {}\n", server.status().ToString());
      return 1;
    }
    pg = std::move(server).value();
    const std::string pg_fs = FileSystemType(pg->data_dir());
    fmt::print(stderr, "{} ({})\n", pg->data_dir(), pg_fs);
    nlohmann::json settings = nlohmann::json::object();
    for (const char* name : {"server_version", "fsync", "synchronous_commit", "wal_sync_method",
                             "full_page_writes", "shared_buffers", "max_wal_size"}) {
      auto v = pg->QueryValue(fmt::format("SHOW {}", name));
      settings[name] = v.ok() ? *v : v.status().ToString();
    }
    settings["data_dir_filesystem"] = pg_fs;
    machine_json["postgres"] = settings;
  } else {
    machine_json["target"] = "sqlite (quick mode: no baselines)";
  }

  nlohmann::json results = nlohmann::json::array();
  int seq = 0;
  auto wants = [&](const char* name) {
    return std::find(args.cases.begin(), args.cases.end(), name) != args.cases.end();
  };
  auto report = [&](const nlohmann::json& row) {
    fmt::print(stderr, "  -> {}\n", row.dump());
    results.push_back(row);
  };
  if (wants("commit")) {
    for (const std::string& api_name : args.apis) {
      const Api api = api_name == "library" ? Api::kLibrary : Api::kStream;
      for (int64_t batch_rows : args.batch_rows) {
        fmt::print(stderr, "[commit] api={} batch_rows={} clients={} for {} s\n",
                   ApiName(api, args.window), batch_rows, args.clients, args.seconds);
        report(CommitCase(args, pg.get(), ++seq, api, batch_rows));
      }
    }
  }
  if (wants("sustained")) {
    fmt::print(stderr, "[sustained] {} rows, batch_rows={} clients={}\n", args.sustained_rows,
               args.sustained_batch_rows, args.clients);
    report(SustainedCase(args, pg.get(), ++seq));
  }
  if (wants("sql_execute")) {
    fmt::print(stderr, "[sql_execute] {} s idle, {} s under load\n", args.seconds, args.seconds);
    for (const auto& row : SqlExecuteCase(args, pg.get(), ++seq)) report(row);
  }

  machine_json["loadavg_end"] = LoadAverage();
  nlohmann::json out = {{"bench", "ingest"}, {"machine", machine_json}, {"results", results}};
  if (args.json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    PrintTable(results);
  }
  for (const auto& row : results) {
    if (row.contains("error")) return 1;
  }
  return 0;
}

template <typename T>
std::vector<T> ParseList(const std::string& text) {
  std::vector<T> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if constexpr (std::is_same_v<T, std::string>) {
      out.push_back(item);
    } else {
      size_t used = 0;
      out.push_back(static_cast<T>(std::stoll(item, &used)));
      if (used != item.size()) throw std::invalid_argument(item);
    }
  }
  return out;
}

}  // namespace
}  // namespace ingest

void RegisterIngestBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<ingest::Args>();
  auto batch_rows = std::make_shared<std::string>("1000,10000");
  auto cases = std::make_shared<std::string>("commit,sustained,sql_execute");
  auto apis = std::make_shared<std::string>("library,stream");
  CLI::App* cmd = app.add_subcommand(
      "ingest",
      "The service end to end: a real sluiced with one PostgreSQL target, fed through the "
      "client library (commit throughput and ack latency, sustained commit-to-applied "
      "throughput against raw COPY, Sql.Execute latency against libpq)");
  cmd->add_flag("--json", args->json, "Print one JSON object (default: one line per result)");
  cmd->add_option("--seconds", args->seconds,
                  "How long each case commits (and each sql_execute row calls)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--clients", args->clients, "Producer threads, each with its own Client")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--batch-rows", *batch_rows,
                  "Rows per commit of the commit case, comma-separated; each value is a case")
      ->capture_default_str();
  cmd->add_option("--sustained-batch-rows", args->sustained_batch_rows,
                  "Rows per commit of the sustained case and of the sql_execute load")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--sustained-rows", args->sustained_rows,
                  "Rows the sustained case commits (and the baseline loads)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--points", args->points, "Distinct points (rows cycle over them)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--api", *apis,
                  "How the commit case's producers commit, comma-separated; each value is a "
                  "case: library (Client::CommitSamples, one commit at a time per client) or "
                  "stream (the raw Ingest.CommitStream stub, --window requests in flight)")
      ->capture_default_str();
  cmd->add_option("--window", args->window, "Requests in flight per client with --api stream")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--cases", *cases, "Subset of commit,sustained,sql_execute, comma-separated")
      ->capture_default_str();
  cmd->add_option("--target", args->target,
                  "postgres (a throw-away server), or sqlite: the quick mode, without "
                  "PostgreSQL and without baselines")
      ->capture_default_str()
      ->check(CLI::IsMember({"postgres", "sqlite"}));
  cmd->add_option("--pg-shared-buffers", args->pg_shared_buffers,
                  "shared_buffers of the PostgreSQL server started for the run")
      ->capture_default_str();
  cmd->add_option("--sluiced", args->sluiced, "The sluiced binary")
      ->capture_default_str()
      ->check(CLI::ExistingFile);
  cmd->add_option("--dir", args->dir,
                  "Directory for sluiced's data (PostgreSQL's lives under /tmp); each case "
                  "uses a fresh subdirectory, removed afterwards")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->callback([=] {
    try {
      args->batch_rows = ingest::ParseList<int64_t>(*batch_rows);
      args->cases = ingest::ParseList<std::string>(*cases);
      args->apis = ingest::ParseList<std::string>(*apis);
    } catch (const std::exception&) {
      throw CLI::ValidationError("--batch-rows", "must be comma-separated numbers");
    }
    for (int64_t b : args->batch_rows) {
      if (b <= 0) throw CLI::ValidationError("--batch-rows", "must be positive");
    }
    for (const auto& a : args->apis) {
      if (a != "library" && a != "stream") throw CLI::ValidationError("--api", "unknown API " + a);
    }
    for (const auto& c : args->cases) {
      if (c != "commit" && c != "sustained" && c != "sql_execute") {
        throw CLI::ValidationError("--cases", "unknown case " + c);
      }
    }
    context->exit_code = ingest::RunIngestBench(*args);
  });
}

}  // namespace sluice::bench
