#include "admission/admitter.h"

#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "journal/reader.h"

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
  void Open(uint64_t budget_bytes = 0) {
    admitter_.reset();
    journals_.reset();
    journal::JournalSetOptions o;
    o.data_dir = dir_;
    o.streams = {{"sql", 0}, {"samples", 0}};
    o.max_record_bytes = 64 << 10;
    o.budget_bytes = budget_bytes;
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

  // The records of `stream` from `from` on, as journaled.
  std::vector<v1::Record> Journaled(const std::string& stream, journal::Lsn from) {
    std::vector<v1::Record> out;
    journal::Journal* j = journals_->stream(stream);
    EXPECT_TRUE(j->Flush().ok());
    auto reader = journal::Reader::Open(j, from);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return out;
    journal::ReadBatch batch;
    while (true) {
      Status s = (*reader)->Read(1000, 1 << 20, &batch);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok() || batch.empty()) return out;
      for (const auto& rv : batch.records()) {
        v1::Record r;
        EXPECT_TRUE(r.ParseFromArray(rv.payload.data(), static_cast<int>(rv.payload.size())));
        out.push_back(std::move(r));
      }
    }
  }
  v1::ClientTag Tag(const std::string& client, uint64_t sequence) {
    v1::ClientTag t;
    t.set_client_id(client);
    t.set_sequence(sequence);
    return t;
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

// A lost or replaced data directory (no state/version) must not start versions again
// below those its targets already hold: converging upserts would ignore every later write
// of an existing key.
TEST_F(AdmitterTest, VersionsStayAboveThoseHandedOutBeforeTheDataDirectoryWasLost) {
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(admitter_->Admit("samples", Samples(NowMicros())).ok());
  const uint64_t before = admitter_->last_version();
  admitter_.reset();
  journals_.reset();
  std::filesystem::remove_all(dir_);  // the data directory is lost
  std::filesystem::create_directories(dir_);
  Open();
  ASSERT_TRUE(admitter_->Admit("samples", Samples(NowMicros())).ok());
  EXPECT_GT(admitter_->last_version(), before);
  auto journaled = Journaled("samples", 1);
  ASSERT_EQ(journaled.size(), 1u);
  EXPECT_GT(journaled[0].version(), before);
  // A signed 64-bit column holds it (targets store versions as BIGINT / INTEGER).
  EXPECT_LT(journaled[0].version(), uint64_t{INT64_MAX});
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

TEST_F(AdmitterTest, ABatchWithOneBadRecordJournalsNothingAndNamesTheRecord) {
  ASSERT_TRUE(admitter_->Admit("samples", Samples(NowMicros())).ok());
  journal::Journal* j = journals_->stream("samples");
  const journal::Lsn head = j->last_assigned_lsn();
  const uint64_t version = admitter_->last_version();
  std::vector<v1::Record> batch = {Samples(NowMicros()), Samples(NowMicros()),
                                   Samples(946'684'799'999'999), Samples(NowMicros())};
  auto refused = admitter_->AdmitBatch("samples", batch, Tag("scada-1", 1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message().rfind("record 2: ", 0), 0u) << refused.status().message();
  EXPECT_NE(refused.status().message().find("946684799999999"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(j->last_assigned_lsn(), head) << "the good records before it were journaled";
  EXPECT_EQ(admitter_->last_version(), version) << "a refused batch takes no versions";

  // A record the journal could not take (too large) is refused before anything is queued
  // too, and named.
  batch = {Samples(NowMicros()), Sql("INSERT INTO t VALUES ('" + std::string(70 << 10, 'x') + "')")};
  refused = admitter_->AdmitBatch("samples", batch, std::nullopt);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message().rfind("record 1: ", 0), 0u) << refused.status().message();
  EXPECT_NE(refused.status().message().find("maximum record size"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(j->last_assigned_lsn(), head);

  EXPECT_EQ(admitter_->AdmitBatch("nope", {Samples(NowMicros())}, std::nullopt).status().code(),
            Code::kNotFound);
  EXPECT_EQ(admitter_->AdmitBatch("samples", {}, std::nullopt).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(j->last_assigned_lsn(), head);
}

TEST_F(AdmitterTest, ABatchIsJournaledUnderConsecutiveLsnsWithItsClientTag) {
  ASSERT_TRUE(admitter_->Admit("samples", Samples(NowMicros())).ok());
  std::vector<v1::Record> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Samples(NowMicros()));
  // A tag the caller put in a record is replaced by the request's.
  *batch[3].mutable_client() = Tag("forged", 99);
  auto admitted = admitter_->AdmitBatch("samples", batch, Tag("scada-1", 7));
  ASSERT_TRUE(admitted.ok()) << admitted.status().ToString();
  EXPECT_EQ(admitted->first, 2u);
  EXPECT_EQ(admitted->last, 6u);
  EXPECT_GE(journals_->stream("samples")->durable_lsn(), 6u) << "wait = true waits for the ack";
  auto records = Journaled("samples", admitted->first);
  ASSERT_EQ(records.size(), 5u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].client().client_id(), "scada-1") << i;
    EXPECT_EQ(records[i].client().sequence(), 7u) << i;
    EXPECT_EQ(records[i].version(), records[0].version() + i) << i;
    EXPECT_EQ(records[i].admitted_at_us(), records[0].admitted_at_us()) << i;
  }
  EXPECT_EQ(admitter_->last_version(), records.back().version());

  // Without a client, no record keeps a tag: the de-duplication rebuild trusts them.
  batch = {Samples(NowMicros()), Samples(NowMicros())};
  *batch[0].mutable_client() = Tag("forged", 1);
  admitted = admitter_->AdmitBatch("samples", batch, std::nullopt, /*wait=*/false);
  ASSERT_TRUE(admitted.ok()) << admitted.status().ToString();
  ASSERT_TRUE(journals_->stream("samples")->WaitDurable(admitted->last).ok());
  records = Journaled("samples", admitted->first);
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) EXPECT_FALSE(r.has_client());
}

TEST_F(AdmitterTest, ABatchAboveTheBudgetIsRefusedWhole) {
  Open(/*budget_bytes=*/256 << 10);
  journal::Journal* j = journals_->stream("samples");
  std::vector<v1::Record> batch;
  // Each record fits, the batch does not: none may be journaled.
  for (int i = 0; i < 10; ++i) {
    batch.push_back(Sql(fmt::format("INSERT INTO t VALUES ({}, '{}')", i, std::string(40 << 10, 'x'))));
  }
  auto refused = admitter_->AdmitBatch("samples", batch, Tag("c", 1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status().ToString();
  EXPECT_EQ(j->last_assigned_lsn(), 0u);
  batch.resize(2);
  EXPECT_TRUE(admitter_->AdmitBatch("samples", batch, Tag("c", 1)).ok());
  EXPECT_EQ(j->last_assigned_lsn(), 2u);
}

TEST_F(AdmitterTest, VersionsOfBatchesKeepGrowingAcrossRestarts) {
  uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      // Batches larger than the reserved block (10) must still be covered by the mark.
      std::vector<v1::Record> batch(13, Samples(NowMicros()));
      auto admitted = admitter_->AdmitBatch("samples", batch, std::nullopt);
      ASSERT_TRUE(admitted.ok()) << admitted.status().ToString();
      EXPECT_GE(admitter_->last_version(), last + 13);
      last = admitter_->last_version();
    }
    Open();
    ASSERT_TRUE(admitter_->Admit("samples", Samples(NowMicros())).ok());
    EXPECT_GT(admitter_->last_version(), last);
    last = admitter_->last_version();
  }
}

}  // namespace
}  // namespace sluice::admission
