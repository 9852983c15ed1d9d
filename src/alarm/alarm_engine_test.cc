// The evaluator's hysteresis (values sitting on the thresholds never flap), the engine's
// history, counts and watches, and the checks' arithmetic (time to loss, shares).
#include "alarm/alarm_engine.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "alarm/checks.h"
#include "alarm/growth_rate.h"

namespace sluice::alarm {
namespace {

CheckSpec Above(double raise, double clear) {
  return CheckSpec{"lag", Severity::kWarning, Direction::kAbove, raise, clear, Unit::kCount};
}
CheckSpec Below(double raise, double clear) {
  return CheckSpec{"free", Severity::kCritical, Direction::kBelow, raise, clear, Unit::kShare};
}

// Feeds `values` to one alarm and returns whether it was active after each.
std::vector<bool> ActiveAfterEach(const CheckSpec& spec, const std::vector<double>& values) {
  std::vector<bool> out;
  bool active = false;
  for (double v : values) {
    active = NextActive(spec, active, v);
    out.push_back(active);
  }
  return out;
}

TEST(AlarmHysteresisTest, AboveRaisesPastRaiseAndClearsOnlyPastClear) {
  const CheckSpec spec = Above(100, 50);
  // On the raise line: not raised; past it: raised; back on the raise line, between the
  // lines and on the clear line: still raised; past the clear line: cleared.
  EXPECT_EQ(ActiveAfterEach(spec, {100, 100, 101, 100, 75, 50, 50, 49, 50, 100}),
            (std::vector<bool>{false, false, true, true, true, true, true, false, false, false}));
}

TEST(AlarmHysteresisTest, BelowIsTheMirror) {
  const CheckSpec spec = Below(0.10, 0.15);
  EXPECT_EQ(ActiveAfterEach(spec, {0.10, 0.0999, 0.10, 0.15, 0.1501, 0.15, 0.10}),
            (std::vector<bool>{false, true, true, true, false, false, false}));
}

TEST(AlarmHysteresisTest, ValueSittingOnEqualLinesNeverFlaps) {
  // raise == clear: a value on the line keeps whatever state the alarm is in.
  const CheckSpec spec = Above(0.5, 0.5);
  std::vector<double> values(50, 0.5);
  for (bool b : ActiveAfterEach(spec, values)) EXPECT_FALSE(b);
  std::vector<double> raised_then_on_line = {1};
  raised_then_on_line.insert(raised_then_on_line.end(), 50, 0.5);
  auto states = ActiveAfterEach(spec, raised_then_on_line);
  for (bool b : states) EXPECT_TRUE(b);
}

TEST(AlarmHysteresisTest, NothingMeasuredChangesNothing) {
  const CheckSpec spec = Above(1, 0);
  EXPECT_TRUE(NextActive(spec, true, std::nan("")));
  EXPECT_FALSE(NextActive(spec, false, std::nan("")));
}

TEST(AlarmEngineTest, RaisesAndClearsOncePerCrossingWithHistoryAndCounts) {
  int64_t now = 1000;
  AlarmEngine engine({Above(100, 50), Below(0.10, 0.15)}, /*history_limit=*/3, [&] { return now; });
  std::vector<double> lag = {10, 150, 150, 60, 40, 40, 200};
  size_t raises = 0, clears = 0;
  for (double v : lag) {
    ++now;
    for (const auto& e :
         engine.Evaluate({{"lag", "target 'a'", v, ""}, {"unknown", "x", 1e9, ""}})) {
      (e.raised ? raises : clears)++;
      EXPECT_EQ(e.check, "lag");
      EXPECT_EQ(e.at_us, now);
      EXPECT_EQ(e.threshold, e.raised ? 100 : 50);
    }
  }
  EXPECT_EQ(raises, 2u);
  EXPECT_EQ(clears, 1u);
  AlarmSnapshot s = engine.GetSnapshot();
  ASSERT_EQ(s.active.size(), 1u);
  EXPECT_EQ(s.active[0].value, 200);
  EXPECT_EQ(s.counts[static_cast<size_t>(Severity::kWarning)], 1u);
  EXPECT_EQ(s.counts[static_cast<size_t>(Severity::kCritical)], 0u);
  EXPECT_EQ(s.history.size(), 3u);  // bounded
  EXPECT_EQ(s.last_seq, raises + clears);
  for (size_t i = 1; i < s.history.size(); ++i)
    EXPECT_EQ(s.history[i].seq, s.history[i - 1].seq + 1);

  engine.Evaluate({{"free", "journal", 0.05, ""}});
  EXPECT_EQ(engine.Counts()[static_cast<size_t>(Severity::kCritical)], 1u);
}

TEST(AlarmEngineTest, WatchSeesCurrentSetThenEveryEventInOrderAndEndsOnStop) {
  AlarmEngine engine({Above(100, 50)}, 10);
  engine.Evaluate({{"lag", "a", 500, ""}});
  auto watch = engine.Subscribe();
  ASSERT_EQ(watch->initial().active.size(), 1u);
  EXPECT_EQ(watch->initial().active[0].subject, "a");
  engine.Evaluate({{"lag", "a", 0, ""}, {"lag", "b", 101, ""}});
  AlarmEvent e;
  ASSERT_EQ(watch->Next(std::chrono::seconds(10), &e), AlarmEngine::Watch::Result::kEvent);
  EXPECT_FALSE(e.raised);
  EXPECT_EQ(e.subject, "a");
  ASSERT_EQ(watch->Next(std::chrono::seconds(10), &e), AlarmEngine::Watch::Result::kEvent);
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.subject, "b");
  EXPECT_EQ(watch->Next(std::chrono::milliseconds(1), &e), AlarmEngine::Watch::Result::kTimeout);
  std::thread stopper([&] { engine.Stop(); });
  EXPECT_EQ(watch->Next(std::chrono::seconds(60), &e), AlarmEngine::Watch::Result::kClosed);
  stopper.join();
}

TEST(AlarmEngineTest, ThreadRunsPassesAndHandsEventsToTheSink) {
  AlarmEngine engine({Above(0.5, 0.5)}, 10);
  std::mutex mu;
  std::vector<AlarmEvent> sunk;
  std::atomic<int> passes{0};
  engine.Start(
      std::chrono::milliseconds(1),
      [&](int64_t) {
        int n = ++passes;
        return std::vector<Observation>{{"lag", "a", n < 3 ? 1.0 : 0.0, ""}};
      },
      [&](const AlarmEvent& e) {
        std::lock_guard lk(mu);
        sunk.push_back(e);
      });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    {
      std::lock_guard lk(mu);
      if (sunk.size() >= 2 || std::chrono::steady_clock::now() > deadline) break;
    }
    std::this_thread::yield();
  }
  engine.Stop();
  std::lock_guard lk(mu);
  ASSERT_EQ(sunk.size(), 2u);
  EXPECT_TRUE(sunk[0].raised);
  EXPECT_FALSE(sunk[1].raised);
}

