// Runs the built `sluice query` against a live sluiced with SQLite targets holding an hour
// of 1 s samples of a ramp (value = second of the hour): raw rows as CSV, aggregates as
// JSON by point name, limit statistics with a PNG plot; and the refusals a user meets
// (unknown name, unknown id, zero step, unknown aggregate) with their exit codes.

#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/values.h"
#include "support/daemon.h"

#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

constexpr int64_t kSecond = 1'000'000;

class QueryCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(dir_, DaemonConfig::NoAuth());
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
    t0_ = (NowMicros() / (3600 * kSecond) - 3) * 3600 * kSecond;
    auto sampling = v1::Sampling::NewStub(daemon_->channel());
    v1::PutPointsRequest put;
    v1::CatalogPoint* p = put.add_points();
    p->set_id(3);
    p->set_name("RAMP");
    p->set_hi(3000);
    p->set_lo(100);
    v1::ExecuteResponse resp;
    ASSERT_TRUE(sampling->PutPoints(daemon_->Context("").get(), put, &resp).ok());
    ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
    v1::CommitRequest req;
    req.set_stream("samples");
    v1::SampleBatch* b = req.add_records()->mutable_samples();
    b->set_interval(v1::SAMPLE_INTERVAL_1S);
    for (int i = 0; i < 3600; ++i) {
      b->add_point_id(3);
      b->add_ts_us(t0_ + i * kSecond);
      b->add_value(i);
      b->add_quality(0);
    }
    v1::CommitResponse committed;
    grpc::Status s = daemon_->Commit(req, &committed);
    ASSERT_TRUE(s.ok()) << s.error_message();
    daemon_->WaitCaughtUp();
  }

  RunResult Sluice(std::vector<std::string> args) {
    args.insert(args.begin(), SLUICE_CLI_PATH);
    return RunCommand(args, dir_.Sub("cli.out"), {{"SLUICE_ADDRESS", daemon_->address()}});
  }
  std::string At(int64_t seconds) const { return config::FormatTimestamp(t0_ + seconds * kSecond); }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  int64_t t0_ = 0;
};

TEST_F(QueryCliTest, RawAggregatesAndLimitsInEveryFormat) {
  RunResult raw = Sluice({"query", "raw", "3", "--from", At(0), "--to", At(10), "--format", "csv"});
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  std::string expected = "point_id,name,ts,value,quality,manual,pending,bound\n";
  for (int i = 0; i < 10; ++i) expected += fmt::format("3,RAMP,{},{},good,,,\n", At(i), i);
  EXPECT_NE(raw.output.find(expected), std::string::npos) << raw.output;

  RunResult agg = Sluice({"query", "agg", "RAMP", "--from", At(0), "--to", At(3600), "--step", "15min",
                          "--aggregates", "Average,maximum", "--format", "json"});
  ASSERT_EQ(agg.exit_code, 0) << agg.output;
  auto json = nlohmann::json::parse(agg.output.substr(agg.output.find('[')));
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["aggregate"], "Average");
  EXPECT_EQ(json[1]["aggregate"], "Maximum");
  EXPECT_EQ(json[0]["name"], "RAMP");
  ASSERT_EQ(json[0]["values"].size(), 4u);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(json[0]["values"][k]["value"].get<double>(), k * 900 + 449.5);
    EXPECT_EQ(json[1]["values"][k]["value"].get<double>(), k * 900 + 899);
    EXPECT_EQ(json[0]["values"][k]["status"], "good");
    EXPECT_EQ(json[0]["values"][k]["ts_us"], t0_ + k * 900 * kSecond);
  }

  // The ramp is below 100 for its first 100 s, and above 3000 from second 3001 to the end
  // of the range (599 s: the last sample, 3599, holds until 3600).
  const std::string png = dir_.Sub("limits.png");
  RunResult limits = Sluice({"query", "limits", "RAMP", "--from", At(0), "--to", At(3600), "--step",
                             "30min", "--format", "csv", "--plot", png});
  ASSERT_EQ(limits.exit_code, 0) << limits.output;
  EXPECT_NE(limits.output.find(fmt::format("3,RAMP,{},3000,100,0,0,0,,1,100000,100000,{},1800000,{},\n",
                                           At(0), At(0), 1 - 100.0 / 1800)),
            std::string::npos)
      << limits.output;
  EXPECT_NE(limits.output.find(fmt::format("3,RAMP,{},3000,100,1,599000,599000,{},0,0,0,,1800000,",
                                           At(1800), At(3001))),
            std::string::npos)
      << limits.output;
  EXPECT_NE(limits.output.find("plot written to " + png), std::string::npos) << limits.output;
  std::ifstream in(png, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_F(QueryCliTest, RefusalsNameWhatIsWrong) {
  RunResult name = Sluice({"query", "raw", "NOPE"});
  EXPECT_EQ(name.exit_code, 2) << name.output;
  EXPECT_NE(name.output.find("point 'NOPE' is not in the catalog"), std::string::npos) << name.output;
  RunResult id = Sluice({"query", "raw", "99"});
  EXPECT_EQ(id.exit_code, 1) << id.output;
  EXPECT_NE(id.output.find("no point 99"), std::string::npos) << id.output;
  RunResult step = Sluice({"query", "agg", "3", "--step", "0s"});
  EXPECT_EQ(step.exit_code, 2) << step.output;
  EXPECT_NE(step.output.find("--step 0s"), std::string::npos) << step.output;
  RunResult agg = Sluice({"query", "agg", "3", "--step", "1min", "--aggregates", "Median"});
  EXPECT_EQ(agg.exit_code, 2) << agg.output;
  EXPECT_NE(agg.output.find("aggregate 'Median' is not one of"), std::string::npos) << agg.output;
  RunResult order = Sluice({"query", "raw", "3", "--from", "now", "--to", "now-1h"});
  EXPECT_EQ(order.exit_code, 2) << order.output;
  EXPECT_NE(order.output.find("is not before --to"), std::string::npos) << order.output;
}

}  // namespace
}  // namespace sluice::testing
