// Appliers against real SQLite files: exactly-once application with the watermark, error
// isolation and the error log (skip and block), operator retry, intents waiting for their
// outcome, "needs resync" and divergence.

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "record/record_codec.h"
#include "replicate/replicator.h"
#include "support/sqlite_rows.h"
#include "support/temp_dir.h"

namespace sluice::replicate {
namespace {

using journal::Lsn;

using ::sluice::testing::TempDir;

// Rows of a query as strings, for comparisons; a query that fails fails the test.
std::vector<std::vector<std::string>> Query(const std::string& file, const std::string& sql) {
  auto rows = ::sluice::testing::QueryRows(file, sql,
                                           {.read_only = true, .busy_timeout_ms = 0, .null_text = "NULL"});
  if (!rows.ok()) {
    ADD_FAILURE() << rows.status().ToString();
    return {};
  }
  return *rows;
}

std::string One(const std::string& file, const std::string& sql) {
  auto rows = Query(file, sql);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

class ApplierSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = dir_.path() + "/data";
    OpenJournal();
  }

  void OpenJournal() {
    journal::JournalSetOptions jo;
    jo.data_dir = data_dir_;
    jo.streams = {{"sql", 0}, {"samples", 0}, {"model", 0}};
    jo.segment_bytes = 1 << 20;
    auto set = journal::JournalSet::Open(jo);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    journals_ = std::move(set).value();
  }

  std::string Db(const std::string& name) { return dir_.path() + "/" + name + ".db"; }

  // SQLite targets named `targets` (files beside the data directory) on `streams`.
  ReplicatorOptions Options(const std::vector<std::string>& targets, std::vector<StreamSpec> streams) {
    ReplicatorOptions o;
    o.node_id = "n1";
    o.data_dir = data_dir_;
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(200);
    for (const auto& t : targets) {
      TargetSpec ts;
      ts.name = t;
      ts.dialect = "sqlite";
      ts.connection = Db(t);
      o.targets.push_back(ts);
    }
    o.streams = std::move(streams);
    return o;
  }

