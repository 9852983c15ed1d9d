// `sluice-bench resync`: the table copy behind `sluice target resync` (issue #15,
// docs/resync.md), resync::CopyTables from a PostgreSQL source into a fresh PostgreSQL
// and into a fresh SQLite target, against a raw pipe of the same tables on the same
// server in the same run.
//
// Source (untimed): a database of a throw-away PostgreSQL server (fsync and
// synchronous_commit on) whose schema the backend's own Connect() made, holding --points
// point and sample_define rows, one burst_type, recall_define and watermark row, and
// --rows sample rows in sample_1min (binary COPY; with 1000 points, 5,000,000 rows span
// 3.5 days, so four daily partitions), then VACUUM ANALYZE and CHECKPOINT, so no side
// pays for the source's hint bits or a pending checkpoint.
//
// Baseline: `COPY (SELECT <columns> FROM t) TO STDOUT (FORMAT binary)` piped chunk by
// chunk into `COPY t (<columns>) FROM STDIN (FORMAT binary)` for every copied table, one
// snapshot on the source and one transaction per table on the destination: the fastest
// way PostgreSQL itself moves these rows. Its destination is a fresh database whose
// schema comes from the backend's Connect() and whose partitions are created before the
// clock starts.
//
// Sluice: CopyTables with the defaults the command will use (CopyOptions: 50,000 rows
// per batch and transaction, fewer for wide tables, rows counted first, a resume mark
// written after each batch), timed from the call to its return: it includes opening
// both ends, creating or migrating the destination's schema, emptying it, creating
// partitions and writing the watermarks.
//
// SQLite has no COPY, so its row is measured against the same PostgreSQL pipe figure
// (the result's `baseline` says so): the question the issue asks is how close a resync
// into either kind of target comes to PostgreSQL's own bulk copy.
//
// Each destination's row count is checked against the source's after its run, and the
// destination is dropped before the next. --rounds runs everything again and reports the
// medians.

#include <fmt/format.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/machine_info.h"
#include "bench/resync_bench_data.h"
#include "common/file_system.h"
#include "common/log.h"
#include "resync/table_copy.h"
#include "store/backend.h"
#include "support/pg_server.h"

#ifndef SLUICE_BENCH_DEFAULT_DIR
#define SLUICE_BENCH_DEFAULT_DIR "/tmp"
#endif

// Its own namespace: the unity build puts this file beside other benchmarks' helpers.
namespace sluice::bench::resync_bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSourceDb = "resync_source";
constexpr const char* kBaselineDescription =
    "PostgreSQL COPY (SELECT ...) TO STDOUT | COPY ... FROM STDIN (FORMAT binary), every "
    "copied table, PostgreSQL to PostgreSQL on the same server; also the SQLite row's "
    "baseline (SQLite has no COPY)";

