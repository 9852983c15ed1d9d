// The dashboard endpoints' parameters (api_params.h): what each reads into the service's
// request, and every refusal naming the parameter and the value given.

#include "http/api_params.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/values.h"

namespace sluice::http {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const Status& s) {
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  return std::string(s.message());
}

Params Range() {
  return {{"point", "7"},
          {"interval", "1s"},
          {"from", "2026-12-07T06:00:00Z"},
          {"to", "2026-12-07T07:00:00Z"}};
}

TEST(ApiParamsTest, AggregatesReadEveryParameter) {
  Params p = Range();
  p.emplace("step", "20s");
  p.emplace("aggregates", "Average,minimum,MAXIMUM,Count,average");
  auto r = ParseReadAggregates(p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->range().point_ids_size(), 1);
  EXPECT_EQ(r->range().point_ids(0), 7);
  EXPECT_EQ(r->range().interval(), v1::SAMPLE_INTERVAL_1S);
  const int64_t from = *config::ParseTimestamp("2026-12-07T06:00:00Z");
  EXPECT_EQ(r->range().start_us(), from);
  EXPECT_EQ(r->range().end_us(), from + int64_t{3600} * 1'000'000);
  EXPECT_EQ(r->step_us(), 20'000'000);
  // In the order given, each once.
  ASSERT_EQ(r->aggregates_size(), 4);
  EXPECT_EQ(r->aggregates(0), v1::AGGREGATE_AVERAGE);
  EXPECT_EQ(r->aggregates(1), v1::AGGREGATE_MINIMUM);
  EXPECT_EQ(r->aggregates(2), v1::AGGREGATE_MAXIMUM);
  EXPECT_EQ(r->aggregates(3), v1::AGGREGATE_COUNT);
}

TEST(ApiParamsTest, TimesAreMicrosecondsOrRfc3339) {
  EXPECT_EQ(*ParseTimeParam("from", "1700000000000000"), 1'700'000'000'000'000);
  EXPECT_EQ(*ParseTimeParam("from", "2026-12-07T06:00:00Z"),
            *config::ParseTimestamp("2026-12-07T06:00:00Z"));
  EXPECT_EQ(ErrorOf(ParseTimeParam("from", "yesterday").status()),
            "parameter 'from': \"yesterday\" is not a time: give Unix microseconds or RFC 3339 "
            "(\"2026-12-07T06:00:00Z\")");
}

TEST(ApiParamsTest, IntervalsAndAggregatesByName) {
  EXPECT_EQ(*ParseIntervalParam("interval", "1min"), v1::SAMPLE_INTERVAL_1MIN);
  EXPECT_EQ(*ParseIntervalParam("interval", "SAMPLE_INTERVAL_1S"), v1::SAMPLE_INTERVAL_1S);
  EXPECT_THAT(ErrorOf(ParseIntervalParam("interval", "7s").status()),
              HasSubstr("parameter 'interval': \"7s\" is not a sample interval (1s,"));
  EXPECT_EQ(*ParseAggregateParam("aggregates", "time_average"), v1::AGGREGATE_TIME_AVERAGE);
  EXPECT_THAT(ErrorOf(ParseAggregateParam("aggregates", "Mean").status()),
              HasSubstr("parameter 'aggregates': \"Mean\" is not an aggregate (Interpolative, "
                        "Average, TimeAverage"));
}

TEST(ApiParamsTest, BadHistoryParametersAreNamedWithTheirValue) {
  struct Case {
    std::string key, value, expected;
  };
  const Case cases[] = {
      {"point", "x7", "parameter 'point': \"x7\" is not an integer"},
      {"point", "-3", "parameter 'point': \"-3\" is not a point id (a positive integer)"},
      {"interval", "7s", "parameter 'interval': \"7s\" is not a sample interval"},
      {"from", "soon", "parameter 'from': \"soon\" is not a time"},
      {"to", "2026-12-07T05:00:00Z",
       "parameter 'to': \"2026-12-07T05:00:00Z\" is not after 'from' (\"2026-12-07T06:00:00Z\")"},
      {"step", "20", "parameter 'step': \"20\" is not a positive duration"},
      {"step", "-5s", "parameter 'step': \"-5s\" is not a positive duration"},
      {"aggregates", "Average,,Count", "parameter 'aggregates': \"Average,,Count\" has an empty name"},
      {"aggregates", "Average,Mean", "parameter 'aggregates': \"Mean\" is not an aggregate"},
  };
  for (const Case& c : cases) {
    Params p = Range();
    p.emplace("step", "20s");
    p.emplace("aggregates", "Average");
    p.erase(c.key);
    p.emplace(c.key, c.value);
    auto r = ParseReadAggregates(p);
    ASSERT_FALSE(r.ok()) << c.key << "=" << c.value;
    EXPECT_THAT(ErrorOf(r.status()), HasSubstr(c.expected)) << c.key << "=" << c.value;
  }
  for (const char* key : {"point", "interval", "from", "to", "step", "aggregates"}) {
    Params p = Range();
    p.emplace("step", "20s");
    p.emplace("aggregates", "Average");
    p.erase(key);
    EXPECT_EQ(ErrorOf(ParseReadAggregates(p).status()),
              fmt::format("parameter '{}' is missing", key));
  }
  Params twice = Range();
  twice.emplace("point", "8");
  EXPECT_EQ(ErrorOf(ParseReadRaw(twice).status()), "parameter 'point' is given more than once");
  Params max = Range();
  max.emplace("max_values", "0");
  EXPECT_EQ(ErrorOf(ParseReadRaw(max).status()),
            "parameter 'max_values': \"0\" is not between 1 and 1000000");
}

TEST(ApiParamsTest, ErrorActionsNeedATargetAndAnLsnOrAll) {
  auto one = ParseErrorAction({{"target", "a"}, {"stream", "sql"}, {"lsn", "42"}});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->target(), "a");
  EXPECT_EQ(one->stream(), "sql");
  EXPECT_EQ(one->lsn(), 42u);
  EXPECT_FALSE(one->all());
  auto all = ParseErrorAction({{"target", "a"}, {"all", "true"}});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_TRUE(all->all());

  EXPECT_EQ(ErrorOf(ParseErrorAction({{"lsn", "1"}}).status()), "parameter 'target' is missing");
  EXPECT_EQ(ErrorOf(ParseErrorAction({{"target", "a"}}).status()),
            "parameter 'lsn' is missing (or give all=true)");
  EXPECT_EQ(ErrorOf(ParseErrorAction({{"target", "a"}, {"lsn", "0"}}).status()),
            "parameter 'lsn': \"0\" is not an LSN (a positive integer)");
  EXPECT_EQ(ErrorOf(ParseErrorAction({{"target", "a"}, {"all", "yes"}}).status()),
            "parameter 'all': \"yes\" is not a boolean (true or false)");
  EXPECT_EQ(ErrorOf(ParseErrorAction({{"target", "a"}, {"all", "true"}, {"lsn", "3"}}).status()),
            "parameter 'lsn': \"3\" is given with all=true: give one or the other");
}

TEST(ApiParamsTest, ErrorListFilters) {
  auto r = ParseListErrors({{"target", "b"}, {"since", "5"}, {"resolved", "true"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->target(), "b");
  EXPECT_EQ(r->since_us(), 5);
  EXPECT_TRUE(r->include_resolved());
  EXPECT_EQ(ErrorOf(ParseListErrors({{"until", "later"}}).status()).rfind(
                "parameter 'until': \"later\" is not a time", 0),
            0u);
}

}  // namespace
}  // namespace sluice::http
