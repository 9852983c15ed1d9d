// History.ModifySamples' checks and corrections without a daemon: each bad request is
// refused naming the edit and what is wrong; the corrections keep what an edit leaves
// out, always add QUALITY_SUBSTITUTED and carry the stored value as the old one; missing
// samples are refused by name (the list cut after kMissingSamplesShown) or inserted.
#include "service/sample_edits.h"

#include <cmath>
#include <limits>
#include <set>

#include <gtest/gtest.h>

namespace sluice::service {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;
constexpr int64_t kTs = kNow - 3'600'000'000;

v1::ModifySamplesRequest Request(int edits) {
  v1::ModifySamplesRequest r;
  r.set_interval(v1::SAMPLE_INTERVAL_1MIN);
  r.set_why("meter replaced");
  for (int i = 0; i < edits; ++i) {
    auto* e = r.add_edits();
    e->set_point_id(1 + i % 3);
    e->set_ts_us(kTs + int64_t{i} * 60'000'000);
    e->set_value(10.0 + i);
  }
  return r;
}

bool Known(int64_t id) { return id >= 1 && id <= 3; }

void ExpectRefused(const v1::ModifySamplesRequest& r, const std::vector<std::string>& parts,
                   const SampleEditLimits& limits = {}) {
  Status s = CheckSampleEdits(r, limits, Known, kNow);
  ASSERT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  for (const auto& p : parts) {
    EXPECT_NE(s.message().find(p), std::string::npos) << "'" << p << "' not in: " << s.message();
  }
}

TEST(SampleEditsTest, BadRequestsAreRefusedNamingTheEdit) {
  EXPECT_TRUE(CheckSampleEdits(Request(5), {}, Known, kNow).ok());

  auto r = Request(2);
  r.clear_interval();
  ExpectRefused(r, {"interval 0", "not a sample interval"});
  r.set_interval(static_cast<v1::SampleInterval>(99));
  ExpectRefused(r, {"interval 99"});
  ExpectRefused(Request(0), {"no edit given"});
  ExpectRefused(Request(kMaxSampleEdits + 1),
                {std::to_string(kMaxSampleEdits + 1) + " edits", "limit of"});
  r = Request(2);
  r.clear_why();
  ExpectRefused(r, {"why is empty"});
  SampleEditLimits small;
  small.max_string_length = 4;
  ExpectRefused(Request(1), {"why is 14 bytes long", "max_string_length = 4"}, small);

  r = Request(3);
  r.mutable_edits(2)->set_point_id(42);
  ExpectRefused(r, {"edits[2] (point 42, ts", "point 42 is not in the catalog"});
  r = Request(3);
  r.mutable_edits(1)->set_ts_us(5);
  ExpectRefused(r, {"edits[1] (point 2, ts 5)", "outside the admitted window"});
  r = Request(3);
  r.mutable_edits(1)->set_ts_us(kNow + 2 * 86'400'000'000);
  ExpectRefused(r, {"edits[1]", "outside the admitted window"});
  r = Request(3);
  r.mutable_edits(0)->clear_value();
  ExpectRefused(r, {"edits[0]", "neither value nor quality"});
  r.mutable_edits(0)->set_quality(2);
  EXPECT_TRUE(CheckSampleEdits(r, {}, Known, kNow).ok());
  for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    r = Request(3);
    r.mutable_edits(2)->set_value(bad);
    ExpectRefused(r, {"edits[2]", "not a finite number"});
  }
  r = Request(4);
  *r.mutable_edits(3) = r.edits(1);
  ExpectRefused(r, {"edits[3]", "the same sample as edits[1]"});
}

TEST(SampleEditsTest, ReadsAskForEveryEditInChunks) {
  const auto r = Request(static_cast<int>(kEditsPerRead) * 2 + 1);
  const auto reads = StoredSampleReads(r, "sample_1min");
  ASSERT_EQ(reads.size(), 3u);
  size_t pairs = 0;
  for (const auto& read : reads) {
    EXPECT_EQ(read.text().find("SELECT point_id, ts, value, quality FROM sample_1min WHERE"), 0u);
    EXPECT_EQ(read.params_size(), 0);
    // The first pair follows "VALUES (", each other one "), (".
    ++pairs;
    for (size_t at = read.text().find("), ("); at != std::string::npos;
         at = read.text().find("), (", at + 1)) {
      ++pairs;
    }
  }
  EXPECT_EQ(pairs, static_cast<size_t>(r.edits_size()));
  for (int i : {0, static_cast<int>(kEditsPerRead), r.edits_size() - 1}) {
    const std::string pair =
        "(" + std::to_string(r.edits(i).point_id()) + ", " + std::to_string(r.edits(i).ts_us()) + ")";
    EXPECT_NE(reads[static_cast<size_t>(i) / kEditsPerRead].text().find(pair), std::string::npos)
        << pair;
  }
}

v1::SqlValue Int(int64_t v) {
  v1::SqlValue x;
  x.set_int_value(v);
  return x;
}
v1::SqlValue Real(double v) {
  v1::SqlValue x;
  x.set_double_value(v);
  return x;
}
v1::SqlValue Null() {
  v1::SqlValue x;
  x.set_null_value(true);
  return x;
}

TEST(SampleEditsTest, StoredRowsAreTakenOrRefusedByRow) {
  StoredSamples stored;
  std::vector<std::vector<v1::SqlValue>> rows = {{Int(1), Int(kTs), Real(2.5), Int(16)},
                                                 {Int(2), Int(kTs), Null(), Int(17)},
                                                 {Int(3), Int(kTs), Int(7), Int(0)}};
  ASSERT_TRUE(AddStoredRows(rows, &stored).ok());
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[SampleKey(1, kTs)].value, 2.5);
  EXPECT_EQ(stored[SampleKey(1, kTs)].quality, 16u);
  EXPECT_TRUE(std::isnan(stored[SampleKey(2, kTs)].value));
  EXPECT_EQ(stored[SampleKey(3, kTs)].value, 7.0);
  rows = {{Int(1), Int(kTs), Real(1)}, {Int(1), Real(1), Real(1), Int(0)}};
  Status s = AddStoredRows(rows, &stored);
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_NE(s.message().find("row 0"), std::string::npos) << s.ToString();
}