struct Args {
  bool json = false;
  std::string dir = SLUICE_BENCH_DEFAULT_DIR;
  int64_t rows = 5'000'000;
  int64_t points = 1000;
  size_t batch_rows = sluice::resync::CopyOptions{}.batch_rows;  // the command's default
  int rounds = 1;
  std::vector<std::string> backends = {"postgres", "sqlite"};
  std::string pg_shared_buffers = "128MB";
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

nlohmann::json Round3(double v) {
  return std::isfinite(v) ? nlohmann::json(std::round(v * 1000) / 1000) : nlohmann::json(nullptr);
}
nlohmann::json Rounded(double v) {
  return std::isfinite(v) ? nlohmann::json(std::llround(v)) : nlohmann::json(nullptr);
}

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, PgConnCloser>;

Result<Conn> Connect(const std::string& conninfo) {
  Conn conn(PQconnectdb(conninfo.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::Internal(fmt::format("connecting: {}", PQerrorMessage(conn.get())));
  }
  return conn;
}

// A fresh PostgreSQL database with the backend's schema.
Status CreateTarget(testing::PgServer* pg, const std::string& db) {
  SLUICE_RETURN_IF_ERROR(pg->CreateDatabase(db));
  store::BackendOptions options;
  options.name = db;
  options.connection = pg->ConnInfo(db);
  SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend("postgres", options));
  return backend->Connect();
}

// The rows of every copied table (the watermark rows not included).
Result<int64_t> CountPgRows(testing::PgServer* pg, const std::string& db) {
  int64_t rows = 0;
  for (const store::CopyTableSpec& t : store::CopyTables()) {
    SLUICE_ASSIGN_OR_RETURN(std::string n, pg->QueryValue(fmt::format("SELECT count(*) FROM {}", t.name), db));
    rows += std::stoll(n);
  }
  return rows;
}

Result<int64_t> CountSqliteRows(const std::string& file) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_close(db);
    return Status::IOError(fmt::format("{}: {}", file, msg));
  }
  int64_t rows = 0;
  Status s;
  for (const store::CopyTableSpec& t : store::CopyTables()) {
    sqlite3_stmt* st = nullptr;
    const std::string sql = fmt::format("SELECT count(*) FROM {}", t.name);
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
      s = Status::IOError(fmt::format("{}: {}: {}", file, sql, sqlite3_errmsg(db)));
    } else {
      rows += sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (!s.ok()) break;
  }
  sqlite3_close(db);
  if (!s.ok()) return s;
  return rows;
}

// One timed run of the raw pipe into a fresh database; seconds.
Result<double> RunBaseline(testing::PgServer* pg, const resync_bench::SourceSpan& span,
                           int64_t source_rows, int round) {
  const std::string db = fmt::format("resync_raw_{}", round);
  SLUICE_RETURN_IF_ERROR(CreateTarget(pg, db));
  SLUICE_ASSIGN_OR_RETURN(Conn source, Connect(pg->ConnInfo(kSourceDb)));
  SLUICE_ASSIGN_OR_RETURN(Conn destination, Connect(pg->ConnInfo(db)));
  SLUICE_RETURN_IF_ERROR(CreateSamplePartitions(destination.get(), resync_bench::kSampleTable,
                                                span.first_ts, span.last_ts, resync_bench::kPartitionSpanUs));
  const auto start = Clock::now();
  SLUICE_ASSIGN_OR_RETURN(int64_t copied, resync_bench::RawCopyPipe(source.get(), destination.get()));
  const double seconds = Seconds(Clock::now() - start);
  source.reset();
  destination.reset();
  SLUICE_ASSIGN_OR_RETURN(int64_t held, CountPgRows(pg, db));
  if (held != source_rows || copied != source_rows + 1) {
    return Status::Internal(fmt::format("baseline: copied {} rows (with the watermark), holds {}, "
                                        "the source {}", copied, held, source_rows));
  }
  SLUICE_RETURN_IF_ERROR(pg->Exec(fmt::format("DROP DATABASE {} WITH (FORCE)", db)));
  return seconds;
}

// One timed resync into a fresh target of `backend`; seconds.
Result<double> RunSluice(const Args& args, testing::PgServer* pg, const std::string& backend,
                         int64_t source_rows, int round) {
  ScratchDir scratch(args.dir, "sluice-bench-resync");
  sluice::resync::CopyEndpoint source{"postgres", {}};
  source.options.name = "source";
  source.options.connection = pg->ConnInfo(kSourceDb);
  sluice::resync::CopyEndpoint destination{backend, {}};
  destination.options.name = "destination";
  const std::string db = fmt::format("resync_sluice_{}", round);
  const std::string file = JoinPath(scratch.path(), "destination.db");
  if (backend == "postgres") {
    SLUICE_RETURN_IF_ERROR(pg->CreateDatabase(db));  // empty: the copy makes the schema
    destination.options.connection = pg->ConnInfo(db);
  } else {
    destination.options.connection = file;
  }
  sluice::resync::CopyOptions options;
  options.mark_path = JoinPath(scratch.path(), "resync.mark");
  options.batch_rows = args.batch_rows;
  const auto start = Clock::now();
  SLUICE_ASSIGN_OR_RETURN(sluice::resync::CopyResult result,
                          sluice::resync::CopyTables(source, destination, options, nullptr));
  const double seconds = Seconds(Clock::now() - start);
  Result<int64_t> held = backend == "postgres" ? CountPgRows(pg, db) : CountSqliteRows(file);
  SLUICE_RETURN_IF_ERROR(held.status());
  if (result.rows_this_run != source_rows || *held != source_rows) {
    return Status::Internal(fmt::format("{}: copied {} rows, holds {}, the source {}", backend,
                                        result.rows_this_run, *held, source_rows));
  }
  if (backend == "postgres") {
    SLUICE_RETURN_IF_ERROR(pg->Exec(fmt::format("DROP DATABASE {} WITH (FORCE)", db)));
  }
  return seconds;
}

