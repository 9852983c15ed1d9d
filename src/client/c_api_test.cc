// The C API (include/sluice/sluice.h), driven from c_api_smoke.c (compiled as C) against a
// real sluiced: commits spooled while the service is away, then delivered.

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "client/client_test_util.h"
#include "sluice/sluice.h"

extern "C" {
int c_smoke_commit(const char* addresses, const char* token, const char* spool_dir, int first_batch,
                   int batches, int64_t wait_ms, int* spooled, int* acked, char* err,
                   size_t errlen);
int c_smoke_errors(char* err, size_t errlen);
int c_smoke_query(const char* addresses, const char* token, long* count, char* err, size_t errlen);
int c_smoke_events(const char* addresses, const char* token, unsigned long long* sequence, char* err,
                   size_t errlen);
}

namespace sluice::client {
namespace {

namespace fs = std::filesystem;
using testing::FreePort;
using testing::SluicedProcess;

TEST(CApiTest, CommitsFromCAreSpooledThenDelivered) {
  std::string tmpl = (fs::temp_directory_path() / "sluice-c-api-test-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  SluicedProcess d(dir, {FreePort()});
  const std::string addresses = "127.0.0.1:" + std::to_string(FreePort()) + "," + d.address();
  const std::string spool = dir + "/spool";
  char err[1024] = "";
  int spooled = 0, acked = 0;

  ASSERT_EQ(c_smoke_errors(err, sizeof err), 0) << err;

  // The service is away: everything is spooled.
  ASSERT_EQ(c_smoke_commit(addresses.c_str(), testing::kToken, spool.c_str(), 0, 5, 0, &spooled,
                           &acked, err, sizeof err),
            0)
      << err;
  EXPECT_EQ(spooled, 11);  // 5 sample batches, the CREATE TABLE, 5 inserts
  EXPECT_EQ(acked, 0);

  // A new process (handle) resubmits them and commits more.
  {
    Status started = d.Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  ASSERT_EQ(c_smoke_commit(addresses.c_str(), testing::kToken, spool.c_str(), 5, 5, 60000, &spooled,
                           &acked, err, sizeof err),
            0)
      << err;
  EXPECT_EQ(spooled + acked, 10);

  ASSERT_TRUE(d.WaitApplied("samples", std::chrono::seconds(60)).ok());
  ASSERT_TRUE(d.WaitApplied("sql", std::chrono::seconds(60)).ok());
  for (const char* t : {"a", "b"}) {
    auto n = testing::QueryInt(d.target_db(t),
                               "SELECT count(*) FROM sample_1min WHERE value = "
                               "((ts / 1000000 - 1700000000) / 60) * 1000 + point_id");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 1000) << t;
    auto total = testing::QueryInt(d.target_db(t), "SELECT count(*) FROM sample_1min");
    ASSERT_TRUE(total.ok());
    EXPECT_EQ(*total, 1000) << t;
    auto rows = testing::QueryInt(d.target_db(t), "SELECT count(*) FROM c_smoke");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(*rows, 10) << t;
  }
  auto head = d.HeadLsn("samples");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, 10u);

  // Synchronous SQL from C.
  long count = -1;
  int rc = c_smoke_query(d.address().c_str(), testing::kToken, &count, err, sizeof err);
  EXPECT_EQ(rc, SLUICE_OK) << err;
  EXPECT_EQ(count, 10);
  ASSERT_TRUE(d.Stop().ok());
  fs::remove_all(dir);
}


// A handle that closes itself.
struct Handle {
  explicit Handle(sluice_client* h) : h(h) {}
  ~Handle() { sluice_close(h); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  sluice_client* h;
};

std::string MakeTempDir(const char* name) {
  std::string tmpl = (fs::temp_directory_path() / (std::string(name) + "-XXXXXX")).string();
  return mkdtemp(tmpl.data());
}

// Every new call refuses NULL handles and NULL outputs with a code and a message.
TEST(CApiTest, NewCallsRefuseNullArguments) {
  auto refused = [](int rc) {
    EXPECT_EQ(rc, SLUICE_E_INVALID_ARGUMENT);
    EXPECT_STRNE(sluice_last_error(nullptr), "");
  };
  uint64_t u = 0;
  int64_t i = 0;
  sluice_spool_info st{};
  char buf[64];
  sluice_event ev{};
  refused(sluice_get_outcome(nullptr, 1, &i));
  refused(sluice_get_outcome_by_request_id(nullptr, "id", &i, &u));
  refused(sluice_commit_events(nullptr, "events", 1, &ev));
  refused(sluice_last_sequence(nullptr, "events", &u));
  refused(sluice_update(nullptr, "UPDATE t SET v = 1", 0, nullptr, nullptr, nullptr, 0, &i, &u));
  refused(sluice_watch(nullptr, 0, [](void*, uint64_t, const char*, size_t, const char* const*,
                                      int64_t, const char*, int64_t) { return 1; },
                       nullptr));
  refused(sluice_spool_status(nullptr, "samples", &st, buf, sizeof buf));
  refused(sluice_client_id(nullptr, buf, sizeof buf));
  sluice_cancel_calls(nullptr);  // a no-op, not a crash

  const std::string address = "127.0.0.1:" + std::to_string(FreePort());
  Handle c(sluice_open(address.c_str(), nullptr, "c-null", nullptr));
  ASSERT_NE(c.h, nullptr) << sluice_last_error(nullptr);
  refused(sluice_get_outcome(c.h, 0, &i));
  refused(sluice_get_outcome_by_request_id(c.h, nullptr, &i, &u));
  refused(sluice_commit_events(c.h, nullptr, 1, &ev));
  refused(sluice_commit_events(c.h, "events", 1, nullptr));
  refused(sluice_last_sequence(c.h, nullptr, &u));
  refused(sluice_last_sequence(c.h, "events", nullptr));
  refused(sluice_update(c.h, nullptr, 0, nullptr, nullptr, nullptr, 0, &i, &u));
  refused(sluice_update(c.h, "UPDATE t SET v = $1", 1, nullptr, nullptr, nullptr, 0, &i, &u));
  refused(sluice_watch(c.h, 0, nullptr, nullptr));
  refused(sluice_spool_status(c.h, nullptr, &st, buf, sizeof buf));
  refused(sluice_spool_status(c.h, "samples", nullptr, buf, sizeof buf));
  refused(sluice_spool_status(c.h, "samples", &st, buf, 0));
  refused(sluice_client_id(c.h, nullptr, 64));
}

// Without a service: the client id, the spool of a stream, and buffers too small for them.
TEST(CApiTest, ClientIdAndSpoolStatusFromC) {
  const std::string dir = MakeTempDir("sluice-c-api-spool");
  const std::string address = "127.0.0.1:" + std::to_string(FreePort());  // nobody listens
  Handle c(sluice_open(address.c_str(), nullptr, "c-spool-client", (dir + "/spool").c_str()));
  ASSERT_NE(c.h, nullptr) << sluice_last_error(nullptr);

  char id[sizeof "c-spool-client"];
  ASSERT_EQ(sluice_client_id(c.h, id, sizeof id), SLUICE_OK) << sluice_last_error(c.h);
  EXPECT_STREQ(id, "c-spool-client");
  char small[sizeof "c-spool-client" - 1] = "untouched";
  EXPECT_EQ(sluice_client_id(c.h, small, sizeof small), SLUICE_E_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sluice_last_error(c.h)).find("too small"), std::string::npos)
      << sluice_last_error(c.h);
  EXPECT_STREQ(small, "untouched");

