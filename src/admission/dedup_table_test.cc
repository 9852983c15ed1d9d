// The de-duplication table: the sequence rules, concurrent commits with one sequence,
// the snapshot, the rebuild from the journal after a crash, and forgetting idle clients.

#include "admission/dedup_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "journal/journal_set.h"
#include "journal/journal_test_util.h"
#include "sluice/v1/records.pb.h"

namespace sluice::admission {
namespace {

using journal::testing::TempDir;

constexpr int64_t kDay = 86'400'000'000;

class DedupTableTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenJournals(); }

  void OpenJournals() {
    journals_.reset();
    journal::JournalSetOptions o;
    o.data_dir = dir_.path();
    o.streams = {{"samples", 0}, {"events", 0}};
    auto j = journal::JournalSet::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journals_ = std::move(j).value();
  }

  DedupOptions Options() {
    DedupOptions o;
    o.path = dir_.Sub("state/dedup.json");
    o.cursor = "#dedup";
    o.idle_forget = std::chrono::microseconds(30 * kDay);
    o.now_us = [this] { return now_.load(); };
    return o;
  }

  std::unique_ptr<DedupTable> OpenTable() {
    auto t = DedupTable::Open(journals_.get(), Options());
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(t).value() : nullptr;
  }

  // What the Ingest service does: check the sequence, journal tagged records, admit.
  Status Commit(DedupTable* table, const std::string& client, const std::string& stream,
                uint64_t sequence, int records = 1) {
    SLUICE_ASSIGN_OR_RETURN(auto ticket, table->Begin(client, stream, sequence));
    journal::Journal* j = journals_->stream(stream);
    journal::Lsn last = 0;
    for (int i = 0; i < records; ++i) {
      v1::Record r;
      r.mutable_client()->set_client_id(client);
      r.mutable_client()->set_sequence(sequence);
      r.set_admitted_at_us(now_.load());
      auto* e = r.mutable_events()->add_events();
      e->set_ts_us(now_.load());
      e->set_kind("test");
      SLUICE_ASSIGN_OR_RETURN(last, j->Append(1, r.SerializeAsString()));
    }
    ticket.Admitted();
    return j->WaitDurable(last);
  }

  TempDir dir_;
  std::unique_ptr<journal::JournalSet> journals_;
  std::atomic<int64_t> now_{1'700'000'000'000'000};
};

TEST_F(DedupTableTest, AdmitsOnlyTheNextSequence) {
  auto t = OpenTable();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Commit(t.get(), "c1", "samples", 1).ok());
  ASSERT_TRUE(Commit(t.get(), "c1", "samples", 2).ok());
  EXPECT_EQ(t->LastSequence("c1", "samples"), 2u);

  // A resubmission and a gap are both refused, naming the expected sequence.
  Status again = Commit(t.get(), "c1", "samples", 2);
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_NE(again.message().find("expected sequence 3"), std::string::npos) << again.message();
  EXPECT_NE(again.message().find("resubmission"), std::string::npos) << again.message();
  Status gap = Commit(t.get(), "c1", "samples", 5);
  EXPECT_EQ(gap.code(), Code::kFailedPrecondition);
  EXPECT_NE(gap.message().find("expected sequence 3"), std::string::npos) << gap.message();

  // Streams and clients are independent.
  EXPECT_TRUE(Commit(t.get(), "c1", "events", 1).ok());
  EXPECT_TRUE(Commit(t.get(), "c2", "samples", 1).ok());
  EXPECT_EQ(t->LastSequence("c2", "samples"), 1u);
  EXPECT_EQ(t->LastSequence("nobody", "samples"), 0u);

  // A ticket released without Admitted() (the request was refused) uses up nothing.
  {
    auto ticket = t->Begin("c1", "samples", 3);
    ASSERT_TRUE(ticket.ok());
  }
  EXPECT_EQ(t->LastSequence("c1", "samples"), 2u);
  EXPECT_TRUE(Commit(t.get(), "c1", "samples", 3).ok());

  auto hello = t->Hello("c1");
  EXPECT_EQ(hello["samples"], 3u);
  EXPECT_EQ(hello["events"], 1u);
  EXPECT_TRUE(t->Hello("unknown").empty());
}

TEST_F(DedupTableTest, ConcurrentCommitsWithOneSequenceAdmitOnce) {
  auto t = OpenTable();
  ASSERT_TRUE(t);
  constexpr int kThreads = 8;
  constexpr int kRounds = 50;
  for (uint64_t seq = 1; seq <= kRounds; ++seq) {
    std::atomic<int> admitted{0}, refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        Status s = Commit(t.get(), "racer", "samples", seq);
        if (s.ok()) {
          admitted++;
        } else if (s.code() == Code::kFailedPrecondition) {
          refused++;
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(admitted.load(), 1) << "sequence " << seq;
    ASSERT_EQ(refused.load(), kThreads - 1);
  }
  EXPECT_EQ(journals_->stream("samples")->durable_lsn(), static_cast<uint64_t>(kRounds));
}

TEST_F(DedupTableTest, SnapshotSurvivesRestartAndHoldsTheCursor) {
  {
    auto t = OpenTable();
    ASSERT_TRUE(t);
    ASSERT_TRUE(Commit(t.get(), "c1", "samples", 1, 3).ok());
    ASSERT_TRUE(Commit(t.get(), "c1", "events", 1).ok());
    ASSERT_TRUE(Commit(t.get(), "c1", "events", 2).ok());
    ASSERT_TRUE(t->Stop().ok());
    auto cursor = journals_->GetCursor("samples", "#dedup");
    ASSERT_TRUE(cursor.ok());
    EXPECT_EQ(cursor->lsn, 3u);  // the snapshot covers everything journaled so far
  }
  OpenJournals();
  auto t = OpenTable();
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->rebuild_stats().snapshot_loaded);
  EXPECT_EQ(t->rebuild_stats().records_scanned, 0u);  // nothing after the marks
  EXPECT_EQ(t->LastSequence("c1", "samples"), 1u);
  EXPECT_EQ(t->LastSequence("c1", "events"), 2u);
  EXPECT_EQ(Commit(t.get(), "c1", "events", 2).code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Commit(t.get(), "c1", "events", 3).ok());
}

