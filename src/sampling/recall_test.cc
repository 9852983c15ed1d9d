// RecallWindows (recall.h) on a DrivenClock: pre- and post-window rows, limit crossings,
// refusals, several periods, a long run over a wrapping ring, and what Stop, a clock jump
// and a definition change cost. Every expected row is computed from the test's own feed.

#include "sampling/recall.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sampling/recall_test_util.h"

namespace sluice::sampling::testing {
namespace {

using ::testing::HasSubstr;

std::vector<RecallIssue> IssuesOf(Harness& h, RecallIssue::Kind kind) {
  std::vector<RecallIssue> out;
  for (const RecallIssue& i : h.issues()) {
    if (i.kind == kind) out.push_back(i);
  }
  return out;
}

// Rows of `want` that `got` lacks, or has but should not, for a readable failure.
std::string Diff(const std::vector<Row>& got, const std::vector<Row>& want) {
  std::string out;
  std::vector<Row> missing, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  for (size_t i = 0; i < missing.size() && i < 5; ++i) out += "missing " + Show(missing[i]) + "\n";
  for (size_t i = 0; i < extra.size() && i < 5; ++i) out += "extra " + Show(extra[i]) + "\n";
  return out;
}

TEST(RecallTest, PreWindowRowsAreTheRingsTicksInTheWindow) {
  Harness h;
  const RecallDefinition d = Define(1, {11, 12, 13}, 100 * kMs, 1 * kS, 500 * kMs);
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  h.Start();
  const int64_t last = kT0 + 3 * kS;
  for (int64_t t = kT0; t <= last; t += d.period_us) h.FeedAndStep(t, {11, 12, 13});
  EXPECT_TRUE(h.records().empty()) << "no event, no rows";

  // An event at the tick just taken: its pre-window is one record, at once.
  ASSERT_TRUE(h.windows().Trigger(1, last).ok());
  ASSERT_EQ(h.records().size(), 1u);
  const std::vector<Row> want = ExpectedRows(d, last, kT0, last);
  ASSERT_EQ(want.size(), static_cast<size_t>(d.before_us / d.period_us + 1) * d.point_ids.size());
  EXPECT_EQ(h.Rows(last), want) << Diff(h.Rows(last), want);
  EXPECT_EQ(h.windows().OpenEvents(), 1u);
  EXPECT_EQ(h.windows().OpenEvents(d.id), 1u);
  EXPECT_EQ(h.windows().OpenEvents(d.id + 1), 0u) << "an unknown definition has none";

  // An event between this tick and the next: the ticks of its window taken so far.
  const int64_t between = last + 50 * kMs;
  ASSERT_TRUE(h.windows().Trigger(1, between).ok());
  ASSERT_EQ(h.records().size(), 2u);
  EXPECT_EQ(h.Rows(between), ExpectedRows(d, between, kT0, last))
      << Diff(h.Rows(between), ExpectedRows(d, between, kT0, last));

  // An event in the past: the ticks of its window already taken go out at once, after the
  // event too; those older than the ring's oldest are lost, and reported.
  const int64_t earlier = last - 250 * kMs;
  ASSERT_TRUE(h.windows().Trigger(1, earlier).ok());
  ASSERT_EQ(h.records().size(), 3u);
  const int64_t ring_oldest = last - (d.before_us / d.period_us) * d.period_us;
  std::vector<Row> want_earlier;
  int64_t older_ticks = 0;
  for (const Row& r : ExpectedRows(d, earlier, kT0, last)) {
    if (r.ts_us >= ring_oldest) want_earlier.push_back(r);
    if (r.ts_us < ring_oldest && r.point_id == d.point_ids[0]) ++older_ticks;
  }
  ASSERT_GT(older_ticks, 0);
  EXPECT_EQ(h.Rows(earlier), want_earlier) << Diff(h.Rows(earlier), want_earlier);
  const std::vector<RecallIssue> lost = IssuesOf(h, RecallIssue::Kind::kLost);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].event_ts_us, earlier);
  EXPECT_EQ(lost[0].count, older_ticks);
  for (const Row& r : h.Rows()) EXPECT_EQ(r.ts_us % d.period_us, 0) << Show(r);

