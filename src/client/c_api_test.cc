// The C API (include/sluice/sluice.h), driven from c_api_smoke.c (compiled as C) against a
// real sluiced: commits spooled while the service is away, then delivered.

#include <filesystem>

#include <gtest/gtest.h>

#include "client/client_test_util.h"
#include "sluice/sluice.h"

extern "C" {
int c_smoke_commit(const char* addresses, const char* token, const char* spool_dir, int first_batch,
                   int batches, int64_t wait_ms, int* spooled, int* acked, char* err,
                   size_t errlen);
int c_smoke_errors(char* err, size_t errlen);
int c_smoke_query(const char* addresses, const char* token, long* count, char* err, size_t errlen);
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

}  // namespace
}  // namespace sluice::client
