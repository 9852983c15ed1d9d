// include_pending at unit level: a real JournalSet with records the test appends, a real
// Replicator feeding a SQLite target, the target taken out (StopTarget, as Admin's
// SetTargetEnabled does) so that later records stay in the journal. CollectPendingSamples
// must return exactly what the test computes from the records it appended after the
// target's watermark: the asked points and interval, [start, end) with one bound on each
// side, the row the target would keep per timestamp, nothing the target holds already.

#include "service/pending_samples.h"

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "history/query.h"
#include "record/record_codec.h"
#include "replicate/replicator.h"
#include "service/read_pool.h"
#include "store/backend.h"
#include "support/sqlite_rows.h"
#include "support/temp_dir.h"

namespace sluice::service {
namespace {

using journal::Lsn;
using ::sluice::testing::TempDir;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kT0 = 1'780'000'000'000'000;  // 2026-05-28
constexpr char kNode[] = "n1";
constexpr char kTarget[] = "a";
// Streams as a client may use them: samples on two streams, corrections on the ordered
// model stream, events beside.
const std::vector<std::string> kStreams = {"model", "events", "samples", "samples2"};

// One row as journaled, with what decides which row of a (point, ts) the target keeps.
struct JournaledRow {
  std::string stream;
  Lsn lsn = 0;
  v1::SampleInterval interval = v1::SAMPLE_INTERVAL_UNSPECIFIED;
  int64_t point_id = 0;
  int64_t ts_us = 0;
  double value = 0;
  uint32_t quality = 0;
  bool manual = false;
  uint64_t version = 0;
  uint64_t order = 0;  // append order over the whole test
};

// A sample as text, for comparisons that print well.
std::string Show(int64_t point_id, const v1::HistorySample& s) {
  return fmt::format("point {} ts {} value {} quality {} manual {} pending {}", point_id, s.ts_us(),
                     s.has_value() ? fmt::format("{}", s.value()) : "NULL", s.quality(), s.manual(),
                     s.pending());
}
std::vector<std::string> Show(const history::PendingSamples& samples) {
  std::vector<std::string> out;
  for (const auto& [point_id, list] : samples) {
    for (const auto& s : list) out.push_back(Show(point_id, s));
  }
  return out;
}

// What the test expects, computed from the rows it journaled, the straightforward way:
// per point and time every candidate row, then the winner by the target's rule.
history::PendingSamples Expected(const std::vector<JournaledRow>& rows, v1::SampleInterval interval,
                                 const std::vector<int64_t>& points, int64_t start, int64_t end) {
  history::PendingSamples out;
  for (int64_t p : points) {
    std::map<int64_t, const JournaledRow*> winner;  // ts -> row
    for (const auto& r : rows) {
      if (r.point_id != p || r.interval != interval) continue;
      const JournaledRow*& w = winner[r.ts_us];
      // Greater (manual, version) wins; among equals the first appended stays.
      if (w == nullptr || r.manual > w->manual || (r.manual == w->manual && r.version > w->version))
        w = &r;
    }
    std::vector<v1::HistorySample> list;
    auto add = [&](const JournaledRow& r) {
      v1::HistorySample s;
      s.set_ts_us(r.ts_us);
      if (!std::isnan(r.value)) s.set_value(r.value);
      s.set_quality(r.quality);
      s.set_manual(r.manual);
      s.set_pending(true);
      list.push_back(s);
    };
    const JournaledRow* before = nullptr;
    const JournaledRow* after = nullptr;
    for (const auto& [ts, r] : winner) {
      if (ts < start) before = r;
      if (ts >= end && after == nullptr) after = r;
    }
    if (before != nullptr) add(*before);
    for (const auto& [ts, r] : winner) {
      if (ts >= start && ts < end) add(*r);
    }
    if (after != nullptr) add(*after);
    if (!list.empty()) out[p] = std::move(list);
  }
  return out;
}

class PendingSamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = dir_.Sub("data");
    journal::JournalSetOptions jo;
    jo.data_dir = data_dir_;
    for (const auto& s : kStreams) jo.streams.push_back({s, 0});
    jo.segment_bytes = 256 << 10;  // several segments: the scan crosses them
    auto set = journal::JournalSet::Open(jo);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    journals_ = std::move(set).value();

