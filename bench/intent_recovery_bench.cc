// `sluice-bench intent-recovery`: the journal work a failover (decider change) or a
// reconnect does on the model stream, against a large retained model journal (1 GiB by
// default), with the sparse index and the shared intent scan, and the same work done
// the way it was before them (issue #9, item 14) as the baseline:
//   - decider_change_ms: a new decider finds the intents left undecided. Now: the
//     shared scan reads what was journaled since it last looked (`--new-records`).
//     Baseline (full_scan_ms): read and decode the whole retained stream.
//   - reposition_ms: an applier reopens a reader at its watermark near the head and reads
//     one batch. Now: from the sparse index. Baseline (segment_scan_ms): read its segment
//     from the start up to the watermark.
// The failover goal (docs/failover.md) is p50 <= 50 ms from a crash to the first
// synchronous write on the other target; this work is part of it.

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "bench/bench_util.h"
#include "bench/machine_info.h"
#include "common/log.h"
#include "journal/journal_set.h"
#include "journal/reader.h"
#include "replicate/intent_scan.h"
#include "record/record_codec.h"

#ifndef SLUICE_BENCH_DEFAULT_DIR
#define SLUICE_BENCH_DEFAULT_DIR "/tmp"
#endif

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
using journal::Lsn;

struct Args {
  bool json = false;
  std::string dir = SLUICE_BENCH_DEFAULT_DIR;
  uint64_t model_mib = 1024;
  uint64_t segment_mib = 64;
  int new_records = 1000;
  int repeats = 5;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string SqlRecord(uint64_t version, size_t pad) {
  v1::Record r;
  r.set_version(version);
  r.mutable_sql()->set_text("INSERT INTO pad(x) VALUES (?)");
  r.mutable_sql()->add_params()->set_text_value(std::string(pad, 'p'));
  return record::EncodeRecord(r);
}

std::string IntentRecord(uint64_t version) {
  v1::Record r;
  r.set_version(version);
  r.mutable_intent()->set_kind(v1::SyncIntent::KIND_MODEL);
  r.mutable_intent()->mutable_statement()->set_text("INSERT INTO pad(x) VALUES ('sync')");
  return record::EncodeRecord(r);
}

std::string OutcomeRecord(uint64_t version, Lsn intent) {
  v1::Record r;
  r.set_version(version);
  r.mutable_outcome()->set_intent_lsn(intent);
  r.mutable_outcome()->set_applied(true);
  return record::EncodeRecord(r);
}

// Appends `n` records: SQL records, an intent every 100th with its outcome right after,
// except every 1000th intent (left undecided).
Status Fill(journal::Journal* j, uint64_t n, uint64_t* version) {
  std::vector<std::string> payloads;
  std::vector<journal::AppendRecord> batch;
  for (uint64_t i = 0; i < n; i += 256) {
    payloads.clear();
    batch.clear();
    for (uint64_t k = i; k < std::min(n, i + 256); ++k) payloads.push_back(SqlRecord(++*version, 2000));
    for (const auto& p : payloads) batch.push_back({record::kRecordV1, p});
    SLUICE_RETURN_IF_ERROR(j->AppendBatch(batch).status());
    if (i % 25600 == 0) {
      SLUICE_ASSIGN_OR_RETURN(Lsn intent, j->Append(record::kRecordV1, IntentRecord(++*version)));
      if (i % 256000 != 0) {
        SLUICE_RETURN_IF_ERROR(j->Append(record::kRecordV1, OutcomeRecord(++*version, intent)).status());
      }
    }
  }
  return j->Flush();
}

// The baseline of the decider change: what RecoverUndecidedIntents did every time.
Result<size_t> FullScan(const journal::Journal* j) {
  SLUICE_ASSIGN_OR_RETURN(auto reader, journal::Reader::Open(j, j->first_lsn()));
  journal::ReadBatch batch;
  std::map<Lsn, bool> intents;
  while (true) {
    SLUICE_RETURN_IF_ERROR(reader->Read(4096, 8 << 20, &batch));
    if (batch.empty()) break;
    for (const auto& rv : batch.records()) {
      auto r = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
      if (!r.ok()) continue;
      if (r->has_intent()) intents.emplace(rv.lsn, false);
      if (r->has_outcome()) intents[r->outcome().intent_lsn()] = true;
    }
  }
  size_t undecided = 0;
  for (const auto& [lsn, decided] : intents) undecided += decided ? 0 : 1;
  return undecided;
}

int Run(const Args& args) {
  log::Logger().set_level(spdlog::level::warn);
  MachineInfo machine = GetMachineInfo();
  nlohmann::json machine_json = ToJson(machine);
  machine_json["dir"] = args.dir;
  const std::string data_dir = fmt::format("{}/sluice-intent-bench-{}", args.dir, ::getpid());
  std::filesystem::remove_all(data_dir);
  auto fail = [&](const Status& s) {
    fmt::print(stderr, "error: {}\n", s.ToString());
    std::filesystem::remove_all(data_dir);
    return 1;
  };
  journal::JournalSetOptions jo;
  jo.data_dir = data_dir;
  jo.streams = {{"model", 0}};
  jo.segment_bytes = args.segment_mib << 20;
  nlohmann::json row;
  uint64_t version = 0;
  {
    auto set = journal::JournalSet::Open(jo);
    if (!set.ok()) return fail(set.status());
    const uint64_t records = (args.model_mib << 20) / 2030;
    fmt::print(stderr, "writing a {} MiB model journal ({} records) ... ", args.model_mib, records);
    auto t0 = Clock::now();
    Status s = Fill((*set)->stream("model"), records, &version);
    if (!s.ok()) return fail(s);
    fmt::print(stderr, "{:.1f} s\n", Ms(Clock::now() - t0) / 1000);
  }
  // A daemon restart: recovery reads everything once (and rebuilds the index).
  auto t0 = Clock::now();
  auto set = journal::JournalSet::Open(jo);
  if (!set.ok()) return fail(set.status());
  row["open_ms"] = Ms(Clock::now() - t0);
  journal::Journal* j = (*set)->stream("model");
  row["model_bytes"] = j->DiskBytes();
  row["records"] = j->durable_lsn();

  // The first decider after the start reads the stream once.
  auto scan = replicate::IntentScan::For(j);
  t0 = Clock::now();
  if (Status s = scan->CatchUp(); !s.ok()) return fail(s);
  row["first_scan_ms"] = Ms(Clock::now() - t0);
  row["undecided"] = scan->Undecided().size();

  std::vector<double> change, full, repos, segscan;
  for (int r = 0; r < args.repeats; ++r) {
    if (Status s = Fill(j, static_cast<uint64_t>(args.new_records), &version); !s.ok()) return fail(s);
    // Decider change, now: the scan reads what is new (its follower may have already).
    t0 = Clock::now();
    if (Status s = scan->CatchUp(); !s.ok()) return fail(s);
    auto undecided = scan->Undecided();
    change.push_back(Ms(Clock::now() - t0));
    // ... and before: the whole retained stream.
    t0 = Clock::now();
    auto n = FullScan(j);
    if (!n.ok()) return fail(n.status());
    full.push_back(Ms(Clock::now() - t0));
    if (*n != undecided.size()) {
      return fail(Status::Internal(fmt::format("the scan found {} undecided intents, the full read {}",
                                               undecided.size(), *n)));
    }
    // Reposition at a watermark near the head, now (index) and before (segment scan).
    Lsn watermark = j->durable_lsn() - 10;
    t0 = Clock::now();
    auto reader = journal::Reader::Open(j, watermark);
    if (!reader.ok()) return fail(reader.status());
    journal::ReadBatch batch;
    if (Status s = (*reader)->Read(1000, 4 << 20, &batch); !s.ok()) return fail(s);
    repos.push_back(Ms(Clock::now() - t0));
    auto seg = j->SegmentFor(watermark);
    t0 = Clock::now();
    auto from_start = journal::Reader::Open(j, seg->first_lsn);
    if (!from_start.ok()) return fail(from_start.status());
    while ((*from_start)->next_lsn() <= watermark) {
      if (Status s = (*from_start)->Read(4096, 8 << 20, &batch); !s.ok()) return fail(s);
      if (batch.empty()) break;
    }
    segscan.push_back(Ms(Clock::now() - t0));
  }
  row["new_records_per_change"] = args.new_records;
  row["decider_change_ms_median"] = Median(change);
  row["full_scan_ms_median"] = Median(full);
  row["reposition_ms_median"] = Median(repos);
  row["segment_scan_ms_median"] = Median(segscan);
  row["decider_change_ms"] = change;
  row["full_scan_ms"] = full;
  set->reset();
  std::filesystem::remove_all(data_dir);
  nlohmann::json out = {{"bench", "intent-recovery"}, {"machine", machine_json}, {"results", {row}}};
  std::cout << (args.json ? out.dump() : out.dump(2)) << std::endl;
  return 0;
}

}  // namespace

void RegisterIntentRecoveryBench(CLI::App& app, Context* context) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "intent-recovery",
      "Journal work of a decider change / reconnect on a large retained model stream: "
      "shared intent scan and sparse index, against a full read and a segment scan");
  cmd->add_flag("--json", args->json, "Print one JSON line (default: indented)");
  cmd->add_option("--dir", args->dir, "Directory for the throw-away journal")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--model-mib", args->model_mib, "Retained model journal size")->capture_default_str();
  cmd->add_option("--segment-mib", args->segment_mib, "Segment size")->capture_default_str();
  cmd->add_option("--new-records", args->new_records, "Records journaled between decider changes")
      ->capture_default_str();
  cmd->add_option("--repeats", args->repeats, "Decider changes measured")->capture_default_str();
  cmd->callback([=] { context->exit_code = Run(*args); });
}

}  // namespace sluice::bench
