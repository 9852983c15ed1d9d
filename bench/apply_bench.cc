// `sluice-bench apply`: throughput of the appliers, journal -> target, for sample rows,
// against loading the same rows into the same kind of target the raw way.
//
// Workload: N rows (--rows) over --points points, interval 1min: row i is point
// i % points at ts = base + (i / points) minutes (base chosen so every timestamp lies in
// the last N/points minutes, inside the admission window), value a non-integral double,
// quality 192. The rows are cut into sample records of --batch-rows rows each.
//
// One case = (backend, batch_rows, apply_batch_records); each case runs --rounds rounds,
// and each round runs both sides, alternating which goes first (baseline first in odd
// rounds), so that both meet the same conditions (fsync noise on a shared VM,
// checkpoints, other load). The result holds the median of each side and their ratio
// ("ratio"), the median of the rounds' own ratios ("median_round_ratio": each round's two
// sides ran back to back, so it drifts less with the machine's load), and every round.
//
// Sluice: the records are admitted (Admitter::Admit) into the `samples` stream of a
// fresh data directory and made durable; untimed. The target (a fresh PostgreSQL database
// or SQLite file) gets its schema from the backend's own Connect(), untimed. Then a
// Replicator with that one target is started and the clock runs until the target's
// watermark reaches the journal head (Replicator::WaitCaughtUp); that includes the
// applier connecting and claiming the node, and creating the partitions the data needs.
// The stream is unordered, as the daemon's samples stream. --apply-batch-records sets the
// records per applier transaction, one case per value: 1 gives exactly the baseline's
// transactions (one record = batch_rows rows each), which isolates the applier's own
// cost; 0 keeps the replicator's default for an unordered stream (up to 20,000 records or
// 32 MiB per transaction), which is what the daemon does and commits far less often than
// the baseline. The number of transactions of each side is in the round's detail.
//
// Baseline, same durability (fsync on, synchronous_commit on; SQLite WAL +
// synchronous=FULL and every other pragma of SqliteBackend::ConnectionPragmas()), same
// rows, same batch size, one transaction per batch:
//  - PostgreSQL: a plain blocking libpq connection; per batch BEGIN; COPY sample_1min
//    (point_id, ts, value, quality, ver, manual) FROM STDIN (FORMAT binary) -- the format
//    the backend uses; COMMIT. Same server, a fresh database whose schema comes from the
//    backend's Connect() (the same partitioned table and key), and whose partitions for
//    the data's days are created before the clock starts, as the backend creates them
//    (CREATE TABLE ... (LIKE parent); ALTER TABLE ... ATTACH PARTITION, partitions.h).
//  - SQLite: a connection opened with the writer's flags and pragmas, schema from the
//    backend's Connect(); per batch BEGIN IMMEDIATE; a prepared plain INSERT stepped per
//    row; COMMIT. A plain INSERT is the raw way to load rows and what the issue names; the
//    backend must run a converging upsert (INSERT ... ON CONFLICT DO UPDATE ... WHERE), so
//    --sqlite-baseline upsert measures against that same statement instead.
// The baseline's time includes encoding its rows (COPY binary / binds) from columns held
// in memory; Sluice's includes reading the journal and decoding the records.
//
// Each side's target is checked after its run (row count and sums equal the workload)
// and dropped before the next round.

#include <fmt/format.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "admission/admitter.h"
#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/machine_info.h"
#include "common/file_system.h"
#include "common/log.h"
#include "journal/journal_set.h"
#include "replicate/replicator.h"
#include "store/backend.h"
#include "store/postgres/partitions.h"
#include "store/schema.h"
#include "store/sqlite/sqlite_backend.h"
#include "support/pg_server.h"

#ifndef SLUICE_BENCH_DEFAULT_DIR
#define SLUICE_BENCH_DEFAULT_DIR "/tmp"
#endif

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kMinuteUs = 60'000'000;
constexpr const char* kTable = "sample_1min";
constexpr const char* kStream = "samples";
constexpr uint32_t kQuality = 192;

