// `sluice-bench query`: latency of history queries through the history library
// (history/query.h) on PostgreSQL, against the same questions answered by hand-written
// SQL on the same server in the same run (issue #12, Benchmark).
//
// Data (query_bench_data.h): one day of 1 s samples for --points points (default 100,
// 8,640,000 rows) in sample_1s, loaded time-major by binary COPY into a schema made by the
// backend's own Connect(), then VACUUM ANALYZE; plus a seven-day series of one more point
// for the memory check. A slow sine with noise, a few bad and uncertain samples, a
// two-minute outage per point, and excursions over each point's limits (point table).
// PostgreSQL runs with fsync off (the benchmark reads, and loading fast is all fsync
// would change), shared_buffers large enough for the data, which pg_prewarm loads (each
// case runs warm), jit off and work_mem 64 MB (below).
//
// Cases (each run --iterations times warm, --iterations-all for the 100-point cases;
// each iteration runs both sides, alternating which goes first):
//   raw_one / raw_all        ReadRaw of the day, every page (--page-values rows a page);
//                            baseline: one ORDER BY query through a cursor, FETCH of the
//                            same number of rows.
//   agg15m_one / agg15m_all  ReadAggregates, 15 min intervals over the day, Average,
//                            Minimum, Maximum, Count; baseline: GROUP BY (ts - start)/step.
//   limits_one / limits_all  ReadLimitStats, 15 min, limits from the point table;
//                            baseline: window functions (query_bench_sql.h).
// Before timing, each case's two answers are compared (query_bench_answers.h):
// `same_answer` says whether they agree, `difference` names the first difference.
// `same_semantics` says whether SQL can express the library's semantics for the case.
//
// Memory: the peak RSS growth of agg15m_one over one day and over seven days of the
// seven-day point (VmHWM reset before each run, allocator trimmed), the issue's "memory
// flat in the range length".

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/machine_info.h"
#include "bench/process_memory.h"
#include "bench/query_bench_data.h"
#include "bench/query_bench_library.h"
#include "bench/query_bench_sql.h"
#include "common/log.h"
#include "store/backend.h"
#include "support/pg_server.h"

namespace sluice::bench {
namespace {

constexpr int64_t kStepUs = 15 * 60 * kSecondUs;
constexpr int64_t kLongPointDays = 7;
constexpr double kGoalAgg15mOneP50Ms = 20;
constexpr double kGoalRatio = 1.2;

struct Args {
  bool json = false;
  int64_t points = 100;
  int iterations = 20;
  int iterations_all = 5;
  uint32_t page_values = 10'000;
  int memory_runs = 3;
  std::string cases = "raw_one,agg15m_one,limits_one,raw_all,agg15m_all,limits_all";
  std::string only;  // "sluice" or "baseline": one side only (profiling)
  // Holds the day's 8.6 million rows with their key (about 1 GB) and the seven-day point.
  std::string pg_shared_buffers = "2GB";
  // A covering index on (point_id, ts) with the columns a history read takes, as a
  // point-major layout would give: one point's day then reads from a few hundred index
  // pages (index-only scans) instead of visiting most heap pages of the time-major table.
  bool covering_index = false;
};

enum class Kind { kRaw, kAgg, kLimits };

struct Case {
  std::string name;
  Kind kind;
  bool all;
  bool same_semantics;
  const char* semantics;
};

const Case kCases[] = {
    {"raw_one", Kind::kRaw, false, true, "the same rows in the same order"},
    {"agg15m_one", Kind::kAgg, false, true,
     "count based aggregates and their status from FILTERed counts of good and other rows; "
     "identical wherever an interval holds a sample (every interval of 1 s data)"},
    {"limits_one", Kind::kLimits, false, true,
     "window functions (lead, lag, running max) over the rows and the bound before; "
     "identical while no sample's hold crosses an interval boundary (1 s data on a grid of "
     "whole seconds); a gap would need each hold cut at the boundaries"},
    {"raw_all", Kind::kRaw, true, true, "the same rows in the same order"},
    {"agg15m_all", Kind::kAgg, true, true, "as agg15m_one"},
    {"limits_all", Kind::kLimits, true, true, "as limits_one"},
};

// A case's answer, whichever side computed it.
struct Answer {
  std::vector<RawDigest> raw;
  std::vector<AggRow> agg;
  std::vector<LimitRow> limits;
};

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  // Nearest rank: of 20 runs, p99 is the slowest.
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

nlohmann::json Round3(double v) { return std::round(v * 1000) / 1000; }

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
      .count();
}

class Bench {
 public:
  Bench(const Args& args, PGconn* conn, store::Backend* backend, std::vector<int64_t> ids)
      : args_(args), baseline_(conn), ours_(backend), ids_(std::move(ids)) {}

