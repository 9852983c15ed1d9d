// `sluice-bench ingest`'s commit and sustained cases, and the raw-COPY baseline of the
// sustained one.

#include <fmt/format.h>
#include <libpq-fe.h>

#include "bench/ingest_bench_cases.h"
#include "store/backend.h"

namespace sluice::bench::ingest {

nlohmann::json CommitCase(const Args& args, testing::PgServer* pg, int seq, Api api,
                          int64_t batch_rows) {
  nlohmann::json row = {{"case", "commit"},
                        {"batch_rows", batch_rows},
                        {"clients", args.clients},
                        {"api", ApiName(api, args.window)}};
  auto fail = [&](const std::string& what) {
    row["error"] = what;
    return row;
  };
  Env env(args, pg, seq);
  if (Status s = env.Start(); !s.ok()) return fail(s.ToString());
  Workload w(args.points);
  LoadOptions o;
  o.api = api;
  o.window = args.window;
  o.clients = args.clients;
  o.batch_rows = batch_rows;
  o.seconds = args.seconds;
  o.warm_up = true;
  CommitLoad load(env.daemon.address(), &w, o);
  if (Status s = load.Open(); !s.ok()) return fail(s.ToString());
  row["loadavg_before"] = LoadAverage();
  // CPU per side: on a machine with few cores the producers and the daemon compete.
  const double client_cpu = ProcessCpuSeconds();
  const double daemon_cpu = ProcessCpuSeconds(env.daemon.pid());
  load.Start();
  load.Join();
  const double client_cpu_s = ProcessCpuSeconds() - client_cpu;
  const double daemon_cpu_s = ProcessCpuSeconds(env.daemon.pid()) - daemon_cpu;
  LoadResult r = load.Result();
  row["loadavg_after"] = LoadAverage();
  if (!r.error.empty()) return fail(r.error);
  if (r.latencies_ms.empty()) return fail("no commit finished");
  row["samples_per_s"] = Rounded(r.samples_per_s());
  row["ack_p50_ms"] = Round3(Percentile(r.latencies_ms, 0.50));
  row["ack_p99_ms"] = Round3(Percentile(r.latencies_ms, 0.99));
  row["ack_max_ms"] = Round3(r.latencies_ms.back());
  row["commits"] = r.commits;
  row["rows"] = r.rows;
  row["seconds"] = Round3(r.seconds());
  // The producers' and sluiced's CPU seconds over the run (sluiced's include its
  // applier), per million rows acknowledged.
  row["client_cpu_s_per_m_rows"] = Round3(client_cpu_s / static_cast<double>(r.rows) * 1e6);
  row["sluiced_cpu_s_per_m_rows"] = Round3(daemon_cpu_s / static_cast<double>(r.rows) * 1e6);
  if (Status s = env.daemon.Stop(); !s.ok()) return fail(s.ToString());
  return row;
}
namespace {

// Loads rows 0..rows-1 of `w` into a fresh database on `pg` the raw way: binary COPY, one
// transaction per `batch_rows` rows. Returns the seconds it took.
Result<double> PostgresBaseline(testing::PgServer* pg, int seq, const Workload& w, int64_t rows,
                                int64_t batch_rows) {
  Target t(pg, fmt::format("bench_raw_{}", seq), "");
  SLUICE_RETURN_IF_ERROR(t.Create());
  {
    // The same schema as Sluice's target, from the backend's own Connect().
    store::BackendOptions bo;
    bo.name = "schema";
    bo.connection = t.conninfo();
    SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend("postgres", bo));
    SLUICE_RETURN_IF_ERROR(backend->Connect());
  }
  PGconn* conn = PQconnectdb(t.conninfo().c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> closer(conn, PQfinish);
  if (PQstatus(conn) != CONNECTION_OK) return Status::Unavailable(PQerrorMessage(conn));
  const auto exec = [&](const std::string& sql, ExecStatusType want) -> Status {
    PGresult* res = PQexec(conn, sql.c_str());
    Status s = PQresultStatus(res) == want
                   ? Status::OK()
                   : Status::Internal(fmt::format("{}: {}", sql, PQresultErrorMessage(res)));
    PQclear(res);
    return s;
  };
  // The backend's session settings that matter here (durable commits, UTC).
  SLUICE_RETURN_IF_ERROR(
      exec("SET synchronous_commit = on; SET TimeZone = 'UTC'", PGRES_COMMAND_OK));
  SLUICE_RETURN_IF_ERROR(CreateSamplePartitions(conn, kTable, w.ts(0), w.ts(rows - 1),
                                                store::BackendOptions{}.partition_span_us));
  SLUICE_RETURN_IF_ERROR(exec("CHECKPOINT", PGRES_COMMAND_OK));

  const std::string copy = fmt::format(
      "COPY {} (point_id, ts, value, quality, ver, manual) FROM STDIN (FORMAT binary)", kTable);
  BinaryCopy data;
  const auto start = Clock::now();
  for (int64_t done = 0, batch = 0; done < rows; done += batch_rows, ++batch) {
    SLUICE_RETURN_IF_ERROR(exec("BEGIN", PGRES_COMMAND_OK));
    SLUICE_RETURN_IF_ERROR(exec(copy, PGRES_COPY_IN));
    data.Clear();
    data.Header();
    const int64_t end = std::min(rows, done + batch_rows);
    for (int64_t i = done; i < end; ++i) {
      data.Row(w.point(i), w.ts(i), Workload::value(i), kQuality, batch + 1);
    }
    data.Trailer();
    SLUICE_RETURN_IF_ERROR(SendCopy(conn, data.data()));
    SLUICE_RETURN_IF_ERROR(exec("COMMIT", PGRES_COMMAND_OK));
  }
  const double seconds = Seconds(Clock::now() - start);
  SLUICE_RETURN_IF_ERROR(CheckRows(t, w, rows));
  return seconds;
}

}  // namespace

nlohmann::json SustainedCase(const Args& args, testing::PgServer* pg, int seq) {
  const int64_t batch_rows = args.sustained_batch_rows;
  nlohmann::json row = {
      {"case", "sustained"}, {"batch_rows", batch_rows}, {"clients", args.clients}};
  auto fail = [&](const std::string& what) {
    row["error"] = what;
    return row;
  };
  Workload w(args.points);
  int64_t rows = 0;
  {
    Env env(args, pg, seq);
    if (Status s = env.Start(); !s.ok()) return fail(s.ToString());
    if (pg != nullptr) {
      // Start from the same server state as the baseline: nothing left to write back.
      if (Status s = pg->Exec("CHECKPOINT"); !s.ok()) return fail(s.ToString());
    }
    LoadOptions o;
    o.clients = args.clients;
    o.batch_rows = batch_rows;
    o.max_rows = args.sustained_rows;
    o.seconds = 3600;  // ends with the rows
    CommitLoad load(env.daemon.address(), &w, o);
    if (Status s = load.Open(); !s.ok()) return fail(s.ToString());
    row["loadavg_before"] = LoadAverage();
    load.Start();
    load.Join();
    LoadResult r = load.Result();
    if (!r.error.empty()) return fail(r.error);
    if (Status s = env.daemon.WaitApplied(kStream, r.last_lsn, std::chrono::minutes(30)); !s.ok()) {
      return fail(s.ToString());
    }
    const auto caught_up = Clock::now();
    row["loadavg_after"] = LoadAverage();
    rows = r.total_rows;
    const double seconds = Seconds(caught_up - r.start);
    row["rows"] = rows;
    row["seconds"] = Round3(seconds);
    row["samples_per_s"] = Rounded(static_cast<double>(rows) / seconds);
    // How fast the journal took them, for comparison with the end-to-end figure.
    row["commit_seconds"] = Round3(r.seconds());
    row["commit_samples_per_s"] = Rounded(r.samples_per_s());
    if (Status s = CheckRows(env.target, w, rows); !s.ok()) return fail(s.ToString());
    if (Status s = env.daemon.Stop(); !s.ok()) return fail(s.ToString());
  }
  if (pg == nullptr) {
    row["baseline_rows_per_s"] = nullptr;
    row["ratio"] = nullptr;
    return row;
  }
  fmt::print(stderr, "  baseline: binary COPY of the same {} rows ... ", rows);
  std::fflush(stderr);
  auto baseline = PostgresBaseline(pg, seq, w, rows, batch_rows);
  if (!baseline.ok()) return fail("baseline: " + baseline.status().ToString());
  const double b = static_cast<double>(rows) / *baseline;
  fmt::print(stderr, "{:.2f} s, {:.0f} rows/s\n", *baseline, b);
  row["baseline_seconds"] = Round3(*baseline);
  row["baseline_rows_per_s"] = Rounded(b);
  row["baseline_transactions"] = (rows + batch_rows - 1) / batch_rows;
  row["ratio"] = Round3(row["samples_per_s"].get<double>() / b);
  return row;
}

}  // namespace sluice::bench::ingest