    config_.node.id = kNode;
    config::TargetConfig t;
    t.name = kTarget;
    t.dialect = config::Dialect::kSqlite;
    t.connection = Db();
    config_.targets.push_back(t);
    for (const auto& s : kStreams) {
      config::StreamConfig c;
      c.name = s;
      config_.streams.push_back(c);
    }
    reads_ = std::make_unique<ReadPool>(&config_);

    replicate::ReplicatorOptions ro;
    ro.node_id = kNode;
    ro.data_dir = data_dir_;
    ro.backoff_initial = std::chrono::milliseconds(10);
    ro.backoff_max = std::chrono::milliseconds(200);
    replicate::TargetSpec ts;
    ts.name = kTarget;
    ts.dialect = "sqlite";
    ts.connection = Db();
    ro.targets.push_back(ts);
    for (const auto& s : kStreams) {
      replicate::StreamSpec spec;
      spec.name = s;
      spec.ordered = s == "model" || s == "events";
      ro.streams.push_back(spec);
    }
    auto r = replicate::Replicator::Create(journals_.get(), ro);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    replicator_ = std::move(r).value();
    replicator_->Start();

    ctx_.config = &config_;
    ctx_.journals = journals_.get();
    ctx_.replicator = replicator_.get();
    ctx_.reads = reads_.get();
  }

  void TearDown() override {
    if (replicator_) replicator_->Stop();
  }

  std::string Db() const { return dir_.Sub("a.db"); }

  Lsn Append(const std::string& stream, v1::Record r) {
    r.set_version(++version_);
    auto lsn = journals_->stream(stream)->AppendDurable(record::kRecordV1, record::EncodeRecord(r));
    EXPECT_TRUE(lsn.ok()) << lsn.status().ToString();
    return lsn.ok() ? *lsn : 0;
  }

  // `count` records of a mixed workload: sample batches of 1 s (mostly) and 5 s on
  // "samples" and "samples2", plain corrections (manual or not) on "model", events. Times
  // are whole seconds in [kT0, kT0 + 25 s) for points 1..8, so timestamps repeat often,
  // within a batch too; some values are NaN. Appended rows go to `rows`.
  void AppendWorkload(int count, std::vector<JournaledRow>* rows) {
    std::uniform_int_distribution<int> pick(0, 99);
    std::uniform_int_distribution<int64_t> point(1, 8);
    std::uniform_int_distribution<int64_t> second(0, 24);
    std::uniform_real_distribution<double> value(-500, 500);
    for (int i = 0; i < count; ++i) {
      const int kind = pick(rng_);
      v1::Record r;
      std::string stream;
      if (kind < 70) {
        stream = kind % 2 == 0 ? "samples" : "samples2";
        auto* b = r.mutable_samples();
        b->set_interval(kind < 60 ? v1::SAMPLE_INTERVAL_1S : v1::SAMPLE_INTERVAL_5S);
        const int n = 1 + pick(rng_) % 12;
        for (int k = 0; k < n; ++k) {
          b->add_point_id(point(rng_));
          b->add_ts_us(kT0 + second(rng_) * kSecond);
          b->add_value(pick(rng_) < 5 ? std::numeric_limits<double>::quiet_NaN()
                                      : std::round(value(rng_)));
          b->add_quality(static_cast<uint32_t>(pick(rng_) % 3));
        }
      } else if (kind < 90) {
        stream = "model";
        auto* c = r.mutable_correction();
        c->set_interval(kind < 85 ? v1::SAMPLE_INTERVAL_1S : v1::SAMPLE_INTERVAL_5S);
        c->set_point_id(point(rng_));
        c->set_ts_us(kT0 + second(rng_) * kSecond);
        c->set_value(std::round(value(rng_)) + 0.5);
        c->set_quality(v1::QUALITY_SUBSTITUTED);
        c->set_manual(manual_corrections_ && kind % 2 == 0);
        c->set_who("test");
        c->set_why("pending test");
      } else {
        stream = "events";
        auto* e = r.mutable_events()->add_events();
        e->set_ts_us(kT0 + second(rng_) * kSecond);
        e->set_point_id(point(rng_));
        e->set_kind("test");
      }
      const Lsn lsn = Append(stream, r);
      const uint64_t version = version_;
      if (r.has_samples()) {
        const auto& b = r.samples();
        for (int k = 0; k < b.point_id_size(); ++k) {
          rows->push_back({stream, lsn, b.interval(), b.point_id(k), b.ts_us(k), b.value(k),
                           b.quality(k), false, version, ++order_});
        }
      } else if (r.has_correction()) {
        const auto& c = r.correction();
        rows->push_back({stream, lsn, c.interval(), c.point_id(), c.ts_us(), c.value(), c.quality(),
                         c.manual(), version, ++order_});
      }
    }
  }