  sluice_spool_info st{};
  char why[256];
  EXPECT_EQ(sluice_spool_status(c.h, "samples", &st, why, sizeof why), SLUICE_E_NOT_FOUND);

  const int64_t ids[2] = {1, 2}, ts[2] = {1700000000000000, 1700000000000000};
  const double values[2] = {1.5, 2.5};
  for (int k = 0; k < 3; ++k) {
    ASSERT_EQ(sluice_commit_samples(c.h, "samples", 2, ids, ts, values, nullptr,
                                    SLUICE_INTERVAL_1MIN),
              SLUICE_SPOOLED)
        << sluice_last_error(c.h);
  }
  ASSERT_EQ(sluice_spool_status(c.h, "samples", &st, why, sizeof why), SLUICE_OK)
      << sluice_last_error(c.h);
  EXPECT_EQ(st.pending, 3u);
  EXPECT_EQ(st.delivered, 0u);
  EXPECT_EQ(st.rejected, 0u);
  // A message for people is cut to fit, always with its NUL.
  char tiny[1] = {'x'};
  ASSERT_EQ(sluice_spool_status(c.h, "samples", &st, tiny, sizeof tiny), SLUICE_OK);
  EXPECT_EQ(tiny[0], '\0');
  ASSERT_EQ(sluice_spool_status(c.h, "samples", &st, nullptr, 0), SLUICE_OK);
  EXPECT_EQ(st.pending, 3u);
  // Spooled commits were not acknowledged by the service.
  uint64_t seq = 99;
  EXPECT_EQ(sluice_last_sequence(c.h, "samples", &seq), SLUICE_E_NOT_FOUND);
  EXPECT_EQ(seq, 99u);
  fs::remove_all(dir);
}

struct Change {
  uint64_t lsn = 0;
  std::string sql;
  std::vector<std::string> params;
  int64_t rows_affected = -1;
  std::string target;
};

// Model updates, their outcomes by LSN and by request id, and watching them, from C.
TEST(CApiTest, UpdatesOutcomesAndWatchFromC) {
  const std::string dir = MakeTempDir("sluice-c-api-model");
  SluicedProcess d(dir, {FreePort()});
  {
    Status started = d.Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  Handle c(sluice_open(d.address().c_str(), testing::kToken, "c-model", nullptr));
  ASSERT_NE(c.h, nullptr) << sluice_last_error(nullptr);

  int64_t rows = -1;
  uint64_t lsn = 0;
  ASSERT_EQ(sluice_execute(c.h, "CREATE TABLE c_model (k INTEGER PRIMARY KEY, v TEXT)", 0,
                           nullptr, 0, nullptr, nullptr, &rows, &lsn),
            SLUICE_OK)
      << sluice_last_error(c.h);

  // A request id of our own comes back as given.
  const char* params[2] = {"1", "one"};
  char id[SLUICE_REQUEST_ID_SIZE] = "";
  uint64_t update_lsn = 0;
  ASSERT_EQ(sluice_update(c.h, "INSERT INTO c_model (k, v) VALUES ($1, $2)", 2, params,
                          "c-api-request-1", id, sizeof id, &rows, &update_lsn),
            SLUICE_OK)
      << sluice_last_error(c.h);
  EXPECT_STREQ(id, "c-api-request-1");
  EXPECT_EQ(rows, 1);
  EXPECT_GT(update_lsn, lsn);

  // One the library makes fills SLUICE_REQUEST_ID_SIZE; a smaller buffer is refused
  // before anything is sent.
  const char* params2[2] = {"2", "two"};
  char short_id[SLUICE_REQUEST_ID_SIZE - 1] = "";
  EXPECT_EQ(sluice_update(c.h, "INSERT INTO c_model (k, v) VALUES ($1, $2)", 2, params2, nullptr,
                          short_id, sizeof short_id, &rows, &lsn),
            SLUICE_E_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sluice_last_error(c.h)).find("too small"), std::string::npos);
  char made_id[SLUICE_REQUEST_ID_SIZE] = "";
  uint64_t made_lsn = 0;
  ASSERT_EQ(sluice_update(c.h, "INSERT INTO c_model (k, v) VALUES ($1, $2)", 2, params2, nullptr,
                          made_id, sizeof made_id, &rows, &made_lsn),
            SLUICE_OK)
      << sluice_last_error(c.h);
  EXPECT_EQ(std::strlen(made_id), SLUICE_REQUEST_ID_SIZE - 1u) << made_id;
  EXPECT_GT(made_lsn, update_lsn);
  auto count = testing::QueryInt(d.target_db("a"), "SELECT count(*) FROM c_model");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 2);  // the refused call sent nothing