struct Args {
  bool json = false;
  std::string dir = SLUICE_BENCH_DEFAULT_DIR;
  int64_t rows = 2'000'000;
  int64_t points = 1000;
  std::vector<int64_t> batch_rows = {10'000};
  std::vector<std::string> backends = {"postgres", "sqlite"};
  int rounds = 3;
  // Records per applier transaction; 0: the replicator's default for an unordered stream.
  std::vector<size_t> apply_batch_records = {1, 0};
  std::string sqlite_baseline = "insert";
  std::string pg_shared_buffers = "128MB";
  std::string only;  // "sluice" or "baseline": run one side only (for profiling)
};

// The rows of the workload, as columns, plus where they start.
struct Workload {
  int64_t base_us = 0;
  std::vector<int64_t> point_id;
  std::vector<int64_t> ts;
  std::vector<double> value;

  size_t size() const { return point_id.size(); }
  // Expected aggregates of a loaded target: count, sum(point_id), sum(ts - base) / minute.
  struct Sums {
    int64_t count = 0;
    int64_t point_sum = 0;
    int64_t minute_sum = 0;
    bool operator==(const Sums&) const = default;
  };
  Sums expected;
};

Workload MakeWorkload(int64_t rows, int64_t points) {
  Workload w;
  const int64_t minutes = (rows + points - 1) / points;
  const int64_t now = admission::NowMicros();
  // Every ts lies in the past (the admission window allows up to a day ahead, but the
  // data should look like data that was just collected).
  w.base_us = (now / kMinuteUs - minutes) * kMinuteUs;
  w.point_id.resize(static_cast<size_t>(rows));
  w.ts.resize(static_cast<size_t>(rows));
  w.value.resize(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    const auto k = static_cast<size_t>(i);
    w.point_id[k] = i % points;
    w.ts[k] = w.base_us + (i / points) * kMinuteUs;
    w.value[k] = static_cast<double>(i % 100'003) * 0.25 + 0.1;  // never integral
    w.expected.count++;
    w.expected.point_sum += i % points;
    w.expected.minute_sum += i / points;
  }
  return w;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// One side of one round.
struct RunResult {
  double seconds = 0;
  int64_t transactions = 0;
  std::string error;
};

// --- targets ---

// Where one side of a round writes: a fresh PostgreSQL database or SQLite file.
struct Target {
  std::string dialect;
  std::string connection;  // conninfo or file path
  std::string dbname;      // postgres
  std::string file;        // sqlite
};

class Targets {
 public:
  Targets(testing::PgServer* pg, std::string dir) : pg_(pg), dir_(std::move(dir)) {}

  Result<Target> Create(const std::string& dialect, const std::string& name) {
    Target t;
    t.dialect = dialect;
    if (dialect == "postgres") {
      t.dbname = name;
      SLUICE_RETURN_IF_ERROR(pg_->CreateDatabase(name));
      t.connection = pg_->ConnInfo(name);
    } else {
      t.file = JoinPath(dir_, name + ".db");
      t.connection = t.file;
    }
    return t;
  }

  // Creates the schema with the backend's own Connect(), then closes the backend.
  Status CreateSchema(const Target& t) {
    store::BackendOptions bo;
    bo.name = "schema";
    bo.connection = t.connection;
    SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend(t.dialect, bo));
    return backend->Connect();
  }

  void Drop(const Target& t) {
    if (t.dialect == "postgres") {
      pg_->Exec(fmt::format("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", t.dbname))
          .IgnoreError();  // best effort: only frees space
    } else {
      std::error_code ec;
      for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(t.file + suffix, ec);
      }
      for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
        if (e.path().string().starts_with(t.file)) std::filesystem::remove(e.path(), ec);
      }
    }
  }

  // Aggregates of the loaded sample table, to check that the side loaded every row.
  Result<Workload::Sums> Sums(const Target& t) {
    const std::string sql = fmt::format(
        "SELECT count(*), coalesce(sum(point_id), 0), coalesce(sum((ts - {}) / {}), 0) FROM {}",
        base_us_, kMinuteUs, kTable);
    std::vector<std::string> row;
    if (t.dialect == "postgres") {
      SLUICE_ASSIGN_OR_RETURN(auto rows, pg_->QueryRows(sql, t.dbname));
      if (rows.size() != 1) return Status::Internal("no aggregate row");
      row = rows[0];
    } else {
      sqlite3* db = nullptr;
      if (sqlite3_open_v2(t.file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        std::string msg = sqlite3_errmsg(db);
        sqlite3_close(db);
        return Status::IOError(fmt::format("{}: {}", t.file, msg));
      }
      sqlite3_stmt* st = nullptr;
      int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
      if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < 3; ++i) {
          const unsigned char* v = sqlite3_column_text(st, i);
          row.push_back(v ? reinterpret_cast<const char*>(v) : "0");
        }
      }
      std::string msg = sqlite3_errmsg(db);
      sqlite3_finalize(st);
      sqlite3_close(db);
      if (row.size() != 3) return Status::IOError(fmt::format("{}: {}", t.file, msg));
    }
    Workload::Sums s;
    s.count = std::stoll(row[0]);
    s.point_sum = std::stoll(row[1]);
    s.minute_sum = std::stoll(row[2]);
    return s;
  }

  void set_base(int64_t base_us) { base_us_ = base_us; }

 private:
  testing::PgServer* pg_;
  std::string dir_;
  int64_t base_us_ = 0;
};

