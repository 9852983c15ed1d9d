// The shared intent scan: which intents of a model stream have no outcome, kept up to
// date by its follower and by CatchUp, reading each record once.

#include "replicate/intent_scan.h"

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "journal/journal_set.h"
#include "record/record_codec.h"

namespace sluice::replicate {
namespace {

using journal::Lsn;

class IntentScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-intents-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    journal::JournalSetOptions jo;
    jo.data_dir = dir_;
    jo.streams = {{"model", 0}};
    jo.segment_bytes = 64 << 10;
    auto set = journal::JournalSet::Open(jo);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    set_ = std::move(set).value();
    j_ = set_->stream("model");
  }
  void TearDown() override {
    set_.reset();
    std::filesystem::remove_all(dir_);
  }

  Lsn Append(const v1::Record& r) {
    auto lsn = j_->AppendDurable(record::kRecordV1, record::EncodeRecord(r));
    EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    return lsn.ok() ? *lsn : 0;
  }
  Lsn Intent() {
    v1::Record r;
    r.set_version(++version_);
    r.mutable_intent()->set_kind(v1::SyncIntent::KIND_MODEL);
    r.mutable_intent()->mutable_statement()->set_text("INSERT INTO t VALUES (1)");
    return Append(r);
  }
  Lsn Outcome(Lsn of) {
    v1::Record r;
    r.set_version(++version_);
    r.mutable_outcome()->set_intent_lsn(of);
    r.mutable_outcome()->set_applied(true);
    return Append(r);
  }
  Lsn Sql() {
    v1::Record r;
    r.set_version(++version_);
    r.mutable_sql()->set_text("CREATE TABLE IF NOT EXISTS t(x INTEGER)");
    return Append(r);
  }

  std::string dir_;
  std::unique_ptr<journal::JournalSet> set_;
  journal::Journal* j_ = nullptr;
  uint64_t version_ = 0;
};

TEST_F(IntentScanTest, UndecidedIntentsAreThoseWithoutAnOutcome) {
  Sql();
  Lsn i1 = Intent();
  Lsn i2 = Intent();
  Outcome(i1);
  Lsn i3 = Intent();
  auto scan = IntentScan::For(j_);
  EXPECT_EQ(scan, IntentScan::For(j_)) << "one scan per journal";
  ASSERT_TRUE(scan->CatchUp().ok());
  EXPECT_EQ(scan->Undecided(), (std::vector<Lsn>{i2, i3}));
  EXPECT_FALSE(scan->IsUndecided(i1));
  EXPECT_TRUE(scan->IsUndecided(i2));
  EXPECT_EQ(scan->scanned_to(), j_->durable_lsn());

  Outcome(i3);
  Lsn i4 = Intent();
  ASSERT_TRUE(scan->CatchUp().ok());
  EXPECT_EQ(scan->Undecided(), (std::vector<Lsn>{i2, i4}));
  EXPECT_EQ(scan->scanned_to(), j_->durable_lsn());
}

TEST_F(IntentScanTest, TheFollowerKeepsUpWithoutBeingAsked) {
  auto scan = IntentScan::For(j_);
  Lsn i1 = Intent();
  for (int i = 0; i < 200; ++i) Sql();
  Lsn last = Outcome(i1);
  Lsn i2 = Intent();
  for (int i = 0; i < 600 && scan->scanned_to() < i2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(scan->scanned_to(), i2);
  EXPECT_GT(i2, last);
  EXPECT_EQ(scan->Undecided(), (std::vector<Lsn>{i2}));
}

TEST_F(IntentScanTest, IntentsDeletedByRetentionAreForgotten) {
  Lsn i1 = Intent();
  v1::Record sql;
  sql.mutable_sql()->set_text("CREATE TABLE IF NOT EXISTS t(x INTEGER)");
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(j_->Append(record::kRecordV1, record::EncodeRecord(sql)).ok());
  ASSERT_TRUE(j_->Flush().ok());  // several 64 KiB segments
  Lsn i2 = Intent();
  auto scan = IntentScan::For(j_);
  ASSERT_TRUE(scan->CatchUp().ok());
  EXPECT_EQ(scan->Undecided(), (std::vector<Lsn>{i1, i2}));
  ASSERT_TRUE(j_->DeleteSegmentsUpTo(i2 - 1).ok());
  ASSERT_GT(j_->first_lsn(), i1);
  ASSERT_TRUE(scan->CatchUp().ok());
  EXPECT_EQ(scan->Undecided(), (std::vector<Lsn>{i2}));
}

}  // namespace
}  // namespace sluice::replicate