TEST(GrowthRateTest, RateOverTheWindow) {
  GrowthRate g(std::chrono::seconds(10));
  g.Add(0, 1000);
  EXPECT_FALSE(g.BytesPerSecond());
  g.Add(1'000'000, 1500);  // 1 s: under a quarter of the window
  EXPECT_FALSE(g.BytesPerSecond());
  g.Add(5'000'000, 6000);
  ASSERT_TRUE(g.BytesPerSecond());
  EXPECT_DOUBLE_EQ(*g.BytesPerSecond(), 1000.0);
  // Past the window the old samples go: shrinking now.
  g.Add(20'000'000, 6000);
  g.Add(30'000'000, 1000);
  ASSERT_TRUE(g.BytesPerSecond());
  EXPECT_DOUBLE_EQ(*g.BytesPerSecond(), -500.0);
}

TEST(CheckSetTest, TimeToLossIsRoomOverGrowthAndAbsentWhenIdle) {
  config::AlarmsConfig c;
  c.time_to_loss_window = std::chrono::seconds(10);
  CheckSet checks(c);
  AlarmInputs in;
  in.disk_free_bytes = 10'000'000;
  in.disk_total_bytes = 100'000'000;
  in.free_space_floor_bytes = 1'000'000;
  in.journal_budget_bytes = 2'000'000;
  auto find = [](const std::vector<Observation>& obs,
                 const std::string& check) -> const Observation* {
    for (const auto& o : obs) {
      if (o.check == check) return &o;
    }
    return nullptr;
  };
  in.journal_bytes = 500'000;
  checks.Measure(0, in);
  in.journal_bytes = 1'000'000;
  auto obs = checks.Measure(10'000'000, in);
  // 500,000 bytes in 10 s = 50,000 B/s; room = min(10M - 1M floor, 2M - 1M budget) = 1M.
  const Observation* ttl = find(obs, kTimeToLoss);
  ASSERT_NE(ttl, nullptr);
  EXPECT_DOUBLE_EQ(ttl->value, 1'000'000.0 / 50'000.0);
  const Observation* budget = find(obs, kJournalBudget);
  ASSERT_NE(budget, nullptr);
  EXPECT_DOUBLE_EQ(budget->value, 0.5);
  const Observation* disk = find(obs, kDiskFree);
  ASSERT_NE(disk, nullptr);
  EXPECT_DOUBLE_EQ(disk->value, 0.1);
  // Not growing: infinite time, which never raises.
  obs = checks.Measure(20'000'000, in);
  obs = checks.Measure(30'000'000, in);
  ttl = find(obs, kTimeToLoss);
  ASSERT_NE(ttl, nullptr);
  EXPECT_TRUE(std::isinf(ttl->value));
  auto specs = SpecsFromConfig(c);
  auto spec = std::find_if(specs.begin(), specs.end(),
                           [](const CheckSpec& s) { return s.name == kTimeToLoss; });
  ASSERT_NE(spec, specs.end());
  EXPECT_FALSE(NextActive(*spec, false, ttl->value));
  EXPECT_FALSE(NextActive(*spec, true, ttl->value));
}

}  // namespace
}  // namespace sluice::alarm
