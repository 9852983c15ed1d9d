// End to end through the client library (include/sluice/client.h) against a real sluiced
// with two PostgreSQL primaries and one SQLite replica: commit, execute (with a 10 MiB
// BLOB round trip), get-outcome, update + watch (with a reconnect from an LSN), download.

#include <gtest/gtest.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "sluice/client.h"
#include "support/daemon.h"
#include "support/pg_servers.h"

namespace sluice::testing {
namespace {

class E2ePgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = StartPgServers(2);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg).value();
    ASSERT_TRUE(daemon_.WriteConfig(ConfigBuilder("e2e")
                                        .Listen(daemon_.port())
                                        .NoAuth()
                                        .Primary("pg-a", "postgres", pg_[0]->ConnInfo("sluice"), 100)
                                        .Primary("pg-b", "postgres", pg_[1]->ConnInfo("sluice"), 90)
                                        .Replica("lite", "sqlite", "lite.db")
                                        .Toml())
                    .ok());
    ASSERT_TRUE(daemon_.Start().ok());
    channel_ = OpenChannel(address());
    admin_ = v1::Admin::NewStub(channel_);
    const sluice::Status up = daemon_.WaitReady(
        [](const v1::StatusResponse& st) {
          for (const auto& a : st.appliers()) {
            if (a.state() != "running") return false;
          }
          return st.active_target() == "pg-a";
        },
        std::chrono::seconds(120));
    ASSERT_TRUE(up.ok()) << up.ToString() << "\n" << ReadFile(daemon_.log_path());

    client::ClientOptions o;
    o.addresses = {address()};
    o.client_id = "e2e-client";
    auto c = client::Client::Open(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }

  std::string address() const { return daemon_.address(); }

  grpc::Status Status(v1::StatusResponse* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return admin_->Status(&ctx, v1::StatusRequest(), out);
  }

  void WaitCaughtUp() {
    v1::StatusResponse last;
    bool ok = WaitFor(
        [&] {
          if (!Status(&last).ok()) return false;
          std::map<std::string, uint64_t> heads;
          for (const auto& s : last.streams()) heads[s.name()] = s.head_lsn();
          for (const auto& a : last.appliers()) {
            if (a.applied_lsn() != heads[a.stream()]) return false;
          }
          return true;
        },
        std::chrono::seconds(180));
    ASSERT_TRUE(ok) << "not caught up: " << last.DebugString();
  }

  // Row count of `table` on every target, in the order pg-a, pg-b, lite.
  std::vector<int64_t> Counts(const std::string& table, const std::string& where = "") {
    std::vector<int64_t> out;
    std::string sql = "SELECT count(*) FROM " + table + (where.empty() ? "" : " WHERE " + where);
    for (auto& pg : pg_) {
      auto v = pg->QueryValue(sql, "sluice");
      out.push_back(v.ok() ? std::stoll(*v) : -1);
    }
    out.push_back(CountRows(dir_.Sub("data/lite.db"), table, where));
    return out;
  }

