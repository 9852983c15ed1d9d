// History.ModifySamples in a real sluiced with SQLite targets (primaries a and b, replica
// dr): corrections reach every target with identical sample rows (manual, substituted
// bit) and sample_edit_log rows (old and new value and quality, who, why); a later sample
// of the same point and time from the feed does not overwrite a correction;
// correct_recall sets the recall rows of the point and time; a sample that does not exist
// is refused by name with nothing journaled, and inserted with insert_missing; every bad
// request is refused with its code and a message naming what was wrong, journaling
// nothing. The CLI: `sluice modify` for points at one time and from a CSV file.

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/daemon.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif
#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

using Rows = std::vector<std::vector<std::string>>;

constexpr const char* kTargets[] = {"a", "b", "dr"};
// The dispatcher's token: sql for the correction, ingest for the feed, read for lists.
constexpr char kSqlToken[] = "sql-token-0123456789abcdef";
constexpr char kWho[] = "dispatcher";
constexpr int64_t kMinuteUs = 60'000'000;

struct Sample {
  int64_t point;
  int64_t ts;
  double value;
  uint32_t quality;
};

class HistoryModifyDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonConfig config;
    config.extra = fmt::format(
        "\n[[auth.token]]\nname = \"{}\"\ntoken = \"{}\"\nroles = [\"sql\", \"ingest\", "
        "\"read\"]\n",
        kWho, kSqlToken);
    daemon_ = std::make_unique<Daemon>(dir_, config);
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
    sampling_ = v1::Sampling::NewStub(daemon_->channel());
    history_ = v1::History::NewStub(daemon_->channel());
    // An hour ago on a whole minute: inside the admitted window.
    base_ts_ = (NowMicros() - 3600 * 1'000'000LL) / kMinuteUs * kMinuteUs;

    v1::PutPointsRequest points;
    for (int64_t id = 1; id <= 3; ++id) {
      auto* p = points.add_points();
      p->set_id(id);
      p->set_name(fmt::format("BUS{}.KV", id));
    }
    v1::ExecuteResponse put;
    grpc::Status s = sampling_->PutPoints(daemon_->Context(kSqlToken).get(), points, &put);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(put.outcome(), v1::OUTCOME_APPLIED) << put.DebugString();
  }

  // Commits 1 min samples (and recall rows) through Ingest.Commit and waits until every
  // target holds them.
  void Feed(const std::vector<Sample>& samples, const std::vector<v1::RecallRow>& recall = {}) {
    v1::CommitRequest req;
    req.set_stream("samples");
    auto* batch = req.add_records()->mutable_samples();
    batch->set_interval(v1::SAMPLE_INTERVAL_1MIN);
    for (const Sample& x : samples) {
      batch->add_point_id(x.point);
      batch->add_ts_us(x.ts);
      batch->add_value(x.value);
      batch->add_quality(x.quality);
    }
    if (!recall.empty()) {
      auto* rows = req.add_records()->mutable_recall();
      for (const auto& r : recall) *rows->add_rows() = r;
    }
    v1::CommitResponse resp;
    grpc::Status s = daemon_->Commit(req, &resp, kSqlToken);
    ASSERT_TRUE(s.ok()) << s.error_message();
    daemon_->WaitCaughtUp();
  }

  grpc::Status Modify(const v1::ModifySamplesRequest& req, v1::ExecuteResponse* resp,
                      const char* token = kSqlToken) {
    return history_->ModifySamples(daemon_->Context(token).get(), req, resp);
  }

  v1::ModifySamplesRequest Request(std::string why = "meter replaced") const {
    v1::ModifySamplesRequest req;
    req.set_interval(v1::SAMPLE_INTERVAL_1MIN);
    req.set_why(std::move(why));
    return req;
  }
  static v1::SampleEdit* Edit(v1::ModifySamplesRequest* req, int64_t point, int64_t ts,
                              std::optional<double> value, std::optional<uint32_t> quality) {
    auto* e = req->add_edits();
    e->set_point_id(point);
    e->set_ts_us(ts);
    if (value) e->set_value(*value);
    if (quality) e->set_quality(*quality);
    return e;
  }

  // Sends `req`, expects `code` with every one of `parts` in the message, and that no
  // stream's journal grew.
  void ExpectRefused(const v1::ModifySamplesRequest& req, grpc::StatusCode code,
                     std::initializer_list<std::string> parts, const char* token = kSqlToken) {
    const auto before = daemon_->Heads();
    v1::ExecuteResponse resp;
    grpc::Status s = Modify(req, &resp, token);
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    for (const auto& part : parts) {
      EXPECT_NE(s.error_message().find(part), std::string::npos)
          << s.error_message() << "\nlacks: " << part;
    }
    EXPECT_EQ(daemon_->Heads(), before) << "a refused edit journaled something: " << s.error_message();
  }

  // The same rows of `sql` in every target (NULL as "NULL"); those of the first.
  Rows SameInEveryTarget(const std::string& sql) {
    QueryOptions o;
    o.null_text = "NULL";
    Rows first;
    for (const char* t : kTargets) {
      auto rows = QueryRows(daemon_->db(t), sql, o);
      EXPECT_TRUE(rows.ok()) << t << ": " << rows.status().ToString();
      if (!rows.ok()) return {};
      if (t == kTargets[0]) {
        first = *rows;
      } else {
        EXPECT_EQ(*rows, first) << "target " << t << " differs from " << kTargets[0] << ": " << sql;
      }
    }
    return first;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Sampling::Stub> sampling_;
  std::unique_ptr<v1::History::Stub> history_;
  int64_t base_ts_ = 0;
};

