// `sluice status` against a live sluiced: what waits for a target taken out while records
// are written (records and bytes, counted here from the journal itself; the oldest waiting
// record's commit time), that it drains once the target is back, and `--watch` as a script
// sees it (one block per refresh, no terminal control codes).

#include <chrono>
#include <iterator>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/status_view.h"
#include "common/file_system.h"
#include "journal/dump.h"
#include "journal/format.h"
#include "record/record_codec.h"
#include "support/daemon.h"

#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class StatusCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(dir_);
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
    v1::StatusResponse s;
    ASSERT_TRUE(WaitFor([&] { return daemon_->Admin(&s).ok() && s.state() == "active"; }));
  }

  RunResult Sluice(std::vector<std::string> args, std::string token = kAdminToken) {
    args.insert(args.begin(), SLUICE_CLI_PATH);
    return RunCommand(args, dir_.Sub("cli.out"),
                      {{"SLUICE_ADDRESS", daemon_->address()}, {"SLUICE_TOKEN", token}});
  }

  // The applier of (target, stream) in a `sluice status --json` document.
  static nlohmann::json ApplierOf(const nlohmann::json& doc, const std::string& target,
                                  const std::string& stream) {
    for (const auto& a : doc["appliers"]) {
      if (a["target"] == target && a["stream"] == stream) return a;
    }
    return nullptr;
  }

  static uint64_t U64(const nlohmann::json& v) { return std::stoull(v.get<std::string>()); }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

// What the journal of `stream` holds after `applied`: records, their frames' bytes, and the
// admission time of the first of them.
struct Waiting {
  uint64_t records = 0;
  uint64_t bytes = 0;
  int64_t first_admitted_us = 0;
};

Waiting ReadWaiting(const std::string& data_dir, const std::string& stream, uint64_t applied) {
  Waiting w;
  Status st = journal::DumpJournal(
      FileSystem::Default(), data_dir, stream, applied + 1, 0, journal::kMaxPayloadBytes,
      [&](const std::string&, uint64_t lsn, uint16_t type, std::string_view payload) {
        if (w.records == 0) {
          auto record = record::DecodeRecord(lsn, type, payload);
          EXPECT_TRUE(record.ok()) << record.status().ToString();
          if (record.ok()) w.first_admitted_us = record->admitted_at_us();
        }
        ++w.records;
        w.bytes += journal::kFrameHeaderSize + payload.size();
      });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return w;
}

