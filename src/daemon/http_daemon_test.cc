// The HTTP endpoint of a real sluiced (SQLite primaries a and b, replica dr): /healthz
// follows the service state, /api/status is the Admin.Status answer, /metrics passes a
// strict exposition-format parser and its numbers are Admin.Status's after writes the test
// counts, tokens as in the gRPC API, a port taken by another node fails the start naming
// the address, config errors are named, and SIGTERM is not held up by an idle client.

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "http/prometheus_text_test_util.h"
#include "support/daemon.h"
#include "support/http_client.h"

namespace sluice::testing {
namespace {

using http::testing::LabelSet;
using http::testing::ParsedMetrics;
using http::testing::ParsePrometheusText;

std::string HttpSection(int port) {
  return fmt::format("[http]\nlisten = \"127.0.0.1:{}\"\n", port);
}

std::string ParseErrors(const ParsedMetrics& p) {
  std::string out;
  for (const auto& e : p.errors) out += e + "\n";
  return out;
}

// Admin.Status without what moves on its own between two calls of a quiet node (free disk
// space, recent rates, ages, the sampler's cycles).
v1::StatusResponse Stable(v1::StatusResponse s) {
  s.set_free_bytes(0);
  for (auto& t : *s.mutable_targets()) {
    t.set_apply_per_s(0);
    t.set_eta_s(0);
  }
  for (auto& a : *s.mutable_appliers()) a.set_oldest_unapplied_age_us(0);
  s.clear_sampling();
  return s;
}

class HttpDaemonTest : public ::testing::Test {
 protected:
  // A daemon with auth (kAdminToken has the read role, kIngestToken has not) and [http].
  std::unique_ptr<Daemon> StartDaemon(const TempDir& dir, int http_port) {
    DaemonConfig cfg;
    cfg.extra = HttpSection(http_port);
    auto d = std::make_unique<Daemon>(dir, cfg);
    d->Start();
    return d;
  }

  ParsedMetrics Scrape(int port, std::string* page = nullptr) {
    HttpReply r = HttpGet(port, "/metrics", kAdminToken);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    ParsedMetrics p = ParsePrometheusText(r.body);
    EXPECT_TRUE(p.errors.empty()) << ParseErrors(p) << "page:\n" << r.body;
    if (page != nullptr) *page = r.body;
    return p;
  }

  TempDir dir_;
  int port_ = FreePort();
};

TEST_F(HttpDaemonTest, HealthzIsOkWhileActiveAnd503WhenIsolated) {
  std::unique_ptr<Daemon> d;
  ASSERT_NO_FATAL_FAILURE(d = StartDaemon(dir_, port_));
  ASSERT_TRUE(
      WaitFor([&] { return HttpGet(port_, "/healthz").status == 200; }, std::chrono::seconds(60)));
  EXPECT_EQ(HttpGet(port_, "/healthz").body, "ok\n");

  // Both primaries taken out: no primary can serve (the replica is never active).
  for (const char* target : {"a", "b"}) {
    v1::SetTargetEnabledRequest req;
    req.set_target(target);
    req.set_enabled(false);
    v1::SetTargetEnabledResponse resp;
    auto ctx = d->Context(kAdminToken);
    grpc::Status s = d->admin_stub().SetTargetEnabled(ctx.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  HttpReply r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = HttpGet(port_, "/healthz");
        return r.status == 503 && r.body.find("isolated") != std::string::npos;
      },
      std::chrono::seconds(60)))
      << r.status << " " << r.body;
  EXPECT_EQ(r.body.rfind("unavailable: isolated", 0), 0u) << r.body;
  EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "one line: " << r.body;
  v1::StatusResponse st;
  ASSERT_TRUE(d->Admin(&st).ok());
  EXPECT_EQ(st.state(), "isolated");
  ParsedMetrics m = Scrape(port_);
  EXPECT_EQ(m.Value("sluice_node_state", {{"state", "isolated"}}), 1.0);
  EXPECT_EQ(m.Value("sluice_node_state", {{"state", "active"}}), 0.0);