int RunResyncBench(const Args& args) {
  log::Logger().set_level(spdlog::level::warn);
  MachineInfo machine = GetMachineInfo();
  WarnIfUnrepresentative(machine);
  nlohmann::json machine_json = ToJson(machine);
  machine_json["dir"] = args.dir;
  machine_json["filesystem"] = FileSystemType(args.dir);
  machine_json["loadavg_start"] = LoadAverage();
  machine_json["sqlite"] = {{"version", sqlite3_libversion()}};

  fmt::print(stderr, "starting a PostgreSQL server ... ");
  std::fflush(stderr);
  testing::PgServerOptions po;  // fsync and synchronous_commit on
  po.shared_buffers = args.pg_shared_buffers;
  auto server = testing::PgServer::CreateAndStart(po);
  if (!server.ok()) {
    fmt::print(stderr, "error: {}\n", server.status().ToString());
    return 1;
  }
  std::unique_ptr<testing::PgServer> pg = std::move(server).value();
  fmt::print(stderr, "{} ({})\n", pg->data_dir(), FileSystemType(pg->data_dir()));
  nlohmann::json settings = nlohmann::json::object();
  for (const char* name : {"server_version", "fsync", "synchronous_commit", "shared_buffers",
                           "max_wal_size"}) {
    auto v = pg->QueryValue(fmt::format("SHOW {}", name));
    settings[name] = v.ok() ? *v : v.status().ToString();
  }
  settings["data_dir_filesystem"] = FileSystemType(pg->data_dir());
  machine_json["postgres"] = settings;

  const auto fail = [](std::string_view what, const Status& s) {
    fmt::print(stderr, "error: {}: {}\n", what, s.ToString());
    return 1;
  };
  fmt::print(stderr, "filling the source: {} sample rows over {} points ... ", args.rows, args.points);
  std::fflush(stderr);
  const auto fill_start = Clock::now();
  if (Status s = CreateTarget(pg.get(), kSourceDb); !s.ok()) return fail("the source", s);
  resync_bench::SourceSpan span;
  {
    auto conn = Connect(pg->ConnInfo(kSourceDb));
    if (!conn.ok()) return fail("the source", conn.status());
    auto filled = resync_bench::FillSource(conn->get(), {args.rows, args.points});
    if (!filled.ok()) return fail("filling the source", filled.status());
    span = *filled;
  }
  if (Status s = pg->Exec("VACUUM ANALYZE", kSourceDb); !s.ok()) return fail("VACUUM", s);
  if (Status s = pg->Exec("CHECKPOINT"); !s.ok()) return fail("CHECKPOINT", s);
  auto counted = CountPgRows(pg.get(), kSourceDb);
  if (!counted.ok()) return fail("counting the source", counted.status());
  const int64_t source_rows = *counted;
  fmt::print(stderr, "{} rows in {:.1f} s\n", source_rows, Seconds(Clock::now() - fill_start));

  std::vector<double> baseline;
  std::vector<std::vector<double>> sluice(args.backends.size());
  for (int round = 1; round <= args.rounds; ++round) {
    auto b = RunBaseline(pg.get(), span, source_rows, round);
    if (!b.ok()) return fail("baseline", b.status());
    baseline.push_back(*b);
    fmt::print(stderr, "round {}: baseline {:.2f} s ({:.0f} rows/s)\n", round, *b, source_rows / *b);
    for (size_t i = 0; i < args.backends.size(); ++i) {
      auto s = RunSluice(args, pg.get(), args.backends[i], source_rows, round);
      if (!s.ok()) return fail(args.backends[i], s.status());
      sluice[i].push_back(*s);
      fmt::print(stderr, "round {}: {} {:.2f} s ({:.0f} rows/s)\n", round, args.backends[i], *s,
                 source_rows / *s);
    }
    if (Status s = pg->Exec("CHECKPOINT"); !s.ok()) return fail("CHECKPOINT", s);
  }

  const double baseline_rate = static_cast<double>(source_rows) / Median(baseline);
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < args.backends.size(); ++i) {
    const double rate = static_cast<double>(source_rows) / Median(sluice[i]);
    results.push_back({{"backend", args.backends[i]},
                       {"rows", source_rows},
                       {"sample_rows", args.rows},
                       {"batch_rows", args.batch_rows},
                       {"rounds", args.rounds},
                       {"seconds", Round3(Median(sluice[i]))},
                       {"rows_per_s", Rounded(rate)},
                       {"baseline_seconds", Round3(Median(baseline))},
                       {"baseline_rows_per_s", Rounded(baseline_rate)},
                       {"baseline", kBaselineDescription},
                       {"ratio", Round3(rate / baseline_rate)},
                       {"goal_ratio", 0.8}});
  }
  machine_json["loadavg_end"] = LoadAverage();
  const nlohmann::json out = {{"bench", "resync"}, {"machine", machine_json}, {"results", results}};
  if (args.json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    fmt::print("{:>9} {:>9} {:>12} {:>12} {:>7}\n", "backend", "rows", "rows/s", "baseline", "ratio");
    for (const auto& row : results) {
      fmt::print("{:>9} {:>9} {:>12} {:>12} {:>7}\n", row["backend"].get<std::string>(),
                 row["rows"].get<int64_t>(), row["rows_per_s"].dump(),
                 row["baseline_rows_per_s"].dump(), row["ratio"].dump());
    }
  }
  return 0;
}

}  // namespace
}  // namespace sluice::bench::resync_bench

