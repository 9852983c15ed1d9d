// `sluice-bench journal`: durable append throughput of one stream's journal.
//
// Every case appends with fdatasync on (AckMode::kDurable) into a fresh journal for a
// fixed time. Producers keep up to `window` records in flight: Append returns the LSN at
// once, and a producer with `window` records outstanding waits for the oldest
// (WaitDurable), which is how the ingest path uses the journal. `window` 1 shows the cost
// of waiting for every record; `group` 64 appends 64 records per AppendBatch call.
//
// The baseline, run right after each case in the same directory: plain write() +
// fdatasync() of the same payload bytes in 1 MiB chunks, each chunk synced before the
// next. ratio = mb_per_s / baseline_mb_per_s, where both count payload bytes only (the
// journal also writes 20 bytes of framing per record and a 128-byte header per segment).
// Group commit may sync more than 1 MiB at a time and so beat that baseline; each row
// therefore also has baseline_one_sync_mb_per_s (the same 1 MiB writes, one fdatasync at
// the end: the disk's bandwidth for that volume) and ratio_one_sync.

#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/machine_info.h"
#include "common/file_system.h"
#include "common/log.h"
#include "journal/journal.h"

#ifndef SLUICE_BENCH_DEFAULT_DIR
#define SLUICE_BENCH_DEFAULT_DIR "/tmp"
#endif

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
using journal::AppendRecord;
using journal::Journal;
using journal::Lsn;

struct Args {
  bool json = false;
  std::string dir = SLUICE_BENCH_DEFAULT_DIR;
  double seconds = 2.0;
  std::vector<size_t> sizes = {64, 1024, 64 * 1024};
  std::vector<int> producers = {1, 4, 16};
  std::vector<std::string> modes = {"window1024", "window1", "group64"};
  uint64_t segment_bytes = 64ull << 20;
  bool baseline = true;
};

struct Case {
  size_t record_bytes = 0;
  int producers = 0;
  int window = 0;  // records in flight per producer
  int group = 0;   // records per append call
};

struct CaseResult {
  uint64_t records = 0;
  double seconds = 0;
  std::vector<uint32_t> latencies_us;  // per append call: Append to known durable
  std::string error;
};

uint32_t Micros(Clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
}

// One producer: appends until the deadline keeping up to `window` records in flight,
// then waits for everything it appended.
void Produce(Journal* j, const Case& c, const std::string& payload, Clock::time_point deadline,
             uint64_t* records, std::vector<uint32_t>* latencies, std::string* error) {
  std::vector<AppendRecord> batch(static_cast<size_t>(c.group), AppendRecord{1, payload});
  struct InFlight {
    Lsn last_lsn;  // of the call
    Clock::time_point appended;
  };
  std::deque<InFlight> in_flight;
  int64_t outstanding = 0;
  auto complete = [&](Clock::time_point now) {
    // Everything at or below the durable LSN is acknowledged (ack mode durable).
    Lsn durable = j->durable_lsn();
    while (!in_flight.empty() && in_flight.front().last_lsn <= durable) {
      latencies->push_back(Micros(now - in_flight.front().appended));
      in_flight.pop_front();
      outstanding -= c.group;
      *records += static_cast<uint64_t>(c.group);
    }
  };
  auto fail = [&](const Status& s) {
    *error = s.ToString();
    return;
  };
  while (true) {
    Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    Result<Lsn> lsn = c.group == 1 ? j->Append(1, payload) : j->AppendBatch(batch);
    if (!lsn.ok()) return fail(lsn.status());
    in_flight.push_back({*lsn + static_cast<Lsn>(c.group) - 1, now});
    outstanding += c.group;
    if (outstanding >= c.window) {
      if (Status s = j->WaitDurable(in_flight.front().last_lsn); !s.ok()) return fail(s);
      complete(Clock::now());
    }
  }
  if (!in_flight.empty()) {
    if (Status s = j->WaitDurable(in_flight.back().last_lsn); !s.ok()) return fail(s);
    complete(Clock::now());
  }
}

