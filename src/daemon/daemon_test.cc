// Runs real sluiced processes on loopback with SQLite targets: commits reach every target
// exactly once, survive a clean restart and a kill -9, are de-duplicated; every refusal
// (authentication, roles, limits) has its status and a message naming limit and value;
// bad config files stop sluiced with exit code 2 naming key and line.

#include <gtest/gtest.h>
#include <fmt/format.h>

#include <filesystem>

#include <thread>

#include "support/daemon.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {
namespace {

using grpc::StatusCode;

class DaemonTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

// The statement every target runs for the sql stream: portable, with parameters.
v1::Record PointInsert(int64_t id) {
  v1::Record r;
  r.mutable_sql()->set_text("INSERT INTO point (point_id, name, unit) VALUES ($1, $2, $3)");
  r.mutable_sql()->add_params()->set_int_value(id);
  r.mutable_sql()->add_params()->set_text_value(fmt::format("point-{}", id));
  r.mutable_sql()->add_params()->set_text_value("MW");
  return r;
}

void ExpectRows(Daemon& d, int64_t samples, int64_t events, int64_t points) {
  for (const char* t : {"a", "b", "dr"}) {
    EXPECT_EQ(CountRows(d.db(t), "sample_1s"), samples) << "target " << t;
    EXPECT_EQ(CountRows(d.db(t), "event_log", kClientEvents), events) << "target " << t;
    EXPECT_EQ(CountRows(d.db(t), "point"), points) << "target " << t;
  }
}

TEST_F(DaemonTest, CommitsReachEveryTargetAndSurviveRestart) {
  Daemon d(dir_);
  ASSERT_NO_FATAL_FAILURE(d.Start());
  // The first start journals switch markers and state events; the test counts from here.
  std::map<std::string, uint64_t> base = d.Heads();
  int64_t ts = NowMicros() / 1'000'000 * 1'000'000;

  v1::HelloResponse hello;
  ASSERT_TRUE(d.Hello("scada-1", &hello).ok());
  EXPECT_EQ(hello.node_id(), "test");
  EXPECT_EQ(hello.last_sequence().at("samples"), 0u);
  EXPECT_GT(hello.max_records_per_request(), 0u);

  // Samples, unary, de-duplicated: 10 requests of 2 records of 50 rows.
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    v1::CommitRequest req;
    req.set_stream("samples");
    req.set_client_id("scada-1");
    req.set_sequence(seq);
    *req.add_records() = SampleRecord(static_cast<int64_t>(seq) * 1000, 50, ts);
    *req.add_records() = SampleRecord(static_cast<int64_t>(seq) * 1000 + 50, 50, ts);
    v1::CommitResponse resp;
    grpc::Status st = d.Commit(req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(resp.lsns_size(), 2);
    EXPECT_EQ(resp.sequence(), seq);
    EXPECT_LT(resp.lsns(0), resp.lsns(1));
  }

  // Events on a bidirectional stream: one answer per request, in order.
  {
    auto ctx = d.Context(kIngestToken);
    auto stream = d.ingest_stub().CommitStream(ctx.get());
    for (int i = 0; i < 20; ++i) {
      v1::CommitRequest req;
      req.set_stream("events");
      req.set_client_id("scada-1");
      req.set_sequence(static_cast<uint64_t>(i) + 1);
      *req.add_records() = EventRecord(3, ts + i * 10);
      ASSERT_TRUE(stream->Write(req));
    }
    stream->WritesDone();
    v1::CommitResponse resp;
    uint64_t last_lsn = 0;
    for (uint64_t i = 1; i <= 20; ++i) {
      ASSERT_TRUE(stream->Read(&resp)) << "answer " << i;
      EXPECT_EQ(resp.sequence(), i);
      ASSERT_EQ(resp.lsns_size(), 1);
      EXPECT_GT(resp.lsns(0), last_lsn);
      last_lsn = resp.lsns(0);
    }
    EXPECT_FALSE(stream->Read(&resp));
    grpc::Status st = stream->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
  }

  // SQL with parameters, no client id.
  for (int64_t id = 1; id <= 5; ++id) {
    v1::CommitRequest req;
    req.set_stream("sql");
    *req.add_records() = PointInsert(id);
    v1::CommitResponse resp;
    ASSERT_TRUE(d.Commit(req, &resp).ok());
  }

  v1::StatusResponse status = d.WaitCaughtUp();
  EXPECT_EQ(status.state(), "active");
  EXPECT_EQ(status.active_target(), "a");
  ASSERT_EQ(status.targets_size(), 3);
  for (const auto& a : status.appliers()) {
    EXPECT_EQ(a.state(), "running") << a.target() << "/" << a.stream();
    EXPECT_EQ(a.lag_records(), 0u);
  }
  for (const auto& s : status.streams()) {
    if (s.name() == "samples") {
      EXPECT_EQ(s.head_lsn() - base[s.name()], 20u);
    }
    if (s.name() == "events") {
      EXPECT_EQ(s.head_lsn() - base[s.name()], 20u);
    }
    if (s.name() == "sql") {
      EXPECT_EQ(s.head_lsn() - base[s.name()], 5u);
    }
  }
  ExpectRows(d, 1000, 60, 5);

  // A clean stop, and a restart: nothing lost, nothing duplicated.
  EXPECT_EQ(d.Stop(), 0) << ReadFile(d.log());
  std::string log = ReadFile(d.log());
  EXPECT_NE(log.find("sluiced started: node 'test'"), std::string::npos) << log;
  EXPECT_NE(log.find("sluiced stopped cleanly"), std::string::npos) << log;
  ASSERT_NO_FATAL_FAILURE(d.Start());
  ASSERT_TRUE(d.Hello("scada-1", &hello).ok());
  EXPECT_EQ(hello.last_sequence().at("samples"), 10u);
  EXPECT_EQ(hello.last_sequence().at("events"), 20u);

  // The last commit again (its acknowledgement was "lost"): refused, nothing journaled.
  v1::CommitRequest again;
  again.set_stream("samples");
  again.set_client_id("scada-1");
  again.set_sequence(10);
  *again.add_records() = SampleRecord(20'000, 50, ts);
  v1::CommitResponse resp;
  grpc::Status st = d.Commit(again, &resp);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("expected sequence 11"), std::string::npos)
      << st.error_message();
  again.set_sequence(11);
  ASSERT_TRUE(d.Commit(again, &resp).ok());

  status = d.WaitCaughtUp();
  for (const auto& s : status.streams()) {
    if (s.name() == "samples") {
      EXPECT_EQ(s.head_lsn() - base[s.name()], 21u);
    }
  }
  ExpectRows(d, 1050, 60, 5);
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, AcknowledgedCommitsSurviveKill9AndAreNotAdmittedTwice) {
  DaemonConfig config = DaemonConfig::NoAuth();
  config.node_id = "crash";
  Daemon d(dir_, config);
  ASSERT_NO_FATAL_FAILURE(d.Start());
  int64_t ts = NowMicros() / 1'000'000 * 1'000'000;
  for (uint64_t seq = 1; seq <= 30; ++seq) {
    v1::CommitRequest req;
    req.set_stream("samples");
    req.set_client_id("feed");
    req.set_sequence(seq);
    *req.add_records() = SampleRecord(static_cast<int64_t>(seq) * 100, 10, ts);
    v1::CommitResponse resp;
    ASSERT_TRUE(d.Commit(req, &resp).ok());
  }
  EXPECT_EQ(d.Kill(), 128 + SIGKILL);
  ASSERT_NO_FATAL_FAILURE(d.Start());
  // The snapshot may be older than the last commits; the journal is not.
  v1::HelloResponse hello;
  ASSERT_TRUE(d.Hello("feed", &hello).ok());
  EXPECT_EQ(hello.last_sequence().at("samples"), 30u);
  for (uint64_t seq : {29, 30}) {
    v1::CommitRequest req;
    req.set_stream("samples");
    req.set_client_id("feed");
    req.set_sequence(seq);
    *req.add_records() = SampleRecord(999'999, 1, ts);
    v1::CommitResponse resp;
    EXPECT_EQ(d.Commit(req, &resp).error_code(), StatusCode::FAILED_PRECONDITION);
  }
  d.WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(d.db(t), "sample_1s"), 300) << t;
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, RefusalsNameTheLimitAndTheValue) {
  DaemonConfig config;
  config.extra = R"([limits]
max_records_per_request = 5
max_string_length = 16
max_lob_size = "1KiB"
max_message_size = "1MiB"
)";
  config.journal = "max_record_size = \"512KiB\"";
  Daemon d(dir_, config);
  ASSERT_NO_FATAL_FAILURE(d.Start());
  std::map<std::string, uint64_t> base = d.Heads();  // after the first start's markers
  int64_t ts = NowMicros();
  auto commit = [&](const v1::CommitRequest& req, const std::string& token = kIngestToken) {
    v1::CommitResponse resp;
    return d.Commit(req, &resp, token);
  };
  auto expect = [](const grpc::Status& st, StatusCode code, std::vector<std::string> parts) {
    EXPECT_EQ(st.error_code(), code) << st.error_message();
    for (const auto& p : parts) {
      EXPECT_NE(st.error_message().find(p), std::string::npos)
          << "'" << p << "' not in: " << st.error_message();
    }
  };
  v1::CommitRequest ok;
  ok.set_stream("events");
  *ok.add_records() = EventRecord(1, ts);

