// The service state file (every field survives a round trip; a damaged file is refused
// naming the file and what is wrong) and the catch-up meter's rate and ETA.

#include <gtest/gtest.h>

#include <filesystem>

#include "cluster/catch_up.h"
#include "cluster/cluster_state.h"

namespace sluice::cluster {
namespace {

class ClusterStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sluice_cluster_state_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "cluster.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text) {
    ASSERT_TRUE(WriteFileAtomically(FileSystem::Default(), path_, text).ok());
  }
  std::string ErrorOf(const std::string& text) {
    Write(text);
    auto r = LoadClusterState(FileSystem::Default(), path_);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), Code::kCorruption);
    EXPECT_NE(r.status().message().find(path_), std::string::npos) << r.status().message();
    return r.status().message();
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(ClusterStateTest, MissingFileIsNoState) {
  auto r = LoadClusterState(FileSystem::Default(), path_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
}

TEST_F(ClusterStateTest, RoundTripKeepsEveryField) {
  ClusterState s;
  s.phase = Phase::kSwitching;
  s.from = "pg-a";
  s.to = "pg-b";
  s.since_us = 1234567;
  s.reason = "'pg-a' is down: connection refused";
  s.switch_id = 42;
  ASSERT_TRUE(SaveClusterState(FileSystem::Default(), path_, s).ok());
  auto r = LoadClusterState(FileSystem::Default(), path_);
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status().ToString();
  const ClusterState& got = **r;
  EXPECT_EQ(got.phase, Phase::kSwitching);
  EXPECT_EQ(got.from, "pg-a");
  EXPECT_EQ(got.to, "pg-b");
  EXPECT_EQ(got.since_us, 1234567);
  EXPECT_EQ(got.reason, s.reason);
  EXPECT_EQ(got.switch_id, 42u);
  EXPECT_EQ(got.Describe(), "switching(pg-a -> pg-b)");

  s.phase = Phase::kActive;
  s.active = "pg-b";
  ASSERT_TRUE(SaveClusterState(FileSystem::Default(), path_, s).ok());
  r = LoadClusterState(FileSystem::Default(), path_);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->Describe(), "active(pg-b)");
}

TEST_F(ClusterStateTest, DamagedFilesAreRefusedNamingTheProblem) {
  EXPECT_NE(ErrorOf("{not json").find("not a valid service state file"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": 2, "state": "active", "active": "a"})").find("format 2 is not 1"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": 1, "state": "sleeping"})").find("unknown state 'sleeping'"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": 1, "state": "active"})").find("without an active target"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": 1, "state": "switching", "from": "a"})").find("without 'to'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": 1})").find("state"), std::string::npos);
}

TEST(CatchUpMeterTest, RateAndEtaFollowTheShrinkingLag) {
  CatchUpMeter m(std::chrono::seconds(5));
  auto t0 = std::chrono::steady_clock::now();
  // 10,000 behind; applying 2,000/s while 1,000/s arrive: the lag shrinks 1,000/s.
  m.Sample(t0, 0, 10000);
  m.Sample(t0 + std::chrono::seconds(1), 2000, 11000);
  m.Sample(t0 + std::chrono::seconds(2), 4000, 12000);
  CatchUp c = m.Get();
  EXPECT_EQ(c.lag_records, 8000u);
  EXPECT_NEAR(c.apply_per_s, 2000, 1);
  EXPECT_NEAR(c.eta_s, 8, 0.01);
  // Falling behind: no ETA.
  m.Sample(t0 + std::chrono::seconds(3), 4000, 20000);
  EXPECT_EQ(m.Get().eta_s, -1);
  // Caught up: ETA 0.
  m.Sample(t0 + std::chrono::seconds(4), 20000, 20000);
  EXPECT_EQ(m.Get().lag_records, 0u);
  EXPECT_EQ(m.Get().eta_s, 0);
}

}  // namespace
}  // namespace sluice::cluster
