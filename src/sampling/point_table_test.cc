#include "sampling/point_table.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::sampling {
namespace {

TEST(PointTableTest, UpdateGetAndSnapshot) {
  PointTable table(10);
  EXPECT_FALSE(table.Get(7).has_value());
  ASSERT_TRUE(table.Update(7, {1.5, 2, 100, 200}).ok());
  ASSERT_TRUE(table.Update(7, {2.5, 0, 300, 400}).ok());
  auto v = table.Get(7);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->value, 2.5);
  EXPECT_EQ(v->quality, 0u);
  EXPECT_EQ(v->source_us, 300);
  EXPECT_EQ(v->updated_us, 400);
  EXPECT_EQ(table.size(), 1u);

  std::vector<int64_t> ids = {8, 7};
  std::vector<std::optional<PointValue>> out;
  table.Snapshot(ids, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].has_value());
  ASSERT_TRUE(out[1].has_value());
  EXPECT_EQ(out[1]->value, 2.5);
}

TEST(PointTableTest, FullTableRefusesNewPointsAndKeepsUpdatingOldOnes) {
  PointTable table(3);
  for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE(table.Update(id, {1, 0, 0, 0}).ok());
  Status st = table.Update(4, {1, 0, 0, 0});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_NE(st.message().find("point 4"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("3 points"), std::string::npos) << st.message();
  EXPECT_FALSE(table.Get(4).has_value());
  EXPECT_TRUE(table.Update(2, {9, 0, 0, 0}).ok());
  EXPECT_EQ(table.Get(2)->value, 9);
  EXPECT_EQ(table.size(), 3u);
}

TEST(PointTableTest, ConcurrentUpdatersNeverExceedTheBound) {
  constexpr size_t kMax = 1000;
  PointTable table(kMax);
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = 0; i < 2000; ++i) {
        // Threads overlap on half the ids, so inserts of one id race too.
        const int64_t id = (t % 2) * 1000 + i;
        if (!table.Update(id, {static_cast<double>(i), 0, i, i}).ok()) ++refused;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(table.size(), kMax);
  size_t present = 0;
  for (int64_t id = 0; id < 3000; ++id) present += table.Get(id).has_value();
  EXPECT_EQ(present, kMax);
  EXPECT_GT(refused.load(), 0);
}


TEST(PointTableTest, SlotForAddsAnEmptyPointThatUpdateThenFills) {
  PointTable table(2);
  Result<PointSlot> slot = table.SlotFor(5);
  ASSERT_TRUE(slot.ok());
  EXPECT_FALSE(table.Load(*slot).has_value());
  EXPECT_FALSE(table.Get(5).has_value());
  ASSERT_TRUE(table.Update(5, {3.0, 1, 10, 20}).ok());
  ASSERT_TRUE(table.Load(*slot).has_value());
  EXPECT_EQ(table.Load(*slot)->value, 3.0);
  EXPECT_EQ(table.SlotFor(5).value(), *slot);
  ASSERT_TRUE(table.SlotFor(6).ok());
  Result<PointSlot> full = table.SlotFor(7);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), Code::kResourceExhausted);
  EXPECT_NE(full.status().message().find("point 7"), std::string::npos);
}

// Updaters write value == quality == source_us == updated_us; a reader must never see
// fields of two different updates.
TEST(PointTableTest, ConcurrentUpdatersAndSnapshotNeverReadATornValue) {
  constexpr int64_t kPoints = 64;
  PointTable table(kPoints);
  std::vector<int64_t> ids;
  for (int64_t id = 0; id < kPoints; ++id) ids.push_back(id);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int64_t n = t; !stop.load(std::memory_order_relaxed); n += 3) {
        const int64_t id = n % kPoints;
        ASSERT_TRUE(
            table.Update(id, {static_cast<double>(n), static_cast<uint32_t>(n), n, n}).ok());
      }
    });
  }
  int64_t torn = 0, seen = 0;
  std::vector<std::optional<PointValue>> out;
  // 2,000 rounds, and on a loaded machine as many more as it takes for the writers to be
  // scheduled at all (up to a minute).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  for (int round = 0; round < 2000 || (seen == 0 && std::chrono::steady_clock::now() < give_up); ++round) {
    table.Snapshot(ids, &out);
    for (const auto& v : out) {
      if (!v) continue;
      ++seen;
      const auto n = static_cast<int64_t>(v->value);
      torn += !(static_cast<int64_t>(v->quality) == (n & 0xFFFFFFFF) && v->source_us == n &&
                v->updated_us == n);
    }
  }
  stop = true;
  for (auto& w : writers) w.join();
  EXPECT_GT(seen, 0);
  EXPECT_EQ(torn, 0);
}

}  // namespace
}  // namespace sluice::sampling