  // Authentication and roles.
  expect(commit(ok, ""), StatusCode::UNAUTHENTICATED, {"Bearer"});
  expect(commit(ok, "wrong-token"), StatusCode::UNAUTHENTICATED, {"token"});
  {
    v1::StatusResponse s;
    expect(d.Admin(&s, kIngestToken), StatusCode::PERMISSION_DENIED, {"role 'admin'", "ingester"});
    expect(d.Admin(&s, "wrong-token"), StatusCode::UNAUTHENTICATED, {});
  }
  {
    v1::CommitRequest as_admin = ok;
    expect(commit(as_admin, kAdminToken), StatusCode::PERMISSION_DENIED, {"role 'ingest'"});
  }
  EXPECT_TRUE(commit(ok).ok());

  // Unknown stream.
  {
    v1::CommitRequest r = ok;
    r.set_stream("no_such_stream");
    expect(commit(r), StatusCode::NOT_FOUND, {"no_such_stream"});
  }
  // Too many records.
  {
    v1::CommitRequest r;
    r.set_stream("events");
    for (int i = 0; i < 6; ++i) *r.add_records() = EventRecord(1, ts);
    expect(commit(r), StatusCode::INVALID_ARGUMENT, {"max_records_per_request", "6", "5"});
  }
  // Too long a string.
  {
    v1::CommitRequest r;
    r.set_stream("events");
    *r.add_records() = EventRecord(1, ts);
    *r.add_records() = EventRecord(1, ts, std::string(17, 'x'));
    expect(commit(r), StatusCode::INVALID_ARGUMENT, {"record 1", "max_string_length", "17", "16"});
  }
  // A LOB above its limit.
  {
    v1::CommitRequest r;
    r.set_stream("sql");
    v1::Record rec;
    rec.mutable_sql()->set_text(
        "INSERT INTO point (point_id, name, description) VALUES ($1, $2, $3)");
    rec.mutable_sql()->add_params()->set_int_value(1);
    rec.mutable_sql()->add_params()->set_text_value("p");
    rec.mutable_sql()->add_params()->set_clob_value(std::string(2048, 'c'));
    *r.add_records() = rec;
    expect(commit(r), StatusCode::INVALID_ARGUMENT, {"max_lob_size", "2048", "1024", "$3"});
  }
  // A timestamp outside the window.
  {
    v1::CommitRequest r;
    r.set_stream("samples");
    *r.add_records() = SampleRecord(1, 1, 631'152'000'000'000);  // 1990-01-01
    expect(commit(r), StatusCode::INVALID_ARGUMENT, {"record 0", "631152000000000", "window"});
  }
  // A message above the gRPC limit (1 MiB).
  {
    v1::CommitRequest r;
    r.set_stream("samples");
    *r.add_records() = SampleRecord(1, 100'000, ts);
    expect(commit(r), StatusCode::RESOURCE_EXHAUSTED, {});
  }
  // Records only the service writes.
  {
    v1::CommitRequest r;
    r.set_stream("model");
    r.add_records()->mutable_intent()->mutable_statement()->set_text("DELETE FROM point");
    expect(commit(r), StatusCode::INVALID_ARGUMENT, {"intent"});
  }
  // Non-deterministic SQL (the admitter's check), naming the record.
  {
    v1::CommitRequest r;
    r.set_stream("sql");
    r.add_records()->mutable_sql()->set_text(
        "INSERT INTO point (point_id, name, updated_at) VALUES (7, 'x', random())");
    expect(commit(r), StatusCode::INVALID_ARGUMENT, {"record 0", "random"});
  }
  // A sequence that is not the next one.
  {
    v1::CommitRequest r = ok;
    r.set_client_id("c9");
    r.set_sequence(4);
    expect(commit(r), StatusCode::FAILED_PRECONDITION, {"expected sequence 1"});
  }
  // None of the refused requests journaled anything.
  v1::StatusResponse s = d.WaitCaughtUp();
  for (const auto& st : s.streams()) {
    EXPECT_EQ(st.head_lsn() - base[st.name()], st.name() == "events" ? 1u : 0u) << st.name();
  }
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, AMultiRecordCommitIsJournaledWholeOrNotAtAll) {
  Daemon d(dir_, DaemonConfig::NoAuth());
  ASSERT_NO_FATAL_FAILURE(d.Start());
  std::map<std::string, uint64_t> base = d.Heads();  // after the first start's markers
  int64_t ts = NowMicros() / 1'000'000 * 1'000'000;
  v1::CommitRequest req;
  req.set_stream("samples");
  req.set_client_id("feed");
  req.set_sequence(1);
  *req.add_records() = SampleRecord(0, 10, ts);
  *req.add_records() = SampleRecord(100, 10, ts);
  *req.add_records() = SampleRecord(200, 10, 631'152'000'000'000);  // 1990: refused
  *req.add_records() = SampleRecord(300, 10, ts);
  v1::CommitResponse resp;
  grpc::Status st = d.Commit(req, &resp);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_NE(st.error_message().find("record 2"), std::string::npos) << st.error_message();
  // Neither the records before the bad one nor the sequence were taken.
  v1::StatusResponse s;
  ASSERT_TRUE(d.Admin(&s).ok());
  // (Only the samples stream: the service itself may journal state events meanwhile.)
  for (const auto& stream : s.streams()) {
    if (stream.name() == "samples") {
      EXPECT_EQ(stream.head_lsn(), base["samples"]);
    }
  }
  v1::HelloResponse hello;
  ASSERT_TRUE(d.Hello("feed", &hello).ok());
  EXPECT_EQ(hello.last_sequence().at("samples"), 0u);

  // The corrected request, under the same sequence: all four records, one sequence.
  *req.mutable_records(2) = SampleRecord(200, 10, ts);
  st = d.Commit(req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.lsns_size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(resp.lsns(i), base["samples"] + static_cast<uint64_t>(i) + 1);
  EXPECT_EQ(resp.sequence(), 1u);
  EXPECT_EQ(d.Commit(req, &resp).error_code(), StatusCode::FAILED_PRECONDITION);
  d.WaitCaughtUp();
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(d.db(t), "sample_1s"), 40) << t;
  EXPECT_EQ(d.Stop(), 0);
  // After a restart the request still counts as one sequence.
  ASSERT_NO_FATAL_FAILURE(d.Start());
  ASSERT_TRUE(d.Hello("feed", &hello).ok());
  EXPECT_EQ(hello.last_sequence().at("samples"), 1u);
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, JournalBudgetRefusalIsResourceExhausted) {
  // Nothing is applied while every target is disabled, so the journal fills its budget.
  DaemonConfig config = DaemonConfig::NoAuth();
  config.extra = R"([limits]
max_lob_size = "16KiB"
max_string_length = 1024

[[stream]]
name = "model"
reserved = "16KiB"

[[stream]]
name = "samples"
ordered = false
reserved = "64KiB"
)";
  config.journal = "segment_size = \"64KiB\"\nmax_record_size = \"32KiB\"\nbudget = \"256KiB\"";
  Daemon d(dir_, config);
  ASSERT_NO_FATAL_FAILURE(d.Start());
  for (const char* t : {"a", "b", "dr"}) {
    v1::SetTargetEnabledRequest req;
    req.set_target(t);
    req.set_enabled(false);
    v1::SetTargetEnabledResponse resp;
    auto ctx = d.Context("");
    ASSERT_TRUE(d.admin_stub().SetTargetEnabled(ctx.get(), req, &resp).ok());
  }
  int64_t ts = NowMicros();
  grpc::Status st;
  int committed = 0;
  for (int i = 0; i < 200 && st.ok(); ++i) {
    v1::CommitRequest req;
    req.set_stream("samples");
    *req.add_records() = SampleRecord(i * 1000, 500, ts);
    v1::CommitResponse resp;
    st = d.Commit(req, &resp);
    if (st.ok()) committed++;
  }
  EXPECT_GT(committed, 0);
  EXPECT_EQ(st.error_code(), StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("budget"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("samples"), std::string::npos) << st.error_message();
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, DisabledTargetStaysDisabledAcrossRestartAndCatchesUp) {
  Daemon d(dir_, DaemonConfig::NoAuth());
  ASSERT_NO_FATAL_FAILURE(d.Start());
  v1::SetTargetEnabledRequest req;
  req.set_target("b");
  req.set_enabled(false);
  v1::SetTargetEnabledResponse resp;
  {
    auto ctx = d.Context("");
    ASSERT_TRUE(d.admin_stub().SetTargetEnabled(ctx.get(), req, &resp).ok());
  }
  int64_t ts = NowMicros();
  v1::CommitRequest c;
  c.set_stream("samples");
  *c.add_records() = SampleRecord(1, 100, ts);
  v1::CommitResponse cr;
  ASSERT_TRUE(d.Commit(c, &cr).ok());
  d.WaitCaughtUp();
  EXPECT_EQ(CountRows(d.db("a"), "sample_1s"), 100);
  EXPECT_EQ(CountRows(d.db("b"), "sample_1s"), 0);

  EXPECT_EQ(d.Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(d.Start());
  v1::StatusResponse s;
  ASSERT_TRUE(d.Admin(&s).ok());
  for (const auto& t : s.targets()) EXPECT_EQ(t.enabled(), t.name() != "b") << t.name();
  for (const auto& a : s.appliers()) {
    if (a.target() == "b" && a.stream() == "samples") {
      EXPECT_EQ(a.state(), "disabled");
      EXPECT_EQ(a.lag_records(), 1u);
      EXPECT_GT(a.lag_bytes(), 0u);
      EXPECT_GT(a.oldest_unapplied_age_us(), 0);
    }
  }
  req.set_enabled(true);
  {
    auto ctx = d.Context("");
    ASSERT_TRUE(d.admin_stub().SetTargetEnabled(ctx.get(), req, &resp).ok());
  }
  d.WaitCaughtUp();
  EXPECT_EQ(CountRows(d.db("b"), "sample_1s"), 100);
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, SecondDaemonOnTheSameDataDirectoryDoesNotStart) {
  Daemon d(dir_, DaemonConfig::NoAuth());
  ASSERT_NO_FATAL_FAILURE(d.Start());
  // Same data dir, another port.
  std::string text = ReadFile(d.config_path());
  auto at = text.find(d.address());
  text.replace(at, d.address().size(), fmt::format("127.0.0.1:{}", FreePort()));
  WriteFile(dir_.Sub("second.toml"), text);
  RunResult r =
      RunCommand({SLUICED_PATH, "--config", dir_.Sub("second.toml")}, dir_.Sub("second.log"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(std::to_string(d.process()->pid())), std::string::npos) << r.output;
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, CommitStreamAnswersInOrderThenEndsWithTheFirstRefusal) {
  Daemon d(dir_, DaemonConfig::NoAuth());
  ASSERT_NO_FATAL_FAILURE(d.Start());
  std::map<std::string, uint64_t> base = d.Heads();  // after the first start's markers
  int64_t ts = NowMicros();
  auto ctx = d.Context("");
  auto stream = d.ingest_stub().CommitStream(ctx.get());
  for (int i = 0; i < 5; ++i) {
    v1::CommitRequest req;
    req.set_stream(i == 3 ? "no_such_stream" : "events");
    *req.add_records() = EventRecord(1, ts + i);
    stream->Write(req);  // may fail once the service has ended the call
  }
  stream->WritesDone();
  v1::CommitResponse resp;
  int answers = 0;
  while (stream->Read(&resp)) {
    ASSERT_EQ(resp.lsns_size(), 1);
    EXPECT_EQ(resp.lsns(0), base["events"] + static_cast<uint64_t>(answers) + 1);
    answers++;
  }
  EXPECT_EQ(answers, 3);
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_NE(st.error_message().find("no_such_stream"), std::string::npos) << st.error_message();
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, ShutdownWithAnIdleOpenStreamIsCleanAndQuick) {
  Daemon d(dir_, DaemonConfig::NoAuth());
  ASSERT_NO_FATAL_FAILURE(d.Start());
  auto ctx = d.Context("");
  auto stream = d.ingest_stub().CommitStream(ctx.get());
  v1::CommitRequest req;
  req.set_stream("events");
  *req.add_records() = EventRecord(1, NowMicros());
  ASSERT_TRUE(stream->Write(req));
  v1::CommitResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  // The stream stays open and idle while sluiced stops.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(d.Stop(), 0) << ReadFile(d.log());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_FALSE(stream->Read(&resp));
  EXPECT_FALSE(stream->Finish().ok());
  // What was acknowledged is there after a restart.
  ASSERT_NO_FATAL_FAILURE(d.Start());
  d.WaitCaughtUp();
  EXPECT_EQ(CountRows(d.db("dr"), "event_log", kClientEvents), 1);
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, CrashBetweenJournalAndAcknowledgementIsResolvedByTheSequence) {
  Daemon d(dir_, DaemonConfig::NoAuth());
  // The third commit is journaled and durable, then sluiced dies before answering.
  ASSERT_NO_FATAL_FAILURE(d.Start({{"SLUICE_FAILPOINTS", "ingest.before_ack=3*crash"}}));
  std::map<std::string, uint64_t> base = d.Heads();  // after the first start's markers
  int64_t ts = NowMicros() / 1'000'000 * 1'000'000;
  auto request = [&](uint64_t seq) {
    v1::CommitRequest req;
    req.set_stream("samples");
    req.set_client_id("feed");
    req.set_sequence(seq);
    *req.add_records() = SampleRecord(static_cast<int64_t>(seq) * 100, 10, ts);
    return req;
  };
  v1::CommitResponse resp;
  ASSERT_TRUE(d.Commit(request(1), &resp).ok());
  ASSERT_TRUE(d.Commit(request(2), &resp).ok());
  grpc::Status lost = d.Commit(request(3), &resp);
  EXPECT_EQ(lost.error_code(), StatusCode::UNAVAILABLE) << lost.error_message();
  EXPECT_EQ(d.process()->Wait(), 137);

  ASSERT_NO_FATAL_FAILURE(d.Start());
  // The client does not know whether 3 was admitted; Hello and the refusal tell it.
  v1::HelloResponse hello;
  ASSERT_TRUE(d.Hello("feed", &hello).ok());
  EXPECT_EQ(hello.last_sequence().at("samples"), 3u);
  grpc::Status again = d.Commit(request(3), &resp);
  EXPECT_EQ(again.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(again.error_message().find("expected sequence 4"), std::string::npos)
      << again.error_message();
  ASSERT_TRUE(d.Commit(request(4), &resp).ok());
  v1::StatusResponse s = d.WaitCaughtUp();
  for (const auto& st : s.streams()) {
    if (st.name() == "samples") {
      EXPECT_EQ(st.head_lsn() - base["samples"], 4u);  // each commit journaled once
    }
  }
  for (const char* t : {"a", "b", "dr"}) EXPECT_EQ(CountRows(d.db(t), "sample_1s"), 40) << t;
  EXPECT_EQ(d.Stop(), 0);
}

struct BadConfig {
  std::string name;
  std::string text;
  std::vector<std::string> expected;  // parts of the message
};

TEST_F(DaemonTest, BadConfigFilesExitWithCode2NamingKeyAndLine) {
  const std::string head = "[node]\nid = \"n\"\ndata_dir = \"data\"\n[auth]\nrequired = false\n";
  const std::string target =
      "[[target]]\nname = \"a\"\nrole = \"primary\"\ndriver = \"sqlite\"\npriority = 1\nconnection "
      "= \"a.db\"\n";
  std::vector<BadConfig> cases = {
      {"unknown key",
       head + "[[target]]\nname = \"a\"\nrole = \"primary\"\ndriver = \"sqlite\"\nprority = "
              "1\nconnection = \"a.db\"\n",
       {"bad.toml:10:", "prority", "priority"}},
      {"wrong type",
       head + target + "[[stream]]\nname = \"samples\"\nordered = \"yes\"\n",
       {"bad.toml:14:", "ordered", "boolean"}},
      {"duplicate target",
       head + target +
           "[[target]]\nname = \"a\"\nrole = \"primary\"\ndriver = \"sqlite\"\npriority = "
           "2\nconnection = \"b.db\"\n",
       {"bad.toml:13:", "duplicate target", "'a'", "line 7"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    WriteFile(dir_.Sub("bad.toml"), c.text);
    for (bool check : {false, true}) {
      std::vector<std::string> args = {SLUICED_PATH, "--config", dir_.Sub("bad.toml")};
      if (check) args.push_back("--check");
      RunResult r = RunCommand(args, dir_.Sub("bad.log"));
      EXPECT_EQ(r.exit_code, 2) << r.output;
      for (const auto& part : c.expected) {
        EXPECT_NE(r.output.find(part), std::string::npos)
            << "'" << part << "' not in: " << r.output;
      }
    }
    // Nothing started: no data directory was created.
    EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data")));
  }
  RunResult missing =
      RunCommand({SLUICED_PATH, "--config", dir_.Sub("nope.toml")}, dir_.Sub("bad.log"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("nope.toml"), std::string::npos) << missing.output;

  RunResult usage = RunCommand({SLUICED_PATH}, dir_.Sub("bad.log"));
  EXPECT_EQ(usage.exit_code, 2) << usage.output;

  WriteFile(dir_.Sub("good.toml"), head + target);
  RunResult good = RunCommand({SLUICED_PATH, "--config", dir_.Sub("good.toml"), "--check"},
                              dir_.Sub("good.log"));
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("valid"), std::string::npos) << good.output;

  RunResult example = RunCommand(
      {SLUICED_PATH, "--config", std::string(SLUICE_EXAMPLES_DIR) + "/sqlite-demo.toml", "--check"},
      dir_.Sub("example.log"));
  EXPECT_EQ(example.exit_code, 0) << example.output;
}

}  // namespace
}  // namespace sluice::testing
