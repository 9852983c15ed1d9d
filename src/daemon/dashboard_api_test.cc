// The dashboard's JSON endpoints on a real sluiced (SQLite primaries a and b, replica dr):
// the read role lists, the admin role acts, and every refusal says why (no token, a token
// without the role, a bad parameter named with its value, an unknown target or point);
// an error retried through POST /api/errors/retry reaches the target and one discarded
// through /api/errors/discard does not; the history endpoints answer exactly what the
// gRPC History service answers, with the point's limits; /api/alarms is Admin.ListAlarms.

#include <chrono>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/dashboard_test_util.h"

namespace sluice::testing {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr auto kDeadline = std::chrono::seconds(120);

template <typename Message>
Message FromJson(const std::string& json) {
  Message m;
  auto s = google::protobuf::util::JsonStringToMessage(json, &m);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << json;
  return m;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonConfig cfg = DashboardConfig(port_);
    cfg.extra += "[alarms]\ninterval = \"1s\"\n";  // raised within a second, not five
    daemon_ = std::make_unique<Daemon>(dir_, cfg);
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
  }

  // The point row's name on a target ("" when there is none).
  std::string PointName(const std::string& target, int id) {
    auto rows = QueryRows(daemon_->db(target),
                          fmt::format("SELECT name FROM point WHERE point_id = {}", id));
    return rows.ok() && rows->size() == 1 ? (*rows)[0][0] : "";
  }