  // The same event again is the same event: nothing more.
  ASSERT_TRUE(h.windows().Trigger(1, last).ok());
  EXPECT_EQ(h.records().size(), 3u);
  EXPECT_EQ(h.issues().size(), 1u);

  // Errors name what is wrong.
  Status s = h.windows().Trigger(7, last);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("recall definition 7"));
  s = h.windows().Trigger(1, last + 2 * 3600 * kS);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("event_ts_us"));
}

TEST(RecallTest, PostWindowArrivesUntilTheEndAndThenStops) {
  RecallOptions options;
  options.post_batch_us = 1 * kS;
  Harness h(options);
  // The end is not on a batch boundary: the event's end flushes its last batch.
  const RecallDefinition d = Define(1, {11, 12}, 100 * kMs, 500 * kMs, 2500 * kMs);
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  h.Start();
  const int64_t event = kT0 + 2 * kS;
  for (int64_t t = kT0; t <= event; t += d.period_us) h.FeedAndStep(t, {11, 12});
  ASSERT_TRUE(h.windows().Trigger(1, event).ok());

  const int64_t end = event + d.after_us;
  const std::vector<Row> all = ExpectedRows(d, event, kT0, end);
  const auto rows_through = [&](int64_t ts) {
    return static_cast<size_t>(
        std::count_if(all.begin(), all.end(), [&](const Row& r) { return r.ts_us <= ts; }));
  };
  for (int64_t t = event + d.period_us; t <= end + 2 * kS; t += d.period_us) {
    h.FeedAndStep(t, {11, 12});
    const std::vector<Row> got = h.Rows(event);
    // A prefix of the window, in time: nothing outside it, nothing out of order, and
    // nothing older than one batch still held back.
    ASSERT_LE(got.size(), all.size());
    ASSERT_TRUE(std::equal(got.begin(), got.end(), all.begin())) << "at " << t << "\n"
                                                                 << Diff(got, all);
    ASSERT_GE(got.size(), rows_through(std::min(t, end) - options.post_batch_us)) << "at " << t;
    EXPECT_EQ(h.windows().OpenEvents(), t < end ? 1u : 0u) << "at " << t;
    if (t >= end) {
      ASSERT_EQ(got.size(), all.size()) << "ended at " << end << ", now " << t;
    }
  }
  EXPECT_EQ(h.Rows(event), all) << Diff(h.Rows(event), all);
  // The pre-window, then one record per batch of the post-window.
  const auto post_records = (d.after_us + options.post_batch_us - 1) / options.post_batch_us;
  EXPECT_EQ(h.records().size(), static_cast<size_t>(1 + post_records));
  EXPECT_TRUE(h.issues().empty());
}