// --- baselines ---

RunResult PostgresBaseline(const Target& t, const Workload& w, int64_t batch_rows) {
  RunResult r;
  PGconn* conn = PQconnectdb(t.connection.c_str());
  auto finish = [&](std::string error) {
    r.error = std::move(error);
    PQfinish(conn);
    return r;
  };
  if (PQstatus(conn) != CONNECTION_OK) return finish(PQerrorMessage(conn));
  const auto exec = [&](const std::string& sql, ExecStatusType want) -> std::string {
    PGresult* res = PQexec(conn, sql.c_str());
    std::string err;
    if (PQresultStatus(res) != want) err = fmt::format("{}: {}", sql, PQresultErrorMessage(res));
    PQclear(res);
    return err;
  };
  // The backend's session settings that matter here (durable commits, UTC).
  if (auto e = exec("SET synchronous_commit = on; SET TimeZone = 'UTC'", PGRES_COMMAND_OK);
      !e.empty()) {
    return finish(e);
  }
  if (Status s = CreateSamplePartitions(conn, kTable, w.ts.front(), w.ts.back(),
                                        store::BackendOptions{}.partition_span_us);
      !s.ok()) {
    return finish(s.ToString());
  }
  if (auto e = exec("CHECKPOINT", PGRES_COMMAND_OK); !e.empty()) return finish(e);

  const std::string copy = fmt::format(
      "COPY {} (point_id, ts, value, quality, ver, manual) FROM STDIN (FORMAT binary)", kTable);
  BinaryCopy data;
  const auto rows = static_cast<int64_t>(w.size());
  const auto start = Clock::now();
  for (int64_t done = 0, batch = 0; done < rows; done += batch_rows, ++batch) {
    if (auto e = exec("BEGIN", PGRES_COMMAND_OK); !e.empty()) return finish(e);
    if (auto e = exec(copy, PGRES_COPY_IN); !e.empty()) return finish(e);
    data.Clear();
    data.Header();
    const int64_t end = std::min(rows, done + batch_rows);
    for (int64_t i = done; i < end; ++i) {
      const auto k = static_cast<size_t>(i);
      data.Row(w.point_id[k], w.ts[k], w.value[k], kQuality, batch + 1);
    }
    data.Trailer();
    if (Status st = SendCopy(conn, data.data()); !st.ok()) return finish(st.message());
    if (auto e = exec("COMMIT", PGRES_COMMAND_OK); !e.empty()) return finish(e);
    r.transactions++;
  }
  r.seconds = Seconds(Clock::now() - start);
  return finish({});
}

std::string SqliteBaselineStatement(const std::string& kind) {
  if (kind == "upsert") {
    // Byte for byte what SqliteBackend runs for a sample (its converging upsert).
    return fmt::format(
        "INSERT INTO {0} (point_id, ts, value, quality, ver, manual) "
        "VALUES (?1, ?2, ?3, ?4, ?5, 0) "
        "ON CONFLICT (point_id, ts) DO UPDATE SET value = excluded.value, "
        "quality = excluded.quality, ver = excluded.ver, manual = excluded.manual "
        "WHERE {0}.manual = 0 AND excluded.ver > {0}.ver",
        kTable);
  }
  return fmt::format(
      "INSERT INTO {} (point_id, ts, value, quality, ver, manual) VALUES (?1, ?2, ?3, ?4, ?5, 0)",
      kTable);
}

