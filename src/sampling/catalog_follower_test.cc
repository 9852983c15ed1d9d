// The catalog follows the model journal: a change takes effect when its outcome marker
// says applied (also after a restart that found it undecided), never when rejected; the
// snapshot restores it without the journal before it; damage names the file and field;
// a journal that no longer holds what follows the snapshot stops the follower loudly.
#include "sampling/catalog_follower.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "record/record_codec.h"
#include "support/temp_dir.h"

namespace sluice::sampling {
namespace {

using std::chrono::milliseconds;

class CatalogFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenJournals(); }

  void OpenJournals() {
    journal::JournalSetOptions o;
    o.data_dir = dir_.path();
    o.streams.push_back({"model", 0});
    auto j = journal::JournalSet::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journals_ = std::move(j).value();
  }

  Result<std::unique_ptr<CatalogFollower>> OpenFollower(Catalog* catalog) {
    CatalogFollowerOptions o;
    o.path = path();
    o.on_change = [this] { ++changes_; };
    return CatalogFollower::Open(journals_.get(), catalog, o);
  }

  std::string path() const { return dir_.path() + "/sampling.json"; }

  uint64_t Append(const v1::Record& r) {
    auto lsn =
        journals_->stream("model")->AppendDurable(record::kRecordV1, record::EncodeRecord(r));
    EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    return lsn.ok() ? *lsn : 0;
  }
  uint64_t AppendIntent(int64_t point_id, const std::string& name) {
    v1::Record r;
    auto* intent = r.mutable_intent();
    intent->set_kind(v1::SyncIntent::KIND_MODEL);
    intent->mutable_statement()->set_text("INSERT INTO point ...");
    auto* p = intent->mutable_catalog()->add_put_points();
    p->set_id(point_id);
    p->set_name(name);
    return Append(r);
  }
  void AppendOutcome(uint64_t intent_lsn, bool applied) {
    v1::Record r;
    r.mutable_outcome()->set_intent_lsn(intent_lsn);
    r.mutable_outcome()->set_applied(applied);
    Append(r);
  }

  testing::TempDir dir_{"catalog-follower"};
  std::unique_ptr<journal::JournalSet> journals_;
  std::atomic<int> changes_{0};
};

TEST_F(CatalogFollowerTest, AppliedOutcomesTakeEffectRejectedOnesDoNot) {
  Catalog catalog;
  auto f = OpenFollower(&catalog);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  (*f)->Start();
  const uint64_t a = AppendIntent(1, "A");
  const uint64_t b = AppendIntent(2, "B");
  EXPECT_FALSE((*f)->WaitDecided(a, milliseconds(300)));  // undecided: nothing applied
  EXPECT_EQ(catalog.point_count(), 0u);
  AppendOutcome(b, false);
  AppendOutcome(a, true);
  ASSERT_TRUE((*f)->WaitDecided(a, milliseconds(10'000)));
  ASSERT_TRUE((*f)->WaitDecided(b, milliseconds(10'000)));
  ASSERT_EQ(catalog.point_count(), 1u);
  EXPECT_EQ(catalog.Points()[0].name, "A");
  EXPECT_EQ(changes_.load(), 1);
  auto stats = (*f)->stats();
  EXPECT_EQ(stats.applied, 1u);
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_TRUE(stats.error.empty());
  ASSERT_TRUE((*f)->Stop().ok());
}

// A call answered UNKNOWN: its intent is undecided when sluiced stops, and decided
// (applied) after the restart. The snapshot kept it; the catalog takes it then.
TEST_F(CatalogFollowerTest, UndecidedIntentAppliedAfterRestartTakesEffect) {
  uint64_t a, b;
  {
    Catalog catalog;
    auto f = OpenFollower(&catalog);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    a = AppendIntent(1, "A");
    AppendOutcome(a, true);
    b = AppendIntent(2, "B");
    (*f)->Start();
    ASSERT_TRUE((*f)->WaitDecided(a, milliseconds(10'000)));
    ASSERT_TRUE((*f)->Stop().ok());
    EXPECT_EQ((*f)->stats().pending, 1u);
  }
  journals_.reset();
  OpenJournals();
  AppendOutcome(b, true);
  Catalog catalog;
  auto f = OpenFollower(&catalog);  // Open catches up with the journal
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(catalog.point_count(), 2u);
  EXPECT_TRUE((*f)->WaitDecided(b, milliseconds(0)));
}

// The snapshot alone restores the catalog: the journal before it is not read.
TEST_F(CatalogFollowerTest, SnapshotRestoresWithoutReadingTheJournalBeforeIt) {
  {
    Catalog catalog;
    auto f = OpenFollower(&catalog);
    ASSERT_TRUE(f.ok());
    AppendOutcome(AppendIntent(7, "P7"), true);
    (*f)->Start();
    ASSERT_TRUE((*f)->WaitDecided(1, milliseconds(10'000)));
    ASSERT_TRUE((*f)->Stop().ok());
  }
  // Same LSNs, same epoch, but nothing the follower would need: it must trust the file.
  std::ifstream in(path());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"P7\""), std::string::npos);
  Catalog catalog;
  auto f = OpenFollower(&catalog);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(catalog.point_count(), 1u);
  EXPECT_EQ((*f)->stats().lsn, journals_->stream("model")->durable_lsn());
}

TEST_F(CatalogFollowerTest, DamagedSnapshotNamesFileAndField) {
  {
    std::ofstream out(path());
    out << R"({"format": 1, "lsn": "0", "points": [{"id": "1", "name": "A"}, {"id": "2", "name": ""}]})";
  }
  Catalog catalog;
  auto f = OpenFollower(&catalog);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kCorruption);
  EXPECT_NE(f.status().message().find(path()), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find("points[1]"), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find("name"), std::string::npos) << f.status().message();
  {
    std::ofstream out(path());
    out << R"({"format": 1, "lsn": "not a number"})";
  }
  f = OpenFollower(&catalog);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("lsn"), std::string::npos) << f.status().message();
}

// The journal does not hold what follows the snapshot: an error, in stats, no guess.
TEST_F(CatalogFollowerTest, JournalGapStopsFollowingAndSaysSo) {
  AppendOutcome(AppendIntent(1, "A"), true);
  {
    std::ofstream out(path());
    out << R"({"format": 1, "epoch": ")" << journal::EpochToHex(journals_->epoch())
        << R"(", "lsn": "50", "points": [{"id": "9", "name": "Z"}]})";
  }
  Catalog catalog;
  auto f = OpenFollower(&catalog);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto stats = (*f)->stats();
  EXPECT_NE(stats.error.find("model LSN 50"), std::string::npos) << stats.error;
  EXPECT_EQ(catalog.point_count(), 1u);  // the snapshot's, nothing guessed
  EXPECT_FALSE((*f)->WaitDecided(1, milliseconds(0)));
}

}  // namespace
}  // namespace sluice::sampling
