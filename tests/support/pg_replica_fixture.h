#pragma once
// A test fixture of one real sluiced with two PostgreSQL primaries (pg-a, priority 100;
// pg-b, 90) and a SQLite replica (lite), as the sampling, trigger and recall PostgreSQL
// tests use it: Start() brings it up and waits until every applier runs and pg-a is
// active; WaitCaughtUp() waits until everything journaled before the call is applied
// everywhere; Rows() answers one query from every target.
//
// Thread safety: a test fixture; one test thread.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "sluice/v1/service.grpc.pb.h"
#include "support/daemon.h"
#include "support/pg_servers.h"

namespace sluice::testing {

class PgReplicaFixture : public ::testing::Test {
 protected:
  // `sluiced_path`: the binary under test (each test binary's SLUICED_PATH).
  explicit PgReplicaFixture(std::string sluiced_path)
      : daemon_(std::move(sluiced_path), dir_.path()) {}

  // Starts the servers and sluiced, named `name` in its config.
  void Start(const std::string& name) {
    auto pg = StartPgServers(2);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg).value();
    ASSERT_TRUE(daemon_
                    .WriteConfig(ConfigBuilder(name)
                                     .Listen(daemon_.port())
                                     .NoAuth()
                                     .Primary("pg-a", "postgres", pg_[0]->ConnInfo("sluice"), 100)
                                     .Primary("pg-b", "postgres", pg_[1]->ConnInfo("sluice"), 90)
                                     .Replica("lite", "sqlite", "lite.db")
                                     .Toml())
                    .ok());
    ASSERT_TRUE(daemon_.Start().ok());
    channel_ = OpenChannel(daemon_.address());
    admin_ = v1::Admin::NewStub(channel_);
    sampling_ = v1::Sampling::NewStub(channel_);
    const sluice::Status up = daemon_.WaitReady(
        [](const v1::StatusResponse& st) {
          for (const auto& a : st.appliers()) {
            if (a.state() != "running") return false;
          }
          return st.active_target() == "pg-a";
        },
        std::chrono::seconds(120));
    ASSERT_TRUE(up.ok()) << up.ToString() << "\n" << ReadFile(daemon_.log_path());
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return ctx;
  }

  // Admin.Status; a failed call fails the test and answers an empty status.
  v1::StatusResponse Status() {
    v1::StatusResponse st;
    grpc::Status s = admin_->Status(Ctx().get(), v1::StatusRequest(), &st);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return st;
  }

  // Waits until every applier has applied its stream's head as the first answer gave it
  // (taken once: the sampler and the recall windows keep journaling, so the current head
  // moves on while an applier on a loaded machine stays a second behind).
  bool WaitCaughtUp() {
    std::map<std::string, uint64_t> heads;
    return WaitFor(
        [&] {
          v1::StatusResponse st;
          if (!admin_->Status(Ctx().get(), v1::StatusRequest(), &st).ok()) return false;
          if (heads.empty()) {
            for (const auto& s : st.streams()) heads[s.name()] = s.head_lsn();
          }
          for (const auto& a : st.appliers()) {
            if (a.applied_lsn() < heads[a.stream()]) return false;
          }
          return true;
        },
        std::chrono::seconds(120));
  }

  // The rows of `sql` on every target, in the order pg-a, pg-b, lite; NULL as kNull.
  std::vector<std::vector<std::vector<std::string>>> Rows(const std::string& sql) {
    std::vector<std::vector<std::vector<std::string>>> out;
    for (auto& pg : pg_) {
      auto r = pg->QueryRows(sql, "sluice");
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      out.push_back(r.ok() ? *r : std::vector<std::vector<std::string>>{});
    }
    QueryOptions o;
    o.null_text = PgServer::kNull;
    auto r = QueryRows(dir_.Sub("data/lite.db"), sql, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    out.push_back(r.ok() ? *r : std::vector<std::vector<std::string>>{});
    return out;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<PgServer>> pg_;
  Sluiced daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Sampling::Stub> sampling_;
};

}  // namespace sluice::testing
