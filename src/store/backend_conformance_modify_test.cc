// The backend conformance suite, sample modification intents (History.ModifySamples,
// KIND_SAMPLE_MODIFY): every correction applied in the intent's one transaction, by the
// deciding target (ApplyIntent) and by every other one (ApplyBatch); the edit log with
// the old value and quality the intent carries; recall rows corrected on request; a
// correction that fails undoes them all; and a target whose sample_edit_log predates the
// old_* columns gains them when it connects. Run on SQLite and PostgreSQL.

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/backend_conformance_test_util.h"
#include "store/schema.h"

namespace sluice::store::testing {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kTs = 1'700'000'040'000'000;  // on a whole minute
constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kAdmittedAt = 1'700'000'100'000'000;
const WatermarkKey kSamplesKey{"node-a", "epoch-1", "samples"};

struct Edit {
  int64_t point;
  int64_t ts;
  double value;
  uint32_t quality;
  std::optional<std::pair<double, uint32_t>> old;  // absent: an inserted sample
};

v1::Record ModifyIntent(uint64_t version, const std::vector<Edit>& edits, bool correct_recall,
                        v1::SampleInterval interval = v1::SAMPLE_INTERVAL_1MIN) {
  v1::Record record;
  record.set_version(version);
  record.set_admitted_at_us(kAdmittedAt + static_cast<int64_t>(version));
  auto* intent = record.mutable_intent();
  intent->set_kind(v1::SyncIntent::KIND_SAMPLE_MODIFY);
  for (const Edit& e : edits) {
    auto* c = intent->add_corrections();
    c->set_interval(interval);
    c->set_point_id(e.point);
    c->set_ts_us(e.ts);
    c->set_value(e.value);
    c->set_quality(e.quality);
    c->set_manual(true);
    c->set_who("dispatcher");
    c->set_why("meter replaced");
    if (e.old) {
      c->set_old_value(e.old->first);
      c->set_old_quality(e.old->second);
    }
    c->set_correct_recall(correct_recall);
  }
  return record;
}

v1::Record Recall(uint64_t version, const std::vector<std::tuple<int64_t, int64_t, double>>& rows) {
  v1::Record record;
  record.set_version(version);
  for (const auto& [point, ts, value] : rows) {
    auto* r = record.mutable_recall()->add_rows();
    r->set_point_id(point);
    r->set_event_ts_us(kTs);
    r->set_ts_us(ts);
    r->set_value(value);
    r->set_quality(0);
  }
  return record;
}

class ModifyTest : public BackendConformanceTest {
 protected:
  // Samples 1..3 at kTs and kTs + 1 min (value point*10 + minute, quality 16) and recall
  // rows of point 1 at kTs and kTs + 100 ms.
  void Seed(Backend& backend) {
    std::vector<std::tuple<int64_t, int64_t, double, uint32_t>> rows;
    for (int64_t p = 1; p <= 3; ++p) {
      for (int m = 0; m < 2; ++m) rows.emplace_back(p, kTs + m * kMinute, p * 10.0 + m, 16);
    }
    Status s = Apply(backend, kSamplesKey,
                     {Samples(1, v1::SAMPLE_INTERVAL_1MIN, rows),
                      Recall(2, {{1, kTs, 0.5}, {1, kTs + 100'000, 0.75}})},
                     1);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  Rows SampleRows() {
    return QueryRows("SELECT point_id, ts, value, quality, manual, ver FROM sample_1min "
                     "ORDER BY point_id, ts");
  }
  Rows EditLog() {
    return QueryRows(
        "SELECT ver, sample_table, point_id, ts, value, quality, manual, who, why, edited_at, "
        "old_value, old_quality FROM sample_edit_log ORDER BY point_id, ts");
  }
  Rows RecallRows() {
    return QueryRows("SELECT point_id, ts, value, quality FROM recall_sample ORDER BY ts");
  }
  // "1" / "t" for true, as each dialect shows a boolean.
  std::string True() const { return sqlite() ? "1" : "t"; }
  std::string False() const { return sqlite() ? "0" : "f"; }
  static std::string Real(double v) {
    // SQLite shows a REAL with a decimal point; PostgreSQL shows a double as it is.
    return v == std::floor(v) ? fmt::format("{:.1f}", v) : fmt::format("{}", v);
  }
  std::string Shown(double v) const { return sqlite() ? Real(v) : fmt::format("{}", v); }
};

TEST_P(ModifyTest, IntentAppliesEveryCorrectionWithItsEditLogAndRecallRows) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  ASSERT_NO_FATAL_FAILURE(Seed(*backend));
  const std::vector<Edit> edits = {
      {1, kTs, 5.5, 4, std::pair{10.0, 16u}},
      {2, kTs + kMinute, 21.0, 2 | 4, std::pair{21.0, 16u}},
      {3, kTs + 5 * kMinute, 7.25, 4, std::nullopt},  // inserted
  };
  const v1::Record intent = ModifyIntent(10, edits, /*correct_recall=*/true);
  auto result = backend->ApplyIntent(kModelKey, {3, &intent}, 0);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rows_affected, static_cast<int64_t>(edits.size()));
  EXPECT_FALSE(result->already_applied);
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 3u);

  // Every sample: the edited ones as the edits say, manual, with the intent's version;
  // the others as seeded.
  Rows expected;
  for (int64_t p = 1; p <= 3; ++p) {
    for (int m : {0, 1, 5}) {
      const int64_t ts = kTs + m * kMinute;
      auto e = std::find_if(edits.begin(), edits.end(),
                            [&](const Edit& x) { return x.point == p && x.ts == ts; });
      if (e != edits.end()) {
        expected.push_back({std::to_string(p), std::to_string(ts), Shown(e->value),
                            std::to_string(e->quality), True(), "10"});
      } else if (m < 2) {
        expected.push_back({std::to_string(p), std::to_string(ts), Shown(p * 10.0 + m), "16",
                            False(), "1"});
      }
    }
  }
  EXPECT_EQ(SampleRows(), expected);

  Rows log;
  for (const Edit& e : edits) {
    log.push_back({"10", "sample_1min", std::to_string(e.point), std::to_string(e.ts),
                   Shown(e.value), std::to_string(e.quality), True(), "dispatcher",
                   "meter replaced", std::to_string(kAdmittedAt + 10),
                   e.old ? Shown(e.old->first) : kNull,
                   e.old ? std::to_string(e.old->second) : kNull});
  }
  EXPECT_EQ(EditLog(), log);
  // Point 1's recall row at kTs takes the corrected value and quality; the one 100 ms
  // later is another time and stays.
  EXPECT_EQ(RecallRows(), (Rows{{"1", std::to_string(kTs), Shown(5.5), "4"},
                                {"1", std::to_string(kTs + 100'000), Shown(0.75), "0"}}));

  // A replay (the answer was lost) changes nothing.
  auto again = backend->ApplyIntent(kModelKey, {3, &intent}, 0);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->already_applied);
  EXPECT_EQ(EditLog().size(), edits.size());

  // A later sample of an edited point and time (the feed) does not overwrite the
  // correction.
  ASSERT_TRUE(Apply(*backend, kSamplesKey,
                    {Samples(20, v1::SAMPLE_INTERVAL_1MIN, {{1, kTs, 99.0, 0}})}, 3)
                  .ok());
  EXPECT_EQ(SampleRows(), expected);
}

TEST_P(ModifyTest, OtherTargetsApplyTheIntentInABatchWithoutRecallWhenNotAsked) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  ASSERT_NO_FATAL_FAILURE(Seed(*backend));
  const v1::Record intent =
      ModifyIntent(10, {{2, kTs, -1.5, 4, std::pair{20.0, 16u}}}, /*correct_recall=*/false);
  // As a target that did not decide applies it: among the stream's other records.
  ASSERT_TRUE(Apply(*backend, kModelKey,
                    {Sql(8, "CREATE TABLE m (id bigint)"), intent, Sql(12, "INSERT INTO m VALUES (1)")},
                    1)
                  .ok());
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 3u);
  EXPECT_EQ(Count("m"), 1);
  EXPECT_EQ(QueryRows("SELECT value, quality, manual FROM sample_1min WHERE point_id = 2 AND "
                      "ts = " + std::to_string(kTs)),
            (Rows{{Shown(-1.5), "4", True()}}));
  EXPECT_EQ(Count("sample_edit_log"), 1);
  EXPECT_EQ(RecallRows(), (Rows{{"1", std::to_string(kTs), Shown(0.5), "0"},
                                {"1", std::to_string(kTs + 100'000), Shown(0.75), "0"}}));
}

TEST_P(ModifyTest, AFailingCorrectionUndoesTheWholeIntent) {
  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  ASSERT_NO_FATAL_FAILURE(Seed(*backend));
  v1::Record intent = ModifyIntent(
      10, {{1, kTs, 5.5, 4, std::pair{10.0, 16u}}, {2, kTs, 6.5, 4, std::pair{20.0, 16u}}}, true);
  // The second correction names no sample table: the first must not stay applied.
  intent.mutable_intent()->mutable_corrections(1)->set_interval(v1::SAMPLE_INTERVAL_UNSPECIFIED);
  const Rows before = SampleRows();
  auto result = backend->ApplyIntent(kModelKey, {3, &intent}, 0);
  ASSERT_FALSE(result.ok());
  EXPECT_FALSE(result.status().retryable()) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr("correction 1"));
  EXPECT_THAT(result.status().message(), HasSubstr("no sample table for interval 0"));
  EXPECT_EQ(SampleRows(), before);
  EXPECT_EQ(Count("sample_edit_log"), 0);
  EXPECT_EQ(RecallRows()[0][2], Shown(0.5));
  EXPECT_EQ(*backend->ReadWatermark(kModelKey), 0u);
}

// A target created before step 4 (sample_edit_log without old_value, old_quality) gains
// the columns when a newer sluiced connects; its rows keep NULL there.
TEST_P(ModifyTest, OldEditLogGainsTheOldValueColumns) {
  const int latest = schema::LatestSchemaVersion(dialect());
  int step = 0;
  for (const auto& s : schema::SchemaSteps(dialect())) {
    for (const auto& sql : s.statements) {
      if (sql.find("sample_edit_log ADD COLUMN old_value") != std::string::npos) step = s.version;
    }
  }
  ASSERT_GT(step, 0) << "no step adds sample_edit_log.old_value";
  {
    auto backend = Connected();
    ASSERT_NE(backend, nullptr);
    ASSERT_TRUE(Apply(*backend, kSamplesKey, {Correction(1, v1::SAMPLE_INTERVAL_1MIN, 1, kTs, 2.0, 4)}, 1)
                    .ok());
  }
  // Back to what the step before it left: no columns, no version row from it on.
  ASSERT_NO_FATAL_FAILURE(Exec("ALTER TABLE sample_edit_log DROP COLUMN old_value"));
  ASSERT_NO_FATAL_FAILURE(Exec("ALTER TABLE sample_edit_log DROP COLUMN old_quality"));
  ASSERT_NO_FATAL_FAILURE(
      Exec(fmt::format("DELETE FROM sluice_schema_version WHERE version >= {}", step)));
  ASSERT_EQ(Value("SELECT max(version) FROM sluice_schema_version"), std::to_string(step - 1));

  auto backend = Connected();
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(Value("SELECT max(version) FROM sluice_schema_version"), std::to_string(latest));
  EXPECT_EQ(QueryRows("SELECT point_id, old_value, old_quality FROM sample_edit_log"),
            (Rows{{"1", kNull, kNull}}));
  const v1::Record intent = ModifyIntent(10, {{1, kTs, 3.0, 4, std::pair{2.0, 4u}}}, false);
  auto result = backend->ApplyIntent(kModelKey, {1, &intent}, 0);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(QueryRows("SELECT value, old_value, old_quality FROM sample_edit_log ORDER BY ver"),
            (Rows{{Shown(2.0), kNull, kNull}, {Shown(3.0), Shown(2.0), "4"}}));
}

INSTANTIATE_TEST_SUITE_P(Dialects, ModifyTest, ::testing::Values("sqlite", "postgres"),
                         DialectName);

}  // namespace
}  // namespace sluice::store::testing
