#include "support/daemon.h"

#include <signal.h>

#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>

// The library is built with SLUICED_PATH when the tree has sluiced; the tests that use
// Daemon depend on the binary.
#ifndef SLUICED_PATH
#define SLUICED_PATH ""
#endif

namespace sluice::testing {

std::string ReadFile(const std::string& path) { return ReadWholeFile(path); }

void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<TargetSpec> SQLiteTargets() {
  return {PrimaryTarget("a", "sqlite", "targets/a.db", 100),
          PrimaryTarget("b", "sqlite", "targets/b.db", 90),
          ReplicaTarget("dr", "sqlite", "targets/dr.db")};
}

Daemon::Daemon(const TempDir& dir, DaemonConfig config)
    : dir_(dir), config_(std::move(config)), sluiced_(SLUICED_PATH, dir.path()) {
  EXPECT_NE(sluiced_.port(), 0) << "no free loopback port";
  config_path_ = sluiced_.config_path();
  WriteConfig();
  sluiced_.SetClientCredentials(config_.auth ? kAdminToken : "",
                                config_.tls_ca);
}

void Daemon::RewriteConfig(DaemonConfig config) {
  config.tls_ca = config_.tls_ca;
  config.auth = config_.auth;
  config_ = std::move(config);
  WriteConfig();
}

void Daemon::WriteConfig() {
  ConfigBuilder b(config_.node_id);
  b.Listen(sluiced_.port()).NodeLines(config_.node).JournalLines(config_.journal);
  if (config_.auth) {
    b.Token("ingester", kIngestToken, {"ingest"}).Token("operator", kAdminToken, {"admin", "read"});
  } else {
    b.NoAuth();
  }
  for (auto& t : config_.targets.empty() ? SQLiteTargets() : config_.targets) b.Target(t);
  if (!config_.extra.empty()) b.Extra(config_.extra);
  WriteFile(config_path_, b.Toml());
}

void Daemon::Start(const ChildEnv& env) {
  Status s = sluiced_.Start(env);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Up means answering, with every applier past connecting (SQLite targets are always
  // reachable, so the state is then settled) and the service state settled: the first
  // start's switch markers and state events are journaled, so the heads stay put until
  // the test writes.
  s = sluiced_.WaitReady(
      [](const v1::StatusResponse& r) {
        for (const auto& a : r.appliers()) {
          if (a.state() == "connecting") return false;
        }
        return r.state() == "active" || r.state() == "isolated";
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(s.ok()) << "sluiced did not come up: " << s.ToString() << "\nlog:\n"
                      << ReadFile(log());
  Connect();
}

std::map<std::string, uint64_t> Daemon::Heads() {
  std::map<std::string, uint64_t> last;
  for (int i = 0; i < 100; ++i) {
    v1::StatusResponse r;
    EXPECT_TRUE(Admin(&r).ok());
    std::map<std::string, uint64_t> heads;
    for (const auto& s : r.streams()) heads[s.name()] = s.head_lsn();
    if (heads == last) break;
    last = std::move(heads);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

void Daemon::Connect() {
  channel_ = OpenChannel(address(), config_.tls_ca);
  admin_ = v1::Admin::NewStub(channel_);
  ingest_ = v1::Ingest::NewStub(channel_);
  sql_ = v1::Sql::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> Daemon::Context(const std::string& token) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return ctx;
}

uint64_t Daemon::HeadLsn(const std::string& stream) {
  v1::StatusResponse st;
  grpc::Status gs = Admin(&st);
  EXPECT_TRUE(gs.ok()) << gs.error_message();
  for (const auto& s : st.streams()) {
    if (s.name() == stream) return s.head_lsn();
  }
  ADD_FAILURE() << "Admin.Status names no stream '" << stream << "'";
  return 0;
}

grpc::Status Daemon::Admin(v1::StatusResponse* out, const std::string& token) {
  auto ctx = Context(config_.auth ? token : "");
  return admin_->Status(ctx.get(), v1::StatusRequest(), out);
}

grpc::Status Daemon::Commit(const v1::CommitRequest& req, v1::CommitResponse* out,
                            const std::string& token) {
  auto ctx = Context(config_.auth ? token : "");
  return ingest_->Commit(ctx.get(), req, out);
}

grpc::Status Daemon::Hello(const std::string& client, v1::HelloResponse* out,
                           const std::string& token) {
  v1::HelloRequest req;
  req.set_client_id(client);
  auto ctx = Context(config_.auth ? token : "");
  return ingest_->Hello(ctx.get(), req, out);
}

v1::StatusResponse Daemon::WaitCaughtUp(std::chrono::milliseconds timeout) {
  v1::StatusResponse last;
  // The heads of the first answer: what was journaled before the call. Chasing the
  // current head instead never ends while the sampler journals a record every second and
  // an applier on a loaded machine stays a second behind.
  std::map<std::string, uint64_t> heads;
  bool ok = WaitFor(
      [&] {
        if (!Admin(&last).ok()) return false;
        if (heads.empty()) {
          for (const auto& s : last.streams()) heads[s.name()] = s.head_lsn();
        }
        for (const auto& a : last.appliers()) {
          if (a.state() == "disabled") continue;
          if (a.applied_lsn() < heads[a.stream()]) return false;
        }
        return true;
      },
      timeout);
  EXPECT_TRUE(ok) << "appliers did not catch up: " << last.DebugString();
  return last;
}

v1::Record SampleRecord(int64_t first_point, int rows, int64_t ts_us) {
  v1::Record r;
  auto* b = r.mutable_samples();
  b->set_interval(v1::SAMPLE_INTERVAL_1S);
  for (int i = 0; i < rows; ++i) {
    b->add_point_id(first_point + i);
    b->add_ts_us(ts_us);
    b->add_value(0.5 * i);
    b->add_quality(0);
  }
  return r;
}

v1::Record EventRecord(int events, int64_t ts_us, const std::string& text) {
  v1::Record r;
  for (int i = 0; i < events; ++i) {
    auto* e = r.mutable_events()->add_events();
    e->set_ts_us(ts_us + i);
    e->set_point_id(i);
    e->set_kind("breaker_trip");
    e->set_text(text);
  }
  return r;
}

}  // namespace sluice::testing
