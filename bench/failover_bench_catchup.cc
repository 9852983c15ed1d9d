// `sluice-bench failover`'s catch-up of a server that was down, its raw-COPY baseline, and
// the verification of every target's rows.

#include <fmt/format.h>
#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <thread>

#include "bench/bench_util.h"
#include "bench/failover_bench_cases.h"
#include "store/backend.h"

namespace sluice::bench::failover {

Result<double> PostgresBaseline(testing::PgServer* pg, const Workload& w, int64_t first, int64_t rows,
                                int64_t batch_rows) {
  const std::string db = "bench_raw";
  SLUICE_RETURN_IF_ERROR(pg->CreateDatabase(db));
  const std::string conninfo = pg->ConnInfo(db);
  {
    store::BackendOptions bo;
    bo.name = "schema";
    bo.connection = conninfo;
    SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend("postgres", bo));
    SLUICE_RETURN_IF_ERROR(backend->Connect());
  }
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> closer(conn, PQfinish);
  if (PQstatus(conn) != CONNECTION_OK) return Status::Unavailable(PQerrorMessage(conn));
  const auto exec = [&](const std::string& sql, ExecStatusType want) -> Status {
    PGresult* res = PQexec(conn, sql.c_str());
    Status s = PQresultStatus(res) == want ? Status::OK()
                                           : Status::Internal(fmt::format("{}: {}", sql, PQresultErrorMessage(res)));
    PQclear(res);
    return s;
  };
  SLUICE_RETURN_IF_ERROR(exec("SET synchronous_commit = on; SET TimeZone = 'UTC'", PGRES_COMMAND_OK));
  SLUICE_RETURN_IF_ERROR(CreateSamplePartitions(conn, kTable, w.ts(first), w.ts(first + rows - 1),
                                                store::BackendOptions{}.partition_span_us));
  SLUICE_RETURN_IF_ERROR(exec("CHECKPOINT", PGRES_COMMAND_OK));
  const std::string copy =
      fmt::format("COPY {} (point_id, ts, value, quality, ver, manual) FROM STDIN (FORMAT binary)", kTable);
  BinaryCopy data;
  const auto start = Clock::now();
  for (int64_t done = 0, batch = 0; done < rows; done += batch_rows, ++batch) {
    SLUICE_RETURN_IF_ERROR(exec("BEGIN", PGRES_COMMAND_OK));
    SLUICE_RETURN_IF_ERROR(exec(copy, PGRES_COPY_IN));
    data.Clear();
    data.Header();
    const int64_t end = std::min(rows, done + batch_rows);
    for (int64_t i = done; i < end; ++i) {
      data.Row(w.point(first + i), w.ts(first + i), Workload::value(first + i), kQuality, batch + 1);
    }
    data.Trailer();
    SLUICE_RETURN_IF_ERROR(SendCopy(conn, data.data()));
    SLUICE_RETURN_IF_ERROR(exec("COMMIT", PGRES_COMMAND_OK));
  }
  const double seconds = Seconds(Clock::now() - start);
  closer.reset();
  auto count = pg->QueryValue(fmt::format("SELECT count(*) FROM {}", kTable), db);
  if (!count.ok() || std::stoll(*count) != rows) {
    return Status::Internal(fmt::format("the baseline database holds {} rows, expected {}",
                                        count.ok() ? *count : count.status().ToString(), rows));
  }
  pg->Exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", db)).IgnoreError();
  return seconds;
}
CatchUp RunCatchUp(const Args& args, Daemon& d, testing::PgServer* servers[2], const Workload& w,
                   SampleLedger* ledger) {
  CatchUp c;
  auto active = WaitStable(d, std::chrono::seconds(300));
  if (!active.ok()) {
    c.error = "before: " + active.status().ToString();
    return c;
  }
  const size_t down = *active == kTargets[0] ? 1 : 0;
  c.target = kTargets[down];
  testing::PgServer* pg = servers[down];
  fmt::print(stderr, "[catch-up] '{}' stopped for {} s while committing at {} rows/s ...\n", c.target,
             args.down_seconds, args.catchup_rows_per_s > 0 ? fmt::format("{}", args.catchup_rows_per_s) : "full speed");
  const auto stopped = Clock::now();
  if (Status s = pg->Stop(); !s.ok()) {
    c.error = "stopping the server: " + s.ToString();
    return c;
  }
  const int64_t rows_before = ledger->AckedRows();
  const int64_t first_row = ledger->next_row.load();
  c.first_row = first_row;
  {
    SampleLoad load(d.address(), &w, ledger, args.catchup_clients, args.catchup_batch_rows, args.catchup_rows_per_s);
    if (Status s = load.Open(); !s.ok()) {
      c.error = s.ToString();
      return c;
    }
    const auto load_start = Clock::now();
    load.Start();
    std::this_thread::sleep_until(stopped + ToClock(std::chrono::duration<double>(args.down_seconds)));
    load.Stop();
    c.load_rows_per_s = static_cast<double>(load.rows()) / Seconds(Clock::now() - load_start);
    if (!load.error().empty()) {
      c.error = "load: " + load.error();
      return c;
    }
  }
  c.rows = ledger->AckedRows() - rows_before;
  fmt::print(stderr, "  {} rows committed ({:.0f} rows/s); waiting for '{}' to apply them ...\n", c.rows,
             c.load_rows_per_s, *active);
  auto heads = WaitCaughtUp(d, *active, std::chrono::seconds(3600));
  if (!heads.ok()) {
    c.error = "the active target: " + heads.status().ToString();
    return c;
  }
  // Only this run's rows: nothing else is committed from here on.
  if (ledger->next_row.load() != first_row + c.rows) {
    c.error = "a commit of the catch-up load failed";
    return c;
  }
  if (Status s = pg->Start(); !s.ok()) {
    c.error = "restarting the server: " + s.ToString();
    return c;
  }
  const auto ready = Clock::now();
  c.down_s = Seconds(ready - stopped);
  // The applier of a target that was down retries with a backoff that has grown to
  // seconds; "reconnected" is its first poll in state running (or with progress).
  std::optional<uint64_t> applied_at_start;
  std::optional<Clock::time_point> progress;
  std::string last;
  while (true) {
    auto s = d.AdminStatus(std::chrono::seconds(10));
    const auto now = Clock::now();
    if (s.ok()) {
      for (const auto& a : s->appliers()) {
        if (a.target() != c.target || a.stream() != kStream) continue;
        if (!applied_at_start) applied_at_start = a.applied_lsn();
        if (!progress && (a.state() == "running" || a.applied_lsn() > *applied_at_start)) progress = now;
      }
      if (CaughtUp(*s, *heads, c.target, &last)) {
        c.seconds = Seconds(now - ready);
        if (progress) {
          c.reconnect_ms = Millis(*progress - ready);
          c.apply_seconds = Seconds(now - *progress);
        }
        break;
      }
    } else {
      last = s.status().ToString();
    }
    if (now - ready > std::chrono::hours(1)) {
      c.error = "the restarted target did not catch up within an hour: " + last;
      return c;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return c;
}
Status VerifyTarget(testing::PgServer* pg, const std::string& name, SampleLedger* ledger,
                    const std::map<int64_t, SyncCall::Kind>& sync, Verification* v) {
  // Samples.
  int64_t want_rows = 0;
  long double want_sum = 0;
  {
    std::lock_guard lk(ledger->mu);
    if (!ledger->failed.empty()) {
      return Status::Internal(fmt::format("{} sample commits failed; the check needs every outcome known",
                                          ledger->failed.size()));
    }
    for (const auto& [first, n] : ledger->acked) {
      want_rows += n;
      // sum of (i + 0.25) for i in [first, first + n)
      want_sum += static_cast<long double>(n) * (static_cast<long double>(first) + (n - 1) / 2.0L + 0.25L);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(auto row, pg->QueryRows(fmt::format("SELECT count(*), coalesce(sum(value), 0), "
                                                              "count(DISTINCT value) FROM {}",
                                                              kTable),
                                                  kDb));
  const int64_t count = std::stoll(row.at(0).at(0));
  const long double sum = std::stold(row.at(0).at(1));
  const int64_t distinct = std::stoll(row.at(0).at(2));
  v->samples_acked = want_rows;
  if (count < want_rows) v->lost += want_rows - count;
  if (count > distinct) v->duplicated += count - distinct;
  if (count != want_rows || std::fabs(static_cast<double>(sum - want_sum)) > 0.5) {
    v->problems.push_back(fmt::format("{}: samples: {} rows, sum(value) {:.2f}; expected {} rows, sum {:.2f}", name,
                                      count, static_cast<double>(sum), want_rows, static_cast<double>(want_sum)));
  }
  // Synchronous writes.
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          pg->QueryRows(fmt::format("SELECT id, count(*) FROM {} GROUP BY id", kSyncTable), kDb));
  std::map<int64_t, int64_t> present;
  for (const auto& r : rows) present[std::stoll(r.at(0))] = std::stoll(r.at(1));
  int64_t lost = 0, dup = 0, extra = 0, unresolved_present = 0;
  for (const auto& [id, kind] : sync) {
    auto it = present.find(id);
    const int64_t n = it == present.end() ? 0 : it->second;
    switch (kind) {
      case SyncCall::kApplied:
        if (n == 0) lost++;
        if (n > 1) dup += n - 1;
        break;
      case SyncCall::kUnresolved:
      case SyncCall::kUnknown:  // still not decided after GetOutcome
        if (n > 0) unresolved_present++;
        if (n > 1) dup += n - 1;
        break;
      default:  // rejected, refused, error: nothing may have been applied
        if (n > 0) extra += n;
        break;
    }
  }
  for (const auto& [id, n] : present) {
    if (!sync.count(id)) extra += n;
  }
  v->lost += lost;
  v->duplicated += dup + extra;
  v->sync_unresolved_present = std::max(v->sync_unresolved_present, unresolved_present);
  if (lost + dup + extra > 0) {
    v->problems.push_back(fmt::format("{}: sync rows: {} lost, {} duplicated, {} present without an applied call",
                                      name, lost, dup, extra));
  }
  return Status::OK();
}

}  // namespace sluice::bench::failover