std::string Real(double v) { return v == std::floor(v) ? fmt::format("{:.1f}", v) : fmt::format("{}", v); }

TEST_F(HistoryModifyDaemonTest, CorrectionsReachEveryTargetWithTheirEditLog) {
  // Three points at two minutes; point 1's value at the first minute also in a recall
  // window, with a second recall row 100 ms later.
  std::vector<Sample> fed;
  for (int64_t p = 1; p <= 3; ++p) {
    for (int m = 0; m < 2; ++m) {
      fed.push_back({p, base_ts_ + m * kMinuteUs, p * 100.0 + m, m == 0 ? 0u : 16u});
    }
  }
  std::vector<v1::RecallRow> recall(2);
  for (int i = 0; i < 2; ++i) {
    recall[i].set_point_id(1);
    recall[i].set_event_ts_us(base_ts_);
    recall[i].set_ts_us(base_ts_ + i * 100'000);
    recall[i].set_value(100.0 + i * 0.25);
    recall[i].set_quality(0);
  }
  ASSERT_NO_FATAL_FAILURE(Feed(fed, recall));

  // A value; a quality alone (the value kept); both.
  auto req = Request("transducer drift, see ticket 42");
  req.set_correct_recall(true);
  req.set_request_id("modify-1");
  Edit(&req, 1, base_ts_, 105.5, std::nullopt);
  Edit(&req, 2, base_ts_ + kMinuteUs, std::nullopt, v1::QUALITY_QUESTIONABLE);
  Edit(&req, 3, base_ts_, -7.25, v1::QUALITY_GOOD);
  v1::ExecuteResponse resp;
  grpc::Status s = Modify(req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
  EXPECT_EQ(resp.rows_affected(), req.edits_size());
  EXPECT_GT(resp.lsn(), 0u);
  daemon_->WaitCaughtUp();

  // What each edited sample must hold, from what was fed and what was edited.
  auto fed_at = [&](int64_t p, int64_t ts) {
    return *std::find_if(fed.begin(), fed.end(),
                         [&](const Sample& x) { return x.point == p && x.ts == ts; });
  };
  Rows samples;
  Rows log;
  for (const Sample& x : fed) {
    const v1::SampleEdit* e = nullptr;
    for (const auto& edit : req.edits()) {
      if (edit.point_id() == x.point && edit.ts_us() == x.ts) e = &edit;
    }
    if (e == nullptr) {
      samples.push_back({std::to_string(x.point), std::to_string(x.ts), Real(x.value),
                         std::to_string(x.quality), "0"});
      continue;
    }
    const double value = e->has_value() ? e->value() : x.value;
    const uint32_t quality = (e->has_quality() ? e->quality() : x.quality) | v1::QUALITY_SUBSTITUTED;
    samples.push_back({std::to_string(x.point), std::to_string(x.ts), Real(value),
                       std::to_string(quality), "1"});
    log.push_back({"sample_1min", std::to_string(x.point), std::to_string(x.ts), Real(value),
                   std::to_string(quality), "1", kWho, req.why(), Real(x.value),
                   std::to_string(x.quality)});
  }
  const std::string sample_sql =
      "SELECT point_id, ts, value, quality, manual FROM sample_1min ORDER BY point_id, ts";
  const std::string log_sql =
      "SELECT sample_table, point_id, ts, value, quality, manual, who, why, old_value, "
      "old_quality FROM sample_edit_log ORDER BY point_id, ts";
  EXPECT_EQ(SameInEveryTarget(sample_sql), samples);
  EXPECT_EQ(SameInEveryTarget(log_sql), log);
  // Every target logs the same version and edit time: the intent's.
  const Rows stamps = SameInEveryTarget("SELECT DISTINCT ver, edited_at FROM sample_edit_log");
  EXPECT_EQ(stamps.size(), 1u);
  // The recall row of point 1 at the edited time takes the corrected value and quality;
  // the one 100 ms later is another sample and stays.
  const Sample p1 = fed_at(1, base_ts_);
  EXPECT_EQ(SameInEveryTarget("SELECT ts, value, quality FROM recall_sample ORDER BY ts"),
            (Rows{{std::to_string(base_ts_), Real(105.5),
                   std::to_string(p1.quality | v1::QUALITY_SUBSTITUTED)},
                  {std::to_string(base_ts_ + 100'000), Real(100.25), "0"}}));

  // The feed sends the corrected samples again (a late duplicate): the corrections stay.
  ASSERT_NO_FATAL_FAILURE(Feed({{1, base_ts_, 1.0, 0}, {3, base_ts_, 2.0, 0}}));
  EXPECT_EQ(SameInEveryTarget(sample_sql), samples);

  // A sample that does not exist is refused by name, nothing journaled ...
  auto missing = Request();
  Edit(&missing, 2, base_ts_, 1.0, std::nullopt);
  Edit(&missing, 2, base_ts_ + 7 * kMinuteUs, 8.5, std::nullopt);
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(
      missing, grpc::StatusCode::NOT_FOUND,
      {"History.ModifySamples", "1 of the 2 edited samples do not exist in sample_1min",
       fmt::format("edits[1] (point 2, ts {})", base_ts_ + 7 * kMinuteUs), "insert_missing"}));
  EXPECT_EQ(SameInEveryTarget(sample_sql), samples);
  // ... and inserted with insert_missing, without an old value in the log.
  missing.set_insert_missing(true);
  s = Modify(missing, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
  EXPECT_EQ(resp.rows_affected(), 2);
  daemon_->WaitCaughtUp();
  EXPECT_EQ(SameInEveryTarget(fmt::format(
                "SELECT value, quality, manual FROM sample_1min WHERE point_id = 2 AND ts = {}",
                base_ts_ + 7 * kMinuteUs)),
            (Rows{{"8.5", std::to_string(v1::QUALITY_SUBSTITUTED), "1"}}));
  EXPECT_EQ(SameInEveryTarget(fmt::format(
                "SELECT value, old_value, old_quality, who FROM sample_edit_log WHERE "
                "point_id = 2 ORDER BY ts")),
            (Rows{{Real(1.0), Real(fed_at(2, base_ts_).value),
                   std::to_string(fed_at(2, base_ts_).quality), kWho},
                  {Real(2 * 100.0 + 1), Real(fed_at(2, base_ts_ + kMinuteUs).value),
                   std::to_string(fed_at(2, base_ts_ + kMinuteUs).quality), kWho},
                  {"8.5", "NULL", "NULL", kWho}}));
  // The outcome is found again by the request id, as any synchronous write's.
  v1::GetOutcomeRequest outcome_req;
  outcome_req.set_request_id("modify-1");
  v1::ExecuteResponse outcome;
  s = daemon_->sql_stub().GetOutcome(daemon_->Context(kSqlToken).get(), outcome_req, &outcome);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(outcome.outcome(), v1::OUTCOME_APPLIED);
}

TEST_F(HistoryModifyDaemonTest, BadRequestsAreRefusedNamingWhatWasWrong) {
  ASSERT_NO_FATAL_FAILURE(Feed({{1, base_ts_, 1.0, 0}, {2, base_ts_, 2.0, 0}}));
  const int64_t ts = base_ts_;
  using grpc::StatusCode;
  {
    auto r = Request();
    Edit(&r, 1, ts, 5.0, std::nullopt);
    // Not the sql role: refused before any check.
    ExpectRefused(r, StatusCode::PERMISSION_DENIED, {"sql"}, kIngestToken);
    r.set_interval(v1::SAMPLE_INTERVAL_UNSPECIFIED);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"History.ModifySamples", "interval 0"});
  }
  ExpectRefused(Request(), StatusCode::INVALID_ARGUMENT, {"no edit given"});
  {
    auto r = Request("");
    Edit(&r, 1, ts, 5.0, std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"why is empty"});
    r.set_why(std::string(70'000, 'x'));
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"why is 70000 bytes", "max_string_length"});
  }
  {
    auto r = Request();
    for (int i = 0; i <= 10'000; ++i) Edit(&r, 1, ts + i * kMinuteUs, 1.0, std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"10001 edits", "limit of 10000"});
  }
  {
    auto r = Request();
    Edit(&r, 1, ts, 5.0, std::nullopt);
    Edit(&r, 9, ts, 5.0, std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT,
                  {fmt::format("edits[1] (point 9, ts {})", ts), "not in the catalog"});
  }
  {
    auto r = Request();
    Edit(&r, 1, 12345, 5.0, std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"edits[0] (point 1, ts 12345)", "admitted window"});
  }
  {
    auto r = Request();
    Edit(&r, 1, ts, std::nullopt, std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"edits[0]", "neither value nor quality"});
  }
  {
    auto r = Request();
    Edit(&r, 2, ts, std::numeric_limits<double>::infinity(), std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"edits[0]", "not a finite number"});
  }
  {
    auto r = Request();
    Edit(&r, 1, ts, 5.0, std::nullopt);
    Edit(&r, 2, ts, 5.0, std::nullopt);
    Edit(&r, 1, ts, 6.0, std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"edits[2]", "the same sample as edits[0]"});
  }
  {
    // More missing samples than a message names: the first ten, then how many more.
    auto r = Request();
    for (int i = 1; i <= 15; ++i) Edit(&r, 1, ts + i * kMinuteUs, 1.0, std::nullopt);
    ExpectRefused(r, StatusCode::NOT_FOUND,
                  {"15 of the 15 edited samples", "edits[9]", "and 5 more"});
  }
  {
    auto r = Request();
    r.set_request_id(std::string(200, 'r'));
    Edit(&r, 1, ts, 5.0, std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT, {"request"});
  }
  {
    // The reason is repeated in every correction: 300 inserts with a 60,000-byte reason
    // make an intent of about 18 MB, above journal.max_record_size (16 MiB); ExpectRefused
    // checks that no journal head moved.
    auto r = Request(std::string(60'000, 'w'));
    r.set_insert_missing(true);
    for (int i = 1; i <= 300; ++i) Edit(&r, 3, ts + i * kMinuteUs, 1.0, std::nullopt);
    ExpectRefused(r, StatusCode::INVALID_ARGUMENT,
                  {"300 edits with a reason of 60000 bytes", "journal.max_record_size",
                   "send fewer edits per request"});
  }
  // Nothing above changed a sample.
  EXPECT_EQ(SameInEveryTarget("SELECT count(*) FROM sample_edit_log"), (Rows{{"0"}}));
}

TEST_F(HistoryModifyDaemonTest, CliCorrectsPointsAtATimeAndFromAFile) {
  ASSERT_NO_FATAL_FAILURE(Feed({{1, base_ts_, 1.0, 0},
                                {2, base_ts_, 2.0, 16},
                                {3, base_ts_ + kMinuteUs, 3.0, 0}}));
  auto sluice = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {SLUICE_CLI_PATH, "--address", daemon_->address(), "--token", kSqlToken});
    return RunCommand(args, dir_.Sub("cli.log"), {}, std::chrono::seconds(120));
  };
  RunResult two = sluice({"modify", "1,2", "--interval", "1min", "--at", std::to_string(base_ts_),
                          "--value", "42.5", "--why", "bad transducer"});
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("APPLIED: 2 sample(s) of sample_1min corrected"), std::string::npos)
      << two.output;
  // The file: a quality alone for an existing sample, a value for a missing one.
  ASSERT_NO_FATAL_FAILURE(WriteFile(dir_.Sub("edits.csv"),
                                    fmt::format("point_id,ts,value,quality\n3,{},,2\n3,{},9,\n",
                                                base_ts_ + kMinuteUs, base_ts_ + 2 * kMinuteUs)));
  RunResult refused = sluice({"modify", "--file", dir_.Sub("edits.csv"), "--interval", "1min",
                              "--why", "from the file"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("NOT_FOUND"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find(fmt::format("edits[1] (point 3, ts {})", base_ts_ + 2 * kMinuteUs)),
            std::string::npos)
      << refused.output;
  RunResult file = sluice({"modify", "--file", dir_.Sub("edits.csv"), "--interval", "1min",
                           "--why", "from the file", "--insert-missing"});
  ASSERT_EQ(file.exit_code, 0) << file.output;
  daemon_->WaitCaughtUp();
  EXPECT_EQ(SameInEveryTarget("SELECT point_id, ts, value, quality, manual FROM sample_1min "
                              "ORDER BY point_id, ts"),
            (Rows{{"1", std::to_string(base_ts_), "42.5", "4", "1"},
                  {"2", std::to_string(base_ts_), "42.5", std::to_string(16 | 4), "1"},
                  {"3", std::to_string(base_ts_ + kMinuteUs), "3.0", std::to_string(2 | 4), "1"},
                  {"3", std::to_string(base_ts_ + 2 * kMinuteUs), "9.0", "4", "1"}}));
  EXPECT_EQ(SameInEveryTarget("SELECT who, why FROM sample_edit_log ORDER BY point_id, ts"),
            (Rows{{kWho, "bad transducer"},
                  {kWho, "bad transducer"},
                  {kWho, "from the file"},
                  {kWho, "from the file"}}));
  // Usage errors never reach the service.
  RunResult usage = sluice({"modify", "1", "--interval", "1min", "--at", "yesterday", "--value",
                            "1", "--why", "x"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  EXPECT_NE(usage.output.find("--at yesterday"), std::string::npos) << usage.output;
  RunResult interval = sluice({"modify", "1", "--interval", "2min", "--at",
                               std::to_string(base_ts_), "--value", "1", "--why", "x"});
  EXPECT_EQ(interval.exit_code, 2) << interval.output;
  EXPECT_NE(interval.output.find("--interval 2min"), std::string::npos) << interval.output;
}

}  // namespace
}  // namespace sluice::testing