  // A statement the database refuses.
  uint64_t rejected_lsn = 0;
  EXPECT_EQ(sluice_update(c.h, "INSERT INTO c_model (k, v) VALUES (1, 'again')", 0, nullptr,
                          "c-api-request-dup", nullptr, 0, &rows, &rejected_lsn),
            SLUICE_REJECTED);
  EXPECT_STRNE(sluice_last_error(c.h), "");
  EXPECT_GT(rejected_lsn, made_lsn);

  // Outcomes, by LSN and by request id.
  rows = -1;
  EXPECT_EQ(sluice_get_outcome(c.h, update_lsn, &rows), SLUICE_OK) << sluice_last_error(c.h);
  EXPECT_EQ(rows, 1);
  EXPECT_EQ(sluice_get_outcome(c.h, rejected_lsn, nullptr), SLUICE_REJECTED);
  EXPECT_STRNE(sluice_last_error(c.h), "");
  EXPECT_EQ(sluice_get_outcome(c.h, rejected_lsn + 1000, nullptr), SLUICE_E_NOT_FOUND);
  uint64_t found_lsn = 0;
  EXPECT_EQ(sluice_get_outcome_by_request_id(c.h, made_id, nullptr, &found_lsn), SLUICE_OK)
      << sluice_last_error(c.h);
  EXPECT_EQ(found_lsn, made_lsn);
  found_lsn = 0;
  EXPECT_EQ(sluice_get_outcome_by_request_id(c.h, "c-api-request-dup", nullptr, &found_lsn),
            SLUICE_REJECTED);
  EXPECT_EQ(found_lsn, rejected_lsn);
  EXPECT_EQ(sluice_get_outcome_by_request_id(c.h, "c-api-no-such-request", nullptr, nullptr),
            SLUICE_E_NOT_FOUND);