namespace sluice::bench {

void RegisterResyncBench(CLI::App& app, Context* context) {
  using resync_bench::Args;
  using resync_bench::RunResyncBench;
  auto args = std::make_shared<Args>();
  auto backends = std::make_shared<std::string>("postgres,sqlite");
  CLI::App* cmd = app.add_subcommand(
      "resync",
      "Table copy of `sluice target resync` from a PostgreSQL target into a fresh PostgreSQL "
      "and SQLite target, against a raw COPY TO STDOUT | COPY FROM STDIN pipe");
  cmd->add_flag("--json", args->json, "Print one JSON object (default: a table)");
  cmd->add_option("--rows", args->rows, "Sample rows in the source")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--points", args->points, "Points (sample rows cycle over them)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-rows", args->batch_rows, "Rows per copy batch (transaction)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rounds", args->rounds, "Runs of every side; the medians are reported")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--backends", *backends, "Destinations, a subset of postgres,sqlite")
      ->capture_default_str();
  cmd->add_option("--pg-shared-buffers", args->pg_shared_buffers,
                  "shared_buffers of the PostgreSQL server started for the run")
      ->capture_default_str();
  cmd->add_option("--dir", args->dir, "Directory for the SQLite destination and the resume mark")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->callback([=] {
    args->backends.clear();
    std::stringstream in(*backends);
    for (std::string b; std::getline(in, b, ',');) {
      if (b != "postgres" && b != "sqlite") throw CLI::ValidationError("--backends", "unknown backend " + b);
      args->backends.push_back(b);
    }
    context->exit_code = RunResyncBench(*args);
  });
}

}  // namespace sluice::bench
