// Runs the built `sluice trigger-types` and `sluice trigger` against a live sluiced with
// SQLite targets: a type put and listed, triggers by name and by id with values parsed by
// their columns' kinds and the time given both ways, the rows in every target; a value
// that is not of its column's kind and an unknown type named, with nothing journaled.

#include <gtest/gtest.h>
#include <fmt/format.h>

#include "support/daemon.h"

#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

class TriggerCliTest : public ::testing::Test {
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

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(TriggerCliTest, PutListTriggerAndRefuse) {
  RunResult put = Sluice({"trigger-types", "put", "--id", "3", "--name", "breaker fault",
                          "--description", "a breaker tripped", "--int", "breaker,phase",
                          "--float", "current_ka", "--string", "relay", "--string", "text"});
  ASSERT_EQ(put.exit_code, 0) << put.output;
  ExpectIn(put, {"APPLIED: trigger type 3 'breaker fault' (2 int, 1 float, 2 string columns)"});
  RunResult list = Sluice({"trigger-types", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  ExpectIn(list, {"id,name,description,int_columns,float_columns,string_columns\n",
                  "3,breaker fault,a breaker tripped,\"breaker,phase\",current_ka,\"relay,text\"\n"});

  // The time as ISO 8601 with an offset, and as µs; the type by name and by id.
  const int64_t t1 = 1'765'000'800'250'000;  // 2025-12-06T06:00:00.25Z
  RunResult by_name = Sluice({"trigger", "breaker fault", "--time", "2025-12-06T14:00:00.25+08:00",
                              "breaker=4001", "phase=-2", "current_ka=12.5", "relay=R7, line 2"});
  ASSERT_EQ(by_name.exit_code, 0) << by_name.output;
  ExpectIn(by_name, {"journaled: trigger type 'breaker fault' (id 3) with 4 value(s) (lsn "});
  RunResult by_id = Sluice({"trigger", "3", "--time-us", std::to_string(t1 + 1), "breaker=4002"});
  ASSERT_EQ(by_id.exit_code, 0) << by_id.output;

  const uint64_t head = daemon_->HeadLsn("samples");
  RunResult kind = Sluice({"trigger", "breaker fault", "breaker=B1"});
  EXPECT_EQ(kind.exit_code, 2) << kind.output;
  ExpectIn(kind, {"int column 'breaker' (int_1)", "'B1' is not an integer"});
  RunResult unknown = Sluice({"trigger", "breaker trip", "breaker=1"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  ExpectIn(unknown, {"no trigger type with the id or name 'breaker trip'", "3 'breaker fault'"});
  // The service's own check: a gap before a given column.
  RunResult gap = Sluice({"trigger", "breaker fault", "phase=1"});
  EXPECT_EQ(gap.exit_code, 1) << gap.output;
  ExpectIn(gap, {"INVALID_ARGUMENT", "'breaker' (int_1) is not"});
  RunResult both_times = Sluice({"trigger", "3", "--time", "2025-12-06T06:00:00Z", "--time-us", "1"});
  EXPECT_EQ(both_times.exit_code, 2) << both_times.output;
  EXPECT_EQ(daemon_->HeadLsn("samples"), head);

  daemon_->WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) {
    auto rows = QueryRows(daemon_->db(t),
                          "SELECT trigger_type, occur_time, int_1, int_2, int_3, float_1, str_1, str_2 "
                          "FROM burst_sample ORDER BY occur_time");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(*rows, (std::vector<std::vector<std::string>>{
                         {"3", std::to_string(t1), "4001", "-2", "<NULL>", "12.5", "R7, line 2", "<NULL>"},
                         {"3", std::to_string(t1 + 1), "4002", "<NULL>", "<NULL>", "<NULL>", "<NULL>",
                          "<NULL>"}}))
        << t;
  }

  RunResult del = Sluice({"trigger-types", "delete", "3"});
  ASSERT_EQ(del.exit_code, 0) << del.output;
  ExpectIn(del, {"APPLIED: 1 trigger type(s) deleted"});
  RunResult empty = Sluice({"trigger-types", "list"});
  ASSERT_EQ(empty.exit_code, 0) << empty.output;
  EXPECT_EQ(empty.output, "id,name,description,int_columns,float_columns,string_columns\n");
}

}  // namespace
}  // namespace sluice::testing