// Point 21 crosses hi, stays above, returns, crosses again, then rises above hihi; point 22
// is outside from its first value (not an event); point 23 falls below lo; point 24 has no
// value until it is outside (not an event either: nothing was inside before).
TEST(RecallTest, LimitCrossingTriggersOnceAndAgainAfterReturningInside) {
  Harness h;
  const RecallDefinition d = Define(3, {21, 22, 23, 24}, 100 * kMs, 300 * kMs, 300 * kMs, true);
  LimitsByPoint limits;
  limits[21].hi = 100;
  limits[21].hihi = 200;
  limits[22].hi = 100;
  limits[23].lo = 10;
  limits[23].lolo = 0;
  limits[24].hi = 100;
  constexpr int64_t kFirstOf24 = 20;
  ASSERT_TRUE(h.windows().SetDefinitions({d}, limits).ok());
  const auto value = [&](int64_t point, int64_t k) -> double {
    if (point == 24) return k < kFirstOf24 ? std::nan("") : 500;
    if (point == 22) return 500;
    if (point == 23) return k >= 45 && k < 50 ? 5 : 20;
    if (k >= 10 && k < 20) return 150;
    if (k >= 30 && k < 35) return 150;
    if (k >= 35 && k < 40) return 250;
    return 50;
  };
  // Events the test expects: the ticks where a value passes a limit it was inside of.
  std::set<int64_t> want_events;
  for (int64_t k = 1; k < 60; ++k) {
    for (int64_t p : d.point_ids) {
      if (std::isnan(value(p, k - 1))) continue;  // no state to cross from
      const auto bits = [&](double v) {
        const PointLimits& l = limits[p];
        return (l.lolo && v < *l.lolo ? 1 : 0) | (l.lo && v < *l.lo ? 2 : 0) |
               (l.hi && v > *l.hi ? 4 : 0) | (l.hihi && v > *l.hihi ? 8 : 0);
      };
      if (bits(value(p, k)) & ~bits(value(p, k - 1))) want_events.insert(kT0 + k * d.period_us);
    }
  }
  ASSERT_EQ(want_events.size(), 4u) << "the feed above makes four crossings";

  h.Start();
  for (int64_t k = 0; k < 60; ++k) {
    const int64_t t = kT0 + k * d.period_us;
    for (int64_t p : d.point_ids) {
      if (!std::isnan(value(p, k))) h.SetValue(p, value(p, k), t);
    }
    h.Step(t);
  }
  EXPECT_EQ(h.EventTimes(), want_events);
  for (int64_t event : want_events) {
    std::vector<Row> want;
    for (int64_t t = event - d.before_us; t <= event + d.after_us; t += d.period_us) {
      for (int64_t p : d.point_ids) {
        const double v = value(p, (t - kT0) / d.period_us);
        want.push_back(std::isnan(v)
                           ? MakeRow(event, t, p, std::numeric_limits<double>::quiet_NaN(),
                                     v1::QUALITY_INVALID | v1::QUALITY_OLD_DATA)
                           : MakeRow(event, t, p, v, v1::QUALITY_GOOD));
      }
    }
    std::sort(want.begin(), want.end());
    EXPECT_EQ(h.Rows(event), want) << Diff(h.Rows(event), want);
  }
  // An API trigger at a limit event's time is that event.
  const size_t records = h.records().size();
  ASSERT_TRUE(h.windows().Trigger(3, *want_events.rbegin()).ok());
  EXPECT_EQ(h.records().size(), records);
  EXPECT_TRUE(h.issues().empty());
}

// A limit moved past a steady value is no crossing: new limits start from a fresh state.
TEST(RecallTest, ChangedLimitsAreNoCrossing) {
  Harness h;
  const RecallDefinition d = Define(3, {21}, 100 * kMs, 300 * kMs, 300 * kMs, true);
  LimitsByPoint limits;
  limits[21].hi = 100;
  ASSERT_TRUE(h.windows().SetDefinitions({d}, limits).ok());
  h.Start();
  int64_t t = kT0;
  const auto steady_ticks = [&](int n) {
    for (int i = 0; i < n; ++i, t += d.period_us) {
      h.SetValue(21, 150, t);
      h.Step(t);
    }
  };
  steady_ticks(3);
  limits[21].hi = 200;
  ASSERT_TRUE(h.windows().SetDefinitions({d}, limits).ok());
  steady_ticks(3);
  limits[21].hi = 100;
  ASSERT_TRUE(h.windows().SetDefinitions({d}, limits).ok());
  steady_ticks(3);
  EXPECT_TRUE(h.records().empty()) << h.records().size() << " record(s)";
  // The value itself crossing the new limit is one.
  limits[21].hi = 200;
  ASSERT_TRUE(h.windows().SetDefinitions({d}, limits).ok());
  steady_ticks(2);
  h.SetValue(21, 250, t);
  h.Step(t);
  EXPECT_EQ(h.EventTimes(), std::set<int64_t>{t});
}