TEST_F(StatusCliTest, WhatWaitsForADisabledTargetIsCountedAndDrainsWhenItIsBack) {
  ASSERT_EQ(Sluice({"target", "disable", "dr"}).exit_code, 0);
  // Its appliers stopped: the cursor stays where they left it.
  v1::StatusResponse s;
  ASSERT_TRUE(WaitFor([&] {
    if (!daemon_->Admin(&s).ok()) return false;
    for (const auto& a : s.appliers()) {
      if (a.target() == "dr" && a.state() != "disabled") return false;
    }
    return true;
  }));

  // A counted number of records, each committed alone, spread over a few milliseconds of
  // admission time.
  constexpr int kRecords = 37;
  const int64_t ts = NowMicros() / 1'000'000 * 1'000'000;
  for (int i = 0; i < kRecords; ++i) {
    v1::CommitRequest req;
    req.set_stream("samples");
    *req.add_records() = SampleRecord(1000 + i * 10, 1 + i % 5, ts);
    v1::CommitResponse resp;
    grpc::Status st = daemon_->Commit(req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  RunResult json = Sluice({"status", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto doc = nlohmann::json::parse(json.output);
  nlohmann::json dr = ApplierOf(doc, "dr", "samples");
  ASSERT_FALSE(dr.is_null()) << json.output;
  const uint64_t applied = U64(dr["applied_lsn"]);
  Waiting w = ReadWaiting(dir_.Sub("data"), "samples", applied);
  EXPECT_EQ(w.records, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(U64(dr["lag_records"]), w.records) << dr.dump();
  EXPECT_EQ(U64(dr["lag_bytes"]), w.bytes) << dr.dump();
  EXPECT_GT(w.first_admitted_us, 0);
  // The service reads the same record's stamp: equal to the microsecond.
  EXPECT_EQ(std::stoll(dr["oldest_unapplied_us"].get<std::string>()), w.first_admitted_us)
      << dr.dump();
  EXPECT_GE(std::stoll(dr["oldest_unapplied_age_us"].get<std::string>()), 0);
  // Each stream's priority is in the answer: model changes go before samples.
  std::map<std::string, int> priority;
  for (const auto& st : doc["streams"]) priority[st["name"]] = st["priority"].get<int>();
  EXPECT_GT(priority.at("model"), priority.at("samples")) << json.output;

  // The page shows the same, the time to the millisecond (the page's resolution).
  RunResult text = Sluice({"status"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  size_t block = text.output.find("\ndr: lag ");
  ASSERT_NE(block, std::string::npos) << text.output;
  size_t row = text.output.find("\nsamples ", block);
  ASSERT_NE(row, std::string::npos) << text.output;
  std::string line = text.output.substr(row + 1, text.output.find('\n', row + 1) - row - 1);
  std::string oldest = cli::HumanTime(w.first_admitted_us, NowMicros());
  oldest.resize(oldest.size() - 4);  // without " UTC", as in the table
  for (const std::string& part :
       {fmt::format(" {} ", w.records), cli::HumanBytes(w.bytes), oldest}) {
    EXPECT_NE(line.find(part), std::string::npos) << "'" << part << "' not in '" << line << "' of\n"
                                                  << text.output;
  }
  for (size_t at = 0; at < text.output.size();) {
    size_t end = text.output.find('\n', at);
    if (end == std::string::npos) end = text.output.size();
    EXPECT_LE(end - at, cli::kPageWidth) << text.output.substr(at, end - at);
    at = end + 1;
  }

  // Back: it catches up, and nothing waits for it any more.
  ASSERT_EQ(Sluice({"target", "enable", "dr"}).exit_code, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        if (!daemon_->Admin(&s).ok()) return false;
        for (const auto& a : s.appliers()) {
          if (a.target() == "dr" && a.lag_records() != 0) return false;
        }
        return true;
      },
      std::chrono::seconds(120)));
  RunResult after = Sluice({"status", "--json"});
  ASSERT_EQ(after.exit_code, 0) << after.output;
  nlohmann::json dr_after = ApplierOf(nlohmann::json::parse(after.output), "dr", "samples");
  EXPECT_EQ(U64(dr_after["lag_records"]), 0u) << dr_after.dump();
  EXPECT_EQ(U64(dr_after["lag_bytes"]), 0u) << dr_after.dump();
  EXPECT_EQ(std::stoll(dr_after["oldest_unapplied_us"].get<std::string>()), 0) << dr_after.dump();
  EXPECT_EQ(U64(dr_after["applied_lsn"]), applied + w.records) << dr_after.dump();
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST_F(StatusCliTest, WatchIntoAFilePrintsOneBlockPerRefresh) {
  RunResult w = Sluice({"status", "--watch", "0.2", "--count", "2"});
  ASSERT_EQ(w.exit_code, 0) << w.output;
  EXPECT_EQ(Count(w.output, "node: test\n"), 2u) << w.output;
  EXPECT_EQ(Count(w.output, "catch-up since "), 2u) << w.output;
  EXPECT_EQ(w.output.find('\033'), std::string::npos) << "terminal codes in a file:\n" << w.output;
  // Every target has its bar in each block.
  std::regex bar(R"((^|\n)(a|b|dr) +\[[#.]{20}\] +\d+%  )");
  EXPECT_EQ(std::distance(std::sregex_iterator(w.output.begin(), w.output.end(), bar),
                          std::sregex_iterator()),
            6)
      << w.output;

  // Without a value, it refreshes every 2 seconds.
  auto start = std::chrono::steady_clock::now();
  RunResult d = Sluice({"status", "--watch", "--count", "2"});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_EQ(Count(d.output, "node: test\n"), 2u) << d.output;
  EXPECT_GE(took, std::chrono::milliseconds(1900));

  // --json under --watch: the whole answer, once per refresh.
  RunResult j = Sluice({"status", "--json", "--watch", "0.1", "--count", "2"});
  ASSERT_EQ(j.exit_code, 0) << j.output;
  EXPECT_EQ(Count(j.output, "\"node_id\": \"test\""), 2u) << j.output;

  // A watch that never refreshes is a usage error naming the flag.
  for (const char* bad : {"0", "soon"}) {
    RunResult r = Sluice({"status", "--watch", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("--watch"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace sluice::testing
