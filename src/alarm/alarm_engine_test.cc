// The evaluator's hysteresis (values sitting on the thresholds never flap), the engine's
// history, counts and watches, and the checks' arithmetic (time to loss, shares).
#include "alarm/alarm_engine.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "alarm/checks.h"
#include "alarm/counter_window.h"
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

// A raise or clear reaches the sink (the node journals it) before anyone can see it: a
// caller that sees the change and then waits for the journal's head finds its row.
TEST(AlarmEngineTest, EachChangeGoesToTheSinkBeforeItIsVisible) {
  AlarmEngine engine({Above(100, 50)}, 10);
  std::vector<size_t> active_seen_by_sink;
  auto sink = [&](const AlarmEvent&) {
    active_seen_by_sink.push_back(engine.GetSnapshot().active.size());
  };
  engine.Evaluate({{"lag", "target 'a'", 150, ""}}, sink);
  EXPECT_EQ(engine.GetSnapshot().active.size(), 1u);
  engine.Evaluate({{"lag", "target 'a'", 160, ""}}, sink);  // no change: no call
  EXPECT_EQ(engine.GetSnapshot().active[0].value, 160);
  engine.Evaluate({{"lag", "target 'a'", 10, ""}}, sink);
  EXPECT_TRUE(engine.GetSnapshot().active.empty());
  // The raise was handed over while nothing was active yet, the clear while it still was.
  EXPECT_EQ(active_seen_by_sink, (std::vector<size_t>{0, 1}));
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

TEST(CheckSetTest, TargetLagBytesIsTheTargetsFigureInBytes) {
  config::AlarmsConfig c;
  c.lag_bytes.raise = 1000;
  c.lag_bytes.clear = 100;
  CheckSet checks(c);
  AlarmInputs in;
  TargetInputs t;
  t.name = "dr";
  t.lag_records = 7;
  t.lag_bytes = 1500;
  in.targets.push_back(t);
  std::vector<Observation> obs = checks.Measure(0, in);
  auto it = std::find_if(obs.begin(), obs.end(),
                         [](const Observation& o) { return o.check == kLagBytes; });
  ASSERT_NE(it, obs.end());
  EXPECT_EQ(it->subject, TargetSubject(t.name));
  EXPECT_DOUBLE_EQ(it->value, static_cast<double>(t.lag_bytes));
  auto specs = SpecsFromConfig(c);
  auto spec = std::find_if(specs.begin(), specs.end(),
                           [](const CheckSpec& s) { return s.name == kLagBytes; });
  ASSERT_NE(spec, specs.end());
  EXPECT_EQ(spec->unit, Unit::kBytes);
  EXPECT_TRUE(NextActive(*spec, false, it->value));
  // Disabled: not measured at all.
  c.lag_bytes.enabled = false;
  CheckSet off(c);
  obs = off.Measure(0, in);
  EXPECT_TRUE(std::none_of(obs.begin(), obs.end(),
                           [](const Observation& o) { return o.check == kLagBytes; }));
}

TEST(CheckSetTest, DatabaseSizeAndTableRowsFromTheLastMeasures) {
  config::AlarmsConfig c;
  c.database_size.enabled = true;
  c.database_size.raise = 1000;
  c.database_size.clear = 900;
  c.table_rows.enabled = true;
  c.table_rows_max = {{"samples", 100}, {"event_log", 50}};
  CheckSet checks(c);
  AlarmInputs in;
  TargetInputs t;
  t.name = "a";
  // Not measured yet: no observation (nothing raises or clears on an unknown).
  in.targets.push_back(t);
  for (const Observation& o : checks.Measure(0, in)) {
    EXPECT_NE(o.check, kDatabaseSize);
    EXPECT_NE(o.check, kTableRows);
  }
  t.database_bytes = 1500;
  t.table_rows = {{"samples", 101}, {"event_log", 50}, {"not_configured", 7}};
  in.targets = {t};
  std::map<std::string, double> rows_share;
  const Observation* size = nullptr;
  std::vector<Observation> obs = checks.Measure(1, in);
  for (const Observation& o : obs) {
    if (o.check == kDatabaseSize) size = &o;
    if (o.check == kTableRows) rows_share[o.subject] = o.value;
  }
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(size->subject, TargetSubject("a"));
  EXPECT_DOUBLE_EQ(size->value, 1500.0);
  ASSERT_EQ(rows_share.size(), 2u);  // only the configured tables
  EXPECT_DOUBLE_EQ(rows_share[TableSubject("a", "samples")], 101.0 / 100.0);
  EXPECT_DOUBLE_EQ(rows_share[TableSubject("a", "event_log")], 1.0);
  auto specs = SpecsFromConfig(c);
  auto spec = std::find_if(specs.begin(), specs.end(),
                           [](const CheckSpec& s) { return s.name == kTableRows; });
  ASSERT_NE(spec, specs.end());
  // One row over the maximum raises; exactly the maximum does not; clear below the ratio.
  EXPECT_TRUE(NextActive(*spec, false, rows_share[TableSubject("a", "samples")]));
  EXPECT_FALSE(NextActive(*spec, false, rows_share[TableSubject("a", "event_log")]));
  EXPECT_TRUE(NextActive(*spec, true, c.table_rows.clear));
  EXPECT_FALSE(NextActive(*spec, true, c.table_rows.clear - 0.01));
}

TEST(CounterWindowTest, IncreaseOverTheWindowAndAfterAReset) {
  CounterWindow w(std::chrono::seconds(10));
  EXPECT_EQ(w.Increase(), 0u);
  w.Add(0, 5);
  EXPECT_EQ(w.Increase(), 0u);
  w.Add(4'000'000, 8);
  EXPECT_EQ(w.Increase(), 8u - 5u);
  w.Add(9'000'000, 8);
  // The sample at 0 s falls out once one at or before the window's start (now - 10 s) is
  // there: at 14 s the window starts at 4 s.
  w.Add(14'000'000, 8);
  EXPECT_EQ(w.Increase(), 0u);
  w.Add(15'000'000, 11);
  EXPECT_EQ(w.Increase(), 11u - 8u);
  // A counter that went back (sluiced restarted) counts from its new value.
  w.Add(16'000'000, 2);
  EXPECT_EQ(w.Increase(), 0u);
}

TEST(CheckSetTest, SamplingMissedCountsTheWindowOnlyWhileSamplingIsOn) {
  config::AlarmsConfig c;
  c.sampling_missed_window = std::chrono::seconds(10);
  CheckSet checks(c);
  AlarmInputs in;
  auto missed = [](const std::vector<Observation>& obs) -> const Observation* {
    for (const auto& o : obs) {
      if (o.check == kSamplingMissed) return &o;
    }
    return nullptr;
  };
  EXPECT_EQ(missed(checks.Measure(0, in)), nullptr);  // sampling off
  in.sampling_missed_total = 4;
  auto obs = checks.Measure(1'000'000, in);
  ASSERT_NE(missed(obs), nullptr);
  EXPECT_EQ(missed(obs)->value, 0);
  in.sampling_missed_total = 7;
  obs = checks.Measure(2'000'000, in);
  ASSERT_NE(missed(obs), nullptr);
  EXPECT_EQ(missed(obs)->value, 7 - 4);
  EXPECT_EQ(missed(obs)->subject, "sampling");
  auto specs = SpecsFromConfig(c);
  auto spec = std::find_if(specs.begin(), specs.end(),
                           [](const CheckSpec& s) { return s.name == kSamplingMissed; });
  ASSERT_NE(spec, specs.end());
  // The default: one missed cycle raises, a window without any clears.
  EXPECT_TRUE(NextActive(*spec, false, 1));
  EXPECT_FALSE(NextActive(*spec, false, 0));
  EXPECT_FALSE(NextActive(*spec, true, 0));
  obs = checks.Measure(20'000'000, in);
  ASSERT_NE(missed(obs), nullptr);
  EXPECT_EQ(missed(obs)->value, 0) << "a whole window without a missed cycle";
}

}  // namespace
}  // namespace sluice::alarm