  // One back: active again, and /healthz says so.
  v1::SetTargetEnabledRequest req;
  req.set_target("b");
  req.set_enabled(true);
  v1::SetTargetEnabledResponse resp;
  auto ctx = d->Context(kAdminToken);
  ASSERT_TRUE(d->admin_stub().SetTargetEnabled(ctx.get(), req, &resp).ok());
  EXPECT_TRUE(
      WaitFor([&] { return HttpGet(port_, "/healthz").status == 200; }, std::chrono::seconds(60)));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(HttpDaemonTest, ApiStatusIsTheAdminStatusAnswer) {
  std::unique_ptr<Daemon> d;
  ASSERT_NO_FATAL_FAILURE(d = StartDaemon(dir_, port_));
  v1::CommitRequest req;
  req.set_stream("samples");
  *req.add_records() = SampleRecord(1, 10, NowMicros());
  v1::CommitResponse resp;
  ASSERT_TRUE(d->Commit(req, &resp).ok());
  d->WaitCaughtUp();
  d->Heads();

  bool compared = false;
  for (int attempt = 0; attempt < 20 && !compared; ++attempt) {
    v1::StatusResponse before, after, served;
    ASSERT_TRUE(d->Admin(&before).ok());
    HttpReply r = HttpGet(port_, "/api/status", kAdminToken);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    ASSERT_TRUE(d->Admin(&after).ok());
    // Only a quiet moment compares: the same answer before and after the request.
    if (Stable(before).SerializeAsString() != Stable(after).SerializeAsString()) continue;
    auto parsed = google::protobuf::util::JsonStringToMessage(r.body, &served);
    ASSERT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << r.body;
    EXPECT_EQ(Stable(served).DebugString(), Stable(before).DebugString());
    // The fields that move are there too.
    EXPECT_GT(served.free_bytes(), 0u);
    EXPECT_EQ(served.sampling().enabled(), before.sampling().enabled());
    compared = true;
  }
  EXPECT_TRUE(compared) << "Admin.Status never answered the same twice in a row";
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(HttpDaemonTest, MetricsParseStrictlyAndMatchAdminStatusAfterCountedWrites) {
  std::unique_ptr<Daemon> d;
  ASSERT_NO_FATAL_FAILURE(d = StartDaemon(dir_, port_));
  d->Heads();
  ParsedMetrics m0 = Scrape(port_);

  // Commits the test counts: records per stream, and Ingest.Commit calls.
  const std::map<std::string, int> commits = {{"samples", 7}, {"events", 3}};
  const int records_per_commit = 2;
  int64_t ts = NowMicros();
  int calls = 0;
  for (const auto& [stream, n] : commits) {
    for (int i = 0; i < n; ++i) {
      v1::CommitRequest req;
      req.set_stream(stream);
      for (int k = 0; k < records_per_commit; ++k) {
        *req.add_records() = stream == "samples" ? SampleRecord(100 * i + 10 * k, 5, ts + i)
                                                 : EventRecord(2, ts + 10 * i + k);
      }
      v1::CommitResponse resp;
      grpc::Status s = d->Commit(req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
      ++calls;
    }
  }
  // And requests on one Ingest.CommitStream: each is an observation of its own.
  const int stream_requests = 4;
  {
    auto ctx = d->Context(kIngestToken);
    auto stream = d->ingest_stub().CommitStream(ctx.get());
    for (int i = 0; i < stream_requests; ++i) {
      v1::CommitRequest req;
      req.set_stream("events");
      *req.add_records() = EventRecord(1, ts + 1000 + i);
      ASSERT_TRUE(stream->Write(req));
    }
    stream->WritesDone();
    v1::CommitResponse resp;
    int answers = 0;
    while (stream->Read(&resp)) ++answers;
    grpc::Status s = stream->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(answers, stream_requests);
  }
  std::map<std::string, int> records = {
      {"samples", commits.at("samples") * records_per_commit},
      {"events", commits.at("events") * records_per_commit + stream_requests}};
  d->WaitCaughtUp();
  d->Heads();

  v1::StatusResponse st, after;
  ParsedMetrics m;
  std::string page;
  bool quiet = false;
  for (int attempt = 0; attempt < 20 && !quiet; ++attempt) {
    ASSERT_TRUE(d->Admin(&st).ok());
    m = Scrape(port_, &page);
    ASSERT_TRUE(d->Admin(&after).ok());
    quiet = Stable(st).SerializeAsString() == Stable(after).SerializeAsString();
  }
  ASSERT_TRUE(quiet) << "Admin.Status never answered the same twice in a row";
  ASSERT_TRUE(m.errors.empty());

  for (const auto& s : st.streams()) {
    const LabelSet l = {{"stream", s.name()}};
    EXPECT_EQ(m.Value("sluice_records_admitted_total", l), double(s.head_lsn())) << s.name();
    EXPECT_EQ(m.Value("sluice_stream_journal_bytes", l), double(s.bytes())) << s.name();
    auto it = records.find(s.name());
    const double written = it == records.end() ? 0 : it->second;
    EXPECT_EQ(*m.Value("sluice_records_admitted_total", l) -
                  m0.Value("sluice_records_admitted_total", l).value_or(-1),
              written)
        << s.name();
  }
  for (const auto& a : st.appliers()) {
    const LabelSet l = {{"target", a.target()}, {"stream", a.stream()}};
    EXPECT_EQ(m.Value("sluice_records_applied_total", l), double(a.applied_lsn()));
    EXPECT_EQ(m.Value("sluice_lag_records", l), 0.0) << "caught up";
    EXPECT_EQ(m.Value("sluice_lag_records", l), double(a.lag_records()));
    EXPECT_EQ(m.Value("sluice_lag_bytes", l), double(a.lag_bytes()));
    EXPECT_EQ(m.Value("sluice_open_errors", l), 0.0);
  }
  for (const auto& t : st.targets()) {
    EXPECT_EQ(m.Value("sluice_active_target", {{"target", t.name()}}), t.active() ? 1.0 : 0.0);
    EXPECT_EQ(m.Value("sluice_target_health", {{"target", t.name()}, {"health", t.health()}}), 1.0);
    EXPECT_EQ(m.Value("sluice_target_enabled", {{"target", t.name()}}), 1.0);
  }
  EXPECT_EQ(m.Value("sluice_active_target", {{"target", st.active_target()}}), 1.0);
  EXPECT_EQ(m.Value("sluice_node_state", {{"state", st.state()}}), 1.0);
  EXPECT_EQ(m.Value("sluice_node_info", {{"node", st.node_id()}}), 1.0);
  EXPECT_EQ(m.Value("sluice_journal_bytes"), double(st.journal_bytes()));
  EXPECT_EQ(m.Value("sluice_journal_budget_bytes"), double(st.journal_budget_bytes()));
  EXPECT_GT(*m.Value("sluice_journal_free_bytes"), 0.0);
  // The alarm engine's active alarms by severity, as Admin.ListAlarms counts them (the
  // same before and after the scrape, else the comparison would say nothing).
  {
    v1::ListAlarmsResponse before_alarms, after_alarms;
    auto c1 = d->Context(kAdminToken);
    ASSERT_TRUE(d->admin_stub().ListAlarms(c1.get(), v1::ListAlarmsRequest(), &before_alarms).ok());
    const ParsedMetrics alarm_page = Scrape(port_);
    auto c2 = d->Context(kAdminToken);
    ASSERT_TRUE(d->admin_stub().ListAlarms(c2.get(), v1::ListAlarmsRequest(), &after_alarms).ok());
    if (before_alarms.active_size() == after_alarms.active_size()) {
      EXPECT_EQ(alarm_page.Value("sluice_alarms_active", {{"severity", "info"}}), double(after_alarms.info()));
      EXPECT_EQ(alarm_page.Value("sluice_alarms_active", {{"severity", "warning"}}),
                double(after_alarms.warning()));
      EXPECT_EQ(alarm_page.Value("sluice_alarms_active", {{"severity", "critical"}}),
                double(after_alarms.critical()));
    }
  }
  // Counters that move on their own lie between the answers before and after.
  EXPECT_GE(*m.Value("sluice_sampling_cycles_total"), double(st.sampling().cycles()));
  EXPECT_LE(*m.Value("sluice_sampling_cycles_total"), double(after.sampling().cycles()));

  // Every Ingest.Commit of the test is one observation of its histogram.
  const LabelSet commit = {{"method", "Ingest.Commit"}};
  const double before_calls =
      m0.Value("sluice_grpc_request_duration_seconds_count", commit).value_or(0);
  EXPECT_EQ(*m.Value("sluice_grpc_request_duration_seconds_count", commit) - before_calls, calls);
  EXPECT_GT(*m.Value("sluice_grpc_request_duration_seconds_sum", commit), 0.0);
  const LabelSet stream_method = {{"method", "Ingest.CommitStream"}};
  EXPECT_EQ(m.Value("sluice_grpc_request_duration_seconds_count", stream_method).value_or(0) -
                m0.Value("sluice_grpc_request_duration_seconds_count", stream_method).value_or(0),
            stream_requests);
  EXPECT_GE(m.Value("sluice_grpc_request_duration_seconds_count", {{"method", "Admin.Status"}})
                .value_or(0),
            1.0);

  // A real parser, when the machine has one.
  const std::string promtool = FindOnPath("promtool");
  if (promtool.empty()) {
    std::printf(
        "promtool is not installed (Debian package prometheus): the strict parser of the "
        "test is the only check of the page\n");
  } else {
    WriteFile(dir_.Sub("metrics.txt"), page);
    RunResult r =
        RunCommand({"/bin/sh", "-c", promtool + " check metrics < " + dir_.Sub("metrics.txt")},
                   dir_.Sub("promtool.log"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(HttpDaemonTest, TokensAreTheApisAndHealthzNeedsNone) {
  std::unique_ptr<Daemon> d;
  ASSERT_NO_FATAL_FAILURE(d = StartDaemon(dir_, port_));
  for (const char* path : {"/metrics", "/api/status"}) {
    SCOPED_TRACE(path);
    HttpReply none = HttpGet(port_, path);
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(none.www_authenticate, "Bearer");
    EXPECT_EQ(
        none.body,
        fmt::format("GET {}: no 'Authorization: Bearer <token>' header; this service requires "
                    "a token with role 'read'\n",
                    path));
    HttpReply wrong = HttpGet(port_, path, "not-a-token-of-this-service");
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(wrong.body,
              fmt::format("GET {}: the bearer token is not one this service knows\n", path));
    HttpReply ingest = HttpGet(port_, path, kIngestToken);  // a known token without the read role
    EXPECT_EQ(ingest.status, 403);
    EXPECT_NE(ingest.body.find("lacks role 'read'"), std::string::npos) << ingest.body;
    for (const HttpReply& r : {none, wrong, ingest}) {
      EXPECT_EQ(r.body.find(kIngestToken), std::string::npos) << "a secret in: " << r.body;
      EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "one line: " << r.body;
    }
    EXPECT_EQ(HttpGet(port_, path, kAdminToken).status, 200);
  }
  EXPECT_EQ(HttpGet(port_, "/healthz").status, 200);
  HttpReply unknown = HttpGet(port_, "/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("/metrics"), std::string::npos) << unknown.body;
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(HttpDaemonTest, ASecondNodeOnTheSamePortFailsNamingTheAddress) {
  std::unique_ptr<Daemon> first;
  ASSERT_NO_FATAL_FAILURE(first = StartDaemon(dir_, port_));
  TempDir other;
  DaemonConfig cfg;
  cfg.node_id = "second";
  cfg.extra = HttpSection(port_);
  Daemon second(other, cfg);
  ASSERT_TRUE(second.sluiced().Start().ok());
  int status = second.sluiced().WaitExit(std::chrono::seconds(60));
  ASSERT_NE(status, -1) << "the second node kept running:\n" << ReadFile(second.log());
  EXPECT_EQ(ExitCode(status), 1);
  const std::string log = ReadFile(second.log());
  EXPECT_NE(log.find(fmt::format("cannot listen on 127.0.0.1:{}: Address already in use", port_)),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("[http] listen, line"), std::string::npos) << log;
  // The first node serves on, untouched.
  EXPECT_EQ(HttpGet(port_, "/healthz").status, 200);
  EXPECT_EQ(first->Stop(), 0);
}

TEST_F(HttpDaemonTest, ConfigErrorsNameFileLineAndKey) {
  DaemonConfig cfg;
  cfg.extra = "[http]\nlisten = \"127.0.0.1\"\nlistn = 1\n";
  Daemon d(dir_, cfg);
  const std::string text = ReadFile(d.config_path());
  // The lines of the two bad keys, counted in the file the harness wrote.
  int listen_line = 0, typo_line = 0, n = 0;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    ++n;
    if (l == "listen = \"127.0.0.1\"") listen_line = n;
    if (l.rfind("listn", 0) == 0) typo_line = n;
  }
  ASSERT_GT(listen_line, 0) << text;
  ASSERT_GT(typo_line, 0) << text;
  RunResult r = RunCommand({SLUICED_PATH, "--config", d.config_path()}, dir_.Sub("bad.log"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const std::string file = std::filesystem::path(d.config_path()).filename().string();
  EXPECT_NE(
      r.output.find(fmt::format("{}:{}:10: [http]: 'listen': address \"127.0.0.1\" needs a port",
                                file, listen_line)),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(fmt::format(
                "{}:{}:1: [http]: unknown key 'listn' (did you mean 'listen'?)", file, typo_line)),
            std::string::npos)
      << r.output;
}

TEST_F(HttpDaemonTest, SigtermIsNotHeldUpByIdleHttpClients) {
  std::unique_ptr<Daemon> d;
  ASSERT_NO_FATAL_FAILURE(d = StartDaemon(dir_, port_));
  // A connection that never sends a request, and a keep-alive one left open after its answer.
  int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(idle, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  httplib::Client keep_alive("127.0.0.1", port_);
  keep_alive.set_keep_alive(true);
  auto res = keep_alive.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(d->Stop(), 0) << ReadFile(d->log());
  auto took = std::chrono::steady_clock::now() - start;
  // A clean stop takes a second or two; a server waiting on its clients would take until
  // the harness's SIGKILL.
  EXPECT_LT(took, std::chrono::seconds(30));
  EXPECT_NE(ReadFile(d->log()).find("HTTP endpoint stopped"), std::string::npos);
  ::close(idle);
}

}  // namespace
}  // namespace sluice::testing
