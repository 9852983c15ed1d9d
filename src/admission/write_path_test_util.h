#pragma once
// The bottom of a node's write path in one process, for tests only: the journals of a
// data directory on a FaultInjectionFileSystem (so a test can fail a write or sync, or
// cut the power) and the admitter. The services' and the SyncWriter's tests derive from
// it and add what they wire on top (OpenMore/CloseMore). Reopen() is a restart of
// sluiced.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "admission/admitter.h"
#include "common/fault_injection_file_system.h"
#include "journal/journal_set.h"
#include "journal/journal_test_util.h"
#include "journal/reader.h"
#include "record/record_codec.h"

namespace sluice::admission::testing {

class WritePath {
 public:
  explicit WritePath(std::vector<std::string> streams,
                     journal::AckMode ack_mode = journal::AckMode::kDurable)
      : streams_(std::move(streams)), ack_mode_(ack_mode) {}
  // A derived class calls Close() in its own destructor: CloseMore() is virtual.
  virtual ~WritePath() { Close(); }

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
    auto a = Admitter::Open(journals_.get(), AdmissionOptions{});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    admitter_ = std::move(a).value();
    OpenMore();
  }
  // A crash of the process: everything written stays (the page cache survives).
  void Close() {
    CloseMore();
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
        auto rec = record::DecodeRecord(rv.lsn, rv.type, rv.payload);
        EXPECT_TRUE(rec.ok()) << rec.status().ToString();
        if (rec.ok()) out.emplace_back(rv.lsn, std::move(rec).value());
      }
      if (batch.last_lsn() >= j->durable_lsn()) break;
    }
    return out;
  }

  FaultInjectionFileSystem& fs() { return *fs_; }
  journal::JournalSet& journals() { return *journals_; }
  Admitter& admitter() { return *admitter_; }

 protected:
  // What a derived fixture wires on top, after the admitter is open / before it closes.
  virtual void OpenMore() {}
  virtual void CloseMore() {}

  const journal::testing::TempDir& dir() const { return dir_; }
  const std::vector<std::string>& streams() const { return streams_; }

 private:
  journal::testing::TempDir dir_;
  std::vector<std::string> streams_;
  journal::AckMode ack_mode_;
  std::unique_ptr<FaultInjectionFileSystem> fs_;
  std::unique_ptr<journal::JournalSet> journals_;
  std::unique_ptr<Admitter> admitter_;
};

}  // namespace sluice::admission::testing