  v1::ListErrorsResponse ListErrorsByGrpc(const std::string& target) {
    v1::ListErrorsRequest req;
    req.set_target(target);
    v1::ListErrorsResponse resp;
    grpc::Status s = daemon_->admin_stub().ListErrors(daemon_->Context(kAdminToken).get(), req,
                                                      &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  TempDir dir_;
  int port_ = FreePort();
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DashboardApiTest, ReadRoleListsAdminRoleActsAndRefusalsSayWhy) {
  for (const char* path : {"/api/alarms", "/api/errors", "/api/status"}) {
    HttpReply none = HttpGet(port_, path);
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_EQ(none.body, fmt::format("GET {}: no 'Authorization: Bearer <token>' header; this "
                                     "service requires a token with role 'read'\n",
                                     path));
    HttpReply ingest = HttpGet(port_, path, kIngestToken);
    EXPECT_EQ(ingest.status, 403) << path;
    EXPECT_TRUE(Contains(ingest.body, "lacks role 'read'")) << ingest.body;
    HttpReply viewer = HttpGet(port_, path, kViewerToken);
    EXPECT_EQ(viewer.status, 200) << path << ": " << viewer.body;
    EXPECT_EQ(viewer.content_type, "application/json") << path;
    EXPECT_TRUE(nlohmann::json::accept(viewer.body)) << viewer.body;
  }
  // Actions need the admin role: a read token is refused before anything is looked at.
  for (const char* path : {"/api/errors/retry", "/api/errors/discard"}) {
    HttpReply viewer = HttpPost(port_, path, {{"target", "a"}, {"all", "true"}}, kViewerToken);
    EXPECT_EQ(viewer.status, 403) << path;
    EXPECT_EQ(viewer.body,
              fmt::format("POST {}: token 'viewer' lacks role 'admin' (it has: read)\n", path));
    EXPECT_EQ(HttpPost(port_, path, {{"target", "a"}, {"all", "true"}}).status, 401) << path;
    // GET is not how an action is asked.
    EXPECT_EQ(HttpGet(port_, path, kAdminToken).status, 404) << path;
  }
  // Bad parameters: 400 naming the parameter and the value; unknown names: 404.
  HttpReply bad = HttpPost(port_, "/api/errors/retry", {{"target", "a"}, {"lsn", "x1"}},
                           kAdminToken);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "POST /api/errors/retry: parameter 'lsn': \"x1\" is not an integer\n");
  HttpReply nolsn = HttpPost(port_, "/api/errors/discard", {{"target", "a"}}, kAdminToken);
  EXPECT_EQ(nolsn.status, 400);
  EXPECT_EQ(nolsn.body,
            "POST /api/errors/discard: parameter 'lsn' is missing (or give all=true)\n");
  HttpReply unknown = HttpGet(port_, "/api/errors?target=zz", kViewerToken);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "GET /api/errors: no target 'zz'\n");
  HttpReply since = HttpGet(port_, "/api/errors?since=yesterday", kViewerToken);
  EXPECT_EQ(since.status, 400);
  EXPECT_TRUE(Contains(since.body, "parameter 'since': \"yesterday\" is not a time")) << since.body;
  HttpReply step = HttpGet(
      port_, "/api/history/aggregates?point=1&interval=1s&from=0&to=10&step=abc&aggregates=Average",
      kViewerToken);
  EXPECT_EQ(step.status, 400);
  EXPECT_TRUE(Contains(step.body,
                       "GET /api/history/aggregates: parameter 'step': \"abc\" is not a positive "
                       "duration"))
      << step.body;
  // The dashboard's files need no token (they hold nothing of the node's).
  HttpReply page = HttpGet(port_, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(Contains(page.content_type, "text/html")) << page.content_type;
  EXPECT_TRUE(Contains(page.body, "dashboard.js")) << page.body;
  EXPECT_EQ(HttpGet(port_, "/dashboard.js").status, 200);
  EXPECT_EQ(HttpGet(port_, "/dashboard.css").status, 200);
  EXPECT_EQ(HttpGet(port_, "/../sluiced.toml").status, 404);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(DashboardApiTest, ErrorRetriedThroughPostReachesTheTargetAndADiscardedOneDoesNot) {
  // Point 7 twice, the second with another name: every target rejects it (primary key).
  for (const char* name : {"first", "second"}) {
    v1::CommitRequest req;
    req.set_stream("sql");
    auto* sql = req.add_records()->mutable_sql();
    sql->set_text("INSERT INTO point (point_id, name, unit) VALUES ($1, $2, $3)");
    sql->add_params()->set_int_value(7);
    sql->add_params()->set_text_value(name);
    sql->add_params()->set_text_value("MW");
    v1::CommitResponse resp;
    ASSERT_TRUE(daemon_->Commit(req, &resp).ok());
  }
  const std::vector<std::string> targets = {"a", "b", "dr"};
  nlohmann::json listed;
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpReply r = HttpGet(port_, "/api/errors", kViewerToken);
        if (r.status != 200) return false;
        listed = nlohmann::json::parse(r.body);
        return listed.contains("errors") && listed["errors"].size() == targets.size();
      },
      kDeadline))
      << listed.dump();
  // The same list as Admin.ListErrors.
  for (const auto& t : targets) {
    HttpReply r = HttpGet(port_, "/api/errors?target=" + t, kViewerToken);
    ASSERT_EQ(r.status, 200) << r.body;
    auto by_http = FromJson<v1::ListErrorsResponse>(r.body);
    auto by_grpc = ListErrorsByGrpc(t);
    EXPECT_TRUE(MessageDifferencer::Equals(by_http, by_grpc))
        << by_http.DebugString() << "\nvs\n"
        << by_grpc.DebugString();
    ASSERT_EQ(by_http.errors_size(), 1);
    EXPECT_EQ(by_http.errors(0).stream(), "sql");
  }
  const uint64_t lsn = ListErrorsByGrpc("a").errors(0).lsn();
  ASSERT_GT(lsn, 0u);
  for (const auto& t : targets) ASSERT_EQ(PointName(t, 7), "first") << t;

  // Target a loses its row behind Sluice's back; the retried insert now succeeds there.
  ASSERT_TRUE(QueryRows(daemon_->db("a"), "DELETE FROM point WHERE point_id = 7").ok());
  HttpReply retried = HttpPost(port_, "/api/errors/retry",
                               {{"target", "a"}, {"stream", "sql"}, {"lsn", std::to_string(lsn)}},
                               kAdminToken);
  ASSERT_EQ(retried.status, 200) << retried.body;
  auto done = FromJson<v1::ErrorActionResponse>(retried.body);
  EXPECT_EQ(done.done(), 1u);
  EXPECT_EQ(done.failures_size(), 0);
  ASSERT_TRUE(WaitFor([&] { return PointName("a", 7) == "second"; }, kDeadline))
      << "a holds '" << PointName("a", 7) << "'\n"
      << ReadFile(daemon_->log());
  ASSERT_TRUE(WaitFor([&] { return ListErrorsByGrpc("a").errors_size() == 0; }, kDeadline));

  // Discarded on b: its row stays the first, and its log has nothing open.
  HttpReply discarded = HttpPost(port_, "/api/errors/discard", {{"target", "b"}, {"all", "true"}},
                                 kAdminToken);
  ASSERT_EQ(discarded.status, 200) << discarded.body;
  EXPECT_EQ(FromJson<v1::ErrorActionResponse>(discarded.body).done(), 1u);
  ASSERT_TRUE(WaitFor([&] { return ListErrorsByGrpc("b").errors_size() == 0; }, kDeadline));
  EXPECT_EQ(PointName("b", 7), "first");
  // Once more: nothing is open on a any more, and the refusal names the LSN.
  HttpReply again = HttpPost(port_, "/api/errors/retry",
                             {{"target", "a"}, {"lsn", std::to_string(lsn)}}, kAdminToken);
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.body,
            fmt::format("POST /api/errors/retry: target 'a' has no open error at LSN {}\n", lsn));
  // dr keeps its open entry: the list with resolved entries holds all three.
  HttpReply all = HttpGet(port_, "/api/errors?resolved=true", kViewerToken);
  ASSERT_EQ(all.status, 200);
  auto every = FromJson<v1::ListErrorsResponse>(all.body);
  EXPECT_EQ(every.errors_size(), 3);
  EXPECT_EQ(FromJson<v1::ListErrorsResponse>(HttpGet(port_, "/api/errors", kViewerToken).body)
                .errors_size(),
            1);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(DashboardApiTest, HistoryEndpointsAnswerWhatTheServiceAnswersWithThePointsLimits) {
  // A whole hour, three hours ago: the daemon's own sampler cannot touch it.
  const int64_t t0 = (NowMicros() / (3600 * kSecondUs) - 3) * 3600 * kSecondUs;
  ASSERT_NO_FATAL_FAILURE(PutPointWithAnHour(*daemon_, 41, t0));
  auto history = v1::History::NewStub(daemon_->channel());
  const std::string range =
      fmt::format("point=41&interval=1s&from={}&to={}", t0, t0 + 3600 * kSecondUs);

  HttpReply agg = HttpGet(
      port_, "/api/history/aggregates?" + range + "&step=15min&aggregates=Average,Maximum,Count",
      kViewerToken);
  ASSERT_EQ(agg.status, 200) << agg.body;
  nlohmann::json body = nlohmann::json::parse(agg.body);
  EXPECT_EQ(body["point"]["id"], 41);
  EXPECT_EQ(body["point"]["name"], "BUS.V");
  EXPECT_EQ(body["point"]["unit"], "kV");
  EXPECT_EQ(body["point"]["limits"]["hi"], 80.0);
  EXPECT_EQ(body["point"]["limits"]["lo"], 20.0);
  EXPECT_TRUE(body["point"]["limits"]["hihi"].is_null());
  v1::ReadAggregatesRequest req;
  req.mutable_range()->add_point_ids(41);
  req.mutable_range()->set_interval(v1::SAMPLE_INTERVAL_1S);
  req.mutable_range()->set_start_us(t0);
  req.mutable_range()->set_end_us(t0 + 3600 * kSecondUs);
  req.set_step_us(900 * kSecondUs);
  for (auto a : {v1::AGGREGATE_AVERAGE, v1::AGGREGATE_MAXIMUM, v1::AGGREGATE_COUNT})
    req.add_aggregates(a);
  v1::ReadAggregatesResponse by_grpc;
  grpc::Status s = history->ReadAggregates(daemon_->Context(kViewerToken).get(), req, &by_grpc);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto by_http = FromJson<v1::ReadAggregatesResponse>(body["result"].dump());
  EXPECT_TRUE(MessageDifferencer::Equals(by_http, by_grpc))
      << by_http.DebugString() << "\nvs\n"
      << by_grpc.DebugString();
  // What the test pushed: 900 samples in each quarter, 90 its maximum.
  ASSERT_EQ(by_http.series_size(), 3);
  ASSERT_EQ(by_http.series(2).values_size(), 4);
  for (const auto& v : by_http.series(2).values()) EXPECT_EQ(v.value(), 900.0);
  for (const auto& v : by_http.series(1).values()) EXPECT_EQ(v.value(), 90.0);

  HttpReply raw = HttpGet(port_, "/api/history/raw?" + range + "&max_values=500", kViewerToken);
  ASSERT_EQ(raw.status, 200) << raw.body;
  v1::ReadRawRequest raw_req;
  *raw_req.mutable_range() = req.range();
  raw_req.set_max_values(500);
  v1::ReadRawResponse raw_grpc;
  s = history->ReadRaw(daemon_->Context(kViewerToken).get(), raw_req, &raw_grpc);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto raw_http = FromJson<v1::ReadRawResponse>(nlohmann::json::parse(raw.body)["result"].dump());
  EXPECT_TRUE(MessageDifferencer::Equals(raw_http, raw_grpc));
  ASSERT_EQ(raw_http.points_size(), 1);
  EXPECT_EQ(raw_http.points(0).samples_size(), 500);
  EXPECT_FALSE(raw_http.continuation().empty());

  HttpReply unknown = HttpGet(port_, "/api/history/raw?" + fmt::format(
      "point=99&interval=1s&from={}&to={}", t0, t0 + kSecondUs), kViewerToken);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "GET /api/history/raw: History.ReadRaw: point 99 is not in the catalog\n");
  HttpReply interval = HttpGet(port_, "/api/history/raw?" + fmt::format(
      "point=41&interval=2s&from={}&to={}", t0, t0 + kSecondUs), kViewerToken);
  EXPECT_EQ(interval.status, 400);
  EXPECT_TRUE(Contains(interval.body,
                       "GET /api/history/raw: parameter 'interval': \"2s\" is not a sample "
                       "interval (1s, 5s, 1min"))
      << interval.body;
  EXPECT_EQ(HttpGet(port_, "/api/history/raw?" + range).status, 401);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(DashboardApiTest, AlarmsAreWhatAdminListAlarmsAnswers) {
  // A record every target rejects: each target's error_log alarm is raised for real.
  for (int i = 0; i < 2; ++i) {
    v1::CommitRequest req;
    req.set_stream("sql");
    auto* sql = req.add_records()->mutable_sql();
    sql->set_text("INSERT INTO point (point_id, name, unit) VALUES (8, 'p8', 'MW')");
    v1::CommitResponse resp;
    ASSERT_TRUE(daemon_->Commit(req, &resp).ok());
  }
  v1::ListAlarmsResponse by_http;
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpReply r = HttpGet(port_, "/api/alarms", kViewerToken);
        if (r.status != 200) return false;
        by_http = FromJson<v1::ListAlarmsResponse>(r.body);
        return by_http.active_size() == 3;
      },
      kDeadline))
      << by_http.DebugString();
  v1::ListAlarmsResponse by_grpc;
  grpc::Status s = daemon_->admin_stub().ListAlarms(daemon_->Context(kAdminToken).get(),
                                                    v1::ListAlarmsRequest(), &by_grpc);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The active set and its counts (the measured values and the last check's time may
  // move between the two calls).
  ASSERT_EQ(by_http.active_size(), by_grpc.active_size());
  for (int i = 0; i < by_http.active_size(); ++i) {
    EXPECT_EQ(by_http.active(i).check(), "error_log");
    EXPECT_EQ(by_http.active(i).check(), by_grpc.active(i).check());
    EXPECT_EQ(by_http.active(i).subject(), by_grpc.active(i).subject());
    EXPECT_EQ(by_http.active(i).severity(), by_grpc.active(i).severity());
    EXPECT_EQ(by_http.active(i).since_us(), by_grpc.active(i).since_us());
  }
  EXPECT_EQ(by_http.critical(), by_grpc.critical());
  EXPECT_EQ(by_http.warning(), by_grpc.warning());
  EXPECT_EQ(by_http.info(), by_grpc.info());
  EXPECT_EQ(daemon_->Stop(), 0);
}

}  // namespace
}  // namespace sluice::testing
