// `sluice-bench sampler`: the active periodic sampler of issue #11 on the system clock:
// N points (default 1,000,000) defined at 1 s, fed by 4 updater threads through the
// real-time point table, each cycle's record serialized into one reused buffer
// (the bytes a journal append would write). Reports the cycle duration (snapshot + record + encode)
// p50/p99, missed cycles, the sampler thread's CPU share of one core, and the updaters'
// rate. Issue goal: p99 cycle <= 200 ms and zero missed cycles over 60 s.

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/machine_info.h"
#include "sampling/clock.h"
#include "sampling/point_table.h"
#include "sampling/sampler.h"

namespace sluice::bench {
namespace {

struct Args {
  bool json = false;
  int64_t points = 1'000'000;
  int seconds = 60;
  int updaters = 4;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

int Run(const Args& args) {
  nlohmann::json machine_json = ToJson(GetMachineInfo());
  machine_json["load_average"] = LoadAverage();
  sampling::SystemClock clock;
  sampling::PointTable table(static_cast<size_t>(args.points));
  std::vector<sampling::Definition> defs;
  defs.reserve(static_cast<size_t>(args.points));
  const int64_t now0 = clock.NowUs();
  for (int64_t id = 1; id <= args.points; ++id) {
    if (Status s = table.Update(id, {0.0, 0, now0, now0}); !s.ok()) {
      fmt::print(stderr, "error: {}\n", s.ToString());
      return 1;
    }
    defs.push_back({id, v1::SAMPLE_INTERVAL_1S});
  }

  std::mutex mu;
  std::vector<double> cycle_ms;
  int64_t missed = 0, late = 0, rows = 0;
  size_t encoded_bytes = 0;
  std::atomic<double> sampler_cpu{0};
  std::string buffer;  // the "journal": only the sampler thread writes it
  auto sink = [&](const v1::Record& r) {
    // Into the kept buffer, as a journal writer reusing its buffer would: a fresh 20 MB
    // string per cycle is mmap'ed and faulted in until malloc's threshold adapts, which
    // made the first cycles of a run 300-400 ms (the sampler's own cost is ~25 ms).
    buffer.clear();
    if (!r.AppendToString(&buffer)) return Status::Internal("encoding the cycle's record");
    std::lock_guard lock(mu);
    encoded_bytes += buffer.size();
    rows += r.samples().point_id_size();
    return Status::OK();
  };
  auto issues = [&](const sampling::CycleIssue& i) {
    std::lock_guard lock(mu);
    (i.kind == sampling::CycleIssue::Kind::kMissed ? missed : late) += i.count;
    fmt::print(stderr, "{}: {}\n", sampling::CycleIssueKindName(i.kind), i.detail);
  };
  auto observer = [&](v1::SampleInterval, int64_t, int64_t duration_us) {
    sampler_cpu = ThreadCpuSeconds();
    std::lock_guard lock(mu);
    cycle_ms.push_back(static_cast<double>(duration_us) / 1000.0);
  };
  sampling::Sampler sampler(&clock, &table, {}, sink, issues, observer);
  if (Status s = sampler.SetDefinitions(defs); !s.ok()) {
    fmt::print(stderr, "error: {}\n", s.ToString());
    return 1;
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> updates{0};
  std::vector<std::thread> updaters;
  for (int t = 0; t < args.updaters; ++t) {
    updaters.emplace_back([&, t] {
      // Each updater owns every args.updaters-th point and sweeps them round-robin,
      // reading the clock once per 4096 updates.
      int64_t id = 1 + t;
      double v = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const int64_t now = clock.NowUs();
        for (int k = 0; k < 4096; ++k) {
          (void)table.Update(id, {v, 0, now, now});  // every point was added: cannot fail
          id += args.updaters;
          if (id > args.points) {
            id = 1 + t;
            v += 1;
          }
        }
        updates.fetch_add(4096, std::memory_order_relaxed);
      }
    });
  }
  fmt::print(stderr, "sampling {} points at 1 s for {} s with {} updaters ...\n", args.points,
             args.seconds, args.updaters);
  const auto t0 = std::chrono::steady_clock::now();
  if (Status s = sampler.Start(); !s.ok()) {
    fmt::print(stderr, "error: {}\n", s.ToString());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(args.seconds));
  sampler.Stop();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  for (auto& th : updaters) th.join();

  std::lock_guard lock(mu);
  nlohmann::json row = {
      {"points", args.points},
      {"interval_s", 1},
      {"seconds", args.seconds},
      {"updaters", args.updaters},
      {"cycles", cycle_ms.size()},
      {"cycle_p50_ms", Percentile(cycle_ms, 0.50)},
      {"cycle_p99_ms", Percentile(cycle_ms, 0.99)},
      {"cycle_max_ms", Percentile(cycle_ms, 1.0)},
      // The first cycle pays for growing the record to its full size; reported apart so a
      // slow first cycle is not mistaken for a steady-state one.
      {"cycle_first_ms", cycle_ms.empty() ? 0.0 : cycle_ms.front()},
      {"cycle_slowest_index", cycle_ms.empty() ? 0 : std::max_element(cycle_ms.begin(), cycle_ms.end()) - cycle_ms.begin()},
      {"missed_cycles", missed},
      {"late_cycles", late},
      {"rows", rows},
      {"encoded_bytes", encoded_bytes},
      // The sampler thread's CPU time over the run's wall time: a share of one core.
      {"cpu_share", sampler_cpu.load() / wall},
      {"updates_per_s", static_cast<double>(updates.load()) / wall},
  };
  nlohmann::json out = {{"bench", "sampler"}, {"machine", machine_json}, {"results", {row}}};
  std::cout << (args.json ? out.dump() : out.dump(2)) << std::endl;
  return 0;
}

}  // namespace

void RegisterSamplerBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "sampler",
      "The active periodic sampler on the system clock: N points at 1 s fed by updater "
      "threads; cycle duration p50/p99, missed cycles, CPU share");
  cmd->add_flag("--json", args->json, "Print one JSON line (default: indented)");
  cmd->add_option("--points", args->points, "Points defined at 1 s")->capture_default_str();
  cmd->add_option("--seconds", args->seconds, "Run time")->capture_default_str();
  cmd->add_option("--updaters", args->updaters, "Updater threads")->capture_default_str();
  cmd->callback([=] { context->exit_code = Run(*args); });
}

}  // namespace sluice::bench
