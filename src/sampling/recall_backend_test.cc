// Recall rows in a real database: the records RecallWindows produces (a limit crossing
// and an API trigger, overlapping) are applied to a real backend, SQLite and PostgreSQL
// (the backend conformance fixture, store/backend_conformance_test_util.h), and the rows
// of recall_sample must be exactly those the test computes from its feed.

#include <gtest/gtest.h>

#include "sampling/recall.h"
#include "sampling/recall_test_util.h"
#include "store/backend_conformance_test_util.h"

namespace sluice::sampling::testing {
namespace {

class RecallBackendTest : public store::testing::BackendConformanceTest {};

TEST_P(RecallBackendTest, RecallRowsLandInRecallSample) {
  Harness h;
  const RecallDefinition d = Define(9, {51, 52}, 100 * kMs, 500 * kMs, 700 * kMs, true);
  // Point 51 rises steadily (Value): it passes hi at the tick of 2 s.
  const int64_t crossing = kT0 + 2 * kS;
  LimitsByPoint limits;
  limits[51].hi = (testing::Value(51, crossing - d.period_us) + testing::Value(51, crossing)) / 2;
  ASSERT_TRUE(h.windows().SetDefinitions({d}, limits).ok());
  h.Start();
  const int64_t triggered = kT0 + 2 * kS + 450 * kMs;  // between ticks, inside the first event
  const int64_t last = kT0 + 5 * kS;
  for (int64_t t = kT0; t <= last; t += d.period_us) {
    h.FeedAndStep(t, {51, 52});
    if (t == triggered - 50 * kMs) {
      ASSERT_TRUE(h.windows().Trigger(9, triggered).ok());
    }
  }
  h.windows().Stop();
  ASSERT_TRUE(h.issues().empty());
  std::vector<Row> want = ExpectedRows(d, crossing, kT0, last);
  const std::vector<Row> second = ExpectedRows(d, triggered, kT0, last);
  want.insert(want.end(), second.begin(), second.end());
  std::sort(want.begin(), want.end());
  ASSERT_EQ(h.Rows(), want);

  // Applied as the applier would: one LSN and version each, in the order produced.
  std::vector<v1::Record> records = h.records();
  for (size_t i = 0; i < records.size(); ++i) records[i].set_version(i + 1);
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  Status s = Apply(*backend, store::testing::kKey, records, 1);
  ASSERT_TRUE(s.ok()) << s.ToString();

  store::testing::Collected got;
  s = store::testing::Collect(
      *backend,
      store::testing::Statement("SELECT event_ts, ts, point_id, value, quality FROM "
                                "recall_sample ORDER BY event_ts, ts, point_id"),
      1000, 0, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<Row> stored;
  for (const auto& r : got.rows) {
    ASSERT_EQ(r.size(), 5u);
    stored.push_back(MakeRow(r[0].int_value(), r[1].int_value(), r[2].int_value(),
                             r[3].double_value(), static_cast<uint32_t>(r[4].int_value())));
  }
  EXPECT_EQ(stored, want);
  // Every row carries the version of the record that wrote it: none was written twice.
  EXPECT_EQ(Value("SELECT count(DISTINCT ver) FROM recall_sample"), std::to_string(records.size()));
}

INSTANTIATE_TEST_SUITE_P(Dialects, RecallBackendTest, ::testing::Values("sqlite", "postgres"),
                         store::testing::DialectName);

}  // namespace
}  // namespace sluice::sampling::testing
