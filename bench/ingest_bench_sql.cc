// `sluice-bench ingest`'s sql_execute case: Sql.Execute against libpq.

#include <fmt/format.h>
#include <libpq-fe.h>

#include "bench/ingest_bench_cases.h"

namespace sluice::bench::ingest {
namespace {

// Latencies of paired calls: the same UPDATE through Sluice and through libpq.
struct SqlPairs {
  std::vector<double> sluice_ms;
  std::vector<double> baseline_ms;
  std::string error;
};

v1::ExecuteRequest SqlRequest(const std::string& text, std::vector<int64_t> params) {
  v1::ExecuteRequest req;
  req.mutable_statement()->set_text(text);
  for (int64_t p : params) req.mutable_statement()->add_params()->set_int_value(p);
  return req;
}

Status ExecuteApplied(client::Client* c, const v1::ExecuteRequest& req) {
  SLUICE_ASSIGN_OR_RETURN(auto resp, c->Execute(req));
  if (resp.outcome() != v1::OUTCOME_APPLIED) {
    return Status::Internal(fmt::format("{}: outcome {} ({})", req.statement().text(),
                                        v1::Outcome_Name(resp.outcome()), resp.message()));
  }
  return Status::OK();
}

// Alternates the statement through `c` and through `conn` (null: Sluice only) for
// `seconds`; the first calls of each warm up and are not counted.
SqlPairs RunSqlPairs(client::Client* c, PGconn* conn, double seconds) {
  constexpr int kWarmUp = 20;
  // Measured calls even when the warm-up used up the time (a short run on a loaded
  // machine): a case with no call measured would be an error, not a figure.
  constexpr int kMinMeasured = 20;
  const std::string sql = fmt::format("UPDATE {} SET n = $1 WHERE id = $2", kSqlTable);
  SqlPairs out;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(seconds));
  for (int64_t i = 0; i < kWarmUp + kMinMeasured || Clock::now() < deadline; ++i) {
    const auto t0 = Clock::now();
    if (Status s = ExecuteApplied(c, SqlRequest(sql, {i, 1})); !s.ok()) {
      out.error = s.ToString();
      return out;
    }
    const auto t1 = Clock::now();
    if (i >= kWarmUp) out.sluice_ms.push_back(Millis(t1 - t0));
    if (conn == nullptr) continue;
    // The same statement as the backend would send it: one round trip with text params.
    const std::string n = std::to_string(i);
    const char* values[2] = {n.c_str(), "2"};
    const auto t2 = Clock::now();
    PGresult* res = PQexecParams(conn, sql.c_str(), 2, nullptr, values, nullptr, nullptr, 0);
    const auto t3 = Clock::now();
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) out.error = fmt::format("baseline: {}", PQresultErrorMessage(res));
    PQclear(res);
    if (!ok) return out;
    if (i >= kWarmUp) out.baseline_ms.push_back(Millis(t3 - t2));
  }
  std::sort(out.sluice_ms.begin(), out.sluice_ms.end());
  std::sort(out.baseline_ms.begin(), out.baseline_ms.end());
  return out;
}
}  // namespace

// Two rows: idle, then during a commit load.
std::vector<nlohmann::json> SqlExecuteCase(const Args& args, testing::PgServer* pg, int seq) {
  std::vector<nlohmann::json> rows;
  auto fail = [&](const std::string& what) {
    rows.push_back({{"case", "sql_execute"}, {"error", what}});
    return rows;
  };
  Env env(args, pg, seq);
  if (Status s = env.Start(); !s.ok()) return fail(s.ToString());
  client::ClientOptions co;
  co.addresses = {env.daemon.address()};
  co.call_timeout = std::chrono::seconds(120);
  auto c = client::Client::Open(co);
  if (!c.ok()) return fail(c.status().ToString());
  // The table comes through Sluice like any schema change, so every target has it.
  for (const std::string& sql :
       {fmt::format("CREATE TABLE {} (id bigint PRIMARY KEY, n bigint NOT NULL)", kSqlTable),
        fmt::format("INSERT INTO {} (id, n) VALUES (1, 0), (2, 0)", kSqlTable)}) {
    if (Status s = ExecuteApplied(c->get(), SqlRequest(sql, {})); !s.ok()) {
      return fail(s.ToString());
    }
  }
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(nullptr, PQfinish);
  if (env.target.postgres()) {
    conn.reset(PQconnectdb(env.target.conninfo().c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) return fail(PQerrorMessage(conn.get()));
    PGresult* res = PQexec(conn.get(), "SET synchronous_commit = on");
    PQclear(res);
  }

  Workload w(args.points);
  for (bool under_load : {false, true}) {
    nlohmann::json row = {{"case", "sql_execute"}, {"load", under_load}};
    fmt::print(stderr, "  {} ...\n", under_load ? "under a commit load" : "idle");
    std::unique_ptr<CommitLoad> load;
    if (under_load) {
      LoadOptions o;
      o.clients = args.clients;
      o.batch_rows = args.sustained_batch_rows;
      o.seconds = args.seconds + 3600;  // stopped below
      o.warm_up = true;
      load = std::make_unique<CommitLoad>(env.daemon.address(), &w, o);
      if (Status s = load->Open(); !s.ok()) return fail(s.ToString());
      load->Start();
      // Let the applier get busy with the backlog too.
      std::this_thread::sleep_for(std::chrono::seconds(1));
      row["load_clients"] = args.clients;
      row["load_batch_rows"] = args.sustained_batch_rows;
    }
    row["loadavg_before"] = LoadAverage();
    SqlPairs p = RunSqlPairs(c->get(), conn.get(), args.seconds);
    row["loadavg_after"] = LoadAverage();
    if (load) {
      load->Stop();
      load->Join();
      LoadResult r = load->Result();
      if (!r.error.empty() && p.error.empty()) p.error = "commit load: " + r.error;
      if (r.rows > 0) row["load_samples_per_s"] = Rounded(r.samples_per_s());
    }
    if (!p.error.empty() || p.sluice_ms.empty()) {
      row["error"] = p.error.empty() ? "no call finished" : p.error;
      rows.push_back(row);
      return rows;
    }
    row["calls"] = p.sluice_ms.size();
    row["p50_ms"] = Round3(Percentile(p.sluice_ms, 0.50));
    row["p99_ms"] = Round3(Percentile(p.sluice_ms, 0.99));
    if (!p.baseline_ms.empty()) {
      row["baseline_p50_ms"] = Round3(Percentile(p.baseline_ms, 0.50));
      row["baseline_p99_ms"] = Round3(Percentile(p.baseline_ms, 0.99));
      row["overhead_p50_ms"] =
          Round3(Percentile(p.sluice_ms, 0.50) - Percentile(p.baseline_ms, 0.50));
    } else {
      row["baseline_p50_ms"] = nullptr;
      row["overhead_p50_ms"] = nullptr;
    }
    rows.push_back(row);
  }
  c->reset();  // closes its connection before the daemon stops
  if (Status s = env.daemon.Stop(); !s.ok()) return fail(s.ToString());
  return rows;
}

}  // namespace sluice::bench::ingest