RunResult SqliteBaseline(const Target& t, const Workload& w, int64_t batch_rows,
                         const std::string& kind) {
  RunResult r;
  sqlite3* db = nullptr;
  sqlite3_stmt* insert = nullptr;
  auto finish = [&](std::string error) {
    r.error = std::move(error);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return r;
  };
  // The flags and pragmas of the backend's writer connection (sqlite_writer.cc).
  if (sqlite3_open_v2(t.file.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return finish(fmt::format("{}: {}", t.file, sqlite3_errmsg(db)));
  }
  const auto exec = [&](const std::string& sql) -> std::string {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = fmt::format("{}: {}", sql, err ? err : sqlite3_errmsg(db));
      sqlite3_free(err);
      return msg;
    }
    return {};
  };
  for (const std::string& pragma : store::sqlite::SqliteBackend::ConnectionPragmas()) {
    if (auto e = exec(pragma); !e.empty()) return finish(e);
  }
  const std::string sql = SqliteBaselineStatement(kind);
  if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr) !=
      SQLITE_OK) {
    return finish(fmt::format("{}: {}", sql, sqlite3_errmsg(db)));
  }
  const auto rows = static_cast<int64_t>(w.size());
  const auto start = Clock::now();
  for (int64_t done = 0, batch = 0; done < rows; done += batch_rows, ++batch) {
    if (auto e = exec("BEGIN IMMEDIATE"); !e.empty()) return finish(e);
    sqlite3_bind_int64(insert, 5, batch + 1);
    const int64_t end = std::min(rows, done + batch_rows);
    for (int64_t i = done; i < end; ++i) {
      const auto k = static_cast<size_t>(i);
      sqlite3_bind_int64(insert, 1, w.point_id[k]);
      sqlite3_bind_int64(insert, 2, w.ts[k]);
      sqlite3_bind_double(insert, 3, w.value[k]);
      sqlite3_bind_int64(insert, 4, kQuality);
      if (sqlite3_step(insert) != SQLITE_DONE) {
        return finish(fmt::format("row {}: {}", i, sqlite3_errmsg(db)));
      }
      sqlite3_reset(insert);
    }
    if (auto e = exec("COMMIT"); !e.empty()) return finish(e);
    r.transactions++;
  }
  r.seconds = Seconds(Clock::now() - start);
  return finish({});
}

// --- Sluice ---

// Journals the workload as sample records of `batch_rows` rows into a fresh data
// directory `data_dir`, applies it with a Replicator to `t` and times the apply.
RunResult SluiceRun(const Target& t, const Workload& w, int64_t batch_rows,
                    size_t apply_batch_records, const std::string& data_dir,
                    testing::PgServer* pg) {
  RunResult r;
  auto fail = [&](const Status& s, std::string_view what) {
    r.error = fmt::format("{}: {}", what, s.ToString());
    return r;
  };
  journal::JournalSetOptions jo;
  jo.data_dir = data_dir;
  jo.streams = {journal::StreamOptions{kStream, 0}};
  jo.segment_bytes = 256ull << 20;
  jo.max_record_bytes = 128u << 20;
  auto journals = journal::JournalSet::Open(jo);
  if (!journals.ok()) return fail(journals.status(), "opening the journal");
  admission::AdmissionOptions ao;
  ao.target_dialects = {t.dialect};
  ao.limits.max_rows_per_record = static_cast<size_t>(std::max<int64_t>(batch_rows, 1));
  auto admitter = admission::Admitter::Open(journals->get(), ao);
  if (!admitter.ok()) return fail(admitter.status(), "opening the admitter");

  const auto rows = static_cast<int64_t>(w.size());
  journal::Lsn last = 0;
  for (int64_t done = 0; done < rows; done += batch_rows) {
    v1::Record record;
    auto* s = record.mutable_samples();
    s->set_interval(v1::SAMPLE_INTERVAL_1MIN);
    const int64_t end = std::min(rows, done + batch_rows);
    const auto n = static_cast<int>(end - done);
    s->mutable_point_id()->Reserve(n);
    s->mutable_ts_us()->Reserve(n);
    s->mutable_value()->Reserve(n);
    s->mutable_quality()->Reserve(n);
    for (int64_t i = done; i < end; ++i) {
      const auto k = static_cast<size_t>(i);
      s->add_point_id(w.point_id[k]);
      s->add_ts_us(w.ts[k]);
      s->add_value(w.value[k]);
      s->add_quality(kQuality);
    }
    auto lsn = (*admitter)->Admit(kStream, std::move(record), /*wait=*/false);
    if (!lsn.ok()) return fail(lsn.status(), "admitting a sample record");
    last = *lsn;
  }
  if (Status s = (*journals)->stream(kStream)->WaitDurable(last); !s.ok()) {
    return fail(s, "making the journal durable");
  }

  replicate::ReplicatorOptions ro;
  ro.node_id = "bench";
  ro.data_dir = data_dir;
  replicate::TargetSpec target;
  target.name = "bench";
  target.dialect = t.dialect;
  target.connection = t.connection;
  ro.targets = {target};
  replicate::StreamSpec stream;
  stream.name = kStream;
  stream.ordered = false;  // the daemon's samples stream
  stream.batch_records = apply_batch_records;
  ro.streams = {stream};
  auto replicator = replicate::Replicator::Create(journals->get(), ro);
  if (!replicator.ok()) return fail(replicator.status(), "creating the replicator");
  if (pg != nullptr) {
    if (Status s = pg->Exec("CHECKPOINT", t.dbname); !s.ok()) return fail(s, "CHECKPOINT");
  }

  const auto start = Clock::now();
  (*replicator)->Start();
  const auto deadline = start + std::chrono::minutes(30);
  while (!(*replicator)->WaitCaughtUp(std::chrono::milliseconds(200))) {
    for (const auto& st : (*replicator)->Status()) {
      if (st.state == replicate::ApplierState::kNeedsResync ||
          st.state == replicate::ApplierState::kBlocked || st.rejected > 0) {
        r.error = fmt::format("applier {}: {} ({} rejected)", ApplierStateName(st.state),
                              st.last_error, st.rejected);
      } else if (Clock::now() > deadline) {
        r.error = fmt::format("not caught up after 30 min; last state {}: {}",
                              ApplierStateName(st.state), st.last_error);
      }
    }
    if (!r.error.empty()) {
      (*replicator)->Stop();
      return r;
    }
  }
  r.seconds = Seconds(Clock::now() - start);
  for (const auto& st : (*replicator)->Status()) {
    r.transactions += static_cast<int64_t>(st.batches_applied);
    if (st.rejected > 0) r.error = fmt::format("{} records rejected", st.rejected);
  }
  (*replicator)->Stop();
  return r;
}

