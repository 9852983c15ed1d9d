// The pieces of the HTTP endpoint without a server: the exposition writer (names checked,
// label values escaped, histograms cumulative), the status metrics of a status answer
// read back by the strict parser and compared with the answer, /healthz's judgement, and
// the bearer check's statuses.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/bearer_auth.h"
#include "http/call_metrics.h"
#include "http/exposition.h"
#include "http/health.h"
#include "http/prometheus_text_test_util.h"
#include "http/status_metrics.h"

namespace sluice::http {
namespace {

using ::testing::HasSubstr;
using testing::ParsePrometheusText;
using Type = MetricsWriter::Type;

std::string Errors(const testing::ParsedMetrics& p) {
  std::string out;
  for (const auto& e : p.errors) out += e + "\n";
  return out;
}

TEST(MetricsWriterTest, EscapesLabelValuesAndRoundTrips) {
  MetricsWriter w;
  w.Family("x_total", Type::kCounter, "Help with \\ and\nnewline.");
  const std::string nasty = "a\"b\\c\nd}e,f=g";
  w.Sample({{"target", nasty}}, uint64_t{7});
  w.Family("y", Type::kGauge, "A gauge.");
  w.Sample({}, 1.5);
  w.Sample({{"k", "inf"}}, HUGE_VAL);
  ASSERT_TRUE(w.error().empty()) << w.error();
  auto parsed = ParsePrometheusText(w.text());
  ASSERT_TRUE(parsed.errors.empty()) << Errors(parsed) << w.text();
  EXPECT_EQ(parsed.Value("x_total", {{"target", nasty}}), 7.0);
  EXPECT_EQ(parsed.Value("y"), 1.5);
  EXPECT_TRUE(std::isinf(*parsed.Value("y", {{"k", "inf"}})));
  EXPECT_THAT(w.text(), HasSubstr("target=\"a\\\"b\\\\c\\nd}e,f=g\""));
}

TEST(MetricsWriterTest, RefusesWhatAScraperWouldReject) {
  {
    MetricsWriter w;
    w.Family("records", Type::kCounter, "no _total");
    EXPECT_EQ(w.error(), "counter 'records' does not end in _total");
  }
  {
    MetricsWriter w;
    w.Family("9lives", Type::kGauge, "bad name");
    EXPECT_EQ(w.error(), "invalid metric name '9lives'");
  }
  {
    MetricsWriter w;
    w.Family("g", Type::kGauge, "");
    w.Sample({{"__reserved", "x"}}, 1.0);
    EXPECT_EQ(w.error(), "metric 'g': invalid label name '__reserved'");
  }
  {
    MetricsWriter w;
    w.Family("g", Type::kGauge, "");
    w.Family("g", Type::kGauge, "");
    EXPECT_EQ(w.error(), "metric 'g' is written twice");
  }
  {
    MetricsWriter w;
    w.Sample({}, 1.0);
    EXPECT_EQ(w.error(), "a sample before any metric family");
  }
}

TEST(MetricsWriterTest, HistogramsAreCumulativeAndEndInInf) {
  LatencyHistogram h({0.001, 0.01});
  h.Record(std::chrono::microseconds(500));
  h.Record(std::chrono::milliseconds(5));
  h.Record(std::chrono::milliseconds(5));
  h.Record(std::chrono::seconds(1));
  MetricsWriter w;
  w.Family("lat_seconds", Type::kHistogram, "Latency.");
  w.Histogram({{"method", "Admin.Status"}}, h.Read());
  ASSERT_TRUE(w.error().empty()) << w.error();
  auto p = ParsePrometheusText(w.text());
  ASSERT_TRUE(p.errors.empty()) << Errors(p) << w.text();
  EXPECT_EQ(p.Value("lat_seconds_bucket", {{"method", "Admin.Status"}, {"le", "0.001"}}), 1.0);
  EXPECT_EQ(p.Value("lat_seconds_bucket", {{"method", "Admin.Status"}, {"le", "0.01"}}), 3.0);
  EXPECT_EQ(p.Value("lat_seconds_bucket", {{"method", "Admin.Status"}, {"le", "+Inf"}}), 4.0);
  EXPECT_EQ(p.Value("lat_seconds_count", {{"method", "Admin.Status"}}), 4.0);
  EXPECT_NEAR(*p.Value("lat_seconds_sum", {{"method", "Admin.Status"}}), 1.0105, 1e-9);
}

// The parser itself must catch what it is there to catch, or the tests above prove nothing.
TEST(PrometheusParserTest, CatchesBrokenPages) {
  auto errors_of = [](const std::string& page) { return Errors(ParsePrometheusText(page)); };
  EXPECT_THAT(errors_of("x 1\n"), HasSubstr("before its family's HELP and TYPE"));
  EXPECT_THAT(errors_of("# HELP x h\n# TYPE x counter\nx 1\n"),
              HasSubstr("does not end in _total"));
  EXPECT_THAT(errors_of("# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n"),
              HasSubstr("invalid escape"));
  EXPECT_THAT(errors_of("# HELP x h\n# TYPE x gauge\nx one\n"), HasSubstr("invalid value"));
  EXPECT_THAT(
      errors_of("# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a=\"b\"} 2\n"),
      HasSubstr("not contiguous"));
  EXPECT_THAT(
      errors_of("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n"
                "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"),
      HasSubstr("not cumulative"));
  EXPECT_THAT(
      errors_of("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n"),
      HasSubstr("do not end in le=\"+Inf\""));
  EXPECT_THAT(errors_of("# HELP x h\n# TYPE x gauge\nx 1"), HasSubstr("does not end in a newline"));
}

v1::StatusResponse SampleStatus() {
  v1::StatusResponse st;
  st.set_node_id("n\"1");
  st.set_state("switching");
  st.set_switch_from("a");
  st.set_switch_to("b");
  st.set_state_since_us(1'700'000'000'000'000);
  for (const char* name : {"model", "samples"}) {
    auto* s = st.add_streams();
    s->set_name(name);
    s->set_head_lsn(name[0] == 'm' ? 12 : 34);
    s->set_bytes(4096);
    s->set_priority(name[0] == 'm' ? 30 : 0);
  }
  for (const char* t : {"a", "b"}) {
    auto* ts = st.add_targets();
    ts->set_name(t);
    ts->set_role("primary");
    ts->set_enabled(t[0] == 'a');
    ts->set_health(t[0] == 'a' ? "down" : "up");
    ts->set_ineligible(t[0] == 'a' ? "it is down" : "");
    ts->set_apply_per_s(12.5);
    for (const auto& s : st.streams()) {
      auto* a = st.add_appliers();
      a->set_target(t);
      a->set_stream(s.name());
      a->set_applied_lsn(s.head_lsn() - (t[0] == 'a' ? 3 : 0));
      a->set_lag_records(s.head_lsn() - a->applied_lsn());
      a->set_lag_bytes(a->lag_records() * 100);
      a->set_oldest_unapplied_age_us(a->lag_records() > 0 ? 2'500'000 : 0);
      a->set_oldest_unapplied_us(a->lag_records() > 0 ? 1'714'564'801'234'567 : 0);
      a->set_apply_per_s(a->lag_records() > 0 ? 1234.5 : 0);
      a->set_eta_s(a->lag_records() > 0 ? -1 : 0);
      a->set_rejected(t[0] == 'a' ? 2 : 0);
    }
  }
  auto* c = st.add_cursors();
  c->set_stream("samples");
  c->set_name("old");
  c->set_held_bytes(8192);
  st.set_journal_bytes(8192);
  st.set_journal_budget_bytes(1 << 30);
  st.set_free_bytes(123456789);
  st.mutable_sampling()->set_enabled(true);
  st.mutable_sampling()->set_cycles(40);
  st.mutable_sampling()->set_late(2);
  st.mutable_sampling()->set_missed(1);
  return st;
}

TEST(StatusMetricsTest, EveryNumberIsTheStatusAnswers) {
  const v1::StatusResponse st = SampleStatus();
  OpenErrorCounts open = {{{"a", "model"}, 2}};
  MetricsWriter w;
  StatusMetrics::Write(st, open, w);
  ASSERT_TRUE(w.error().empty()) << w.error();
  auto p = ParsePrometheusText(w.text());
  ASSERT_TRUE(p.errors.empty()) << Errors(p) << w.text();

  EXPECT_EQ(p.Value("sluice_node_info", {{"node", st.node_id()}}), 1.0);
  for (const char* s : {"starting", "switching", "active", "isolated"}) {
    EXPECT_EQ(p.Value("sluice_node_state", {{"state", s}}), st.state() == s ? 1.0 : 0.0) << s;
  }
  EXPECT_EQ(p.Value("sluice_node_state_since_seconds"), st.state_since_us() / 1e6);
  for (const auto& s : st.streams()) {
    EXPECT_EQ(p.Value("sluice_records_admitted_total", {{"stream", s.name()}}),
              double(s.head_lsn()));
    EXPECT_EQ(p.Value("sluice_stream_journal_bytes", {{"stream", s.name()}}), double(s.bytes()));
    EXPECT_EQ(p.Value("sluice_stream_priority", {{"stream", s.name()}}), double(s.priority()));
  }
  for (const auto& a : st.appliers()) {
    testing::LabelSet l = {{"target", a.target()}, {"stream", a.stream()}};
    EXPECT_EQ(p.Value("sluice_records_applied_total", l), double(a.applied_lsn()));
    EXPECT_EQ(p.Value("sluice_lag_records", l), double(a.lag_records()));
    EXPECT_EQ(p.Value("sluice_lag_bytes", l), double(a.lag_bytes()));
    EXPECT_EQ(p.Value("sluice_oldest_unapplied_age_seconds", l), a.oldest_unapplied_age_us() / 1e6);
    EXPECT_EQ(p.Value("sluice_oldest_unapplied_timestamp_seconds", l), a.oldest_unapplied_us() / 1e6);
    EXPECT_EQ(p.Value("sluice_apply_records_per_second", l), a.apply_per_s());
    EXPECT_EQ(p.Value("sluice_catch_up_eta_seconds", l), a.eta_s());
    EXPECT_EQ(p.Value("sluice_records_rejected_total", l), double(a.rejected()));
    auto it = open.find({a.target(), a.stream()});
    EXPECT_EQ(p.Value("sluice_open_errors", l), it == open.end() ? 0.0 : double(it->second));
  }
  for (const auto& t : st.targets()) {
    EXPECT_EQ(p.Value("sluice_active_target", {{"target", t.name()}}), t.active() ? 1.0 : 0.0);
    for (const char* h : {"up", "down", "unknown"}) {
      EXPECT_EQ(p.Value("sluice_target_health", {{"target", t.name()}, {"health", h}}),
                t.health() == h ? 1.0 : 0.0);
    }
    EXPECT_EQ(p.Value("sluice_target_enabled", {{"target", t.name()}}), t.enabled() ? 1.0 : 0.0);
    EXPECT_EQ(p.Value("sluice_target_eligible", {{"target", t.name()}}),
              t.ineligible().empty() ? 1.0 : 0.0);
    EXPECT_EQ(p.Value("sluice_target_apply_records_per_second", {{"target", t.name()}}),
              t.apply_per_s());
  }
  EXPECT_EQ(p.Value("sluice_journal_bytes"), double(st.journal_bytes()));
  EXPECT_EQ(p.Value("sluice_journal_budget_bytes"), double(st.journal_budget_bytes()));
  EXPECT_EQ(p.Value("sluice_journal_free_bytes"), double(st.free_bytes()));
  EXPECT_EQ(p.Value("sluice_cursor_held_bytes",
                    {{"stream", "samples"}, {"cursor", "old"}, {"configured", "false"}}),
            8192.0);
  EXPECT_EQ(p.Value("sluice_sampling_cycles_total"), double(st.sampling().cycles()));
  EXPECT_EQ(p.Value("sluice_sampling_late_total"), double(st.sampling().late()));
  EXPECT_EQ(p.Value("sluice_sampling_missed_total"), double(st.sampling().missed()));
}

TEST(CallMetricsTest, OneHistogramPerMethod) {
  service::CallLatency latency;
  for (int i = 0; i < 3; ++i) latency.Start("Ingest.Commit");
  latency.Start("Admin.Status").Cancel();  // a cancelled timer records nothing
  { auto t = latency.Start("Admin.Status"); }
  CallMetrics source(&latency);
  MetricsWriter w;
  source.Collect(w);
  ASSERT_TRUE(w.error().empty()) << w.error();
  auto p = ParsePrometheusText(w.text());
  ASSERT_TRUE(p.errors.empty()) << Errors(p) << w.text();
  EXPECT_EQ(p.Value("sluice_grpc_request_duration_seconds_count", {{"method", "Ingest.Commit"}}),
            3.0);
  EXPECT_EQ(p.Value("sluice_grpc_request_duration_seconds_count", {{"method", "Admin.Status"}}),
            1.0);
}

TEST(HealthTest, OkOnlyWhileActive) {
  cluster::ClusterState st;
  st.phase = cluster::Phase::kActive;
  st.active = "a";
  EXPECT_EQ(JudgeHealth(st).status, 200);
  EXPECT_EQ(JudgeHealth(st).body, "ok\n");
  st.phase = cluster::Phase::kIsolated;
  st.reason = "no primary can serve: 'a' is down\nsecond line";
  HealthAnswer h = JudgeHealth(st);
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.body, "unavailable: isolated: no primary can serve: 'a' is down second line\n");
  st.phase = cluster::Phase::kSwitching;
  st.from = "a";
  st.to = "b";
  st.reason = "";
  EXPECT_EQ(JudgeHealth(st).body, "unavailable: switching(a -> b)\n");
  st.phase = cluster::Phase::kStarting;
  EXPECT_EQ(JudgeHealth(st).status, 503);
}

TEST(BearerAuthTest, StatusesAndReasons) {
  config::AuthConfig cfg;
  config::TokenConfig reader;
  reader.name = "scraper";
  reader.token = "read-token-0123456789";
  reader.roles = {config::TokenRole::kRead};
  config::TokenConfig ingester;
  ingester.name = "feed";
  ingester.token = "ingest-token-0123456789";
  ingester.roles = {config::TokenRole::kIngest};
  cfg.tokens = {reader, ingester};
  service::Authenticator auth(cfg);
  auto check = [&](std::optional<std::string> header) {
    return CheckBearer(auth, header, config::TokenRole::kRead, "GET /metrics");
  };
  EXPECT_EQ(check("Bearer read-token-0123456789").status, 200);
  AuthAnswer none = check(std::nullopt);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.reason,
            "GET /metrics: no 'Authorization: Bearer <token>' header; this service requires a "
            "token with role 'read'");
  AuthAnswer wrong = check("Bearer nope");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.reason, "GET /metrics: the bearer token is not one this service knows");
  EXPECT_EQ(check("Basic xyz").status, 401);
  EXPECT_THAT(check("Basic xyz").reason, HasSubstr("'Authorization' header is not of the form"));
  AuthAnswer role = check("Bearer ingest-token-0123456789");
  EXPECT_EQ(role.status, 403);
  EXPECT_THAT(role.reason, HasSubstr("token 'feed' lacks role 'read'"));
  for (const auto& a : {none, wrong, role}) {
    EXPECT_EQ(a.reason.find("0123456789"), std::string::npos) << "a secret in: " << a.reason;
    EXPECT_EQ(a.reason.find('\n'), std::string::npos);
  }

  config::AuthConfig off;
  off.required = false;
  service::Authenticator open(off);
  EXPECT_EQ(CheckBearer(open, std::nullopt, config::TokenRole::kRead, "GET /metrics").status, 200);
}

}  // namespace
}  // namespace sluice::http