  Result<Answer> Run(const Case& c, bool baseline) {
    std::span<const int64_t> ids(ids_);
    if (!c.all) ids = ids.first(1);
    const history::TimeGrid grid{.start_us = kQueryBenchDayUs,
                                 .end_us = kQueryBenchDayUs + kDayUs,
                                 .step_us = kStepUs};
    Answer a;
    switch (c.kind) {
      case Kind::kRaw:
        if (baseline) {
          SLUICE_ASSIGN_OR_RETURN(a.raw, baseline_.Raw(ids, grid.start_us, grid.end_us,
                                                       static_cast<int>(args_.page_values)));
        } else {
          SLUICE_ASSIGN_OR_RETURN(a.raw,
                                  ours_.Raw(ids, grid.start_us, grid.end_us, args_.page_values));
        }
        break;
      case Kind::kAgg:
        if (baseline) {
          SLUICE_ASSIGN_OR_RETURN(a.agg, baseline_.Aggregates(ids, grid));
        } else {
          SLUICE_ASSIGN_OR_RETURN(a.agg, ours_.Aggregates(ids, grid));
        }
        break;
      case Kind::kLimits:
        if (baseline) {
          SLUICE_ASSIGN_OR_RETURN(a.limits, baseline_.Limits(ids, grid));
        } else {
          SLUICE_ASSIGN_OR_RETURN(a.limits, ours_.Limits(ids, grid));
        }
        break;
    }
    return a;
  }

  nlohmann::json RunCase(const Case& c) {
    const int64_t points = c.all ? static_cast<int64_t>(ids_.size()) : 1;
    nlohmann::json row = {{"case", c.name},
                          {"points", points},
                          {"rows_read", points * (kDayUs / kSecondUs)},
                          {"same_semantics", c.same_semantics},
                          {"semantics", c.semantics}};
    if (c.kind != Kind::kRaw) row["intervals_per_point"] = kDayUs / kStepUs;
    const bool run_ours = args_.only != "baseline";
    const bool run_baseline = args_.only != "sluice";
    // Warm-up: both sides once, their answers compared.
    Answer ours_answer, baseline_answer;
    if (run_ours) {
      auto a = Run(c, false);
      if (!a.ok()) return Failed(row, "sluice", a.status());
      ours_answer = std::move(a).value();
    }
    if (run_baseline) {
      auto b = Run(c, true);
      if (!b.ok()) return Failed(row, "baseline", b.status());
      baseline_answer = std::move(b).value();
    }
    if (run_ours && run_baseline) {
      const std::string diff =
          c.kind == Kind::kRaw   ? CompareRaw(ours_answer.raw, baseline_answer.raw)
          : c.kind == Kind::kAgg ? CompareAgg(ours_answer.agg, baseline_answer.agg)
                                 : CompareLimits(ours_answer.limits, baseline_answer.limits);
      row["same_answer"] = diff.empty();
      if (!diff.empty()) row["difference"] = diff;
    }
    ours_answer = {};
    baseline_answer = {};

    const int iterations = c.all ? args_.iterations_all : args_.iterations;
    std::vector<double> ours_ms, baseline_ms;
    for (int i = 0; i < iterations; ++i) {
      // Alternate which side goes first, so both meet the same conditions.
      for (int side = 0; side < 2; ++side) {
        const bool baseline = (side == 0) == (i % 2 == 1);
        if (baseline ? !run_baseline : !run_ours) continue;
        const auto t0 = std::chrono::steady_clock::now();
        auto a = Run(c, baseline);
        const double ms = MsSince(t0);
        if (!a.ok()) return Failed(row, baseline ? "baseline" : "sluice", a.status());
        (baseline ? baseline_ms : ours_ms).push_back(ms);
      }
    }
    row["iterations"] = iterations;
    if (run_ours) {
      row["p50_ms"] = Round3(Percentile(ours_ms, 0.5));
      row["p99_ms"] = Round3(Percentile(ours_ms, 0.99));
    }
    if (run_baseline) {
      row["baseline_p50_ms"] = Round3(Percentile(baseline_ms, 0.5));
      row["baseline_p99_ms"] = Round3(Percentile(baseline_ms, 0.99));
    }
    if (run_ours && run_baseline) {
      const double ratio = Percentile(ours_ms, 0.5) / Percentile(baseline_ms, 0.5);
      row["ratio"] = Round3(ratio);
      row["ratio_goal_met"] = ratio <= kGoalRatio;
    }
    return row;
  }

