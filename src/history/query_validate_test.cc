// Every refusal of the history reads (query.h) names the field and the value, and reads
// nothing from the target; the continuation token refuses what is not one of ours; the
// proto's aggregate numbers map to the engine's aggregates by name.

#include "history/query_validate.h"

#include <cctype>
#include <climits>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "history/continuation.h"
#include "history/query.h"

namespace sluice::history {
namespace {

// A target that must not be touched: every call is counted and fails.
class UntouchedBackend final : public store::Backend {
 public:
  std::string_view dialect() const override { return "sqlite"; }
  const std::string& name() const override { return name_; }
  Status Connect() override { return Touched(); }
  Status Ping() override { return Touched(); }
  Status ClaimNode(const std::string&) override { return Touched(); }
  Result<store::Lsn> ReadWatermark(const store::WatermarkKey&) override { return Touched(); }
  Status ApplyBatch(const store::WatermarkKey&, std::span<const store::ApplyItem>,
                    std::span<const store::ErrorEntry>, store::Lsn) override {
    return Touched();
  }
  Result<store::RetryResult> ApplyRetry(const store::WatermarkKey&,
                                        const store::ApplyItem&) override {
    return Touched();
  }
  Result<store::StatementResult> ApplyIntent(const store::WatermarkKey&, const store::ApplyItem&,
                                             size_t) override {
    return Touched();
  }
  Status Query(const v1::SqlStatement&, size_t, size_t, const store::RowSink&) override {
    return Touched();
  }
  int calls = 0;

 private:
  Status Touched() {
    ++calls;
    return Status::Internal("the target was used");
  }
  std::string name_ = "untouched";
};

constexpr int64_t kStart = 1'709'251'200'000'000;  // 2024-03-01T00:00:00Z
constexpr int64_t kHour = 3'600'000'000;

v1::HistoryRange Range(std::vector<int64_t> points) {
  v1::HistoryRange range;
  for (int64_t p : points) range.add_point_ids(p);
  range.set_interval(v1::SAMPLE_INTERVAL_1S);
  range.set_start_us(kStart);
  range.set_end_us(kStart + kHour);
  return range;
}

std::vector<PointInfo> Infos(const v1::HistoryRange& range) {
  std::vector<PointInfo> infos;
  for (int64_t id : range.point_ids()) infos.push_back(PointInfo{id, false, 10.0, 0.0});
  return infos;
}

class QueryValidateTest : public ::testing::Test {
 protected:
  // Runs the request through all four reads where it applies and expects each to refuse
  // it with `expected` in the message, without touching the target.
  void ExpectRefused(const v1::ReadAggregatesRequest& request, const std::string& expected) {
    v1::ReadAggregatesResponse response;
    Status st =
        ReadAggregates(backend_, request, Infos(request.range()), nullptr, limits_, &response);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(expected), std::string::npos) << st.ToString();
    EXPECT_EQ(backend_.calls, 0);
  }
  v1::ReadAggregatesRequest Aggregates(v1::HistoryRange range, int64_t step_us = 60'000'000) {
    v1::ReadAggregatesRequest request;
    *request.mutable_range() = std::move(range);
    request.set_step_us(step_us);
    request.add_aggregates(v1::AGGREGATE_AVERAGE);
    return request;
  }