TEST(RecallTest, BadDefinitionsAreRefusedNamingTheDefinitionAndField) {
  Harness h;
  const RecallDefinition good = Define(5, {1, 2}, 100 * kMs, 1 * kS, 1 * kS, true);
  ASSERT_TRUE(h.windows().SetDefinitions({good}, {}).ok());
  struct Case {
    std::function<void(std::vector<RecallDefinition>&, LimitsByPoint&)> spoil;
    std::string message;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Case> cases = {
      {[](auto& d, auto&) { d[0].id = 0; }, "recall definition [0] ('window 5'): field 'id' is 0"},
      {[&](auto& d, auto&) { d.push_back(good); }, "field 'id' 5 is used by another"},
      {[](auto& d, auto&) { d[0].point_ids.clear(); },
       "recall definition 5 ('window 5'): field 'point_ids' is empty"},
      {[](auto& d, auto&) { d[0].point_ids = std::vector<int64_t>(kMaxRecallPoints + 1, 1); },
       "more than 10000"},
      {[](auto& d, auto&) { d[0].point_ids[1] = -4; }, "field 'point_ids'[1] is -4"},
      {[](auto& d, auto&) { d[0].point_ids[1] = 1; }, "'point_ids'[1]: point 1 is listed twice"},
      {[](auto& d, auto&) { d[0].period_us = 9 * kMs; }, "field 'period_us' is 9000 µs"},
      {[](auto& d, auto&) { d[0].period_us = 2 * 3600 * kS; }, "field 'period_us'"},
      {[](auto& d, auto&) { d[0].before_us = -1; }, "field 'before_us' is -1 µs"},
      {[](auto& d, auto&) { d[0].after_us = 3600 * kS + 1; }, "field 'after_us'"},
      {[](auto& d, auto&) {
         d[0].period_us = 10 * kMs;
         d[0].before_us = (kMaxRecallWindowSamples + 1) * 10 * kMs;
       },
       "field 'before_us' is 100001 samples"},
      {[&](auto&, auto& l) { l[2].hi = nan; }, "point 2: limit 'hi' is nan"},
      {[](auto&, auto& l) {
         l[1].lo = 10;
         l[1].hi = 5;
       },
       "point 1: limit 'hi' (5) is below limit 'lo' (10)"},
  };
  for (const Case& c : cases) {
    std::vector<RecallDefinition> defs = {good};
    LimitsByPoint limits;
    c.spoil(defs, limits);
    Status s = h.windows().SetDefinitions(defs, limits);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.message;
    EXPECT_THAT(s.message(), HasSubstr(c.message));
  }
  // Limits of a definition that does not trigger on limits are not its concern.
  RecallDefinition manual = good;
  manual.on_limit = false;
  LimitsByPoint odd;
  odd[1].hi = nan;
  EXPECT_TRUE(h.windows().SetDefinitions({manual}, odd).ok());

  // The rings' total is bounded.
  RecallOptions small;
  small.max_ring_values = 2 * (good.before_us / good.period_us + 1) - 1;
  Harness bounded(small);
  Status s = bounded.windows().SetDefinitions({good}, {});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("max_ring_values"));

  // A refused set leaves the current one working.
  h.Start();
  ASSERT_TRUE(h.windows().Trigger(5, kT0).ok());
  EXPECT_EQ(h.windows().OpenEvents(), 1u);
}