  // agg15m_one of the seven-day point over its first day and over its seven days.
  nlohmann::json Memory(int64_t long_point) {
    nlohmann::json out = nlohmann::json::array();
    const std::vector<int64_t> ids = {long_point};
    for (int64_t days : {int64_t{1}, kLongPointDays}) {
      const history::TimeGrid grid{.start_us = kQueryBenchDayUs,
                                   .end_us = kQueryBenchDayUs + days * kDayUs,
                                   .step_us = kStepUs};
      nlohmann::json row = {{"case", fmt::format("agg15m_one_{}d", days)},
                            {"rows_read", days * (kDayUs / kSecondUs)},
                            {"intervals", days * kDayUs / kStepUs}};
      size_t response_bytes = 0;
      if (auto warm = ours_.Aggregates(ids, grid, &response_bytes); !warm.ok()) {
        row["error"] = warm.status().ToString();
        out.push_back(row);
        continue;
      }
      int64_t peak_growth = 0;
      std::vector<double> ms;
      Status status;
      for (int r = 0; r < args_.memory_runs && status.ok(); ++r) {
        status = ResetPeakResident();
        auto before = ResidentBytes();
        if (status.ok() && !before.ok()) status = before.status();
        if (!status.ok()) break;
        const auto t0 = std::chrono::steady_clock::now();
        auto a = ours_.Aggregates(ids, grid);
        ms.push_back(MsSince(t0));
        auto peak = PeakResidentBytes();
        if (!a.ok()) status = a.status();
        if (status.ok() && !peak.ok()) status = peak.status();
        if (status.ok()) peak_growth = std::max(peak_growth, *peak - *before);
      }
      if (!status.ok()) {
        row["error"] = status.ToString();
      } else {
        row["peak_rss_growth_kib"] = peak_growth / 1024;
        row["response_bytes"] = response_bytes;
        row["p50_ms"] = Round3(Percentile(ms, 0.5));
        row["runs"] = args_.memory_runs;
      }
      out.push_back(row);
    }
    return out;
  }

 private:
  static nlohmann::json Failed(nlohmann::json row, const char* side, const Status& s) {
    row["error"] = fmt::format("{}: {}", side, s.ToString());
    return row;
  }

