#include "admission/admitter.h"

#include <filesystem>

#include <gtest/gtest.h>

namespace sluice::admission {
namespace {

class AdmitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-admit-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    Open();
  }
  void TearDown() override {
    admitter_.reset();
    journals_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    admitter_.reset();
    journals_.reset();
    journal::JournalSetOptions o;
    o.data_dir = dir_;
    o.streams = {{"sql", 0}, {"samples", 0}};
    auto set = journal::JournalSet::Open(o);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    journals_ = std::move(set).value();
    AdmissionOptions ao;
    ao.target_dialects = {"sqlite", "postgres"};
    ao.version_block = 10;
    auto a = Admitter::Open(journals_.get(), ao);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    admitter_ = std::move(a).value();
  }
  v1::Record Sql(const std::string& text) {
    v1::Record r;
    r.mutable_sql()->set_text(text);
    return r;
  }
  v1::Record Samples(int64_t ts) {
    v1::Record r;
    auto* s = r.mutable_samples();
    s->set_interval(v1::SAMPLE_INTERVAL_1S);
    s->add_point_id(1);
    s->add_ts_us(ts);
    s->add_value(2.0);
    s->add_quality(0);
    return r;
  }

  std::string dir_;
  std::unique_ptr<journal::JournalSet> journals_;
  std::unique_ptr<Admitter> admitter_;
};

TEST_F(AdmitterTest, NonDeterministicSqlIsRefusedAndNothingIsJournaled) {
  for (const char* text : {"INSERT INTO t VALUES (now())", "INSERT INTO t VALUES (random())",
                           "INSERT INTO t VALUES (nextval('s'))", "UPDATE t SET at = current_timestamp"}) {
    auto lsn = admitter_->Admit("sql", Sql(text));
    ASSERT_FALSE(lsn.ok()) << text;
    EXPECT_EQ(lsn.status().code(), Code::kInvalidArgument);
    EXPECT_NE(lsn.status().message().find("differently"), std::string::npos) << lsn.status().message();
  }
  auto now = admitter_->Admit("sql", Sql("INSERT INTO t VALUES (now())"));
  EXPECT_NE(now.status().message().find("now()"), std::string::npos) << now.status().message();
  EXPECT_EQ(journals_->stream("sql")->last_assigned_lsn(), 0u);
  auto ok = admitter_->Admit("sql", Sql("INSERT INTO t VALUES ($1)"));
  EXPECT_FALSE(ok.ok()) << "a placeholder without a parameter must be refused";
  v1::Record bound = Sql("INSERT INTO t VALUES ($1)");
  bound.mutable_sql()->add_params()->set_timestamp_us(1'700'000'000'000'000);
  auto good = admitter_->Admit("sql", bound);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(*good, 1u);
}

TEST_F(AdmitterTest, SqlNeedsATextForEveryTargetDialect) {
  v1::Record r;
  (*r.mutable_sql()->mutable_dialect_text())["sqlite"] = "INSERT INTO t VALUES (1)";
  auto lsn = admitter_->Admit("sql", r);
  ASSERT_FALSE(lsn.ok());
  EXPECT_NE(lsn.status().message().find("postgres"), std::string::npos) << lsn.status().message();
  (*r.mutable_sql()->mutable_dialect_text())["postgres"] = "INSERT INTO t VALUES (1)";
  EXPECT_TRUE(admitter_->Admit("sql", r).ok());
}

TEST_F(AdmitterTest, TimestampsOutsideTheWindowAreRefusedNamingTheValue) {
  auto old = admitter_->Admit("samples", Samples(946'684'799'999'999));
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("946684799999999"), std::string::npos) << old.status().message();
  auto future = admitter_->Admit("samples", Samples(NowMicros() + 2 * 86'400'000'000LL));
  ASSERT_FALSE(future.ok());
  EXPECT_TRUE(admitter_->Admit("samples", Samples(NowMicros())).ok());
}

TEST_F(AdmitterTest, BadShapesAreRefused) {
  v1::Record r = Samples(NowMicros());
  r.mutable_samples()->add_value(3.0);
  auto lsn = admitter_->Admit("samples", r);
  ASSERT_FALSE(lsn.ok());
  EXPECT_NE(lsn.status().message().find("columns differ"), std::string::npos);
  v1::Record none;
  EXPECT_FALSE(admitter_->Admit("samples", none).ok());
  EXPECT_EQ(admitter_->Admit("nope", Samples(NowMicros())).status().code(), Code::kNotFound);
}

TEST_F(AdmitterTest, VersionsKeepGrowingAcrossRestarts) {
  uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 25; ++i) {
      ASSERT_TRUE(admitter_->Admit("samples", Samples(NowMicros())).ok());
      EXPECT_GT(admitter_->last_version(), last);
      last = admitter_->last_version();
    }
    Open();  // a restart: versions continue above everything handed out
  }
}

}  // namespace
}  // namespace sluice::admission