  // Watching from the first update: its change comes first, with its parameters.
  std::vector<Change> changes;
  std::atomic<bool> done{false};
  std::mutex mu;
  std::condition_variable cv;
  // A watch that never sees a change would hang the test: cancel it after a while.
  std::thread guard([&] {
    std::unique_lock lk(mu);
    if (!cv.wait_for(lk, std::chrono::seconds(60), [&] { return done.load(); })) {
      sluice_cancel_calls(c.h);
    }
  });
  auto on_change = [](void* ctx, uint64_t lsn, const char* sql, size_t nparams,
                      const char* const* params, int64_t rows_affected, const char* target,
                      int64_t /*admitted_at_us*/) {
    auto* out = static_cast<std::vector<Change>*>(ctx);
    Change ch;
    ch.lsn = lsn;
    ch.sql = sql;
    for (size_t i = 0; i < nparams; ++i) ch.params.push_back(params[i] ? params[i] : "(null)");
    ch.rows_affected = rows_affected;
    ch.target = target;
    out->push_back(std::move(ch));
    return out->size() >= 2 ? 1 : 0;
  };
  const int watched = sluice_watch(c.h, update_lsn, on_change, &changes);
  {
    std::lock_guard lk(mu);
    done = true;
  }
  cv.notify_all();
  guard.join();
  ASSERT_EQ(watched, SLUICE_OK) << sluice_last_error(c.h);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].lsn, update_lsn);
  EXPECT_EQ(changes[0].sql, "INSERT INTO c_model (k, v) VALUES ($1, $2)");
  EXPECT_EQ(changes[0].params, (std::vector<std::string>{"1", "one"}));
  EXPECT_EQ(changes[0].rows_affected, 1);
  EXPECT_EQ(changes[0].target, "a");
  EXPECT_EQ(changes[1].lsn, made_lsn);
  EXPECT_EQ(changes[1].params, (std::vector<std::string>{"2", "two"}));

  ASSERT_TRUE(d.Stop().ok());
  fs::remove_all(dir);
}

// Events from C (c_api_smoke.c), and the sequences the service acknowledged.
TEST(CApiTest, EventsAndLastSequenceFromC) {
  const std::string dir = MakeTempDir("sluice-c-api-events");
  SluicedProcess d(dir, {FreePort()});
  {
    Status started = d.Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  char err[1024] = "";
  unsigned long long sequence = 0;
  ASSERT_EQ(c_smoke_events(d.address().c_str(), testing::kToken, &sequence, err, sizeof err), 0)
      << err;
  EXPECT_EQ(sequence, 2u);  // two commits of a fresh client on a fresh service
  ASSERT_TRUE(d.WaitApplied("events", std::chrono::seconds(60)).ok());
  for (const char* t : {"a", "b"}) {
    // The service journals events of its own (state changes): count those of the test.
    auto n = testing::QueryInt(
        d.target_db(t),
        "SELECT count(*) FROM event_log WHERE ts BETWEEN 1700000000000000 AND 1700000002000000");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 3) << t;
    auto trips = testing::QueryInt(
        d.target_db(t),
        "SELECT count(*) FROM event_log WHERE kind = 'breaker_trip' AND severity = 3 AND "
        "point_id = 42 AND source = 'c-smoke' AND text = 'breaker 42 tripped'");
    ASSERT_TRUE(trips.ok()) << trips.status().ToString();
    EXPECT_EQ(*trips, 1) << t;
    auto empty = testing::QueryInt(
        d.target_db(t), "SELECT count(*) FROM event_log WHERE kind = '' AND source = ''");
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(*empty, 1) << t;  // NULL strings are ""
  }
  ASSERT_TRUE(d.Stop().ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::client