  static v1::ExecuteRequest Statement(const std::string& text) {
    v1::ExecuteRequest r;
    r.mutable_statement()->set_text(text);
    return r;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<PgServer>> pg_;
  Sluiced daemon_{SLUICED_PATH, dir_.path()};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(E2ePgTest, CommitExecuteBlobOutcomeWatchDownload) {
  // Commit samples: they land on every target.
  int64_t ts = NowMicros() / 1'000'000 * 1'000'000;
  for (int i = 0; i < 5; ++i) {
    v1::Record r = SampleRecord(i * 100, 100, ts);
    auto res = client_->CommitSamples("samples", r.samples());
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->state, client::CommitState::kAcknowledged);
  }
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  EXPECT_EQ(Counts("sample_1s"), (std::vector<int64_t>{500, 500, 500}));

  // A table for BLOBs, then a 10 MiB BLOB written and read back from the active target.
  v1::ExecuteRequest create = Statement("CREATE TABLE blobs (id BIGINT PRIMARY KEY, data BYTEA)");
  (*create.mutable_statement()->mutable_dialect_text())["sqlite"] =
      "CREATE TABLE blobs (id BIGINT PRIMARY KEY, data BLOB)";
  auto created = client_->Execute(create);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_EQ(created->outcome(), v1::OUTCOME_APPLIED) << created->DebugString();

  std::string blob(10 << 20, '\0');
  std::mt19937_64 rng(42);
  for (auto& c : blob) c = static_cast<char>(rng());
  v1::ExecuteRequest insert = Statement("INSERT INTO blobs (id, data) VALUES ($1, $2)");
  insert.mutable_statement()->add_params()->set_int_value(1);
  insert.mutable_statement()->add_params()->set_blob_value(blob);
  auto inserted = client_->Execute(insert);
  ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
  ASSERT_EQ(inserted->outcome(), v1::OUTCOME_APPLIED) << inserted->message();
  EXPECT_EQ(inserted->rows_affected(), 1);
  EXPECT_EQ(inserted->target(), "pg-a");
  uint64_t blob_lsn = inserted->lsn();
  ASSERT_GT(blob_lsn, 0u);

  v1::ExecuteRequest read = Statement("SELECT data FROM blobs WHERE id = $1");
  read.set_read_only(true);
  read.mutable_statement()->add_params()->set_int_value(1);
  auto got = client_->Execute(read);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->outcome(), v1::OUTCOME_READ);
  EXPECT_EQ(got->target(), "pg-a");
  ASSERT_EQ(got->rows_size(), 1);
  ASSERT_EQ(got->rows(0).values_size(), 1);
  EXPECT_TRUE(got->rows(0).values(0).blob_value() == blob) << "BLOB differs after the round trip";

  auto outcome = client_->GetOutcome(blob_lsn);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->outcome(), v1::OUTCOME_APPLIED) << outcome->DebugString();

  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  EXPECT_EQ(Counts("blobs"), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(Counts("blobs", "length(data) = 10485760"), (std::vector<int64_t>{1, 1, 1}));

  // Update + Watch: a watcher from now on sees three updates.
  std::mutex mu;
  std::vector<v1::ModelChange> changes;
  std::atomic<bool> watching{false};
  std::thread watcher([&] {
    watching = true;
    auto s = client_->Watch(0, [&](const v1::ModelChange& c) {
      std::lock_guard<std::mutex> lock(mu);
      changes.push_back(c);
      return changes.size() < 3;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  ASSERT_TRUE(WaitFor([&] { return watching.load(); }));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the subscription start
  std::vector<uint64_t> update_lsns;
  for (int i = 1; i <= 3; ++i) {
    v1::ExecuteRequest u = Statement("INSERT INTO point (point_id, name) VALUES ($1, $2)");
    u.mutable_statement()->add_params()->set_int_value(i);
    u.mutable_statement()->add_params()->set_text_value(fmt::format("p{}", i));
    auto r = client_->Update(u);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->outcome(), v1::OUTCOME_APPLIED) << r->message();
    update_lsns.push_back(r->lsn());
  }
  bool seen = WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return changes.size() >= 3;
  });
  if (!seen) client_->CancelCalls();
  watcher.join();
  ASSERT_TRUE(seen);
  ASSERT_EQ(changes.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(changes[i].lsn(), update_lsns[i]);
    EXPECT_EQ(changes[i].rows_affected(), 1);
    EXPECT_EQ(changes[i].statement().params(0).int_value(), i + 1);
  }

  // A reconnect from the first change's LSN gets them again, replayed from the journal.
  std::vector<v1::ModelChange> replayed;
  auto s = client_->Watch(changes[0].lsn(), [&](const v1::ModelChange& c) {
    replayed.push_back(c);
    return replayed.size() < 3;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(replayed.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(replayed[i].lsn(), changes[i].lsn());

  // Download a table.
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  EXPECT_EQ(Counts("point"), (std::vector<int64_t>{3, 3, 3}));
  v1::ReadTableRequest dl;
  dl.set_table("point");
  dl.set_batch_rows(2);
  std::vector<std::string> columns;
  std::vector<int64_t> ids;
  int batches = 0;
  auto d = client_->Download(dl, [&](const v1::RowBatch& b) {
    ++batches;
    if (columns.empty()) columns.assign(b.columns().begin(), b.columns().end());
    for (const auto& row : b.rows()) ids.push_back(row.values(0).int_value());
    return true;
  });
  ASSERT_TRUE(d.ok()) << d.ToString();
  ASSERT_FALSE(columns.empty());
  EXPECT_EQ(columns[0], "point_id");
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_GE(batches, 2);
}

}  // namespace
}  // namespace sluice::testing
