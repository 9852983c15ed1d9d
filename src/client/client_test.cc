// The client library against real sluiced processes (SQLite targets in a temporary
// directory, loopback ports): the spool, lost acknowledgements (fail points, crashes),
// several addresses, order, and restarts of the client.
//
// "Exactly once" is checked twice: in the service's journal (one record per commit, so
// the samples stream's head LSN equals the number of commits: a duplicate admission would
// add a record) and in every target (every expected (point_id, ts) row is there with its
// value, and nothing else).

#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "client/client_test_util.h"
#include "sluice/client.h"

namespace sluice::client {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FreePort;
using testing::SluicedProcess;

constexpr int64_t kBaseTs = 1'700'000'000'000'000;  // 2023-11-14, in µs
constexpr int kRowsPerCommit = 1000;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::sluice::Status s_ = (expr);                           \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)

// Commit i carries points 1..rows at ts kBaseTs + i s, value i * 1000 + point - 1.
v1::SampleBatch Batch(int i, int rows = kRowsPerCommit) {
  v1::SampleBatch b;
  b.set_interval(v1::SAMPLE_INTERVAL_1S);
  for (int j = 0; j < rows; ++j) {
    b.add_point_id(j + 1);
    b.add_ts_us(kBaseTs + int64_t{i} * 1'000'000);
    b.add_value(double(i) * 1000 + j);
    b.add_quality(0);
  }
  return b;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sluice-client-test-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    spool_dir_ = dir_ + "/spool";
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "test directory kept: " << dir_ << "\n";
    } else {
      fs::remove_all(dir_);
    }
  }

  ClientOptions Options(std::vector<std::string> addresses) const {
    ClientOptions o;
    o.addresses = std::move(addresses);
    o.token = testing::kToken;
    o.spool_dir = spool_dir_;
    o.connect_timeout = milliseconds(500);
    o.commit_timeout = milliseconds(10000);
    o.resubmit_interval = milliseconds(100);
    return o;
  }

  std::unique_ptr<Client> OpenClient(std::vector<std::string> addresses) {
    auto c = Client::Open(Options(std::move(addresses)));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // Every commit 0..commits-1 of Batch() is in target `db` exactly once, and nothing else.
  static void ExpectSamples(const std::string& db, int commits) {
    auto count = testing::QueryInt(db, "SELECT count(*) FROM sample_1s");
    ASSERT_TRUE(count.ok()) << count.status().ToString();
    EXPECT_EQ(*count, int64_t{commits} * kRowsPerCommit) << db;
    // (point_id, ts) is the table's key, so with the right count, every row being one of
    // the expected ones (with its value) means every expected row is there once.
    auto good = testing::QueryInt(
        db, fmt::format("SELECT count(*) FROM sample_1s WHERE point_id BETWEEN 1 AND {0} AND "
                        "ts >= {1} AND ts < {1} + {2} * 1000000 AND (ts - {1}) % 1000000 = 0 AND "
                        "value = ((ts - {1}) / 1000000) * 1000 + point_id - 1 AND quality = 0",
                        kRowsPerCommit, kBaseTs, commits));
    ASSERT_TRUE(good.ok()) << good.status().ToString();
    EXPECT_EQ(*good, int64_t{commits} * kRowsPerCommit) << db;
  }

  // The service journaled exactly `commits` sample records, and both targets hold them.
  void ExpectExactlyOnce(const SluicedProcess& d, int commits) {
    auto head = d.HeadLsn("samples");
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(*head, static_cast<uint64_t>(commits)) << "records admitted to 'samples'";
    ASSERT_OK(d.WaitApplied("samples", milliseconds(120'000)));
    ExpectSamples(d.target_db("a"), commits);
    ExpectSamples(d.target_db("b"), commits);
  }

  static uint64_t Pending(const Client& c, const std::string& stream) {
    for (const auto& s : c.SpoolStatus()) {
      if (s.stream == stream) return s.pending;
    }
    return 0;
  }

  std::string dir_;
  std::string spool_dir_;
};

TEST_F(ClientTest, ServiceDownSpoolsThenDeliversEverySampleExactlyOnce) {
  SluicedProcess d(dir_, {FreePort()});
  auto c = OpenClient({d.address()});
  ASSERT_NE(c, nullptr);
  constexpr int kCommits = 100;  // 100,000 samples
  for (int i = 0; i < kCommits; ++i) {
    auto r = c->CommitSamples("samples", Batch(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->state, CommitState::kSpooled) << i;
  }
  EXPECT_EQ(Pending(*c, "samples"), 100u);

  ASSERT_OK(d.Start());
  ASSERT_OK(c->WaitForSpoolDrained(milliseconds(120'000)));
  auto status = c->SpoolStatus();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].delivered, 100u);
  EXPECT_EQ(status[0].next_sequence, 101u);
  ExpectExactlyOnce(d, kCommits);

  // Back to direct commits once the spool is empty.
  auto r = c->CommitSamples("samples", Batch(kCommits));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, CommitState::kAcknowledged);
  EXPECT_EQ(r->sequence, 101u);
  ASSERT_EQ(r->lsns.size(), 1u);
  EXPECT_EQ(r->lsns[0], 101u);
  ASSERT_OK(d.Stop());
}

// The service dies at the fail point right after the commit is durable in its journal and
// before it answers: the client cannot know, spools the commit with its sequence, and the
// resubmission after the restart is recognised as admitted.
TEST_F(ClientTest, AckLostByCrashAfterJournalIsResubmittedExactlyOnce) {
  SluicedProcess d(dir_, {FreePort()});
  ASSERT_OK(d.Start("ingest.before_ack=5*crash"));
  auto c = OpenClient({d.address()});
  ASSERT_NE(c, nullptr);
  constexpr int kCommits = 20;
  for (int i = 0; i < kCommits; ++i) {
    auto r = c->CommitSamples("samples", Batch(i));
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    EXPECT_EQ(r->state, i < 4 ? CommitState::kAcknowledged : CommitState::kSpooled) << i;
    EXPECT_EQ(r->sequence, static_cast<uint64_t>(i + 1));
  }
  const int st = d.WaitExit(milliseconds(10'000));
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 137) << "status " << st << ": " << d.LogTail();

  ASSERT_OK(d.Start());
  ASSERT_OK(c->WaitForSpoolDrained(milliseconds(60'000)));
  EXPECT_EQ(c->SpoolStatus().at(0).delivered, 16u);
  ExpectExactlyOnce(d, kCommits);
  ASSERT_OK(d.Stop());
}

// The same crash, while the background thread resubmits a spool; the client process
// is also restarted, with the spool not empty.
TEST_F(ClientTest, CrashDuringResubmissionAndClientRestartStillExactlyOnce) {
  SluicedProcess d(dir_, {FreePort()});
  {
    auto c = OpenClient({d.address()});
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 30; ++i) {
      auto r = c->CommitSamples("samples", Batch(i));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->state, CommitState::kSpooled);
    }
    ASSERT_OK(d.Start("ingest.before_ack=12*crash"));
    const int st = d.WaitExit(milliseconds(30'000));
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 137) << "status " << st << ": " << d.LogTail();
    EXPECT_GT(Pending(*c, "samples"), 0u);
  }  // the client process "exits" with commits still spooled

  auto c = OpenClient({d.address()});
  ASSERT_NE(c, nullptr);
  EXPECT_GE(Pending(*c, "samples"), 19u);  // 12 was journaled, its answer lost
  // Numbered from the spool although the service is away: behind the spooled ones.
  auto r = c->CommitSamples("samples", Batch(30));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, CommitState::kSpooled);
  EXPECT_EQ(r->sequence, 31u);

  ASSERT_OK(d.Start());
  ASSERT_OK(c->WaitForSpoolDrained(milliseconds(60'000)));
  ExpectExactlyOnce(d, 31);
  ASSERT_OK(d.Stop());
}

// Two networks to one service: the first attempt's answer is lost on one address (the
// service sleeps past the client's deadline after journaling); the client resends the
// same sequence on the other address, where the service says it already has it.
TEST_F(ClientTest, AckLostOnOneAddressResubmittedOnAnotherExactlyOnceInOrder) {
  SluicedProcess d(dir_, {FreePort(), FreePort()});
  ASSERT_OK(d.Start("ingest.before_ack=1*sleep(3000)"));
  const std::string dead = fmt::format("127.0.0.1:{}", FreePort());
  auto o = Options({dead, d.address(0), d.address(1)});
  o.commit_timeout = milliseconds(1000);
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();

  auto first = (*c)->CommitSamples("samples", Batch(0));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->state, CommitState::kAlreadyAdmitted);
  EXPECT_EQ(first->sequence, 1u);
  EXPECT_EQ(first->address, d.address(1));
  EXPECT_EQ((*c)->current_address(), d.address(1));

  uint64_t last_lsn = 1;
  constexpr int kCommits = 20;
  for (int i = 1; i < kCommits; ++i) {
    auto r = (*c)->CommitSamples("samples", Batch(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->state, CommitState::kAcknowledged);
    EXPECT_EQ(r->sequence, static_cast<uint64_t>(i + 1));
    ASSERT_EQ(r->lsns.size(), 1u);
    EXPECT_GT(r->lsns[0], last_lsn);  // in commit order
    last_lsn = r->lsns[0];
  }
  EXPECT_TRUE((*c)->SpoolStatus().empty());  // nothing was spooled
  ExpectExactlyOnce(d, kCommits);
  ASSERT_OK(d.Stop());
}

// Addresses [a dead port, the real one]; the service crashes before answering the first
// commit: it is spooled, resubmitted after the restart, and counted once.
TEST_F(ClientTest, DeadAddressFirstAndLostAckStillExactlyOnce) {
  SluicedProcess d(dir_, {FreePort()});
  ASSERT_OK(d.Start("ingest.before_ack=1*crash"));
  const std::string dead = fmt::format("127.0.0.1:{}", FreePort());
  auto c = OpenClient({dead, d.address()});
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 10; ++i) {
    auto r = c->CommitSamples("samples", Batch(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->state, CommitState::kSpooled) << i;
    EXPECT_EQ(r->sequence, static_cast<uint64_t>(i + 1));
  }
  const int st = d.WaitExit(milliseconds(10'000));
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 137) << "status " << st << ": " << d.LogTail();
  ASSERT_OK(d.Start());
  ASSERT_OK(c->WaitForSpoolDrained(milliseconds(60'000)));
  EXPECT_EQ(c->current_address(), d.address());
  ExpectExactlyOnce(d, 10);
  auto r = c->CommitSamples("samples", Batch(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, CommitState::kAcknowledged);
  ASSERT_OK(d.Stop());
}

// While a stream's spool is not empty, new commits queue behind it: dependent updates in
// the ordered sql stream end with the value only the commit order gives.
TEST_F(ClientTest, CommitsQueueBehindTheSpoolSoOrderIsKept) {
  SluicedProcess d(dir_, {FreePort()});
  auto c = OpenClient({d.address()});
  ASSERT_NE(c, nullptr);
  auto sql = [&](const std::string& text, std::vector<std::string> params = {}) {
    std::vector<v1::Record> records(1);
    auto* st = records[0].mutable_sql();
    st->set_text(text);
    for (auto& p : params) st->add_params()->set_text_value(p);
    return c->Commit("sql", std::move(records));
  };
  ASSERT_TRUE(sql("CREATE TABLE IF NOT EXISTS ord (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").ok());
  ASSERT_TRUE(sql("INSERT INTO ord (k, v) VALUES (1, '0')").ok());
  std::string expected = "0";
  constexpr int kSpooledFirst = 300;
  for (int i = 1; i <= kSpooledFirst; ++i) {
    auto r = sql("UPDATE ord SET v = v || ',' || $1 WHERE k = 1", {std::to_string(i)});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->state, CommitState::kSpooled);
    // Two appends, not `"," + std::to_string(i)`: GCC 12 at -O3 reports a false
    // -Wrestrict on that temporary (GCC bug 105329), which breaks Release builds.
    expected += ',';
    expected += std::to_string(i);
  }
  ASSERT_OK(d.Start());
  // Commit on while the spool drains: spooled while it is not empty, then direct. (A
  // short pause between commits lets the drain overtake this producer.)
  std::vector<CommitState> states;
  int direct = 0;
  for (int i = kSpooledFirst + 1; direct < 50 && i < 20'000; ++i) {
    auto r = sql("UPDATE ord SET v = v || ',' || $1 WHERE k = 1", {std::to_string(i)});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    states.push_back(r->state);
    direct += r->state == CommitState::kAcknowledged;
    expected += "," + std::to_string(i);
    std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_OK(c->WaitForSpoolDrained(milliseconds(60'000)));
  const size_t first_direct =
      std::find(states.begin(), states.end(), CommitState::kAcknowledged) - states.begin();
  std::cout << first_direct << " commits queued behind the spool, then "
            << states.size() - first_direct << " went directly\n";
  EXPECT_GT(first_direct, 0u) << "no commit queued behind the spool";
  EXPECT_LT(first_direct, states.size()) << "no commit went directly after the spool drained";
  for (size_t i = first_direct; i < states.size(); ++i) {
    EXPECT_EQ(states[i], CommitState::kAcknowledged) << i;
  }
  ASSERT_OK(d.WaitApplied("sql", milliseconds(60'000)));
  for (const char* t : {"a", "b"}) {
    auto rows = testing::QueryRows(d.target_db(t), "SELECT v FROM ord WHERE k = 1");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0][0], expected) << "target " << t;
  }
  ASSERT_OK(d.Stop());
}

// A client that knew its sequence (from the service) restarts with commits spooled while
// the service is away: it numbers new ones after the spooled ones, without the service.
TEST_F(ClientTest, ClientRestartContinuesNumberingFromTheSpool) {
  SluicedProcess d(dir_, {FreePort()});
  ASSERT_OK(d.Start());
  {
    auto c = OpenClient({d.address()});
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 5; ++i) {
      auto r = c->CommitSamples("samples", Batch(i));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->state, CommitState::kAcknowledged);
    }
    ASSERT_OK(d.Stop());
    for (int i = 5; i < 10; ++i) {
      auto r = c->CommitSamples("samples", Batch(i));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->state, CommitState::kSpooled);
      EXPECT_EQ(r->sequence, static_cast<uint64_t>(i + 1));
    }
  }
  {
    auto c = OpenClient({d.address()});
    ASSERT_NE(c, nullptr);
    for (int i = 10; i < 15; ++i) {
      auto r = c->CommitSamples("samples", Batch(i));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->state, CommitState::kSpooled);
      EXPECT_EQ(r->sequence, static_cast<uint64_t>(i + 1));
    }
  }
  // Spool drained and empty, service away again, client restarted: the number is not
  // known locally, so the commit is spooled unnumbered and numbered after the Hello.
  ASSERT_OK(d.Start());
  {
    auto c = OpenClient({d.address()});
    ASSERT_NE(c, nullptr);
    ASSERT_OK(c->WaitForSpoolDrained(milliseconds(60'000)));
  }
  ASSERT_OK(d.Stop());
  {
    auto c = OpenClient({d.address()});
    ASSERT_NE(c, nullptr);
    auto r = c->CommitSamples("samples", Batch(15));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->state, CommitState::kSpooled);
    EXPECT_EQ(r->sequence, 0u);
  }
  ASSERT_OK(d.Start());
  auto c = OpenClient({d.address()});
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->WaitForSpoolDrained(milliseconds(60'000)));
  auto r = c->CommitSamples("samples", Batch(16));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, CommitState::kAcknowledged);
  EXPECT_EQ(r->sequence, 17u);
  ExpectExactlyOnce(d, 17);
  ASSERT_OK(d.Stop());
}

// A spooled commit the service refuses for good (a record it cannot take) is set aside;
// the commits behind it take its sequence and are delivered.
TEST_F(ClientTest, RefusedSpooledCommitIsSetAsideAndTheRestDelivered) {
  SluicedProcess d(dir_, {FreePort()});
  auto c = OpenClient({d.address()});
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 6; ++i) {
    v1::SampleBatch b = Batch(i);
    if (i == 2) b.set_ts_us(0, 5);  // 1970: before the service's timestamp window
    auto r = c->CommitSamples("samples", std::move(b));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  ASSERT_OK(d.Start());
  ASSERT_OK(c->WaitForSpoolDrained(milliseconds(60'000)));
  auto status = c->SpoolStatus();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].delivered, 5u);
  EXPECT_EQ(status[0].rejected, 1u);
  EXPECT_EQ(status[0].next_sequence, 6u);
  bool kept = false;
  for (const auto& e : fs::directory_iterator(spool_dir_ + "/rejected")) {
    kept = kept || e.path().extension() == ".pb";
  }
  EXPECT_TRUE(kept);
  auto head = d.HeadLsn("samples");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, 5u);
  auto r = c->CommitSamples("samples", Batch(2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, CommitState::kAcknowledged);
  EXPECT_EQ(r->sequence, 6u);
  ASSERT_OK(d.WaitApplied("samples", milliseconds(60'000)));
  ExpectSamples(d.target_db("a"), 6);
  ASSERT_OK(d.Stop());
}

// Random SIGKILLs of the service while two threads commit on one stream (the client is
// shared): every commit is acknowledged, admitted earlier, or spooled, and each one is in
// the journal and the targets exactly once.
TEST_F(ClientTest, RandomKillsWhileTwoThreadsCommitStillExactlyOnce) {
  SluicedProcess d(dir_, {FreePort()});
  ASSERT_OK(d.Start());
  auto c = OpenClient({d.address()});
  ASSERT_NE(c, nullptr);
  constexpr int kPerThread = 100;
  std::atomic<int> failures{0};
  std::atomic<int> finished{0};
  auto producer = [&](int first) {
    for (int i = first; i < first + kPerThread; ++i) {
      auto r = c->CommitSamples("samples", Batch(i));
      if (!r.ok()) {
        ADD_FAILURE() << "commit " << i << ": " << r.status().ToString();
        ++failures;
      }
    }
    ++finished;
  };
  std::thread a(producer, 0);
  std::thread b(producer, kPerThread);
  const unsigned seed = std::random_device()();
  std::mt19937 rng(seed);
  SCOPED_TRACE(fmt::format("seed {}", seed));
  for (int k = 0; k < 4 && finished.load() < 2; ++k) {
    std::this_thread::sleep_for(milliseconds(50 + rng() % 250));
    d.Kill(SIGKILL);
    std::this_thread::sleep_for(milliseconds(50 + rng() % 250));
    ASSERT_OK(d.Start());
  }
  a.join();
  b.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_OK(c->WaitForSpoolDrained(milliseconds(60'000)));
  ExpectExactlyOnce(d, 2 * kPerThread);
  ASSERT_OK(d.Stop());
}

// Execute, GetOutcome, Update, Watch and Download against the service.
TEST_F(ClientTest, SynchronousCallsAreThinWrappers) {
  SluicedProcess d(dir_, {FreePort()});
  ASSERT_OK(d.Start());
  const std::string dead = fmt::format("127.0.0.1:{}", FreePort());
  auto c = OpenClient({dead, d.address()});
  ASSERT_NE(c, nullptr);
  auto statement = [](const std::string& text, std::vector<int64_t> params = {}) {
    v1::ExecuteRequest req;
    req.mutable_statement()->set_text(text);
    for (int64_t p : params) req.mutable_statement()->add_params()->set_int_value(p);
    return req;
  };
  auto probe = c->Execute([&] {
    auto r = statement("SELECT count(*) FROM sample_1s");
    r.set_read_only(true);
    return r;
  }());
  // The service may still be choosing its active target.
  for (int i = 0; i < 100 && !probe.ok() && probe.status().code() == Code::kUnavailable; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    auto r = statement("SELECT count(*) FROM sample_1s");
    r.set_read_only(true);
    probe = c->Execute(r);
  }
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->outcome(), v1::OUTCOME_READ);
  ASSERT_EQ(probe->rows_size(), 1);

  auto created = c->Execute(statement("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->outcome(), v1::OUTCOME_APPLIED) << created->message();
  auto outcome = c->GetOutcome(created->lsn());
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->outcome(), v1::OUTCOME_APPLIED);

  // Watch from now on in a thread; updates are published with their LSNs.
  std::vector<uint64_t> seen;
  std::mutex seen_mu;
  Status watch_status;
  std::thread watcher([&] {
    watch_status = c->Watch(0, [&](const v1::ModelChange& change) {
      std::lock_guard lk(seen_mu);
      seen.push_back(change.lsn());
      return seen.size() < 3;
    });
  });
  std::this_thread::sleep_for(milliseconds(300));  // let the watch start
  std::vector<uint64_t> lsns;
  for (int64_t k = 1; k <= 3; ++k) {
    auto u = c->Update(statement("INSERT INTO kv (k, v) VALUES ($1, $2)", {k, k * 10}));
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    EXPECT_EQ(u->outcome(), v1::OUTCOME_APPLIED) << u->message();
    EXPECT_EQ(u->rows_affected(), 1);
    lsns.push_back(u->lsn());
  }
  watcher.join();
  EXPECT_TRUE(watch_status.ok()) << watch_status.ToString();
  EXPECT_EQ(seen, lsns);

  // A replay from the first LSN gets the same changes again.
  std::vector<uint64_t> replayed;
  ASSERT_OK(c->Watch(lsns.front(), [&](const v1::ModelChange& change) {
    replayed.push_back(change.lsn());
    return replayed.size() < 3;
  }));
  EXPECT_EQ(replayed, lsns);

  int64_t rows = 0;
  std::vector<std::string> columns;
  v1::ReadTableRequest dl;
  dl.set_table("kv");
  dl.set_batch_rows(2);
  ASSERT_OK(c->Download(dl, [&](const v1::RowBatch& batch) {
    if (columns.empty()) columns.assign(batch.columns().begin(), batch.columns().end());
    rows += batch.rows_size();
    return true;
  }));
  EXPECT_EQ(rows, 3);
  EXPECT_EQ(columns, (std::vector<std::string>{"k", "v"}));

  // A write the database refuses is an answer, not an error.
  auto dup = c->Execute(statement("INSERT INTO kv (k, v) VALUES (1, 0)"));
  ASSERT_TRUE(dup.ok()) << dup.status().ToString();
  EXPECT_EQ(dup->outcome(), v1::OUTCOME_REJECTED);

  // With no service: UNAVAILABLE, nothing spooled. (The first call may still find the
  // old connection and lose the request on it: a read is then tried on every address, a
  // write is not sent again, as it may have reached the service before it stopped.)
  ASSERT_OK(d.Stop());
  auto read = statement("SELECT count(*) FROM kv");
  read.set_read_only(true);
  auto down = c->Execute(read);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().ToString();
  auto write = c->Execute(statement("UPDATE kv SET v = 0"));
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.status().code(), Code::kUnavailable) << write.status().ToString();
  EXPECT_NE(write.status().message().find("cannot connect"), std::string::npos)
      << write.status().ToString();
}

// TLS: the service's certificate is verified against the CA file given; a client that
// speaks plain text to it cannot reach it (and spools).
TEST_F(ClientTest, TlsWithCaFile) {
  const std::string t = dir_ + "/tls";
  fs::create_directories(t);
  const std::string cmd = fmt::format(
      "cd {} && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
      "-subj /CN=sluice-test-ca -days 2 && "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost "
      "&& "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt "
      "-days 2 -extfile san.ext",
      t);
  if (std::system(("(" + cmd + ") > " + t + "/openssl.log 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "could not make test certificates with openssl";
  }
  SluicedProcess d(dir_, {FreePort()});
  d.EnableTls(t + "/server.crt", t + "/server.key", t + "/ca.crt");
  ASSERT_OK(d.Start());
  auto o = Options({d.address()});
  o.tls_ca_file = t + "/ca.crt";
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  for (int i = 0; i < 3; ++i) {
    auto r = (*c)->CommitSamples("samples", Batch(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->state, CommitState::kAcknowledged);
  }
  ExpectExactlyOnce(d, 3);

  auto plain_options = Options({d.address()});
  plain_options.spool_dir = dir_ + "/spool-plain";
  auto plain = Client::Open(plain_options);
  ASSERT_TRUE(plain.ok());
  auto r = (*plain)->CommitSamples("samples", Batch(3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, CommitState::kSpooled);
  ASSERT_OK(d.Stop());
}

TEST_F(ClientTest, WrongTokenIsRefusedNotSpooled) {
  SluicedProcess d(dir_, {FreePort()});
  ASSERT_OK(d.Start());
  auto o = Options({d.address()});
  o.token = "wrong";
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->CommitSamples("samples", Batch(0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << r.status().ToString();
  EXPECT_TRUE((*c)->SpoolStatus().empty());
  ASSERT_OK(d.Stop());
}

// Waits until the service has an active target (a read answers).
void WaitActive(Client* c) {
  v1::ExecuteRequest probe;
  probe.mutable_statement()->set_text("SELECT count(*) FROM point");
  probe.set_read_only(true);
  Result<v1::ExecuteResponse> r = c->Execute(probe);
  for (int i = 0; i < 600 && !r.ok() && r.status().code() == Code::kUnavailable; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    r = c->Execute(probe);
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

// A synchronous write cut off by a crash of sluiced (after the active target applied it,
// before its outcome was journaled) comes back OUTCOME_UNKNOWN with the request id the
// library gave it; once sluiced is back, GetOutcomeByRequestId says APPLIED, and the row
// is in every target once.
TEST_F(ClientTest, WriteCutOffByACrashIsResolvedByItsRequestId) {
  SluicedProcess d(dir_, {FreePort()});
  ASSERT_OK(d.Start("applier.intent_applied_before_outcome=1*crash"));
  auto c = OpenClient({d.address()});
  ASSERT_NE(c, nullptr);
  ASSERT_NO_FATAL_FAILURE(WaitActive(c.get()));
  v1::ExecuteRequest insert;
  insert.mutable_statement()->set_text("INSERT INTO point (point_id, name) VALUES (77, 'cut off')");
  auto r = c->Execute(insert);
  ASSERT_TRUE(r.ok()) << "a cut-off write must be answered UNKNOWN with its request id: "
                      << r.status().ToString();
  EXPECT_EQ(r->outcome(), v1::OUTCOME_UNKNOWN) << r->DebugString();
  ASSERT_FALSE(r->request_id().empty()) << r->DebugString();
  const std::string id = r->request_id();
  EXPECT_NE(d.WaitExit(milliseconds(30'000)), -1) << "the fail point did not crash sluiced";

  ASSERT_OK(d.Start());
  Result<v1::ExecuteResponse> o = Status::Unavailable("not asked yet");
  for (int i = 0; i < 600; ++i) {
    o = c->GetOutcomeByRequestId(id);
    if (o.ok() && o->outcome() == v1::OUTCOME_APPLIED) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->outcome(), v1::OUTCOME_APPLIED) << o->DebugString();
  EXPECT_GT(o->lsn(), 0u);
  EXPECT_EQ(o->request_id(), id);
  ASSERT_OK(d.WaitApplied("model", milliseconds(120'000)));
  for (const char* t : {"a", "b"}) {
    auto n = testing::QueryInt(d.target_db(t), "SELECT count(*) FROM point WHERE point_id = 77");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 1) << t;
  }
  // An id that never reached the journal: nothing will apply it.
  auto missing = c->GetOutcomeByRequestId("never-sent");
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status().ToString();
  ASSERT_OK(d.Stop());
}

// The data directory is lost (journal and state gone, the targets kept): samples sent
// afterwards for keys the targets already hold still win there. Versions restarting at 1
// would make the converging upserts keep the old rows.
TEST_F(ClientTest, SamplesAfterTheDataDirectoryWasLostWinEverywhere) {
  constexpr int kRows = 10;
  {
    SluicedProcess d(dir_, {FreePort()});
    ASSERT_OK(d.Start());
    auto c = OpenClient({d.address()});
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 5; ++i) {
      auto r = c->CommitSamples("samples", Batch(0, kRows));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->state, CommitState::kAcknowledged);
    }
    ASSERT_OK(d.WaitApplied("samples", milliseconds(120'000)));
    ASSERT_OK(d.Stop());
  }
  for (const auto& entry : fs::directory_iterator(dir_ + "/data")) {
    if (entry.path().filename() != "targets") fs::remove_all(entry.path());
  }
  SluicedProcess d(dir_, {FreePort()});
  ASSERT_OK(d.Start());
  auto o = Options({d.address()});
  o.spool_dir = dir_ + "/spool-after";  // a new client: the old one's sequences are gone too
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  v1::SampleBatch fix = Batch(0, kRows);
  for (int j = 0; j < kRows; ++j) fix.set_value(j, 4242.0);
  auto r = (*c)->CommitSamples("samples", fix);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->state, CommitState::kAcknowledged);
  ASSERT_OK(d.WaitApplied("samples", milliseconds(120'000)));
  for (const char* t : {"a", "b"}) {
    auto n = testing::QueryInt(d.target_db(t), "SELECT count(*) FROM sample_1s WHERE value = 4242");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, kRows) << t << ": the later samples lost to rows of the lost data directory";
    auto total = testing::QueryInt(d.target_db(t), "SELECT count(*) FROM sample_1s");
    ASSERT_TRUE(total.ok());
    EXPECT_EQ(*total, kRows) << t;
  }
  ASSERT_OK(d.Stop());
}

}  // namespace
}  // namespace sluice::client