// --- driver ---

// JSON numbers; null for a side that did not run (--only).
nlohmann::json Round3(double v) {
  return std::isfinite(v) ? nlohmann::json(std::round(v * 1000) / 1000) : nlohmann::json(nullptr);
}
nlohmann::json Rounded(double v) {
  return std::isfinite(v) ? nlohmann::json(std::llround(v)) : nlohmann::json(nullptr);
}

nlohmann::json RunCase(const Args& args, const std::string& backend, int64_t batch_rows,
                       size_t apply_batch_records, testing::PgServer* pg,
                       const std::string& dir, int* case_seq) {
  nlohmann::json row = {{"backend", backend},
                        {"rows", args.rows},
                        {"points", args.points},
                        {"batch_rows", batch_rows},
                        {"records", (args.rows + batch_rows - 1) / batch_rows}};
  if (backend == "sqlite") row["sqlite_baseline"] = args.sqlite_baseline;
  row["apply_batch_records"] = apply_batch_records == 0 ? nlohmann::json("default")
                                                        : nlohmann::json(apply_batch_records);
  nlohmann::json rounds = nlohmann::json::array();
  std::vector<double> sluice_rps, baseline_rps, ratios;
  for (int round = 1; round <= args.rounds; ++round) {
    // The workload is made again each round so its timestamps stay near "now".
    Workload w = MakeWorkload(args.rows, args.points);
    ScratchDir scratch(dir, "sluice-bench-apply");
    Targets targets(pg, scratch.path());
    targets.set_base(w.base_us);
    const bool baseline_first = round % 2 == 1;
    RunResult results[2];  // [0] baseline, [1] sluice
    for (int k = 0; k < 2; ++k) {
      const bool baseline = (k == 0) == baseline_first;
      if (!args.only.empty() && args.only != (baseline ? "baseline" : "sluice")) {
        results[baseline ? 0 : 1].seconds = NAN;
        continue;
      }
      const int seq = ++*case_seq;
      const std::string name = fmt::format("bench_{}_{}", baseline ? "raw" : "sluice", seq);
      fmt::print(stderr, "  round {}/{}: {} ... ", round, args.rounds,
                 baseline ? "baseline" : "sluice");
      std::fflush(stderr);
      RunResult& out = results[baseline ? 0 : 1];
      auto target = targets.Create(backend, name);
      if (!target.ok()) {
        out.error = target.status().ToString();
      } else if (Status s = targets.CreateSchema(*target); !s.ok()) {
        out.error = "creating the schema: " + s.ToString();
      } else {
        if (baseline) {
          out = backend == "postgres" ? PostgresBaseline(*target, w, batch_rows)
                                      : SqliteBaseline(*target, w, batch_rows, args.sqlite_baseline);
        } else {
          out = SluiceRun(*target, w, batch_rows, apply_batch_records,
                          JoinPath(scratch.path(), name), backend == "postgres" ? pg : nullptr);
        }
        if (out.error.empty()) {
          auto sums = targets.Sums(*target);
          if (!sums.ok()) {
            out.error = "checking the rows: " + sums.status().ToString();
          } else if (!(*sums == w.expected)) {
            out.error = fmt::format(
                "the target holds count {} sum(point_id) {} sum(minute) {}, expected {} {} {}",
                sums->count, sums->point_sum, sums->minute_sum, w.expected.count,
                w.expected.point_sum, w.expected.minute_sum);
          }
        }
        targets.Drop(*target);
      }
      if (!out.error.empty()) {
        fmt::print(stderr, "error: {}\n", out.error);
        row["error"] = fmt::format("{} round {}: {}", baseline ? "baseline" : "sluice", round,
                                   out.error);
        row["rounds"] = rounds;
        return row;
      }
      fmt::print(stderr, "{:.2f} s, {:.0f} rows/s, {} transactions\n", out.seconds,
                 static_cast<double>(args.rows) / out.seconds, out.transactions);
    }
    const double b = static_cast<double>(args.rows) / results[0].seconds;
    const double s = static_cast<double>(args.rows) / results[1].seconds;
    baseline_rps.push_back(b);
    sluice_rps.push_back(s);
    ratios.push_back(s / b);
    rounds.push_back({{"round", round},
                      {"first", baseline_first ? "baseline" : "sluice"},
                      {"rows_per_s", Rounded(s)},
                      {"baseline_rows_per_s", Rounded(b)},
                      {"ratio", Round3(s / b)},
                      {"seconds", Round3(results[1].seconds)},
                      {"baseline_seconds", Round3(results[0].seconds)},
                      {"transactions", results[1].transactions},
                      {"baseline_transactions", results[0].transactions}});
  }
  const double s = Median(sluice_rps);
  const double b = Median(baseline_rps);
  row["rows_per_s"] = Rounded(s);
  row["baseline_rows_per_s"] = Rounded(b);
  row["ratio"] = Round3(s / b);
  // Less sensitive to conditions that drift between rounds: each round's two sides ran
  // back to back.
  row["median_round_ratio"] = Round3(Median(ratios));
  row["rounds"] = rounds;
  return row;
}

