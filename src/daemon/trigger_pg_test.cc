// Triggered samples with PostgreSQL: a real sluiced with two PostgreSQL primaries and a
// SQLite replica; trigger types put through the Sampling service, and triggers with named
// values, positional values and only the leading columns land in burst_sample of every
// target identically, column for column as the test computes them.

#include <algorithm>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "daemon/trigger_test_util.h"
#include "support/pg_replica_fixture.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {
namespace {

class TriggerPgTest : public PgReplicaFixture {
 protected:
  TriggerPgTest() : PgReplicaFixture(SLUICED_PATH) {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Start("trigger-pg"));
  }
};

TEST_F(TriggerPgTest, TriggersLandInPostgresAndSqliteAlike) {
  const auto fault = MakeTriggerType(3, "breaker fault", {"breaker", "phase", "count"},
                                     {"current_ka", "duration_ms"}, {"relay", "text"});
  const auto alarm = MakeTriggerType(4, "level alarm", {}, {"level_m"}, {"station"});
  v1::PutTriggerTypesRequest put;
  *put.add_types() = fault;
  *put.add_types() = alarm;
  v1::ExecuteResponse resp;
  ASSERT_TRUE(sampling_->PutTriggerTypes(Ctx().get(), put, &resp).ok());
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();

  const int64_t t0 = (NowMicros() - 3'600'000'000) / 1'000'000 * 1'000'000;
  std::vector<ExpectedTriggerRow> expected;
  auto send = [&](const v1::TriggerRequest& req, ExpectedTriggerRow want) {
    v1::CommitResponse commit;
    grpc::Status s = sampling_->Trigger(Ctx().get(), req, &commit);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(commit.lsns_size(), 1);
    expected.push_back(std::move(want));
  };
  {
    const NamedValues v = {{"breaker", int64_t{4001}}, {"phase", int64_t{-2}},
                           {"count", (int64_t{1} << 40) + 3}, {"current_ka", 12.5},
                           {"duration_ms", 0.1}, {"relay", std::string("R7")},
                           {"text", std::string("trip, 'quoted' 跳闸")}};
    auto req = NamedRequest(t0, v);
    req.set_type_name(fault.name());
    ASSERT_NO_FATAL_FAILURE(send(req, ExpectNamed(fault, t0, v)));
  }
  {
    v1::TriggerRequest req;
    req.set_type_id(fault.id());
    req.set_occur_time_us(t0 + 1);
    req.add_ints(4002);
    req.add_floats(-7.75);
    req.add_floats(1e-300);
    ASSERT_NO_FATAL_FAILURE(send(req, ExpectPositional(fault.id(), t0 + 1, {4002}, {-7.75, 1e-300}, {})));
  }
  {
    const NamedValues v = {{"level_m", 3.25}};
    auto req = NamedRequest(t0 + 2, v);
    req.set_type_id(alarm.id());
    ASSERT_NO_FATAL_FAILURE(send(req, ExpectNamed(alarm, t0 + 2, v)));
  }
  ASSERT_TRUE(WaitCaughtUp())
      << ReadFile(daemon_.log_path());

  const auto rows = Rows(SelectBurstRows());
  const char* names[] = {"pg-a", "pg-b", "lite"};
  for (size_t t = 0; t < rows.size(); ++t) {
    SCOPED_TRACE(names[t]);
    ExpectBurstRows(rows[t], expected, PgServer::kNull);
  }
  const auto types = Rows("SELECT trigger_type, name, float_columns, string_columns FROM burst_type "
                          "ORDER BY trigger_type");
  for (size_t t = 0; t < types.size(); ++t) {
    EXPECT_EQ(types[t], (std::vector<std::vector<std::string>>{
                            {"3", "breaker fault", "current_ka,duration_ms", "relay,text"},
                            {"4", "level alarm", "level_m", "station"}}))
        << names[t];
  }
}

}  // namespace
}  // namespace sluice::testing