  const Args& args_;
  BaselineSql baseline_;
  LibraryReader ours_;
  std::vector<int64_t> ids_;
};

Status Exec(PGconn* conn, const std::string& sql) {
  PGresult* res = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
  std::string message = PQresultErrorMessage(res);
  PQclear(res);
  if (!ok) return Status::Internal(fmt::format("{}: {}", sql, message));
  return Status::OK();
}

int RunQueryBench(const Args& args) {
  log::Logger().set_level(spdlog::level::warn);  // partition creation logs at info
  MachineInfo machine = GetMachineInfo();
  WarnIfUnrepresentative(machine);
  nlohmann::json machine_json = ToJson(machine);
  machine_json["loadavg_start"] = LoadAverage();

  std::vector<const Case*> cases;
  for (const Case& c : kCases) {
    if (("," + args.cases + ",").find("," + c.name + ",") != std::string::npos) {
      cases.push_back(&c);
    }
  }

  fmt::print(stderr, "starting a PostgreSQL server ... ");
  std::fflush(stderr);
  testing::PgServerOptions po;
  po.fsync = false;  // a read benchmark: durability of the load changes no figure
  po.synchronous_commit = false;
  po.shared_buffers = args.pg_shared_buffers;
  // JIT compiles a plan whose cost passes jit_above_cost (the baseline's GROUP BY over a
  // day does) for queries of a few hundred ms; hand-written SQL for such queries runs
  // without it, and so does every query of the run (both sides).
  po.settings.push_back({"jit", "off"});
  // The default 4 MB made the baseline's bitmap scan of one point's day lossy (rechecking
  // 3.5 million rows) and its sort spill to disk: 5 s instead of a fraction of one. An
  // analytics server gets more; both sides run with it.
  po.settings.push_back({"work_mem", "64MB"});
  auto server = testing::PgServer::CreateAndStart(po);
  if (!server.ok()) {
    fmt::print(stderr, "error: {}\n", server.status().ToString());
    return 1;
  }
  std::unique_ptr<testing::PgServer> pg = std::move(server).value();
  nlohmann::json settings = nlohmann::json::object();
  for (const char* name : {"server_version", "shared_buffers", "work_mem", "fsync", "jit"}) {
    auto v = pg->QueryValue(fmt::format("SHOW {}", name));
    settings[name] = v.ok() ? *v : v.status().ToString();
  }
  machine_json["postgres"] = settings;
  machine_json["covering_index"] = args.covering_index;
  fmt::print(stderr, "{}\n", pg->data_dir());

  auto fail = [](const Status& s) {
    fmt::print(stderr, "error: {}\n", s.ToString());
    return 1;
  };
  if (Status s = pg->CreateDatabase("bench"); !s.ok()) return fail(s);
  const std::string conninfo = pg->ConnInfo("bench");
  if (Status s = CreateQueryBenchSchema(conninfo); !s.ok()) return fail(s);
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_owner(conn, &PQfinish);
  if (PQstatus(conn) != CONNECTION_OK) return fail(Status::Unavailable(PQerrorMessage(conn)));

  std::vector<BenchPoint> points;
  std::vector<int64_t> ids;
  for (int64_t id = 1; id <= args.points; ++id) {
    points.push_back(MakeBenchPoint(id));
    ids.push_back(id);
  }
  const BenchPoint long_point = MakeBenchPoint(args.points + 1);
  points.push_back(long_point);
  const auto load_t0 = std::chrono::steady_clock::now();
  fmt::print(stderr, "loading {} points x 1 day and 1 point x {} days of 1 s samples ... ",
             args.points, kLongPointDays);
  std::fflush(stderr);
  if (Status s = LoadBenchPoints(conn, points); !s.ok()) return fail(s);
  const std::span<const BenchPoint> day_points = std::span<const BenchPoint>(points).first(ids.size());
  if (Status s = LoadBenchSeries(conn, day_points, 0, kDayUs / kSecondUs); !s.ok()) return fail(s);
  if (Status s = LoadBenchSeries(conn, std::span(&long_point, 1), 0,
                                 kLongPointDays * kDayUs / kSecondUs);
      !s.ok()) {
    return fail(s);
  }
  if (args.covering_index) {
    if (Status s = Exec(conn, "CREATE INDEX sample_1s_point_cover ON sample_1s (point_id, ts) "
                              "INCLUDE (value, quality, manual)");
        !s.ok()) {
      return fail(s);
    }
  }
  if (Status s = Exec(conn, "VACUUM ANALYZE"); !s.ok()) return fail(s);
  // Warm: every page of the sample tables and their keys in the server's buffers, so
  // both sides read memory, not the page cache through 8 KiB reads (a one-point day is
  // spread over most pages of the time-major table).
  if (Status s = Exec(conn,
                      "CREATE EXTENSION IF NOT EXISTS pg_prewarm; SELECT pg_prewarm(c.oid) "
                      "FROM pg_class c WHERE c.relname LIKE 'sample_1s%' AND c.relkind IN ('r', 'i')");
      !s.ok()) {
    return fail(s);
  }
  const double load_s = MsSince(load_t0) / 1000;
  fmt::print(stderr, "{:.1f} s\n", load_s);

  store::BackendOptions bo;
  bo.name = "bench";
  bo.connection = conninfo;
  auto backend = store::NewBackend("postgres", bo);
  if (!backend.ok()) return fail(backend.status());
  if (Status s = (*backend)->Connect(); !s.ok()) return fail(s);

  Bench bench(args, conn, backend->get(), ids);
  nlohmann::json memory = nlohmann::json::array();
  if (args.only != "baseline") {
    // First, before the large cases leave a grown heap behind.
    fmt::print(stderr, "memory: agg15m_one over 1 and {} days ...\n", kLongPointDays);
    memory = bench.Memory(long_point.id);
  }
  nlohmann::json results = nlohmann::json::array();
  for (const Case* c : cases) {
    fmt::print(stderr, "{} ...\n", c->name);
    nlohmann::json row = bench.RunCase(*c);
    fmt::print(stderr, "{}\n", row.dump());
    results.push_back(std::move(row));
  }

  nlohmann::json goals = nlohmann::json::object();
  for (const auto& row : results) {
    if (row["case"] == "agg15m_one" && row.contains("p50_ms")) {
      goals["agg15m_one_p50_le_20ms"] = row["p50_ms"].get<double>() <= kGoalAgg15mOneP50Ms;
    }
  }
  machine_json["loadavg_end"] = LoadAverage();
  nlohmann::json out = {{"bench", "query"},
                        {"machine", machine_json},
                        {"load_seconds", Round3(load_s)},
                        {"results", results},
                        {"memory", memory},
                        {"goals", goals}};
  if (args.json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    fmt::print("{:<12} {:>10} {:>10} {:>12} {:>7} {:>6}\n", "case", "p50 ms", "p99 ms",
               "baseline p50", "ratio", "same");
    auto text = [](const nlohmann::json& row, const char* key) {
      return row.contains(key) ? row[key].dump() : std::string("-");
    };
    for (const auto& row : results) {
      if (row.contains("error")) {
        fmt::print("{:<12} error: {}\n", row["case"].get<std::string>(),
                   row["error"].get<std::string>());
        continue;
      }
      fmt::print("{:<12} {:>10} {:>10} {:>12} {:>7} {:>6}\n", row["case"].get<std::string>(),
                 text(row, "p50_ms"), text(row, "p99_ms"), text(row, "baseline_p50_ms"),
                 text(row, "ratio"), text(row, "same_answer"));
    }
    for (const auto& row : memory) fmt::print("{}\n", row.dump());
  }
  for (const auto& row : results) {
    if (row.contains("error") || (row.contains("same_answer") && !row["same_answer"].get<bool>())) {
      return 1;
    }
  }
  for (const auto& row : memory) {
    if (row.contains("error")) return 1;
  }
  return 0;
}

}  // namespace

void RegisterQueryBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "query",
      "History queries (raw, 15 min aggregates, limit statistics; one point and all) through "
      "the history library on PostgreSQL, against hand-written SQL on the same server");
  cmd->add_flag("--json", args->json, "Print one JSON object (default: a table)");
  cmd->add_option("--points", args->points, "Points with one day of 1 s data")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000));
  cmd->add_option("--iterations", args->iterations, "Timed runs of each one-point case")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--iterations-all", args->iterations_all, "Timed runs of each all-point case")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--page-values", args->page_values,
                  "ReadRaw's max_values per page, and the baseline's rows per FETCH")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--memory-runs", args->memory_runs, "Runs of each memory measurement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cases", args->cases, "Cases to run, comma-separated")->capture_default_str();
  cmd->add_option("--only", args->only,
                  "Run one side only, sluice or baseline (for profiling; no ratio then)")
      ->check(CLI::IsMember({"sluice", "baseline"}));
  cmd->add_flag("--covering-index", args->covering_index,
                "Also index sample_1s (point_id, ts) INCLUDE (value, quality, manual): what a "
                "point-major layout would give");
  cmd->add_option("--pg-shared-buffers", args->pg_shared_buffers,
                  "shared_buffers of the PostgreSQL server started for the run")
      ->capture_default_str();
  cmd->callback([=] {
    for (std::string_view rest = args->cases; !rest.empty();) {
      const size_t comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      if (std::none_of(std::begin(kCases), std::end(kCases),
                       [&](const Case& c) { return c.name == name; })) {
        throw CLI::ValidationError("--cases", fmt::format("unknown case '{}'", name));
      }
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    context->exit_code = RunQueryBench(*args);
  });
}

}  // namespace sluice::bench
