// `sluice verify` against a real sluiced with two targets, a SQLite primary `a` (active,
// the reference) and a primary `b` that is SQLite or a real PostgreSQL server (the
// parameter): equal after a known load (floats 0.1, -0.0, NaN, 1e300, a NULL limit,
// long non-ASCII text) with the row counts the test computes; then rows changed,
// deleted and inserted in b behind Sluice's back are named with their bucket, key and
// kind; a range or a table list narrows the check; bad flags are refused naming them;
// a cancelled check stops.

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/daemon.h"
#include "support/pg_servers.h"

#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
constexpr int64_t kT0 = 1'709'251'200'000'000;  // 2024-03-01T00:00:00Z
constexpr int kDays = 3;
constexpr int kPoints = 20;

int64_t SampleTs(int day, int point) { return kT0 + day * kDayUs + point * 1'000'000; }

double SampleValue(int day, int point) {
  switch (point % 5) {
    case 0:
      return 0.1;
    case 1:
      return -0.0;
    case 2:
      return std::numeric_limits<double>::quiet_NaN();
    case 3:
      return 1e300;
    default:
      return day * 1000.0 + point / 3.0;
  }
}

class VerifyDaemonTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool postgres() const { return GetParam() == "postgres"; }

  void StartDaemon(const ChildEnv& env = {}) {
    DaemonConfig config;
    config.targets.push_back(PrimaryTarget("a", "sqlite", "targets/a.db", 100));
    if (postgres()) {
      auto pg = StartPgServers(1);
      ASSERT_TRUE(pg.ok()) << pg.status().ToString();
      pg_ = std::move(pg).value();
      config.targets.push_back(PrimaryTarget("b", "postgres", pg_[0]->ConnInfo("sluice"), 90));
    } else {
      config.targets.push_back(PrimaryTarget("b", "sqlite", "targets/b.db", 90));
    }
    daemon_ = std::make_unique<Daemon>(dir_, config);
    ASSERT_NO_FATAL_FAILURE(daemon_->Start(env));
    ASSERT_TRUE(WaitFor([&] {
      v1::StatusResponse s;
      return daemon_->Admin(&s).ok() && s.state() == "active" && s.active_target() == "a";
    }));
  }

  void Commit(const std::string& stream, v1::Record record) {
    v1::CommitRequest req;
    req.set_stream(stream);
    req.set_client_id("verify-test");
    req.set_sequence(++sequence_[stream]);
    *req.add_records() = std::move(record);
    v1::CommitResponse resp;
    grpc::Status st = daemon_->Commit(req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // Samples of kDays days, events with long text, a point with a NULL limit.
  void Load() {
    for (int day = 0; day < kDays; ++day) {
      v1::Record r;
      auto* b = r.mutable_samples();
      b->set_interval(v1::SAMPLE_INTERVAL_1S);
      for (int p = 0; p < kPoints; ++p) {
        b->add_point_id(p + 1);
        b->add_ts_us(SampleTs(day, p + 1));
        b->add_value(SampleValue(day, p + 1));
        b->add_quality(static_cast<uint32_t>(p % 3));
      }
      ASSERT_NO_FATAL_FAILURE(Commit("samples", std::move(r)));
    }
    ASSERT_NO_FATAL_FAILURE(Commit(
        "events", EventRecord(3, kT0 + 5, std::string(4000, 'w') + " Überspannung 過電壓 |N|")));
    v1::Record point;
    point.mutable_sql()->set_text(
        "INSERT INTO point (point_id, name, description, lower_limit, deadband) VALUES ($1, $2, "
        "$3, $4, $5)");
    point.mutable_sql()->add_params()->set_int_value(1);
    point.mutable_sql()->add_params()->set_text_value("BUS1.KV");
    point.mutable_sql()->add_params()->set_text_value("Sammelschiene 1 — 110 kV");
    point.mutable_sql()->add_params()->set_null_value(true);
    point.mutable_sql()->add_params()->set_double_value(0.1);
    ASSERT_NO_FATAL_FAILURE(Commit("sql", std::move(point)));
    daemon_->WaitCaughtUp();
  }

  // Runs `sql` on target b behind Sluice's back.
  void TamperB(const std::string& sql) {
    if (postgres()) {
      Status s = pg_[0]->Exec(sql, "sluice");
      ASSERT_TRUE(s.ok()) << s.ToString();
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(daemon_->db("b").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr),
              SQLITE_OK);
    sqlite3_busy_timeout(db, 30'000);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message << ": " << sql;
  }

  RunResult Verify(std::vector<std::string> args) {
    args.insert(args.begin(), {SLUICE_CLI_PATH, "verify"});
    return RunCommand(args, dir_.Sub("cli.out"),
                      {{"SLUICE_ADDRESS", daemon_->address()}, {"SLUICE_TOKEN", kAdminToken}});
  }

  static void ExpectIn(const RunResult& r, const std::vector<std::string>& parts) {
    for (const auto& p : parts) {
      EXPECT_NE(r.output.find(p), std::string::npos) << "'" << p << "' not in:\n" << r.output;
    }
  }

  // The JSON answer of `sluice verify ARGS --json` (which must exit `code`).
  nlohmann::json VerifyJson(std::vector<std::string> args, int code) {
    args.push_back("--json");
    RunResult r = Verify(args);
    EXPECT_EQ(r.exit_code, code) << r.output;
    auto doc = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.output;
    return doc;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<PgServer>> pg_;
  std::unique_ptr<Daemon> daemon_;
  std::map<std::string, uint64_t> sequence_;
};

TEST_P(VerifyDaemonTest, EqualAfterALoadThenNamesChangedMissingAndExtraRows) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_NO_FATAL_FAILURE(Load());

  RunResult equal = Verify({});
  EXPECT_EQ(equal.exit_code, 0) << equal.output;
  ExpectIn(equal, {"all 2 targets equal over [the first row, the last row)",
                   "not compared: table sluice_watermark"});

  // The totals are the rows the test wrote (event_log also holds the service's own state
  // changes: counted in a's file), the same on both targets.
  nlohmann::json doc = VerifyJson({}, 0);
  const int64_t events = CountRows(daemon_->db("a"), "event_log");
  ASSERT_GE(events, 3);
  std::map<std::string, std::map<std::string, int64_t>> totals;
  for (const auto& t : doc["summary"]["totals"]) {
    totals[t["table"]][t["target"]] = std::stoll(t["rows"].get<std::string>());
  }
  for (const char* target : {"a", "b"}) {
    EXPECT_EQ(totals["sample_1s"][target], kDays * kPoints) << target;
    EXPECT_EQ(totals["point"][target], 1) << target;
    EXPECT_EQ(totals["event_log"][target], events) << target;
    EXPECT_EQ(totals["sample_1min"][target], 0) << target;
  }
  EXPECT_EQ(doc["summary"]["reference"], "a");
  EXPECT_TRUE(doc["differences"].empty());

  // Behind Sluice's back, in b: a value changed on day 0, a row deleted on day 1, a row
  // added on day 2.
  const int64_t changed_ts = SampleTs(0, 4), missing_ts = SampleTs(1, 7),
                extra_ts = SampleTs(2, 30);
  ASSERT_NO_FATAL_FAILURE(TamperB(
      fmt::format("UPDATE sample_1s SET value = 42.5 WHERE point_id = 4 AND ts = {}", changed_ts)));
  ASSERT_NO_FATAL_FAILURE(
      TamperB(fmt::format("DELETE FROM sample_1s WHERE point_id = 7 AND ts = {}", missing_ts)));
  ASSERT_NO_FATAL_FAILURE(
      TamperB(fmt::format("INSERT INTO sample_1s (point_id, ts, value, quality, ver, manual) "
                          "VALUES (30, {}, 1.5, 0, 1, {})",
                          extra_ts, postgres() ? "false" : "0")));

  RunResult differ = Verify({"--rows"});
  EXPECT_EQ(differ.exit_code, 1) << differ.output;
  ExpectIn(differ, {"TABLE", "BUCKET", "CHECKSUM", "sample_1s",
                    "2024-03-01T00:00:00Z .. 2024-03-02T00:00:00Z",
                    "2024-03-02T00:00:00Z .. 2024-03-03T00:00:00Z",
                    "2024-03-03T00:00:00Z .. 2024-03-04T00:00:00Z",
                    fmt::format("changed  point_id=4 ts={}", changed_ts),
                    fmt::format("missing  point_id=7 ts={}", missing_ts),
                    fmt::format("extra    point_id=30 ts={}", extra_ts), "targets differ over",
                    "3 of", "3 row(s) listed relative to 'a'"});

  doc = VerifyJson({"--rows"}, 1);
  ASSERT_EQ(doc["differences"].size(), 3u) << doc.dump();
  for (const auto& b : doc["differences"]) {
    EXPECT_EQ(b["table"], "sample_1s");
    std::map<std::string, int64_t> rows;
    for (const auto& t : b["targets"]) rows[t["target"]] = std::stoll(t["rows"].get<std::string>());
    const int64_t start = std::stoll(b["start_us"].get<std::string>());
    const int64_t delta = start == kT0 ? 0 : start == kT0 + kDayUs ? -1 : 1;
    EXPECT_EQ(rows["a"], kPoints) << b.dump();
    EXPECT_EQ(rows["b"], kPoints + delta) << b.dump();
  }
  std::map<std::string, std::string> kinds;
  for (const auto& r : doc["rows"]) {
    EXPECT_EQ(r["target"], "b");
    EXPECT_EQ(r["reference"], "a");
    kinds[r["kind"]] = r["key"];
  }
  ASSERT_EQ(kinds.size(), 3u) << doc.dump();
  EXPECT_NE(kinds["changed"].find(fmt::format("point_id=4 ts={}", changed_ts)), std::string::npos);
  EXPECT_NE(kinds["missing"].find(fmt::format("point_id=7 ts={}", missing_ts)), std::string::npos);
  EXPECT_NE(kinds["extra"].find(fmt::format("point_id=30 ts={}", extra_ts)), std::string::npos);

  // Named in any order, the active target stays the reference.
  doc = VerifyJson({"--rows", "--targets", "b,a"}, 1);
  EXPECT_EQ(doc["summary"]["reference"], "a");
  EXPECT_EQ(doc["rows"].size(), 3u);

  // --max-rows bounds the list and says so.
  doc = VerifyJson({"--rows", "--max-rows", "1"}, 1);
  EXPECT_EQ(doc["rows"].size(), 1u);
  EXPECT_EQ(doc["summary"]["rows_truncated"], true);

  // The range narrows the check to day 1; the tables that were not touched are equal.
  doc = VerifyJson({"--rows", "--from", "2024-03-02T00:00:00Z", "--to", "2024-03-03T00:00:00Z"}, 1);
  ASSERT_EQ(doc["differences"].size(), 1u) << doc.dump();
  ASSERT_EQ(doc["rows"].size(), 1u) << doc.dump();
  EXPECT_EQ(doc["rows"][0]["kind"], "missing");
  RunResult others = Verify({"--tables", "point,event_log,sample_define"});
  EXPECT_EQ(others.exit_code, 0) << others.output;
  ExpectIn(others, {"all 2 targets equal", "3 table(s)"});
}

// What does not depend on the targets' dialect (flags, cancellation): SQLite targets only.
class VerifySqliteOnlyTest : public VerifyDaemonTest {};

TEST_P(VerifySqliteOnlyTest, BadFlagsAndUnknownTablesAreRefusedNamingThem) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases = {
      {{"--max-rows", "0"}, "--max-rows 0"},
      {{"--from", "yesterday"}, "--from 'yesterday'"},
      {{"--from", "now", "--to", "now-1h"}, "--from 'now' is not before --to 'now-1h'"},
      {{"--bucket", "0"}, "--bucket '0'"},
      {{"--tables", "sample_1s,nosuch"}, "unknown table 'nosuch'"},
      {{"--tables", "sluice_watermark"}, "table 'sluice_watermark' is not compared"},
      {{"--tables", "point,,event_log"}, "an empty table name"},
      {{"--targets", "a,"}, "--targets 'a,': an empty target name"},
  };
  for (const Case& c : cases) {
    RunResult r = Verify(c.args);
    EXPECT_EQ(r.exit_code, 2) << fmt::format("{}", fmt::join(c.args, " ")) << "\n" << r.output;
    ExpectIn(r, {c.named});
  }
  // A disabled target is not compared: one target left is nothing to compare.
  RunResult disable =
      RunCommand({SLUICE_CLI_PATH, "target", "disable", "b"}, dir_.Sub("cli.out"),
                 {{"SLUICE_ADDRESS", daemon_->address()}, {"SLUICE_TOKEN", kAdminToken}});
  ASSERT_EQ(disable.exit_code, 0) << disable.output;
  RunResult alone = Verify({});
  EXPECT_EQ(alone.exit_code, 2) << alone.output;
  ExpectIn(alone, {"1 enabled target to compare"});
  // Named, a disabled target is compared (a target being rebuilt is checked before it is
  // enabled again); an unknown one is refused naming it.
  RunResult named = Verify({"--targets", "b,a"});
  EXPECT_EQ(named.exit_code, 0) << named.output;
  ExpectIn(named, {"all 2 targets equal"});
  RunResult unknown = Verify({"--targets", "a,nosuch"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  ExpectIn(unknown, {"no target 'nosuch' (targets: a, b)"});

  // Nothing listening: 3, as for every command, and the address named.
  const std::string nobody = fmt::format("127.0.0.1:{}", FreePort());
  RunResult unreachable = RunCommand({SLUICE_CLI_PATH, "--connect-timeout", "1", "verify"},
                                     dir_.Sub("cli.out"), {{"SLUICE_ADDRESS", nobody}});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.output;
  ExpectIn(unreachable, {nobody});

  RunResult help = Verify({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.output;
  ExpectIn(help, {"--from", "--to", "--tables", "--rows", "--max-rows", "--json", "Exit codes: 0"});
}

// Cancelling the call stops the check: the service holds it 2 s after each table (a fail
// point), the caller cancels after the first table, and the service says it stopped long
// before the 18 tables' 36 s; a check after it runs on fresh connections.
TEST_P(VerifySqliteOnlyTest, ACancelledCheckStops) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({{"SLUICE_FAILPOINTS", "verify.after_table=sleep(2000)"}}));
  const auto began = std::chrono::steady_clock::now();
  {
    std::unique_ptr<grpc::ClientContext> ctx = daemon_->Context(kAdminToken);
    auto reader = daemon_->admin_stub().Verify(ctx.get(), v1::VerifyRequest());
    v1::VerifyResponse r;
    ASSERT_TRUE(reader->Read(&r)) << reader->Finish().error_message();
    ASSERT_TRUE(r.has_progress());
    EXPECT_EQ(r.progress().table(), "point");
    ctx->TryCancel();
    while (reader->Read(&r)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return ReadFile(daemon_->log()).find("verify cancelled by the caller") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << ReadFile(daemon_->log());
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(30));
  EXPECT_EQ(ReadFile(daemon_->log()).find("verify done"), std::string::npos);

  RunResult again = Verify({"--tables", "point"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  ExpectIn(again, {"all 2 targets equal"});
}

INSTANTIATE_TEST_SUITE_P(SecondTarget, VerifyDaemonTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(SqliteTargets, VerifySqliteOnlyTest, ::testing::Values("sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sluice::testing