  // The workload applied (the target caught up), then the target taken out and more
  // workload journaled: `pending_` holds the rows the target lacks.
  void ApplySomeThenHoldTarget() {
    std::vector<JournaledRow> applied;
    AppendWorkload(150, &applied);
    ASSERT_TRUE(replicator_->WaitCaughtUp(std::chrono::seconds(120)))
        << "the target did not catch up";
    ASSERT_TRUE(replicator_->StopTarget(kTarget).ok());
    for (const auto& s : kStreams) {
      ASSERT_EQ(Watermark(s), journals_->stream(s)->durable_lsn()) << s;
    }
    applied_rows_ = applied.size();
    AppendWorkload(250, &pending_);
  }

  Lsn Watermark(const std::string& stream) {
    auto rows = ::sluice::testing::QueryRows(
        Db(), fmt::format("SELECT lsn FROM sluice_watermark WHERE stream = '{}'", stream),
        {.read_only = true, .busy_timeout_ms = 30'000});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() && !rows->empty() ? std::stoull((*rows)[0][0]) : 0;
  }

  // The target's rows of `interval`, point -> ts -> sample (pending false).
  std::map<int64_t, std::map<int64_t, v1::HistorySample>> StoredRows(v1::SampleInterval interval) {
    std::map<int64_t, std::map<int64_t, v1::HistorySample>> out;
    auto rows = ::sluice::testing::QueryRows(
        Db(),
        fmt::format("SELECT point_id, ts, value, quality, manual FROM {} ORDER BY point_id, ts",
                    interval == v1::SAMPLE_INTERVAL_1S ? "sample_1s" : "sample_5s"),
        {.read_only = true, .busy_timeout_ms = 30'000, .null_text = "NULL"});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) return out;
    for (const auto& r : *rows) {
      v1::HistorySample s;
      s.set_ts_us(std::stoll(r[1]));
      if (r[2] != "NULL") s.set_value(std::stod(r[2]));
      s.set_quality(static_cast<uint32_t>(std::stoul(r[3])));
      s.set_manual(r[4] != "0");
      out[std::stoll(r[0])][s.ts_us()] = s;
    }
    return out;
  }

  Result<history::PendingSamples> Collect(v1::SampleInterval interval,
                                          const std::vector<int64_t>& points, int64_t start,
                                          int64_t end, size_t max_samples = 1'000'000) {
    return CollectPendingSamples(ctx_, kTarget, interval, points, start, end, max_samples);
  }

  TempDir dir_;
  std::string data_dir_;
  std::unique_ptr<journal::JournalSet> journals_;
  std::unique_ptr<replicate::Replicator> replicator_;
  config::Config config_;
  std::unique_ptr<ReadPool> reads_;
  ServiceContext ctx_;
  std::mt19937_64 rng_{20261207};
  uint64_t version_ = 0;
  uint64_t order_ = 0;
  bool manual_corrections_ = true;
  std::vector<JournaledRow> pending_;
  size_t applied_rows_ = 0;
};

TEST_F(PendingSamplesTest, NothingIsPendingWhileTheTargetIsCaughtUp) {
  std::vector<JournaledRow> rows;
  AppendWorkload(100, &rows);
  ASSERT_TRUE(replicator_->WaitCaughtUp(std::chrono::seconds(120)));
  auto got = Collect(v1::SAMPLE_INTERVAL_1S, {1, 2, 3, 4, 5, 6, 7, 8}, kT0, kT0 + 25 * kSecond);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Show(*got), std::vector<std::string>{}) << "every row is applied already";
}

TEST_F(PendingSamplesTest, ReturnsExactlyTheUnappliedRowsOfTheQuery) {
  ASSERT_NO_FATAL_FAILURE(ApplySomeThenHoldTarget());
  ASSERT_GT(applied_rows_, 0u);
  const std::vector<int64_t> points = {2, 3, 5, 8};
  const int64_t start = kT0 + 5 * kSecond;
  const int64_t end = kT0 + 20 * kSecond;
  {
    // The workload covers every rule: bounds on both sides, manual corrections, NULLs, and
    // a time journaled more than once (within one record, too).
    auto want = Expected(pending_, v1::SAMPLE_INTERVAL_1S, points, start, end);
    size_t before = 0, after = 0, manual = 0, nulls = 0;
    for (const auto& [p, list] : want) {
      before += list.front().ts_us() < start;
      after += list.back().ts_us() >= end;
      for (const auto& s : list) {
        manual += s.manual();
        nulls += !s.has_value();
      }
    }
    std::map<std::tuple<int64_t, int64_t>, std::set<uint64_t>> versions;  // (point, ts) -> versions
    size_t repeated_in_one_record = 0;
    for (const auto& r : pending_) {
      if (r.interval != v1::SAMPLE_INTERVAL_1S) continue;
      repeated_in_one_record += !versions[{r.point_id, r.ts_us}].insert(r.version).second;
    }
    EXPECT_GT(before, 0u);
    EXPECT_GT(after, 0u);
    EXPECT_GT(manual, 0u);
    EXPECT_GT(nulls, 0u);
    EXPECT_GT(repeated_in_one_record, 0u);
  }
  for (v1::SampleInterval interval : {v1::SAMPLE_INTERVAL_1S, v1::SAMPLE_INTERVAL_5S}) {
    auto want = Expected(pending_, interval, points, start, end);
    ASSERT_FALSE(want.empty()) << "the workload gives every query something";
    auto got = Collect(interval, points, start, end);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(Show(*got), Show(want)) << "interval " << v1::SampleInterval_Name(interval);
  }
  // Invariants, whatever the workload drew: asked points only, one sample per time in
  // time order, at most one bound on each side.
  auto got = Collect(v1::SAMPLE_INTERVAL_1S, points, start, end);
  ASSERT_TRUE(got.ok());
  for (const auto& [point_id, list] : *got) {
    EXPECT_NE(std::find(points.begin(), points.end(), point_id), points.end()) << point_id;
    for (size_t i = 0; i < list.size(); ++i) {
      EXPECT_TRUE(list[i].pending());
      if (i > 0) {
        EXPECT_LT(list[i - 1].ts_us(), list[i].ts_us()) << point_id;
      }
      if (list[i].ts_us() < start) {
        EXPECT_EQ(i, 0u) << point_id << ": a bound before is first";
      }
      if (list[i].ts_us() >= end) {
        EXPECT_EQ(i, list.size() - 1) << point_id << ": a bound after is last";
      }
    }
  }
  // The same over a connection the caller holds already.
  auto lease = reads_->Acquire(kTarget);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  auto over_lease = CollectPendingSamples(ctx_, *lease->operator->(), v1::SAMPLE_INTERVAL_1S,
                                          points, start, end, 1'000'000);
  ASSERT_TRUE(over_lease.ok()) << over_lease.status().ToString();
  EXPECT_EQ(Show(*over_lease), Show(*got));
  // The whole range of the workload: no bounds, every pending row of those points.
  auto all = Collect(v1::SAMPLE_INTERVAL_1S, points, kT0, kT0 + 25 * kSecond);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Show(*all),
            Show(Expected(pending_, v1::SAMPLE_INTERVAL_1S, points, kT0, kT0 + 25 * kSecond)));
}

// The target itself is the judge of "the row it will keep": the stored rows merged with
// the pending ones by the rule of history/pending.h are what the target holds once it has
// applied the rest of the journal.
TEST_F(PendingSamplesTest, StoredMergedWithPendingIsWhatTheTargetHoldsOnceCaughtUp) {
  ASSERT_NO_FATAL_FAILURE(ApplySomeThenHoldTarget());
  const std::vector<int64_t> points = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<v1::SampleInterval> intervals = {v1::SAMPLE_INTERVAL_1S,
                                                     v1::SAMPLE_INTERVAL_5S};
  std::map<v1::SampleInterval, std::vector<std::string>> want;
  for (v1::SampleInterval interval : intervals) {
    SCOPED_TRACE(v1::SampleInterval_Name(interval));
    std::map<int64_t, std::map<int64_t, v1::HistorySample>> merged = StoredRows(interval);
    // The whole range of the workload: every pending row is inside it.
    auto pending = Collect(interval, points, kT0, kT0 + 25 * kSecond);
    ASSERT_TRUE(pending.ok()) << pending.status().ToString();
    size_t replaced = 0, kept_manual = 0;
    for (const auto& [point_id, list] : *pending) {
      for (v1::HistorySample s : list) {
        auto& slot = merged[point_id];
        auto it = slot.find(s.ts_us());
        if (it != slot.end() && it->second.manual() && !s.manual()) {
          ++kept_manual;
          continue;
        }
        replaced += it != slot.end();
        s.set_pending(false);
        slot[s.ts_us()] = s;
      }
    }
    EXPECT_GT(replaced, 0u) << "pending rows replace stored ones";
    if (interval == v1::SAMPLE_INTERVAL_1S) {
      EXPECT_GT(kept_manual, 0u) << "a stored manual row stays";
    }
    for (const auto& [point_id, slot] : merged) {
      for (const auto& [ts, s] : slot) want[interval].push_back(Show(point_id, s));
    }
  }
  ASSERT_TRUE(replicator_->StartTarget(kTarget).ok());
  ASSERT_TRUE(replicator_->WaitCaughtUp(std::chrono::seconds(120)));
  for (v1::SampleInterval interval : intervals) {
    std::vector<std::string> held;
    for (const auto& [point_id, slot] : StoredRows(interval)) {
      for (const auto& [ts, s] : slot) held.push_back(Show(point_id, s));
    }
    EXPECT_EQ(held, want[interval]) << v1::SampleInterval_Name(interval);
  }
}

// End to end through the history reads (history/query.h): History.ReadRaw with
// include_pending and bounds while the target is held answers what ReadRaw answers
// without pending data once the target has caught up, pending flags aside.
class PendingReadRawTest : public PendingSamplesTest {
 protected:
  // Every page of ReadRaw on the target, as text; pending rows counted in *pending_rows.
  std::vector<std::string> ReadRawAll(const std::vector<int64_t>& points, int64_t start,
                                      int64_t end, const history::PendingSamples* pending,
                                      size_t* pending_rows) {
    v1::ReadRawRequest request;
    for (int64_t p : points) request.mutable_range()->add_point_ids(p);
    request.mutable_range()->set_interval(v1::SAMPLE_INTERVAL_1S);
    request.mutable_range()->set_start_us(start);
    request.mutable_range()->set_end_us(end);
    request.mutable_range()->set_include_pending(pending != nullptr);
    request.set_bounds(true);
    request.set_max_values(7);  // several pages
    auto lease = reads_->Acquire(kTarget);
    EXPECT_TRUE(lease.ok()) << lease.status().ToString();
    if (!lease.ok()) return {};
    std::vector<std::string> out;
    auto show = [&](int64_t point_id, const char* what, v1::HistorySample s) {
      *pending_rows += s.pending();
      s.set_pending(false);
      out.push_back(fmt::format("{} {}", what, Show(point_id, s)));
    };
    for (int page = 0; page < 10'000; ++page) {
      v1::ReadRawResponse response;
      Status st = history::ReadRaw(*lease->operator->(), request, pending, history::QueryLimits{},
                                   &response);
      EXPECT_TRUE(st.ok()) << st.ToString();
      if (!st.ok()) return out;
      for (const auto& point : response.points()) {
        if (point.has_bound_before()) show(point.point_id(), "before", point.bound_before());
        for (const auto& s : point.samples()) show(point.point_id(), "sample", s);
        if (point.has_bound_after()) show(point.point_id(), "after", point.bound_after());
      }
      if (response.continuation().empty()) return out;
      request.set_continuation(response.continuation());
    }
    ADD_FAILURE() << "ReadRaw never ended";
    return out;
  }
};

TEST_F(PendingReadRawTest, ReadRawWithPendingWhileHeldIsReadRawOnceCaughtUp) {
  // Manual corrections aside: see AStoredManualRowOutlivesAPendingPlainSample.
  manual_corrections_ = false;
  ASSERT_NO_FATAL_FAILURE(ApplySomeThenHoldTarget());
  const std::vector<int64_t> points = {7, 1, 4, 2};
  const int64_t start = kT0 + 6 * kSecond;
  const int64_t end = kT0 + 19 * kSecond;
  auto pending = Collect(v1::SAMPLE_INTERVAL_1S, points, start, end);
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  size_t pending_rows = 0;
  const std::vector<std::string> held = ReadRawAll(points, start, end, &*pending, &pending_rows);
  EXPECT_GT(pending_rows, 0u) << "the read shows pending rows";
  size_t none = 0;
  const std::vector<std::string> without = ReadRawAll(points, start, end, nullptr, &none);
  EXPECT_NE(without, held) << "the pending rows make a difference";

  ASSERT_TRUE(replicator_->StartTarget(kTarget).ok());
  ASSERT_TRUE(replicator_->WaitCaughtUp(std::chrono::seconds(120)));
  size_t after_rows = 0;
  EXPECT_EQ(ReadRawAll(points, start, end, nullptr, &after_rows), held);
  EXPECT_EQ(after_rows, 0u);
}

// The target keeps a stored manual correction against a later plain sample
// (history/pending.h); the merge of history/sample_rows.cc keeps it too.
TEST_F(PendingReadRawTest, AStoredManualRowOutlivesAPendingPlainSample) {
  ASSERT_NO_FATAL_FAILURE(ApplySomeThenHoldTarget());
  const std::vector<int64_t> points = {1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t start = kT0;
  const int64_t end = kT0 + 25 * kSecond;
  auto pending = Collect(v1::SAMPLE_INTERVAL_1S, points, start, end);
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  size_t pending_rows = 0;
  const std::vector<std::string> held = ReadRawAll(points, start, end, &*pending, &pending_rows);
  ASSERT_TRUE(replicator_->StartTarget(kTarget).ok());
  ASSERT_TRUE(replicator_->WaitCaughtUp(std::chrono::seconds(120)));
  size_t after_rows = 0;
  EXPECT_EQ(ReadRawAll(points, start, end, nullptr, &after_rows), held);
}

TEST_F(PendingSamplesTest, TheTargetsWatermarkRowDecidesNotTheJournalCursor) {
  ASSERT_NO_FATAL_FAILURE(ApplySomeThenHoldTarget());
  // What an applier does when its commit succeeded but it died before it advanced the
  // journal cursor: the first half of the pending "samples" records are committed in
  // the target with their watermark, the cursor stays where it was.
  std::vector<Lsn> lsns;
  for (const auto& r : pending_) {
    if (r.stream == "samples" && (lsns.empty() || lsns.back() != r.lsn)) lsns.push_back(r.lsn);
  }
  ASSERT_GE(lsns.size(), 4u);
  const Lsn moved_to = lsns[lsns.size() / 2];
  store::BackendOptions bo;
  bo.name = kTarget;
  bo.connection = Db();
  auto backend = store::NewBackend("sqlite", bo);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  ASSERT_TRUE((*backend)->Connect().ok());
  ASSERT_TRUE((*backend)->ClaimNode(kNode).ok());
  const store::WatermarkKey key{kNode, journal::EpochToHex(journals_->epoch()), "samples"};
  auto from = (*backend)->ReadWatermark(key);
  ASSERT_TRUE(from.ok()) << from.status().ToString();
  auto reader = journal::Reader::Open(journals_->stream("samples"), *from + 1);
  ASSERT_TRUE(reader.ok());
  journal::ReadBatch batch;
  std::vector<v1::Record> records;
  while ((*reader)->next_lsn() <= moved_to) {
    ASSERT_TRUE((*reader)->Read(moved_to - (*reader)->next_lsn() + 1, 64 << 20, &batch).ok());
    ASSERT_FALSE(batch.empty());
    for (const auto& rv : batch.records())
      records.push_back(*record::DecodeRecord(rv.lsn, rv.type, rv.payload));
  }
  std::vector<store::ApplyItem> items;
  for (size_t i = 0; i < records.size(); ++i) items.push_back({*from + 1 + i, &records[i]});
  ASSERT_TRUE((*backend)->ApplyBatch(key, items, {}, moved_to).ok());
  backend->reset();
  ASSERT_EQ(Watermark("samples"), moved_to);
  auto cursor = journals_->GetCursor("samples", kTarget);
  ASSERT_TRUE(cursor.ok());
  ASSERT_LT(cursor->lsn, moved_to) << "the cursor lags the target's row, as after such a crash";

  std::vector<JournaledRow> still_pending;
  for (const auto& r : pending_) {
    if (!(r.stream == "samples" && r.lsn <= moved_to)) still_pending.push_back(r);
  }
  ASSERT_LT(still_pending.size(), pending_.size());
  const std::vector<int64_t> points = {1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t start = kT0 + 3 * kSecond;
  const int64_t end = kT0 + 22 * kSecond;
  auto got = Collect(v1::SAMPLE_INTERVAL_1S, points, start, end);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Show(*got), Show(Expected(still_pending, v1::SAMPLE_INTERVAL_1S, points, start, end)));
}

TEST_F(PendingSamplesTest, MoreThanTheLimitIsRefusedNamingTheCountAndTheLimit) {
  ASSERT_NO_FATAL_FAILURE(ApplySomeThenHoldTarget());
  const std::vector<int64_t> points = {1, 4, 6};
  const int64_t start = kT0 + 2 * kSecond;
  const int64_t end = kT0 + 23 * kSecond;
  auto want = Expected(pending_, v1::SAMPLE_INTERVAL_1S, points, start, end);
  size_t distinct = 0;
  for (const auto& [p, list] : want) {
    for (const auto& s : list) distinct += s.ts_us() >= start && s.ts_us() < end ? 1 : 0;
  }
  size_t matching_rows = 0;
  for (const auto& r : pending_) {
    matching_rows += r.interval == v1::SAMPLE_INTERVAL_1S && r.ts_us >= start && r.ts_us < end &&
                     std::find(points.begin(), points.end(), r.point_id) != points.end();
  }
  ASSERT_GT(distinct, 1u);
  ASSERT_GT(matching_rows, distinct) << "the workload repeats timestamps";

  auto at_limit = Collect(v1::SAMPLE_INTERVAL_1S, points, start, end, distinct);
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(Show(*at_limit), Show(want));

  auto over = Collect(v1::SAMPLE_INTERVAL_1S, points, start, end, distinct - 1);
  ASSERT_EQ(over.status().code(), Code::kResourceExhausted) << over.status().ToString();
  const std::string& msg = over.status().message();
  EXPECT_NE(msg.find(fmt::format("{} journaled rows of sample_1s", matching_rows)),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(fmt::format("limit of {} samples", distinct - 1)), std::string::npos) << msg;
  EXPECT_NE(msg.find("target 'a'"), std::string::npos) << msg;
}

TEST_F(PendingSamplesTest, BadRequestsAreRefusedNamingWhatIsWrong) {
  ASSERT_NO_FATAL_FAILURE(ApplySomeThenHoldTarget());
  auto empty = Collect(v1::SAMPLE_INTERVAL_1S, {1}, kT0 + 5 * kSecond, kT0 + 5 * kSecond);
  ASSERT_EQ(empty.status().code(), Code::kInvalidArgument);
  EXPECT_NE(empty.status().message().find(fmt::format("[{0}, {0})", kT0 + 5 * kSecond)),
            std::string::npos)
      << empty.status().ToString();
  auto no_table = Collect(v1::SAMPLE_INTERVAL_UNSPECIFIED, {1}, kT0, kT0 + kSecond);
  ASSERT_EQ(no_table.status().code(), Code::kInvalidArgument) << no_table.status().ToString();
  EXPECT_NE(no_table.status().message().find("interval"), std::string::npos)
      << no_table.status().ToString();
  auto unknown = CollectPendingSamples(ctx_, "nope", v1::SAMPLE_INTERVAL_1S,
                                       std::vector<int64_t>{1}, kT0, kT0 + kSecond, 10);
  ASSERT_EQ(unknown.status().code(), Code::kNotFound) << unknown.status().ToString();
  EXPECT_NE(unknown.status().message().find("'nope'"), std::string::npos);
  // No point asked: nothing, not an error.
  auto none = Collect(v1::SAMPLE_INTERVAL_1S, {}, kT0, kT0 + 25 * kSecond);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST_F(PendingSamplesTest, AWatermarkTheJournalCannotServeIsAnError) {
  ASSERT_NO_FATAL_FAILURE(ApplySomeThenHoldTarget());
  const Lsn head = journals_->stream("samples")->durable_lsn();
  AppliedPositions above{{"samples", head + 5}};
  PendingQuery q;
  q.interval = v1::SAMPLE_INTERVAL_1S;
  const std::vector<int64_t> points = {1};
  q.point_ids = points;
  q.start_us = kT0;
  q.end_us = kT0 + 25 * kSecond;
  q.max_samples = 1000;
  q.target = kTarget;
  auto got = ScanPendingSamples(*journals_, above, q);
  ASSERT_EQ(got.status().code(), Code::kFailedPrecondition) << got.status().ToString();
  EXPECT_NE(got.status().message().find(
                fmt::format("LSN {}, above the journal's head {}", head + 5, head)),
            std::string::npos)
      << got.status().ToString();
}

TEST_F(PendingSamplesTest, AWatermarkBelowWhatRetentionKeptIsAnError) {
  ASSERT_TRUE(replicator_->StopTarget(kTarget).ok());
  // Enough records for several segments, then the oldest deleted under the target (as
  // retention does to a detached cursor).
  journal::Journal* samples = journals_->stream("samples");
  while (samples->Segments().size() < 3) {
    v1::Record r;
    r.set_version(++version_);
    auto* b = r.mutable_samples();
    b->set_interval(v1::SAMPLE_INTERVAL_1S);
    for (int i = 0; i < 4000; ++i) {
      b->add_point_id(1 + i % 8);
      b->add_ts_us(kT0 + (i / 8) % 25 * kSecond);
      b->add_value(i);
      b->add_quality(0);
    }
    ASSERT_TRUE(samples->AppendDurable(record::kRecordV1, record::EncodeRecord(r)).ok());
  }
  const Lsn cut = samples->Segments().front().last_lsn;
  auto freed = samples->DeleteSegmentsUpTo(cut);
  ASSERT_TRUE(freed.ok()) << freed.status().ToString();
  ASSERT_GT(*freed, 0u);
  ASSERT_EQ(samples->first_lsn(), cut + 1);
  auto got = Collect(v1::SAMPLE_INTERVAL_1S, {1}, kT0, kT0 + 25 * kSecond);
  ASSERT_EQ(got.status().code(), Code::kFailedPrecondition) << got.status().ToString();
  EXPECT_NE(got.status().message().find(
                fmt::format("stream 'samples' up to LSN 0, but the journal keeps records "
                            "from LSN {} only",
                            cut + 1)),
            std::string::npos)
      << got.status().ToString();
}

}  // namespace
}  // namespace sluice::service