TEST(RecallTest, RefusedRecordsAreReportedNeverSilent) {
  RecallOptions options;
  options.post_batch_us = 0;  // one record per tick
  Harness h(options);
  const RecallDefinition d = Define(1, {11, 12}, 100 * kMs, 500 * kMs, 500 * kMs);
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  h.Start();
  const int64_t event = kT0 + 1 * kS;
  for (int64_t t = kT0; t <= event; t += d.period_us) h.FeedAndStep(t, {11, 12});

  h.set_refuse(true);
  Status s = h.windows().Trigger(1, event);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("journal is full"));
  std::vector<RecallIssue> refused = IssuesOf(h, RecallIssue::Kind::kNotStored);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].recall_id, 1);
  EXPECT_EQ(refused[0].event_ts_us, event);
  EXPECT_EQ(static_cast<size_t>(refused[0].count), ExpectedRows(d, event, kT0, event).size());
  EXPECT_THAT(refused[0].detail, HasSubstr("journal is full"));

  // The event stays open: a refused post-window tick is reported, the next ones stored.
  h.FeedAndStep(event + d.period_us, {11, 12});
  refused = IssuesOf(h, RecallIssue::Kind::kNotStored);
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(static_cast<size_t>(refused[1].count), d.point_ids.size());
  h.set_refuse(false);
  for (int64_t t = event + 2 * d.period_us; t <= event + d.after_us; t += d.period_us) {
    h.FeedAndStep(t, {11, 12});
  }
  std::vector<Row> want;
  for (const Row& r : ExpectedRows(d, event, kT0, event + d.after_us)) {
    if (r.ts_us >= event + 2 * d.period_us) want.push_back(r);
  }
  EXPECT_EQ(h.Rows(event), want) << Diff(h.Rows(event), want);
  EXPECT_EQ(h.windows().OpenEvents(), 0u);
}

TEST(RecallTest, TwoDefinitionsWithDifferentPeriods) {
  Harness h;
  const RecallDefinition fast = Define(1, {31, 32, 33}, 100 * kMs, 1 * kS, 1 * kS);
  const RecallDefinition slow = Define(2, {33, 34}, 1 * kS, 5 * kS, 2 * kS);
  ASSERT_TRUE(h.windows().SetDefinitions({fast, slow}, {}).ok());
  h.Start();
  const int64_t fast_event = kT0 + 6 * kS;
  const int64_t slow_event = kT0 + 6 * kS + 50 * kMs;  // between two ticks of both
  const int64_t last = kT0 + 10 * kS;
  for (int64_t t = kT0; t <= last; t += fast.period_us) {
    h.FeedAndStep(t, {31, 32, 33, 34});
    if (t == fast_event) {
      ASSERT_TRUE(h.windows().Trigger(1, fast_event).ok());
    }
    if (t == slow_event - 50 * kMs + fast.period_us) {
      ASSERT_TRUE(h.windows().Trigger(2, slow_event).ok());
    }
  }
  std::vector<Row> want = ExpectedRows(fast, fast_event, kT0, last);
  const std::vector<Row> want_slow = ExpectedRows(slow, slow_event, kT0, last);
  want.insert(want.end(), want_slow.begin(), want_slow.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(h.Rows(), want) << Diff(h.Rows(), want);
  for (const Row& r : h.Rows(slow_event)) EXPECT_EQ(r.ts_us % slow.period_us, 0) << Show(r);
  EXPECT_EQ(h.windows().OpenEvents(), 0u);
  EXPECT_TRUE(h.issues().empty());
}

// 10 ms ticks for two simulated minutes through a ring of 101 ticks: every pre-window,
// taken after the ring wrapped many times, is exactly its window.
TEST(RecallTest, RingWrapsCorrectlyOverALongRun) {
  Harness h;
  const RecallDefinition d = Define(4, {41, 42}, 10 * kMs, 1 * kS, 0);
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  h.Start();
  const int64_t ticks = 12'000;
  std::vector<Row> want;
  int events = 0;
  for (int64_t k = 0; k < ticks; ++k) {
    const int64_t t = kT0 + k * d.period_us;
    h.FeedAndStep(t, {41, 42});
    if (k > 0 && k % 997 == 0) {
      // Alternately at the tick and between two ticks.
      const int64_t event = (k / 997) % 2 ? t : t - 3 * kMs;
      ASSERT_TRUE(h.windows().Trigger(4, event).ok());
      // Closed at once (after_us 0), and still the same event when triggered again.
      const size_t records = h.records().size();
      ASSERT_TRUE(h.windows().Trigger(4, event).ok());
      ASSERT_EQ(h.records().size(), records);
      const std::vector<Row> rows = ExpectedRows(d, event, kT0, t);
      want.insert(want.end(), rows.begin(), rows.end());
      ++events;
    }
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(events, static_cast<int>((ticks - 1) / 997));
  EXPECT_EQ(h.Rows(), want) << Diff(h.Rows(), want);
  EXPECT_TRUE(h.issues().empty());
}

TEST(RecallTest, StopEmitsWhatIsTakenAndReportsTheTicksNotSampled) {
  Harness h;  // post_batch_us 1 s: the rows below are still pending at Stop
  const RecallDefinition d = Define(1, {11}, 100 * kMs, 200 * kMs, 2 * kS);
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  h.Start();
  const int64_t event = kT0 + 1 * kS;
  for (int64_t t = kT0; t <= event; t += d.period_us) h.FeedAndStep(t, {11});
  ASSERT_TRUE(h.windows().Trigger(1, event).ok());
  const int64_t stopped_at = event + 5 * d.period_us;
  for (int64_t t = event + d.period_us; t <= stopped_at; t += d.period_us) h.FeedAndStep(t, {11});
  h.windows().Stop();

  const std::vector<Row> want = ExpectedRows(d, event, kT0, stopped_at);
  EXPECT_EQ(h.Rows(event), want) << Diff(h.Rows(event), want);
  const std::vector<RecallIssue> lost = IssuesOf(h, RecallIssue::Kind::kLost);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].event_ts_us, event);
  EXPECT_EQ(lost[0].count, (event + d.after_us - stopped_at) / d.period_us);
  EXPECT_THAT(lost[0].detail, HasSubstr("stopped"));
  EXPECT_EQ(h.windows().OpenEvents(), 0u);
  EXPECT_EQ(h.windows().Trigger(1, stopped_at).code(), Code::kFailedPrecondition);
}