int RunApplyBench(const Args& args) {
  // Appliers log state changes and partition creation; keep stderr for progress.
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
  machine_json["loadavg_start"] = LoadAverage();

  const bool want_pg =
      std::find(args.backends.begin(), args.backends.end(), "postgres") != args.backends.end();
  std::unique_ptr<testing::PgServer> pg;
  if (want_pg) {
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
  }
  machine_json["sqlite"] = {{"version", sqlite3_libversion()},
                            {"pragmas", store::sqlite::SqliteBackend::ConnectionPragmas()}};

  nlohmann::json results = nlohmann::json::array();
  int case_seq = 0;
  for (const std::string& backend : args.backends) {
    for (int64_t batch_rows : args.batch_rows) {
      for (size_t apply_records : args.apply_batch_records) {
        const std::string records =
            apply_records == 0 ? std::string("default") : std::to_string(apply_records);
        fmt::print(stderr, "[{}] rows={} points={} batch_rows={} apply_batch_records={}\n",
                   backend, args.rows, args.points, batch_rows, records);
        nlohmann::json row =
            RunCase(args, backend, batch_rows, apply_records, pg.get(), args.dir, &case_seq);
        if (row.contains("ratio")) {
          fmt::print(stderr,
                     "[{}] batch_rows={} apply_batch_records={}: sluice {} rows/s, baseline {} "
                     "rows/s, ratio {} (medians of {} rounds)\n",
                     backend, batch_rows, records, row["rows_per_s"].dump(),
                     row["baseline_rows_per_s"].dump(), row["ratio"].dump(), args.rounds);
        }
        results.push_back(std::move(row));
      }
    }
  }

  machine_json["loadavg_end"] = LoadAverage();
  nlohmann::json out = {{"bench", "apply"}, {"machine", machine_json}, {"results", results}};
  if (args.json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    fmt::print("{:>9} {:>9} {:>10} {:>14} {:>12} {:>12} {:>7}\n", "backend", "rows",
               "batch_rows", "apply_records", "rows/s", "baseline", "ratio");
    for (const auto& row : results) {
      const std::string records = row["apply_batch_records"].is_string()
                                      ? row["apply_batch_records"].get<std::string>()
                                      : row["apply_batch_records"].dump();
      if (row.contains("error")) {
        fmt::print("{:>9} {:>9} {:>10} {:>14} error: {}\n", row["backend"].get<std::string>(),
                   row["rows"].get<int64_t>(), row["batch_rows"].get<int64_t>(), records,
                   row["error"].get<std::string>());
        continue;
      }
      fmt::print("{:>9} {:>9} {:>10} {:>14} {:>12} {:>12} {:>7}\n",
                 row["backend"].get<std::string>(), row["rows"].get<int64_t>(),
                 row["batch_rows"].get<int64_t>(), records, row["rows_per_s"].dump(),
                 row["baseline_rows_per_s"].dump(), row["ratio"].dump());
    }
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

void RegisterApplyBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<Args>();
  auto batch_rows = std::make_shared<std::string>("10000");
  auto backends = std::make_shared<std::string>("postgres,sqlite");
  auto apply_records = std::make_shared<std::string>("1,0");
  CLI::App* cmd = app.add_subcommand(
      "apply",
      "Applier throughput (journal -> target) for sample rows into PostgreSQL (COPY) and "
      "SQLite, against raw COPY / prepared INSERT of the same rows in the same batch sizes");
  cmd->add_flag("--json", args->json, "Print one JSON object (default: a table)");
  cmd->add_option("--rows", args->rows, "Sample rows per run")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--points", args->points, "Distinct points (rows cycle over them)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-rows", *batch_rows,
                  "Rows per sample record and per baseline transaction, comma-separated")
      ->capture_default_str();
  cmd->add_option("--backends", *backends, "Subset of postgres,sqlite, comma-separated")
      ->capture_default_str();
  cmd->add_option("--rounds", args->rounds,
                  "Rounds per case, each running both sides (alternating which goes first); "
                  "the medians are reported")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--apply-batch-records", *apply_records,
                  "Records per applier transaction, comma-separated; each value is a case. 1: "
                  "the baseline's transaction shape; 0: the replicator's default for the "
                  "unordered samples stream (as the daemon runs it)")
      ->capture_default_str();
  cmd->add_option("--sqlite-baseline", args->sqlite_baseline,
                  "SQLite baseline statement: insert (plain INSERT) or upsert (the backend's "
                  "converging INSERT ... ON CONFLICT)")
      ->capture_default_str()
      ->check(CLI::IsMember({"insert", "upsert"}));
  cmd->add_option("--pg-shared-buffers", args->pg_shared_buffers,
                  "shared_buffers of the PostgreSQL server started for the run")
      ->capture_default_str();
  cmd->add_option("--only", args->only,
                  "Run one side only, sluice or baseline (for profiling; no ratio then)")
      ->check(CLI::IsMember({"sluice", "baseline"}));
  cmd->add_option("--dir", args->dir,
                  "Directory for journals and SQLite files (PostgreSQL's data lives under "
                  "/tmp); each round uses a fresh subdirectory, removed afterwards")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->callback([=] {
    try {
      args->batch_rows = ParseList<int64_t>(*batch_rows);
      args->apply_batch_records = ParseList<size_t>(*apply_records);
      args->backends = ParseList<std::string>(*backends);
    } catch (const std::exception&) {
      throw CLI::ValidationError("--batch-rows/--apply-batch-records",
                                 "must be comma-separated numbers");
    }
    for (int64_t b : args->batch_rows) {
      if (b <= 0) throw CLI::ValidationError("--batch-rows", "must be positive");
    }
    for (const auto& b : args->backends) {
      if (b != "postgres" && b != "sqlite") {
        throw CLI::ValidationError("--backends", "unknown backend " + b);
      }
    }
    context->exit_code = RunApplyBench(*args);
  });
}

}  // namespace sluice::bench