CaseResult RunCase(const Args& args, const Case& c, const std::string& dir) {
  journal::JournalOptions options;
  options.dir = JoinPath(dir, "journal");
  options.stream = "bench";
  options.epoch = journal::NewRandomEpoch();
  options.segment_bytes = args.segment_bytes;
  options.max_record_bytes = static_cast<uint32_t>(std::max<size_t>(c.record_bytes, 1 << 20));
  options.ack_mode = journal::AckMode::kDurable;
  CaseResult result;
  auto j = Journal::Open(options);
  if (!j.ok()) {
    result.error = j.status().ToString();
    return result;
  }
  std::string payload(c.record_bytes, '\0');
  std::mt19937_64 rng(c.record_bytes * 131 + static_cast<size_t>(c.producers));
  for (auto& ch : payload) ch = static_cast<char>(rng());

  const size_t n = static_cast<size_t>(c.producers);
  std::vector<uint64_t> records(n, 0);
  std::vector<std::vector<uint32_t>> latencies(n);
  std::vector<std::string> errors(n);
  std::vector<Clock::time_point> finished(n);
  Clock::time_point start;
  Clock::time_point deadline;
  // The last thread to arrive sets the clock, so no producer starts before it.
  std::barrier sync(static_cast<std::ptrdiff_t>(n), [&]() noexcept {
    start = Clock::now();
    deadline = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(args.seconds));
  });
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i) {
    latencies[i].reserve(1 << 16);
    threads.emplace_back([&, i] {
      sync.arrive_and_wait();
      Produce(j->get(), c, payload, deadline, &records[i], &latencies[i], &errors[i]);
      finished[i] = Clock::now();
    });
  }
  for (auto& t : threads) t.join();
  Clock::time_point end = *std::max_element(finished.begin(), finished.end());
  result.seconds = std::chrono::duration<double>(end - start).count();
  for (size_t i = 0; i < n; ++i) {
    result.records += records[i];
    if (result.error.empty()) result.error = errors[i];
    result.latencies_us.insert(result.latencies_us.end(), latencies[i].begin(), latencies[i].end());
  }
  return result;
}

struct BaselineResult {
  double seconds = 0;
  std::string error;
};

// Plain write() of `bytes` in 1 MiB chunks into a new file in `dir`, with fdatasync()
// after every chunk (`sync_each_chunk`) or once at the end.
BaselineResult RunBaseline(uint64_t bytes, const std::string& dir, bool sync_each_chunk) {
  constexpr size_t kChunk = 1 << 20;
  BaselineResult r;
  std::string path = JoinPath(dir, "baseline");
  std::string chunk(kChunk, '\0');
  std::mt19937_64 rng(7);
  for (auto& ch : chunk) ch = static_cast<char>(rng());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    r.error = fmt::format("open {}: {}", path, std::strerror(errno));
    return r;
  }
  auto start = Clock::now();
  for (uint64_t done = 0; done < bytes && r.error.empty();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - done));
    ssize_t w = ::write(fd, chunk.data(), n);
    if (w != static_cast<ssize_t>(n)) {
      r.error = fmt::format("write {}: {}", path, w < 0 ? std::strerror(errno) : "short write");
    } else if (sync_each_chunk && ::fdatasync(fd) != 0) {
      r.error = fmt::format("fdatasync {}: {}", path, std::strerror(errno));
    }
    done += n;
  }
  if (!sync_each_chunk && r.error.empty() && ::fdatasync(fd) != 0) {
    r.error = fmt::format("fdatasync {}: {}", path, std::strerror(errno));
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  ::unlink(path.c_str());
  return r;
}