TEST(RecallTest, ClockJumpIsMissedAndItsTicksAreLostFromTheWindow) {
  Harness h;
  const RecallDefinition d = Define(1, {11}, 100 * kMs, 1 * kS, 300 * kMs);
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  h.Start();
  const int64_t before_jump = kT0 + 1 * kS;
  for (int64_t t = kT0; t <= before_jump; t += d.period_us) h.FeedAndStep(t, {11});
  const int64_t after_jump = before_jump + 700 * kMs;
  h.FeedAndStep(after_jump, {11});
  const int64_t skipped = (after_jump - before_jump) / d.period_us - 1;
  const std::vector<RecallIssue> missed = IssuesOf(h, RecallIssue::Kind::kMissed);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].count, skipped);

  ASSERT_TRUE(h.windows().Trigger(1, after_jump).ok());
  const std::vector<RecallIssue> lost = IssuesOf(h, RecallIssue::Kind::kLost);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].count, skipped);
  std::vector<Row> want;
  for (const Row& r : ExpectedRows(d, after_jump, kT0, after_jump)) {
    if (r.ts_us <= before_jump || r.ts_us == after_jump) want.push_back(r);
  }
  EXPECT_EQ(h.Rows(after_jump), want) << Diff(h.Rows(after_jump), want);

  // A jump past an open event's end closes it with no row outside its window.
  const int64_t event = after_jump + d.period_us;
  h.FeedAndStep(event, {11});
  const size_t open_before = h.windows().OpenEvents();  // the event above, still open
  ASSERT_TRUE(h.windows().Trigger(1, event).ok());
  ASSERT_EQ(h.windows().OpenEvents(), open_before + 1);
  h.FeedAndStep(event + d.after_us + 5 * d.period_us, {11});
  EXPECT_EQ(h.windows().OpenEvents(), 0u);
  for (const Row& r : h.Rows(event)) {
    EXPECT_LE(r.ts_us, event + d.after_us) << Show(r);
    EXPECT_GE(r.ts_us, event - d.before_us) << Show(r);
  }
}