TEST_F(DedupTableTest, RebuildsFromTheJournalAfterACrash) {
  {
    auto t = OpenTable();
    ASSERT_TRUE(t);
    ASSERT_TRUE(Commit(t.get(), "c1", "samples", 1).ok());
    ASSERT_TRUE(t->Save().ok());
    // Acknowledged after the last snapshot, then the process dies without saving.
    ASSERT_TRUE(Commit(t.get(), "c1", "samples", 2).ok());
    ASSERT_TRUE(Commit(t.get(), "c1", "samples", 3, 2).ok());
    ASSERT_TRUE(Commit(t.get(), "c2", "events", 1).ok());
  }
  OpenJournals();
  auto t = OpenTable();
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->rebuild_stats().snapshot_loaded);
  EXPECT_EQ(t->rebuild_stats().tagged_records, 4u);
  EXPECT_EQ(t->LastSequence("c1", "samples"), 3u);
  EXPECT_EQ(t->LastSequence("c2", "events"), 1u);
  Status resubmit = Commit(t.get(), "c1", "samples", 3);
  EXPECT_EQ(resubmit.code(), Code::kFailedPrecondition);
  EXPECT_NE(resubmit.message().find("expected sequence 4"), std::string::npos);
}

TEST_F(DedupTableTest, RebuildsWithoutASnapshot) {
  {
    auto t = OpenTable();
    ASSERT_TRUE(t);
    for (uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(Commit(t.get(), "c1", "samples", s).ok());
  }
  std::filesystem::remove(dir_.Sub("state/dedup.json"));
  OpenJournals();
  auto t = OpenTable();
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->rebuild_stats().snapshot_loaded);
  EXPECT_EQ(t->LastSequence("c1", "samples"), 5u);
}

TEST_F(DedupTableTest, StaleSnapshotNeverLowersWhatTheJournalHolds) {
  std::string stale;
  {
    auto t = OpenTable();
    ASSERT_TRUE(t);
    ASSERT_TRUE(Commit(t.get(), "c1", "samples", 1).ok());
    ASSERT_TRUE(t->Save().ok());
    stale = journal::testing::ReadBytes(dir_.Sub("state/dedup.json"));
    ASSERT_TRUE(Commit(t.get(), "c1", "samples", 2).ok());
    ASSERT_TRUE(t->Stop().ok());
  }
  // An older snapshot put back (as if the last write were lost): the journal after its
  // marks still tells the truth.
  journal::testing::WriteBytes(dir_.Sub("state/dedup.json"), stale);
  OpenJournals();
  auto t = OpenTable();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->LastSequence("c1", "samples"), 2u);
}

TEST_F(DedupTableTest, ForgetsIdleClients) {
  {
    auto t = OpenTable();
    ASSERT_TRUE(t);
    ASSERT_TRUE(Commit(t.get(), "old", "samples", 1).ok());
    now_ += 20 * kDay;
    ASSERT_TRUE(Commit(t.get(), "recent", "samples", 1).ok());
    EXPECT_EQ(t->ForgetIdle(), 0u);
    now_ += 11 * kDay;  // "old" idle 31 days, "recent" 11
    EXPECT_EQ(t->ForgetIdle(), 1u);
    EXPECT_EQ(t->LastSequence("old", "samples"), 0u);
    EXPECT_EQ(t->LastSequence("recent", "samples"), 1u);
    EXPECT_EQ(t->client_count(), 1u);
    ASSERT_TRUE(t->Stop().ok());
  }
  // Not resurrected from the journal after a restart: the snapshot's marks are past it.
  OpenJournals();
  auto t = OpenTable();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->LastSequence("old", "samples"), 0u);
  EXPECT_EQ(t->LastSequence("recent", "samples"), 1u);
  // A forgotten client starts over at 1.
  EXPECT_TRUE(Commit(t.get(), "old", "samples", 1).ok());
}

TEST_F(DedupTableTest, HelloCountsAsActivity) {
  auto t = OpenTable();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Commit(t.get(), "c1", "samples", 1).ok());
  now_ += 29 * kDay;
  EXPECT_EQ(t->Hello("c1")["samples"], 1u);
  now_ += 29 * kDay;
  EXPECT_EQ(t->ForgetIdle(), 0u);
}

TEST_F(DedupTableTest, DamagedSnapshotIsReportedNamingTheFile) {
  {
    auto t = OpenTable();
    ASSERT_TRUE(t);
    ASSERT_TRUE(Commit(t.get(), "c1", "samples", 1).ok());
    ASSERT_TRUE(t->Stop().ok());
  }
  journal::testing::WriteBytes(dir_.Sub("state/dedup.json"), "{\"format\": 1, \"clients\": ");
  OpenJournals();
  auto t = DedupTable::Open(journals_.get(), Options());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kCorruption);
  EXPECT_NE(t.status().message().find("dedup.json"), std::string::npos) << t.status().message();
}

}  // namespace
}  // namespace sluice::admission