nlohmann::json Percentiles(std::vector<uint32_t>& v) {
  if (v.empty()) return nullptr;
  auto at = [&](double q) {
    size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  return {{"p50", at(0.50)},
          {"p99", at(0.99)},
          {"p999", at(0.999)},
          {"max", *std::max_element(v.begin(), v.end())}};
}

std::vector<Case> Cases(const Args& args) {
  std::vector<Case> cases;
  for (size_t size : args.sizes) {
    for (int p : args.producers) {
      for (const auto& mode : args.modes) {
        if (mode == "window1024") cases.push_back({size, p, 1024, 1});
        if (mode == "window1") cases.push_back({size, p, 1, 1});
        if (mode == "group64") cases.push_back({size, p, 1024, 64});
      }
    }
  }
  return cases;
}

int RunJournalBench(const Args& args) {
  // The journal logs segment rolls and recoveries; keep stderr for progress.
  log::Logger().set_level(spdlog::level::warn);
  MachineInfo machine = GetMachineInfo();
  WarnIfUnrepresentative(machine);
  std::string fs_type = FileSystemType(args.dir);
  if (fs_type == "tmpfs") {
    fmt::print(stderr, "WARNING: {} is on tmpfs: fdatasync costs nothing there\n", args.dir);
  }
  nlohmann::json machine_json = ToJson(machine);
  machine_json["dir"] = args.dir;
  machine_json["filesystem"] = fs_type;

  nlohmann::json results = nlohmann::json::array();
  std::vector<Case> cases = Cases(args);
  int index = 0;
  for (const Case& c : cases) {
    ++index;
    fmt::print(stderr, "[{}/{}] record_bytes={} producers={} window={} group={} ... ", index,
               cases.size(), c.record_bytes, c.producers, c.window, c.group);
    std::fflush(stderr);
    ScratchDir scratch(args.dir, "sluice-bench");
    CaseResult r = RunCase(args, c, scratch.path());
    nlohmann::json row = {
        {"record_bytes", c.record_bytes},
        {"producers", c.producers},
        {"window", c.window},
        {"group", c.group},
    };
    if (!r.error.empty()) {
      fmt::print(stderr, "error: {}\n", r.error);
      row["error"] = r.error;
      results.push_back(row);
      continue;
    }
    const double payload_bytes =
        static_cast<double>(r.records) * static_cast<double>(c.record_bytes);
    const double records_per_s = static_cast<double>(r.records) / r.seconds;
    const double mb_per_s = payload_bytes / r.seconds / 1e6;
    row["records"] = r.records;
    row["seconds"] = r.seconds;
    row["records_per_s"] = static_cast<uint64_t>(std::llround(records_per_s));
    row["mb_per_s"] = std::round(mb_per_s * 100) / 100;
    row["ack_latency_us"] = Percentiles(r.latencies_us);
    fmt::print(stderr, "{:.0f} records/s, {:.1f} MB/s", records_per_s, mb_per_s);
    if (args.baseline) {
      std::filesystem::remove_all(JoinPath(scratch.path(), "journal"));
      const auto bytes = static_cast<uint64_t>(payload_bytes);
      BaselineResult b = RunBaseline(bytes, scratch.path(), /*sync_each_chunk=*/true);
      BaselineResult one = RunBaseline(bytes, scratch.path(), /*sync_each_chunk=*/false);
      if (!b.error.empty() || !one.error.empty()) {
        std::string error = !b.error.empty() ? b.error : one.error;
        row["error"] = "baseline: " + error;
        fmt::print(stderr, "; baseline error: {}\n", error);
      } else {
        double baseline_mb_per_s = payload_bytes / b.seconds / 1e6;
        double one_sync_mb_per_s = payload_bytes / one.seconds / 1e6;
        row["baseline_mb_per_s"] = std::round(baseline_mb_per_s * 100) / 100;
        row["ratio"] = std::round(mb_per_s / baseline_mb_per_s * 1000) / 1000;
        // The same bytes made durable by one fdatasync at the end: what the disk does
        // when nothing needs acknowledging before the end.
        row["baseline_one_sync_mb_per_s"] = std::round(one_sync_mb_per_s * 100) / 100;
        row["ratio_one_sync"] = std::round(mb_per_s / one_sync_mb_per_s * 1000) / 1000;
        fmt::print(stderr, "; baseline {:.1f} MB/s (one sync: {:.1f}), ratio {:.3f}\n",
                   baseline_mb_per_s, one_sync_mb_per_s, mb_per_s / baseline_mb_per_s);
      }
    } else {
      fmt::print(stderr, "\n");
    }
    results.push_back(row);
  }

  nlohmann::json out = {{"bench", "journal"}, {"machine", machine_json}, {"results", results}};
  if (args.json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    fmt::print("{:>12} {:>9} {:>6} {:>5} {:>13} {:>10} {:>13} {:>7}\n", "record_bytes", "producers",
               "window", "group", "records/s", "MB/s", "baseline MB/s", "ratio");
    for (const auto& row : results) {
      if (row.contains("error")) {
        fmt::print("{:>12} {:>9} {:>6} {:>5} error: {}\n", row["record_bytes"].get<size_t>(),
                   row["producers"].get<int>(), row["window"].get<int>(), row["group"].get<int>(),
                   row["error"].get<std::string>());
        continue;
      }
      fmt::print("{:>12} {:>9} {:>6} {:>5} {:>13.0f} {:>10.2f} {:>13} {:>7}\n",
                 row["record_bytes"].get<size_t>(), row["producers"].get<int>(),
                 row["window"].get<int>(), row["group"].get<int>(),
                 static_cast<double>(row["records_per_s"].get<uint64_t>()),
                 row["mb_per_s"].get<double>(),
                 row.contains("baseline_mb_per_s") ? row["baseline_mb_per_s"].dump() : "-",
                 row.contains("ratio") ? row["ratio"].dump() : "-");
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
      out.push_back(static_cast<T>(std::stoull(item)));
    }
  }
  return out;
}

}  // namespace

void RegisterJournalBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<Args>();
  auto sizes = std::make_shared<std::string>("64,1024,65536");
  auto producers = std::make_shared<std::string>("1,4,16");
  auto modes = std::make_shared<std::string>("window1024,window1,group64");
  CLI::App* cmd = app.add_subcommand(
      "journal",
      "Durable (fdatasync) append throughput of one journal for record sizes x producer "
      "threads x {window 1024, window 1, group 64}, against write+fdatasync of 1 MiB chunks");
  cmd->add_flag("--json", args->json, "Print one JSON object (default: a table)");
  cmd->add_option("--dir", args->dir,
                  "Directory on the filesystem to measure; each case uses a fresh "
                  "subdirectory, removed afterwards")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--seconds", args->seconds, "Duration of each case")->capture_default_str();
  cmd->add_option("--sizes", *sizes, "Record sizes in bytes, comma-separated")
      ->capture_default_str();
  cmd->add_option("--producers", *producers, "Producer thread counts, comma-separated")
      ->capture_default_str();
  cmd->add_option("--modes", *modes, "Subset of window1024,window1,group64")->capture_default_str();
  cmd->add_option("--segment-bytes", args->segment_bytes, "Journal segment size")
      ->capture_default_str();
  cmd->add_flag("!--no-baseline", args->baseline, "Skip the write+fdatasync baseline");
  cmd->callback([=] {
    try {
      args->sizes = ParseList<size_t>(*sizes);
      args->producers = ParseList<int>(*producers);
      args->modes = ParseList<std::string>(*modes);
    } catch (const std::exception& e) {
      throw CLI::ValidationError("--sizes/--producers", "must be comma-separated numbers");
    }
    for (const auto& m : args->modes) {
      if (m != "window1024" && m != "window1" && m != "group64") {
        throw CLI::ValidationError("--modes", "unknown mode " + m);
      }
    }
    context->exit_code = RunJournalBench(*args);
  });
}

}  // namespace sluice::bench