TEST(RecallTest, NeverUpdatedIsInvalidOldDataAndStaleIsOldData) {
  RecallOptions options;
  options.old_after_us = 500 * kMs;
  Harness h(options);
  const RecallDefinition d = Define(1, {11, 12, 13}, 100 * kMs, 1 * kS, 0);
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  h.Start();
  const int64_t stale_from = kT0 + 200 * kMs;  // point 12's last update
  const int64_t last = kT0 + 1 * kS;
  for (int64_t t = kT0; t <= last; t += d.period_us) {
    h.FeedAndStep(t, t <= stale_from ? std::set<int64_t>{11, 12} : std::set<int64_t>{11});
  }
  ASSERT_TRUE(h.windows().Trigger(1, last).ok());
  std::vector<Row> want;
  for (int64_t t = kT0; t <= last; t += d.period_us) {
    want.push_back(MakeRow(last, t, 11, Value(11, t), v1::QUALITY_GOOD));
    const int64_t updated = std::min(t, stale_from) - kMs;  // as Harness::SetValue stamps it
    const bool old = updated < t - options.old_after_us;
    want.push_back(MakeRow(last, t, 12, Value(12, std::min(t, stale_from)),
                           old ? uint32_t{v1::QUALITY_OLD_DATA} : 0u));
    want.push_back(MakeRow(last, t, 13, std::numeric_limits<double>::quiet_NaN(),
                           v1::QUALITY_INVALID | v1::QUALITY_OLD_DATA));
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(h.Rows(last), want) << Diff(h.Rows(last), want);
}

TEST(RecallTest, DefinitionChangeKeepsOrCutsShortTheOpenEvents) {
  Harness h;
  RecallDefinition d = Define(1, {11}, 100 * kMs, 200 * kMs, 1 * kS);
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  h.Start();
  const int64_t event = kT0 + 500 * kMs;
  for (int64_t t = kT0; t <= event; t += d.period_us) h.FeedAndStep(t, {11});
  ASSERT_TRUE(h.windows().Trigger(1, event).ok());

  // A new name and after_us: same ring, the event goes on with its own end.
  d.name = "renamed";
  d.after_us = 100 * kMs;
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  EXPECT_EQ(h.windows().OpenEvents(), 1u);
  const int64_t changed_at = event + 3 * d.period_us;
  for (int64_t t = event + d.period_us; t <= changed_at; t += d.period_us) h.FeedAndStep(t, {11});
  EXPECT_EQ(h.windows().OpenEvents(), 1u);

  // Another period: a new ring; the open event is cut short, its taken rows stored.
  d.period_us = 200 * kMs;
  ASSERT_TRUE(h.windows().SetDefinitions({d}, {}).ok());
  EXPECT_EQ(h.windows().OpenEvents(), 0u);
  const RecallDefinition original = Define(1, {11}, 100 * kMs, 200 * kMs, 1 * kS);
  const std::vector<Row> want = ExpectedRows(original, event, kT0, changed_at);
  EXPECT_EQ(h.Rows(event), want) << Diff(h.Rows(event), want);
  const std::vector<RecallIssue> lost = IssuesOf(h, RecallIssue::Kind::kLost);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].count, (event + original.after_us - changed_at) / original.period_us);
  EXPECT_THAT(lost[0].detail, HasSubstr("changed or removed"));
}

}  // namespace
}  // namespace sluice::sampling::testing