TEST(SampleEditsTest, CorrectionsKeepWhatAnEditLeavesOutAndMarkTheSubstitution) {
  auto r = Request(3);
  r.set_correct_recall(true);
  r.set_request_id("req-1");
  r.mutable_edits(1)->clear_value();
  r.mutable_edits(1)->set_quality(v1::QUALITY_QUESTIONABLE);
  r.mutable_edits(2)->set_quality(v1::QUALITY_GOOD);
  StoredSamples stored;
  for (int i = 0; i < 3; ++i) {
    stored[{r.edits(i).point_id(), r.edits(i).ts_us()}] =
        StoredSample{100.0 + i, static_cast<uint32_t>(v1::QUALITY_OLD_DATA)};
  }
  auto intent = BuildSampleModify(r, stored, "dispatcher");
  ASSERT_TRUE(intent.ok()) << intent.status().ToString();
  EXPECT_EQ(intent->kind(), v1::SyncIntent::KIND_SAMPLE_MODIFY);
  EXPECT_EQ(intent->request_id(), "req-1");
  EXPECT_FALSE(intent->has_statement());
  ASSERT_EQ(intent->corrections_size(), 3);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const auto& c = intent->corrections(i);
    const auto& e = r.edits(i);
    const StoredSample& old = stored[{e.point_id(), e.ts_us()}];
    EXPECT_EQ(c.interval(), r.interval());
    EXPECT_EQ(c.point_id(), e.point_id());
    EXPECT_EQ(c.ts_us(), e.ts_us());
    EXPECT_EQ(c.value(), e.has_value() ? e.value() : old.value);
    EXPECT_EQ(c.quality(), (e.has_quality() ? e.quality() : old.quality) | v1::QUALITY_SUBSTITUTED);
    EXPECT_TRUE(c.manual());
    EXPECT_EQ(c.who(), "dispatcher");
    EXPECT_EQ(c.why(), r.why());
    ASSERT_TRUE(c.has_old_value());
    EXPECT_EQ(c.old_value(), old.value);
    EXPECT_EQ(c.old_quality(), old.quality);
    EXPECT_TRUE(c.correct_recall());
  }
}

TEST(SampleEditsTest, MissingSamplesAreNamedOrInserted) {
  const int n = static_cast<int>(kMissingSamplesShown) + 5;
  auto r = Request(n);
  StoredSamples stored;
  stored[{r.edits(0).point_id(), r.edits(0).ts_us()}] = StoredSample{1.0, 0};
  auto refused = BuildSampleModify(r, stored, "op");
  ASSERT_EQ(refused.status().code(), Code::kNotFound) << refused.status().ToString();
  const std::string& m = refused.status().message();
  EXPECT_NE(m.find(std::to_string(n - 1) + " of the " + std::to_string(n) + " edited samples"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("sample_1min"), std::string::npos) << m;
  EXPECT_NE(m.find("edits[1] (point"), std::string::npos) << m;
  EXPECT_NE(m.find("edits[" + std::to_string(kMissingSamplesShown) + "]"), std::string::npos) << m;
  EXPECT_EQ(m.find("edits[" + std::to_string(kMissingSamplesShown + 1) + "]"), std::string::npos)
      << m;
  EXPECT_NE(m.find("and " + std::to_string(n - 1 - kMissingSamplesShown) + " more"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("insert_missing"), std::string::npos) << m;

  r.set_insert_missing(true);
  auto inserted = BuildSampleModify(r, stored, "op");
  ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
  ASSERT_EQ(inserted->corrections_size(), n);
  EXPECT_TRUE(inserted->corrections(0).has_old_value());
  for (int i = 1; i < n; ++i) {
    EXPECT_FALSE(inserted->corrections(i).has_old_value()) << i;
    EXPECT_FALSE(inserted->corrections(i).has_old_quality()) << i;
    EXPECT_EQ(inserted->corrections(i).value(), r.edits(i).value()) << i;
    // No quality given and none stored: good, marked substituted.
    EXPECT_EQ(inserted->corrections(i).quality(), static_cast<uint32_t>(v1::QUALITY_SUBSTITUTED)) << i;
  }
  // Nothing to keep for a sample that does not exist: its value must be given.
  r.mutable_edits(3)->clear_value();
  r.mutable_edits(3)->set_quality(0);
  auto no_value = BuildSampleModify(r, stored, "op");
  ASSERT_EQ(no_value.status().code(), Code::kInvalidArgument);
  EXPECT_NE(no_value.status().message().find("edits[3]"), std::string::npos);
  EXPECT_NE(no_value.status().message().find("needs its value"), std::string::npos);
}

}  // namespace
}  // namespace sluice::service
