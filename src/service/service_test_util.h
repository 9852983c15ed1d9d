#pragma once
// A node's write path in one process for service tests (tests only): the journals of a
// data directory on a FaultInjectionFileSystem (so a test can fail a write or sync, or
// cut the power), the admitter, the de-duplication table, the Ingest service and the
// SyncWriter, as the node wires them. Reopen() is a restart of sluiced.

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "admission/admitter.h"
#include "common/fault_injection_file_system.h"
#include "config/config.h"
#include "journal/journal_set.h"
#include "journal/journal_test_util.h"
#include "journal/reader.h"
#include "replicate/record_codec.h"
#include "service/auth.h"
#include "service/call_gate.h"
#include "service/dedup_table.h"
#include "service/ingest_service.h"
#include "service/sync_writer.h"
#include "support/net.h"

namespace sluice::service::testing {

// Polls `done` every 5 ms until it holds or `timeout` passes; returns whether it held.
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  return ::sluice::testing::WaitFor(done, timeout, std::chrono::milliseconds(5));
}

class WritePath {
 public:
  explicit WritePath(std::vector<std::string> streams,
                     journal::AckMode ack_mode = journal::AckMode::kDurable)
      : streams_(std::move(streams)), ack_mode_(ack_mode) {
    config_.node.id = "test";
    config_.auth.required = false;
    for (const auto& s : streams_) {
      config::StreamConfig c;
      c.name = s;
      config_.streams.push_back(c);
    }
    auth_ = std::make_unique<Authenticator>(config_.auth);
  }
  ~WritePath() { Close(); }

  // Opens (recovers) everything on a fresh fault-injection file system.
  void Open() {
    fs_ = std::make_unique<FaultInjectionFileSystem>(FileSystem::Default());
    journal::JournalSetOptions o;
    o.fs = fs_.get();
    o.data_dir = dir_.path();
    o.ack_mode = ack_mode_;
    for (const auto& s : streams_) o.streams.push_back({s, 0});
    auto j = journal::JournalSet::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journals_ = std::move(j).value();
    auto a = admission::Admitter::Open(journals_.get(), admission::AdmissionOptions{});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    admitter_ = std::move(a).value();
    DedupOptions d;
    d.fs = fs_.get();
    d.path = dir_.Sub("state/dedup.json");
    auto t = DedupTable::Open(journals_.get(), d);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    dedup_ = std::move(t).value();
    gate_ = std::make_unique<CallGate>();
    ServiceContext ctx;
    ctx.config = &config_;
    ctx.journals = journals_.get();
    ctx.admitter = admitter_.get();
    ctx.dedup = dedup_.get();
    ctx.auth = auth_.get();
    ctx.gate = gate_.get();
    ingest_ = std::make_unique<IngestService>(ctx);
    if (std::find(streams_.begin(), streams_.end(), "model") != streams_.end()) {
      writer_ = std::make_unique<SyncWriter>(journals_.get(), admitter_.get());
    }
  }
  // A crash of the process: everything written stays (the page cache survives).
  void Close() {
    writer_.reset();
    ingest_.reset();
    dedup_.reset();
    admitter_.reset();
    journals_.reset();
    fs_.reset();
  }
  // A power loss: what was not synced is gone.
  void PowerLoss() {
    ASSERT_TRUE(fs_->DropUnsyncedData().ok());
    Close();
  }
  void Reopen() {
    Close();
    Open();
  }

  // The records of `stream` that recovery finds, decoded.
  std::vector<std::pair<journal::Lsn, v1::Record>> Records(const std::string& stream) {
    std::vector<std::pair<journal::Lsn, v1::Record>> out;
    journal::Journal* j = journals_->stream(stream);
    if (j->durable_lsn() == 0) return out;
    auto reader = journal::Reader::Open(j, j->first_lsn());
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return out;
    journal::ReadBatch batch;
    while (true) {
      Status s = (*reader)->Read(1024, 8 << 20, &batch);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok() || batch.empty()) break;
      for (const auto& rv : batch.records()) {
        auto rec = replicate::DecodeRecord(rv.lsn, rv.type, rv.payload);
        EXPECT_TRUE(rec.ok()) << rec.status().ToString();
        if (rec.ok()) out.emplace_back(rv.lsn, std::move(rec).value());
      }
      if (batch.last_lsn() >= j->durable_lsn()) break;
    }
    return out;
  }

  FaultInjectionFileSystem& fs() { return *fs_; }
  journal::JournalSet& journals() { return *journals_; }
  DedupTable& dedup() { return *dedup_; }
  IngestService& ingest() { return *ingest_; }
  SyncWriter& writer() { return *writer_; }

 private:
  journal::testing::TempDir dir_;
  std::vector<std::string> streams_;
  journal::AckMode ack_mode_;
  config::Config config_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<FaultInjectionFileSystem> fs_;
  std::unique_ptr<journal::JournalSet> journals_;
  std::unique_ptr<admission::Admitter> admitter_;
  std::unique_ptr<DedupTable> dedup_;
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<SyncWriter> writer_;
};

}  // namespace sluice::service::testing