  void StartReplicator(std::vector<std::string> targets, OnError on_error = OnError::kSkip) {
    ReplicatorOptions o = Options(targets, {StreamSpec{"sql", true, on_error, 0, 0},
                                            StreamSpec{"samples", false, OnError::kSkip, 0, 0},
                                            StreamSpec{"model", true, OnError::kSkip, 0, 0}});
    auto r = Replicator::Create(journals_.get(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    replicator_ = std::move(r).value();
    replicator_->Start();
  }

  Lsn AppendSql(const std::string& stream, const std::string& text, std::vector<int64_t> ints = {}) {
    v1::Record r;
    r.set_version(++version_);
    r.mutable_sql()->set_text(text);
    for (int64_t v : ints) r.mutable_sql()->add_params()->set_int_value(v);
    return Append(stream, r);
  }

  Lsn Append(const std::string& stream, const v1::Record& r) {
    auto lsn = journals_->stream(stream)->AppendDurable(record::kRecordV1, record::EncodeRecord(r));
    EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    return lsn.ok() ? *lsn : 0;
  }

  void WaitApplied(const std::string& target, const std::string& stream, Lsn lsn) {
    Applier* a = replicator_->applier(target, stream);
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(a->WaitApplied(lsn, std::chrono::seconds(120)))
        << "target " << target << " stream " << stream << " stuck at " << a->status().applied_lsn
        << ": " << a->status().last_error;
  }

  TempDir dir_;
  std::string data_dir_;
  std::unique_ptr<journal::JournalSet> journals_;
  std::unique_ptr<Replicator> replicator_;
  uint64_t version_ = 0;
};

TEST_F(ApplierSqliteTest, AppliesEverythingOnceWithWatermarkAcrossRestarts) {
  StartReplicator({"a", "b"});
  AppendSql("sql", "CREATE TABLE counter(id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
  AppendSql("sql", "INSERT INTO counter VALUES (1, 0)");
  // Dependent updates: the final value depends on their order.
  for (int i = 1; i <= 300; ++i) AppendSql("sql", "UPDATE counter SET v = v * 3 % 1000003 + $1 WHERE id = 1", {i});
  Lsn head = journals_->stream("sql")->durable_lsn();
  WaitApplied("a", "sql", head);
  WaitApplied("b", "sql", head);
  int64_t expect = 0;
  for (int i = 1; i <= 300; ++i) expect = expect * 3 % 1000003 + i;
  for (const char* t : {"a", "b"}) {
    EXPECT_EQ(One(Db(t), "SELECT v FROM counter"), std::to_string(expect)) << t;
    EXPECT_EQ(One(Db(t), "SELECT lsn FROM sluice_watermark WHERE stream = 'sql'"), std::to_string(head)) << t;
  }
  // A restart resumes after the watermark: nothing is applied twice.
  replicator_.reset();
  for (int i = 301; i <= 310; ++i) AppendSql("sql", "UPDATE counter SET v = v * 3 % 1000003 + $1 WHERE id = 1", {i});
  for (int i = 301; i <= 310; ++i) expect = expect * 3 % 1000003 + i;
  StartReplicator({"a", "b"});
  head = journals_->stream("sql")->durable_lsn();
  WaitApplied("a", "sql", head);
  WaitApplied("b", "sql", head);
  for (const char* t : {"a", "b"}) EXPECT_EQ(One(Db(t), "SELECT v FROM counter"), std::to_string(expect)) << t;
}

TEST_F(ApplierSqliteTest, SamplesLandRowByRow) {
  StartReplicator({"a"});
  constexpr int kBatches = 50, kRows = 200;
  for (int b = 0; b < kBatches; ++b) {
    v1::Record r;
    r.set_version(++version_);
    auto* s = r.mutable_samples();
    s->set_interval(v1::SAMPLE_INTERVAL_1MIN);
    for (int i = 0; i < kRows; ++i) {
      s->add_point_id(i);
      s->add_ts_us(1'700'000'000'000'000 + int64_t{b} * 60'000'000);
      s->add_value(b * 1000.0 + i + 0.25);
      s->add_quality(0);
    }
    Append("samples", r);
  }
  WaitApplied("a", "samples", journals_->stream("samples")->durable_lsn());
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM sample_1min"), std::to_string(kBatches * kRows));
  EXPECT_EQ(One(Db("a"), "SELECT value FROM sample_1min WHERE point_id = 17 AND ts = 1700000000000000 + 7 * 60000000"),
            "7017.25");
}

TEST_F(ApplierSqliteTest, PoisonRecordsGoToTheErrorLogAndTheStreamGoesOn) {
  StartReplicator({"a"});
  AppendSql("sql", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  AppendSql("sql", "INSERT INTO t VALUES (1, 'one')");
  Lsn syntax = AppendSql("sql", "INSRT INTO t VALUES (2, 'two')");    // syntax error
  Lsn dup = AppendSql("sql", "INSERT INTO t VALUES (1, 'again')");     // unique violation
  Lsn missing = AppendSql("sql", "INSERT INTO nowhere VALUES (1)");    // no such table
  AppendSql("sql", "INSERT INTO t VALUES (3, 'three')");
  Lsn head = journals_->stream("sql")->durable_lsn();
  WaitApplied("a", "sql", head);
  EXPECT_EQ(One(Db("a"), "SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY id)"), "1,3");
  auto errors = replicator_->error_log("a")->List({});
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 3u);
  EXPECT_EQ((*errors)[0].lsn, syntax);
  EXPECT_NE((*errors)[0].message.find("syntax error"), std::string::npos) << (*errors)[0].message;
  EXPECT_EQ((*errors)[1].lsn, dup);
  EXPECT_NE((*errors)[1].message.find("UNIQUE"), std::string::npos) << (*errors)[1].message;
  EXPECT_EQ((*errors)[2].lsn, missing);
  EXPECT_NE((*errors)[2].message.find("nowhere"), std::string::npos) << (*errors)[2].message;
  // The target's own table has the same rejections.
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM sluice_error"), "3");
  EXPECT_EQ(replicator_->applier("a", "sql")->status().rejected, 3u);

  // Retry after fixing the cause applies it once, on this target.
  AppendSql("sql", "CREATE TABLE nowhere(x INTEGER)");
  WaitApplied("a", "sql", journals_->stream("sql")->durable_lsn());
  ASSERT_TRUE(replicator_->applier("a", "sql")->Retry(missing).ok());
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM nowhere"), "1");
  Status again = replicator_->applier("a", "sql")->Retry(missing);
  EXPECT_EQ(again.code(), Code::kFailedPrecondition) << again.ToString();
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM nowhere"), "1");
  ASSERT_TRUE(replicator_->applier("a", "sql")->Discard(syntax).ok());
  auto open = replicator_->error_log("a")->List({});
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].lsn, dup);
}

TEST_F(ApplierSqliteTest, BlockPolicyStopsTheStreamUntilTheOperatorActs) {
  StartReplicator({"a"}, OnError::kBlock);
  AppendSql("sql", "CREATE TABLE t(id INTEGER PRIMARY KEY)");
  Lsn bad = AppendSql("sql", "INSERT INTO later VALUES (1)");
  Lsn after = AppendSql("sql", "INSERT INTO t VALUES (1)");
  Applier* a = replicator_->applier("a", "sql");
  for (int i = 0; i < 12000 && a->status().state != ApplierState::kBlocked; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(a->status().state, ApplierState::kBlocked);
  EXPECT_EQ(a->status().blocked_lsn, bad);
  EXPECT_NE(a->status().last_error.find("later"), std::string::npos) << a->status().last_error;
  EXPECT_FALSE(a->WaitApplied(after, std::chrono::milliseconds(300)));
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM t"), "0");
  // The retry fails while the cause is there, and the stream stays blocked.
  EXPECT_FALSE(a->Retry(bad).ok());
  EXPECT_EQ(a->status().state, ApplierState::kBlocked);
  // Fix the cause on the target by hand, then retry: applied once, and the stream goes on.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Db("a").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE later(x INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  Status s = a->Retry(bad);
  ASSERT_TRUE(s.ok()) << s.ToString();
  WaitApplied("a", "sql", after);
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM later"), "1");
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM t"), "1");
}

TEST_F(ApplierSqliteTest, IntentsWaitForTheirOutcomeAndRejectedOnesAreSkipped) {
  StartReplicator({"a"});
  AppendSql("model", "CREATE TABLE m(id INTEGER PRIMARY KEY, v INTEGER)");
  auto intent = [&](const std::string& text) {
    v1::Record r;
    r.set_version(++version_);
    r.mutable_intent()->set_kind(v1::SyncIntent::KIND_MODEL);
    r.mutable_intent()->mutable_statement()->set_text(text);
    return Append("model", r);
  };
  auto outcome = [&](Lsn of, bool applied) {
    v1::Record r;
    r.set_version(++version_);
    r.mutable_outcome()->set_intent_lsn(of);
    r.mutable_outcome()->set_applied(applied);
    return Append("model", r);
  };
  Lsn i1 = intent("INSERT INTO m VALUES (1, 10)");
  Lsn i2 = intent("INSERT INTO m VALUES (2, 20)");
  outcome(i1, true);
  // i2 has no outcome yet: nothing from it on may be applied.
  Applier* a = replicator_->applier("a", "model");
  ASSERT_TRUE(a->WaitApplied(i2 - 1, std::chrono::seconds(120)));
  EXPECT_FALSE(a->WaitApplied(i2, std::chrono::milliseconds(500)));
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM m"), "1");
  Lsn o2 = outcome(i2, false);  // the active target rejected it
  Lsn i3 = intent("INSERT INTO m VALUES (3, 30)");
  Lsn o3 = outcome(i3, true);
  ASSERT_GT(o3, o2);
  WaitApplied("a", "model", o3);
  EXPECT_EQ(One(Db("a"), "SELECT group_concat(id) FROM (SELECT id FROM m ORDER BY id)"), "1,3");
}

// Counts the bytes read through the files it opens.
class CountingFileSystem : public FileSystem {
 public:
  explicit CountingFileSystem(FileSystem* base) : base_(base) {}
  uint64_t bytes_read() const { return bytes_read_.load(); }

  Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    SLUICE_ASSIGN_OR_RETURN(auto f, base_->NewReadableFile(path));
    return std::unique_ptr<ReadableFile>(std::make_unique<File>(std::move(f), &bytes_read_));
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, bool exclusive) override {
    return base_->NewWritableFile(path, exclusive);
  }
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    return base_->ReopenWritableFile(path);
  }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override { return base_->ListDir(path); }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Status RenameFile(const std::string& from, const std::string& to) override { return base_->RenameFile(from, to); }
  Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  Status Truncate(const std::string& path, uint64_t size) override { return base_->Truncate(path, size); }
  Result<SpaceInfo> Space(const std::string& path) override { return base_->Space(path); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override { return base_->LockFile(path); }
  Result<int> LockHolder(const std::string& path) override { return base_->LockHolder(path); }

 private:
  class File : public ReadableFile {
   public:
    File(std::unique_ptr<ReadableFile> base, std::atomic<uint64_t>* count) : base_(std::move(base)), count_(count) {}
    Result<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
      SLUICE_ASSIGN_OR_RETURN(size_t got, base_->ReadAt(offset, n, scratch));
      *count_ += got;
      return got;
    }
    Result<uint64_t> Size() const override { return base_->Size(); }
    const std::string& path() const override { return base_->path(); }

   private:
    std::unique_ptr<ReadableFile> base_;
    std::atomic<uint64_t>* count_;
  };
  FileSystem* base_;
  std::atomic<uint64_t> bytes_read_{0};
};

// Issue #9, item 14: when the decider changes (failover) or reconnects, finding the
// intents left undecided must not read the whole retained model stream again: the new
// decider reads what was journaled since the stream was last looked at, not megabytes.
TEST_F(ApplierSqliteTest, ADeciderChangeDoesNotRereadTheModelStream) {
  CountingFileSystem fs(FileSystem::Default());
  journals_.reset();
  {
    journal::JournalSetOptions jo;
    jo.fs = &fs;
    jo.data_dir = data_dir_;
    jo.streams = {{"sql", 0}, {"samples", 0}, {"model", 0}};
    jo.segment_bytes = 1 << 20;
    auto set = journal::JournalSet::Open(jo);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    journals_ = std::move(set).value();
  }
  ReplicatorOptions o = Options({"a", "b"}, {StreamSpec{"model", true, OnError::kSkip, 0, 0}});
  auto r = Replicator::Create(journals_.get(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  replicator_ = std::move(r).value();
  std::atomic<uint64_t> outcome_version{1'000'000};
  replicator_->SetOutcomeSink("model", [&](const IntentDecision& d) -> Status {
    v1::Record rec;
    rec.set_version(++outcome_version);
    rec.mutable_outcome()->set_intent_lsn(d.intent_lsn);
    rec.mutable_outcome()->set_applied(d.applied);
    rec.mutable_outcome()->set_decided_by(d.target);
    return journals_->stream("model")->AppendDurable(record::kRecordV1, record::EncodeRecord(rec)).status();
  });
  replicator_->SetIntentDecider("a");
  replicator_->Start();

  // About 6 MiB of model records.
  AppendSql("model", "CREATE TABLE pad(id INTEGER PRIMARY KEY, x TEXT)");
  Lsn last = 0;
  for (int i = 0; i < 3000; ++i) {
    v1::Record rec;
    rec.set_version(++version_);
    rec.mutable_sql()->set_text("INSERT INTO pad(x) VALUES (?)");
    rec.mutable_sql()->add_params()->set_text_value(std::string(2000, static_cast<char>('a' + i % 26)));
    last = Append("model", rec);
  }
  WaitApplied("a", "model", last);
  WaitApplied("b", "model", last);
  // Let whatever still reads settle.
  uint64_t settled = fs.bytes_read();
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    uint64_t now = fs.bytes_read();
    if (now == settled && i >= 5) break;
    settled = now;
  }

  replicator_->SetIntentDecider("b");  // as a failover does
  v1::Record intent;
  intent.set_version(++version_);
  intent.mutable_intent()->set_kind(v1::SyncIntent::KIND_MODEL);
  intent.mutable_intent()->mutable_statement()->set_text("INSERT INTO pad(x) VALUES ('decided by b')");
  Lsn i1 = Append("model", intent);
  WaitApplied("b", "model", i1);
  WaitApplied("a", "model", i1);
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM pad WHERE x = 'decided by b'"), "1");
  EXPECT_EQ(One(Db("b"), "SELECT count(*) FROM pad WHERE x = 'decided by b'"), "1");
  const uint64_t read = fs.bytes_read() - settled;
  EXPECT_LT(read, 2u << 20) << "bytes read to change the decider and decide one intent";
  // The journals use `fs` and the sink `outcome_version`: close them before they go.
  replicator_.reset();
  journals_.reset();
}

TEST_F(ApplierSqliteTest, WatermarkAboveTheJournalHeadNeedsResync) {
  StartReplicator({"a"});
  AppendSql("sql", "CREATE TABLE t(id INTEGER)");
  for (int i = 0; i < 20; ++i) AppendSql("sql", "INSERT INTO t VALUES ($1)", {i});
  WaitApplied("a", "sql", journals_->stream("sql")->durable_lsn());
  replicator_.reset();
  journals_.reset();
  // The data directory is wiped and a new journal starts: new epoch, LSNs from 1.
  std::filesystem::remove_all(data_dir_);
  OpenJournal();
  // Make the old epoch's watermark collide: rewrite the target's watermark row so its
  // epoch is the new one, as if a journal had been replaced under the same identity.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Db("a").c_str(), &db), SQLITE_OK);
    std::string sql = fmt::format("UPDATE sluice_watermark SET epoch = '{}'",
                                  journal::EpochToHex(journals_->epoch()));
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  for (int i = 0; i < 3; ++i) AppendSql("sql", "INSERT INTO t VALUES ($1)", {100 + i});
  StartReplicator({"a"});
  Applier* a = replicator_->applier("a", "sql");
  for (int i = 0; i < 12000 && a->status().state != ApplierState::kNeedsResync; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(a->status().state, ApplierState::kNeedsResync);
  EXPECT_NE(a->status().last_error.find("above the journal head"), std::string::npos) << a->status().last_error;
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM t"), "20");  // nothing skipped, nothing applied
}

TEST_F(ApplierSqliteTest, ANewEpochStartsFreshWatermarks) {
  StartReplicator({"a"});
  AppendSql("sql", "CREATE TABLE t(id INTEGER)");
  WaitApplied("a", "sql", journals_->stream("sql")->durable_lsn());
  replicator_.reset();
  journals_.reset();
  std::filesystem::remove_all(data_dir_);
  OpenJournal();
  AppendSql("sql", "INSERT INTO t VALUES (1)");
  StartReplicator({"a"});
  WaitApplied("a", "sql", 1);
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM t"), "1");
}

// Creates `applied`, whose AUTOINCREMENT key numbers rows in the order the target
// committed them (SQLite has one writer at a time), in the target file by hand.
void CreateAppliedLog(const std::string& file) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE applied(seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "stream TEXT NOT NULL, n INTEGER NOT NULL)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

TEST_F(ApplierSqliteTest, AHigherPriorityBacklogIsAppliedBeforeALowerOne) {
  CreateAppliedLog(Db("a"));
  // Both streams have a backlog of many batches before anything runs. The records are
  // SQL in both streams so that the target itself records the order of application.
  constexpr int kRecords = 60;
  Lsn model_head = 0, samples_head = 0;
  for (int i = 0; i < kRecords; ++i) {
    model_head = AppendSql("model", "INSERT INTO applied(stream, n) VALUES ('model', $1)", {i});
    samples_head = AppendSql("samples", "INSERT INTO applied(stream, n) VALUES ('samples', $1)", {i});
  }
  ReplicatorOptions o = Options({"a"}, {});
  StreamSpec model{"model", true, OnError::kSkip, 4, 0};
  model.priority = 100;
  StreamSpec samples{"samples", false, OnError::kSkip, 4, 0};
  samples.priority = 10;
  o.streams = {samples, model};  // the order of the streams does not matter
  auto r = Replicator::Create(journals_.get(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  replicator_ = std::move(r).value();
  // Hold the target's gate above both streams until each has read its first batch and
  // waits to apply it: then which one starts first depends on priority alone, not on
  // which thread the scheduler ran first.
  std::shared_ptr<PriorityGate> gate = replicator_->priority_gate("a");
  ASSERT_NE(gate, nullptr);
  PriorityGate::Pass hold;
  ASSERT_TRUE(gate->Enter(hold, 1000, std::chrono::milliseconds(0)));
  replicator_->Start();
  ASSERT_TRUE(gate->WaitHeld(3, std::chrono::seconds(120)));
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM applied"), "0");
  hold.Release();
  WaitApplied("a", "model", model_head);
  WaitApplied("a", "samples", samples_head);
  // Every model row was committed before the first samples row.
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM applied WHERE stream = 'samples' AND seq < "
                         "(SELECT max(seq) FROM applied WHERE stream = 'model')"),
            "0");
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM applied"), std::to_string(2 * kRecords));
  // Each stream in its own order, in batches of 4.
  for (const char* stream : {"model", "samples"}) {
    EXPECT_EQ(One(Db("a"), fmt::format("SELECT count(*) FROM applied a JOIN applied b ON a.stream = b.stream "
                                       "AND a.seq < b.seq AND a.n > b.n WHERE a.stream = '{}'",
                                       stream)),
              "0")
        << stream;
    EXPECT_EQ(replicator_->applier("a", stream)->status().batches_applied, kRecords / 4u) << stream;
  }
  // Once caught up (the next read comes back empty), the appliers hold nobody up.
  for (int i = 0; i < 6000 && gate->held() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(gate->held(), 0u);
}

TEST_F(ApplierSqliteTest, BatchDelayGroupsATrickleIntoFewerBatches) {
  CreateAppliedLog(Db("a"));
  ReplicatorOptions o = Options({"a"}, {});
  StreamSpec sql{"sql", true, OnError::kSkip, 0, 0};
  sql.batch_delay = std::chrono::milliseconds(300);
  o.streams = {sql};
  auto r = Replicator::Create(journals_.get(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  replicator_ = std::move(r).value();
  replicator_->Start();
  Applier* a = replicator_->applier("a", "sql");

  // One record alone waits out the delay (a lower bound: a loaded machine only adds).
  auto start = std::chrono::steady_clock::now();
  Lsn first = AppendSql("sql", "INSERT INTO applied(stream, n) VALUES ('sql', $1)", {0});
  WaitApplied("a", "sql", first);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  ApplierStatus before = a->status();

  // A trickle: one durable record every few milliseconds.
  constexpr int kRecords = 20;
  Lsn last = 0;
  for (int i = 1; i <= kRecords; ++i) {
    last = AppendSql("sql", "INSERT INTO applied(stream, n) VALUES ('sql', $1)", {i});
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  WaitApplied("a", "sql", last);
  ApplierStatus after = a->status();
  EXPECT_EQ(after.records_applied - before.records_applied, uint64_t{kRecords});
  EXPECT_LT(after.batches_applied - before.batches_applied, uint64_t{kRecords})
      << "every record of the trickle went in a transaction of its own";
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM applied"), std::to_string(kRecords + 1));
}

TEST_F(ApplierSqliteTest, AFullBatchIsNeverDelayed) {
  ReplicatorOptions o = Options({"a"}, {});
  StreamSpec sql{"sql", true, OnError::kSkip, 5, 0};
  sql.batch_delay = std::chrono::seconds(60);
  o.streams = {sql};
  AppendSql("sql", "CREATE TABLE t(id INTEGER)");
  Lsn head = 0;
  for (int i = 0; i < 9; ++i) head = AppendSql("sql", "INSERT INTO t VALUES ($1)", {i});
  auto r = Replicator::Create(journals_.get(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  replicator_ = std::move(r).value();
  replicator_->Start();
  Applier* a = replicator_->applier("a", "sql");
  // Two full batches of 5: far sooner than the delay.
  ASSERT_TRUE(a->WaitApplied(head, std::chrono::seconds(30))) << a->status().last_error;
  EXPECT_EQ(a->status().batches_applied, 2u);
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM t"), "9");
  // A short batch waits for the delay, but a stop does not wait for it.
  AppendSql("sql", "INSERT INTO t VALUES (100)");
  EXPECT_FALSE(a->WaitApplied(head + 1, std::chrono::milliseconds(200)));
  auto start = std::chrono::steady_clock::now();
  replicator_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(ApplierSqliteTest, ATargetThatRejectsWhatAnotherAppliedIsDiverged) {
  StartReplicator({"a", "b"});
  AppendSql("sql", "CREATE TABLE t(id INTEGER)");
  WaitApplied("b", "sql", journals_->stream("sql")->durable_lsn());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Db("b").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE t", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  Lsn ins = AppendSql("sql", "INSERT INTO t VALUES (1)");
  WaitApplied("a", "sql", ins);
  WaitApplied("b", "sql", ins);
  EXPECT_FALSE(replicator_->applier("a", "sql")->status().diverged);
  EXPECT_TRUE(replicator_->applier("b", "sql")->status().diverged);
}

// Item 9 of issue 9: a target that becomes the decider and finds an intent another target
// decided as applied, but cannot apply it itself (a permanent error), logs the rejection
// and is diverged, instead of retrying the intent forever.
TEST_F(ApplierSqliteTest, ADecidedIntentTheNewDeciderCannotApplyIsLoggedAndDiverges) {
  // One record per read: the intent's outcome is never in the same read as the intent,
  // so the decider goes the way of a decision.
  ReplicatorOptions o = Options({"a", "b"}, {StreamSpec{"model", true, OnError::kSkip, 1, 0}});
  auto r = Replicator::Create(journals_.get(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  replicator_ = std::move(r).value();
  replicator_->SetOutcomeSink("model", [&](const IntentDecision& d) {
    v1::Record out;
    out.mutable_outcome()->set_intent_lsn(d.intent_lsn);
    out.mutable_outcome()->set_applied(d.applied);
    return journals_->stream("model")->AppendDurable(record::kRecordV1, record::EncodeRecord(out)).status();
  });
  replicator_->SetIntentDecider("a");
  replicator_->Start();
  Lsn create = AppendSql("model", "CREATE TABLE m(id INTEGER)");
  WaitApplied("a", "model", create);
  WaitApplied("b", "model", create);
  // b loses the table by hand and is taken out; a decides an intent that uses it.
  ASSERT_TRUE(replicator_->StopTarget("b").ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Db("b").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE m", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  v1::Record intent;
  intent.set_version(++version_);
  intent.mutable_intent()->set_kind(v1::SyncIntent::KIND_MODEL);
  intent.mutable_intent()->mutable_statement()->set_text("INSERT INTO m VALUES (1)");
  Lsn i1 = Append("model", intent);
  WaitApplied("a", "model", i1 + 1);  // the intent and its outcome marker
  // a fails over to b, which meets the decided intent first thing.
  replicator_->SetIntentDecider("b");
  ASSERT_TRUE(replicator_->StartTarget("b").ok());
  Lsn later = AppendSql("model", "CREATE TABLE n(id INTEGER)");
  Applier* b = replicator_->applier("b", "model");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->WaitApplied(later, std::chrono::seconds(30)))
      << "b is stuck at " << b->status().applied_lsn << " (" << ApplierStateName(b->status().state)
      << "): " << b->status().last_error;
  auto errors = replicator_->error_log("b")->List({});
  ASSERT_TRUE(errors.ok()) << errors.status().ToString();
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].lsn, i1);
  EXPECT_TRUE(b->status().diverged) << "b rejected what a applied";
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM m"), "1");
}

// Item 15 of issue 9: the error log's key includes the journal's epoch. A new epoch (the
// journal directory was replaced, the error log kept) starts LSNs again; its rejection at
// an LSN an old entry also has is a different record and must be listed and retried as
// itself.
TEST_F(ApplierSqliteTest, ErrorLogEntriesOfDifferentEpochsAreKeptApart) {
  StartReplicator({"a"});
  AppendSql("sql", "CREATE TABLE t(id INTEGER)");
  Lsn old_bad = AppendSql("sql", "INSERT INTO old_late VALUES (1)");
  WaitApplied("a", "sql", old_bad);
  replicator_.reset();
  journals_.reset();
  std::filesystem::remove_all(data_dir_ + "/journal");
  OpenJournal();
  AppendSql("sql", "CREATE TABLE t2(id INTEGER)");
  Lsn new_bad = AppendSql("sql", "INSERT INTO new_late VALUES (2)");
  ASSERT_EQ(new_bad, old_bad);
  StartReplicator({"a"});
  WaitApplied("a", "sql", new_bad);
  auto errors = replicator_->error_log("a")->List({});
  ASSERT_TRUE(errors.ok()) << errors.status().ToString();
  ASSERT_EQ(errors->size(), 2u) << "a rejection of the new epoch was folded into the old one";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Db("a").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE old_late(x INTEGER); CREATE TABLE new_late(x INTEGER)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  Status s = replicator_->applier("a", "sql")->Retry(new_bad);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM new_late"), "1");
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM old_late"), "0") << "the old epoch's record was retried instead";
}

// Item 15 of issue 9: a crash in the middle of an append leaves a torn line; the entries
// appended after the restart are listed and can be retried.
TEST_F(ApplierSqliteTest, ATornLineInTheErrorLogBreaksNeitherListNorRetry) {
  StartReplicator({"a"});
  AppendSql("sql", "CREATE TABLE t(id INTEGER)");
  Lsn first = AppendSql("sql", "INSERT INTO late1 VALUES (1)");
  WaitApplied("a", "sql", first);
  replicator_.reset();
  const std::string log = data_dir_ + "/errors/a.log";
  {
    // What a crash half way through the next append leaves.
    FILE* f = fopen(log.c_str(), "a");
    ASSERT_NE(f, nullptr);
    fputs("{\"event\":\"rejected\",\"target\":\"a\",\"stre", f);
    fclose(f);
  }
  StartReplicator({"a"});
  Lsn second = AppendSql("sql", "INSERT INTO late2 VALUES (2)");
  Lsn third = AppendSql("sql", "INSERT INTO late3 VALUES (3)");
  WaitApplied("a", "sql", third);
  auto errors = replicator_->error_log("a")->List({});
  ASSERT_TRUE(errors.ok()) << errors.status().ToString();
  std::vector<Lsn> lsns;
  for (const auto& e : *errors) lsns.push_back(e.lsn);
  EXPECT_EQ(lsns, (std::vector<Lsn>{first, second, third}));
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Db("a").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE late2(x INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  Status s = replicator_->applier("a", "sql")->Retry(second);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(One(Db("a"), "SELECT count(*) FROM late2"), "1");
}

// The error log outlives a replaced journal (a new epoch numbers its records from 1
// again): a rejection logged under an earlier epoch is no evidence about this epoch's
// record at the same LSN, so after a restart it must not make its target diverged.
TEST_F(ApplierSqliteTest, RejectionsOfAnEarlierEpochAreNoEvidenceAfterARestart) {
  ErrorRecord old;
  old.epoch = std::string(32, '0');  // not this journal's epoch
  old.target = "b";
  old.stream = "sql";
  old.lsn = 2;
  old.kind = "sql";
  old.message = "rejected under an earlier journal";
  ASSERT_TRUE(old.epoch != journal::EpochToHex(journals_->epoch()));
  std::filesystem::create_directories(data_dir_ + "/errors");
  ErrorLog log(FileSystem::Default(), data_dir_ + "/errors/b.log");
  ASSERT_TRUE(log.AppendRejection(old).ok());

  AppendSql("sql", "CREATE TABLE t(id INTEGER)");
  AppendSql("sql", "INSERT INTO t VALUES (1)");
  Lsn head = AppendSql("sql", "INSERT INTO t VALUES (2)");
  StartReplicator({"a", "b"});
  WaitApplied("a", "sql", head);
  WaitApplied("b", "sql", head);
  EXPECT_EQ(One(Db("b"), "SELECT count(*) FROM t"), "2");
  EXPECT_FALSE(replicator_->applier("b", "sql")->status().diverged)
      << "an earlier epoch's rejection at LSN 2 was taken for this epoch's";
}

// The verdict file is read at start; damage stops the start with an error naming the
// file, never a silent reset (a diverged target would become eligible again).
TEST_F(ApplierSqliteTest, ADamagedDivergenceFileStopsTheStartNamingIt) {
  const std::string path = data_dir_ + "/state/divergence.json";
  std::filesystem::create_directories(data_dir_ + "/state");
  for (const char* text : {"{\"format\": 1, \"diverged\": [{\"target\": \"b\"", "{\"format\": 2, \"diverged\": []}",
                           "{\"format\": 1, \"diverged\": [{\"target\": \"b\", \"stream\": 7}]}"}) {
    {
      std::ofstream f(path, std::ios::trunc);
      f << text;
    }
    auto r = Replicator::Create(journals_.get(), Options({"b"}, {StreamSpec{"sql", true, OnError::kSkip, 0, 0}}));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace sluice::replicate
