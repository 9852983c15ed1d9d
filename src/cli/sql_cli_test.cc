// Runs the built `sluice sql` and `sluice download` against a live sluiced with SQLite
// targets: writes applied on every target, reads, rejections, refusals of
// non-deterministic SQL, and CSV downloads.

#include <gtest/gtest.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "support/daemon.h"

#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

class SqlCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(dir_, DaemonConfig::NoAuth());
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  }

  RunResult Sluice(std::vector<std::string> args) {
    args.insert(args.begin(), SLUICE_CLI_PATH);
    return RunCommand(args, dir_.Sub("cli.out"), {{"SLUICE_ADDRESS", daemon_->address()}});
  }

  static void ExpectIn(const RunResult& r, const std::vector<std::string>& parts) {
    for (const auto& p : parts) {
      EXPECT_NE(r.output.find(p), std::string::npos) << "'" << p << "' not in:\n" << r.output;
    }
  }

  uint64_t ModelHead() { return daemon_->HeadLsn("model"); }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(SqlCliTest, WriteReadRejectRefuseDownload) {
  RunResult create = Sluice({"sql", "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT, f REAL, b BLOB)"});
  ASSERT_EQ(create.exit_code, 0) << create.output;
  ExpectIn(create, {"APPLIED"});

  WriteFile(dir_.Sub("blob.bin"), std::string("\x01\x02\xff", 3));
  RunResult w1 = Sluice({"sql", "INSERT INTO kv (k, v, f, b) VALUES ($1, $2, $3, $4)", "--param",
                         "int:1", "--param", "text:one, \"quoted\"", "--param", "float:1.5",
                         "--param", "blob-file:" + dir_.Sub("blob.bin")});
  ASSERT_EQ(w1.exit_code, 0) << w1.output;
  ExpectIn(w1, {"APPLIED: 1 row affected"});
  RunResult w2 = Sluice({"sql", "INSERT INTO kv (k, v, f) VALUES ($1, $2, $3)", "--param", "int:2",
                         "--param", "two", "--param", "null", "--json"});
  ASSERT_EQ(w2.exit_code, 0) << w2.output;
  auto doc = nlohmann::json::parse(w2.output);
  EXPECT_EQ(doc["outcome"], "APPLIED");
  EXPECT_EQ(doc["rows_affected"], 1);
  EXPECT_GT(doc["lsn"].get<uint64_t>(), 0u);
  uint64_t lsn = doc["lsn"].get<uint64_t>();

  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_EQ(CountRows(daemon_->db(t), "kv"), 2) << t;
    EXPECT_EQ(CountRows(daemon_->db(t), "kv", "k = 1 AND f = 1.5 AND length(b) = 3"), 1) << t;
    EXPECT_EQ(CountRows(daemon_->db(t), "kv", "k = 2 AND v = 'two' AND f IS NULL"), 1) << t;
  }

  // Its outcome later.
  RunResult outcome = Sluice({"sql", "--outcome", std::to_string(lsn)});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  ExpectIn(outcome, {"APPLIED"});

  // A read: a table and JSON.
  RunResult read = Sluice({"sql", "SELECT k, v FROM kv ORDER BY k", "--read"});
  EXPECT_EQ(read.exit_code, 0) << read.output;
  ExpectIn(read, {"k", "v", "one, \"quoted\"", "two", "(2 rows)"});
  RunResult rj = Sluice({"sql", "SELECT k, v, f FROM kv WHERE k >= $1 ORDER BY k", "--param",
                         "int:1", "--read", "--json"});
  ASSERT_EQ(rj.exit_code, 0) << rj.output;
  auto rows = nlohmann::json::parse(rj.output);
  EXPECT_EQ(rows["outcome"], "READ");
  EXPECT_EQ(rows["columns"], nlohmann::json({"k", "v", "f"}));
  ASSERT_EQ(rows["rows"].size(), 2u);
  EXPECT_EQ(rows["rows"][0][0], 1);
  EXPECT_EQ(rows["rows"][0][2], 1.5);
  EXPECT_TRUE(rows["rows"][1][2].is_null());

  // A syntax error: rejected by the target, exit 1 with its message; no target changes.
  RunResult bad = Sluice({"sql", "INSRT INTO kv VALUES (3, 'x')"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  ExpectIn(bad, {"REJECTED", "syntax error"});
  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(daemon_->db(t), "kv"), 2) << t;

  // Non-deterministic SQL is refused before anything is journaled, naming the function.
  uint64_t head = ModelHead();
  RunResult nd = Sluice({"sql", "INSERT INTO kv (k, v) VALUES (4, now())"});
  EXPECT_EQ(nd.exit_code, 1) << nd.output;
  ExpectIn(nd, {"INVALID_ARGUMENT", "now()", "compute differently"});
  EXPECT_EQ(ModelHead(), head);
  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(daemon_->db(t), "kv"), 2) << t;

  // A bad parameter is a usage error.
  RunResult usage = Sluice({"sql", "SELECT $1", "--param", "int:x", "--read"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;

  // Download: CSV with a header.
  RunResult dl = Sluice({"download", "kv", "--batch", "1"});
  ASSERT_EQ(dl.exit_code, 0) << dl.output;
  EXPECT_EQ(dl.output,
            "k,v,f,b\n"
            "1,\"one, \"\"quoted\"\"\",1.5,\\x0102ff\n"
            "2,two,,\n");
  RunResult dq = Sluice({"download", "kv", "--query", "SELECT k FROM kv WHERE k = 2"});
  ASSERT_EQ(dq.exit_code, 0) << dq.output;
  EXPECT_EQ(dq.output, "k\n2\n");
  RunResult missing = Sluice({"download", "no_such_table"});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
}

// The active target applies the write and stalls before the outcome: exit 4 with the LSN
// and the hint; `sluice sql --outcome LSN` later says APPLIED (exit 0).
TEST_F(SqlCliTest, UnknownOutcomeExitsFourThenOutcomeSaysApplied) {
  daemon_->Kill();
  ASSERT_NO_FATAL_FAILURE(daemon_->Start(
      {{"SLUICE_FAILPOINTS", "applier.intent_applied_before_outcome=1*sleep(15000)"}}));
  const uint64_t lsn = ModelHead() + 1;  // the next record of the model stream
  RunResult r = Sluice({"sql", "INSERT INTO point (point_id, name) VALUES ($1, $2)", "--param",
                        "int:5", "--param", "five"});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  ExpectIn(r, {"UNKNOWN", fmt::format("lsn {}", lsn), fmt::format("sluice sql --outcome {}", lsn)});
  RunResult o;
  bool applied = WaitFor(
      [&] {
        o = Sluice({"sql", "--outcome", std::to_string(lsn)});
        return o.exit_code == 0;
      },
      std::chrono::seconds(60));
  EXPECT_TRUE(applied) << o.output;
  ExpectIn(o, {"APPLIED"});
  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_EQ(CountRows(daemon_->db(t), "point", "point_id = 5"), 1) << t;
  }
}

}  // namespace
}  // namespace sluice::testing