  UntouchedBackend backend_;
  QueryLimits limits_;
};

TEST_F(QueryValidateTest, RangeRefusalsNameFieldAndValue) {
  ExpectRefused(Aggregates(Range({})), "range.point_ids is empty");
  ExpectRefused(Aggregates(Range({4, 5, 4})), "range.point_ids[2]: point 4 is named twice");
  std::vector<int64_t> many;
  for (size_t i = 0; i <= limits_.max_points; ++i) many.push_back(static_cast<int64_t>(i + 1));
  ExpectRefused(Aggregates(Range(many)), "range.point_ids has " + std::to_string(many.size()) +
                                             " points, more than the limit of " +
                                             std::to_string(limits_.max_points));
  v1::HistoryRange no_interval = Range({1});
  no_interval.set_interval(v1::SAMPLE_INTERVAL_UNSPECIFIED);
  ExpectRefused(Aggregates(no_interval), "range.interval:");
  v1::HistoryRange unknown_interval = Range({1});
  unknown_interval.set_interval(static_cast<v1::SampleInterval>(77));
  ExpectRefused(Aggregates(unknown_interval), "77");
  v1::HistoryRange empty = Range({1});
  empty.set_end_us(empty.start_us());
  ExpectRefused(Aggregates(empty), "range.end_us " + std::to_string(kStart) +
                                       " is not after range.start_us " + std::to_string(kStart));
}

TEST_F(QueryValidateTest, StepAndIntervalRefusals) {
  ExpectRefused(Aggregates(Range({1}), 0), "step_us 0 is not positive");
  ExpectRefused(Aggregates(Range({1}), -5), "step_us -5 is not positive");
  // 1 µs steps over an hour: 3.6e9 intervals.
  ExpectRefused(Aggregates(Range({1}), 1), "more than the limit of 1000000");
  // The widest range with the smallest step: no overflow, a refusal.
  v1::HistoryRange huge = Range({1});
  huge.set_start_us(INT64_MIN);
  huge.set_end_us(INT64_MAX);
  ExpectRefused(Aggregates(huge, 1), "step_us 1");
}

TEST_F(QueryValidateTest, AggregateRefusals) {
  v1::ReadAggregatesRequest none = Aggregates(Range({1}));
  none.clear_aggregates();
  ExpectRefused(none, "aggregates is empty");
  v1::ReadAggregatesRequest unspecified = Aggregates(Range({1}));
  unspecified.add_aggregates(v1::AGGREGATE_UNSPECIFIED);
  ExpectRefused(unspecified, "aggregates[1]: AGGREGATE_UNSPECIFIED is not a known aggregate");
  v1::ReadAggregatesRequest unknown = Aggregates(Range({1}));
  unknown.mutable_aggregates()->Add(99);
  ExpectRefused(unknown, "aggregates[1]: 99 is not a known aggregate");
  v1::ReadAggregatesRequest twice = Aggregates(Range({1}));
  twice.add_aggregates(v1::AGGREGATE_AVERAGE);
  ExpectRefused(twice, "aggregates[1]: AGGREGATE_AVERAGE is named twice (also aggregates[0])");
  v1::ReadAggregatesRequest percent = Aggregates(Range({1}));
  percent.mutable_settings()->set_percent_data_bad(101);
  ExpectRefused(percent, "settings.percent_data_bad 101 is not within 0..100");
}

TEST_F(QueryValidateTest, PointDescriptionsMustMatchTheRange) {
  v1::ReadAggregatesRequest request = Aggregates(Range({1, 2}));
  std::vector<PointInfo> swapped = {PointInfo{2, false, {}, {}}, PointInfo{1, false, {}, {}}};
  v1::ReadAggregatesResponse response;
  Status st = ReadAggregates(backend_, request, swapped, nullptr, limits_, &response);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("point description 0 is of point 2, range.point_ids[0] is 1"),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(QueryValidateTest, ReadRawRefusesPageSizeAndForeignTokens) {
  v1::ReadRawRequest request;
  *request.mutable_range() = Range({1, 2});
  request.set_max_values(limits_.max_page + 1);
  v1::ReadRawResponse response;
  Status st = ReadRaw(backend_, request, nullptr, limits_, &response);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("max_values " + std::to_string(limits_.max_page + 1) +
                              " is more than the limit of " + std::to_string(limits_.max_page)),
            std::string::npos)
      << st.ToString();

  request.set_max_values(10);
  request.set_continuation("not a token");
  st = ReadRaw(backend_, request, nullptr, limits_, &response);
  EXPECT_NE(st.message().find("continuation (11 bytes) is not a continuation token of ReadRaw"),
            std::string::npos)
      << st.ToString();

  // A token of the same shape for another range is refused, not followed.
  v1::ReadRawRequest other = request;
  other.mutable_range()->set_end_us(request.range().end_us() + 1);
  request.set_continuation(EncodeContinuation(RawPosition{1, true, kStart}, RawRequestHash(other)));
  st = ReadRaw(backend_, request, nullptr, limits_, &response);
  EXPECT_NE(st.message().find("continuation belongs to another request"), std::string::npos)
      << st.ToString();

  // One of ours for this request, but naming a point it does not have.
  request.set_continuation(EncodeContinuation(RawPosition{2, false, 0}, RawRequestHash(request)));
  st = ReadRaw(backend_, request, nullptr, limits_, &response);
  EXPECT_NE(st.message().find("continuation names point index 2 of a request with 2 points"),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(QueryValidateTest, LimitRefusalsNameThePoint) {
  v1::ReadLimitStatsRequest request;
  *request.mutable_range() = Range({1, 2});
  request.set_step_us(60'000'000);
  std::vector<PointInfo> points = {PointInfo{1, false, 10.0, 0.0}, PointInfo{2, false, {}, {}}};
  v1::ReadLimitStatsResponse response;
  Status st = ReadLimitStats(backend_, request, points, nullptr, limits_, &response);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("point 2 (range.point_ids[1]): limits of the point table"),
            std::string::npos)
      << st.ToString();
  request.set_high(1.0);
  request.set_low(2.0);
  st = ReadLimitStats(backend_, request, points, nullptr, limits_, &response);
  EXPECT_NE(st.message().find("point 1 (range.point_ids[0]): limits of the request"),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(QueryValidateTest, PendingSamplesOutOfOrderAndForgedTokensAreRefused) {
  v1::ReadRawRequest request;
  *request.mutable_range() = Range({1, 2});
  request.mutable_range()->set_include_pending(true);
  PendingSamples pending;
  for (int64_t ts : {kStart + 5, kStart + 9, kStart + 9}) {
    v1::HistorySample& s = pending[2].emplace_back();
    s.set_ts_us(ts);
    s.set_pending(true);
  }
  v1::ReadRawResponse response;
  Status st = ReadRaw(backend_, request, &pending, limits_, &response);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find(fmt::format("pending samples of point 2: [2] at ts {} does not "
                                          "follow [1] at ts {}",
                                          kStart + 9, kStart + 9)),
            std::string::npos)
      << st.ToString();
  // Without include_pending they are not looked at.
  request.mutable_range()->set_include_pending(false);
  request.set_continuation(
      EncodeContinuation(RawPosition{0, true, kStart + kHour}, RawRequestHash(request)));
  st = ReadRaw(backend_, request, &pending, limits_, &response);
  EXPECT_NE(st.message().find(
                fmt::format("continuation: last ts {} is outside the range", kStart + kHour)),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(backend_.calls, 0);
}

TEST(ContinuationTest, RoundTripsItsPosition) {
  v1::ReadRawRequest request;
  *request.mutable_range() = Range({1, 2, 3});
  const uint64_t hash = RawRequestHash(request);
  for (const RawPosition& p :
       {RawPosition{0, false, 0}, RawPosition{2, true, -17}, RawPosition{1, true, INT64_MAX - 1}}) {
    auto decoded = DecodeContinuation(EncodeContinuation(p, hash), hash, 3);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->point_index, p.point_index);
    EXPECT_EQ(decoded->has_last, p.has_last);
    EXPECT_EQ(decoded->last_ts_us, p.last_ts_us);
  }
  // The page size is not part of the request's identity; bounds are.
  v1::ReadRawRequest paged = request;
  paged.set_max_values(5);
  EXPECT_EQ(RawRequestHash(paged), hash);
  paged.set_bounds(true);
  EXPECT_NE(RawRequestHash(paged), hash);
}

TEST(AggregateMappingTest, ProtoNumbersNameTheSameAggregates) {
  for (Aggregate aggregate : AllAggregates()) {
    const v1::AggregateType type = ToProtoAggregate(aggregate);
    // "AGGREGATE_TIME_AVERAGE" against "TimeAverage".
    std::string proto_name = v1::AggregateType_Name(type).substr(std::string("AGGREGATE_").size());
    std::string engine_name;
    for (char c : AggregateName(aggregate)) {
      if (std::isupper(static_cast<unsigned char>(c)) && !engine_name.empty()) engine_name += '_';
      engine_name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_EQ(proto_name, engine_name);
    const int number = type;
    auto back = CheckAggregates(std::span<const int>(&number, 1));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->front(), aggregate);
  }
}

}  // namespace
}  // namespace sluice::history
