#include "support/pg_server.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <chrono>
#include <thread>

namespace sluice::testing {
namespace {

std::unique_ptr<PgServer> StartServer(PgServerOptions options = {}) {
  auto server = PgServer::CreateAndStart(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(server).value() : nullptr;
}

TEST(PgServerTest, StartQueryStop) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(server->running());
  EXPECT_GT(server->postmaster_pid(), 0);

  auto v = server->QueryValue("SELECT 40 + 2");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "42");
  auto fsync = server->QueryValue("SHOW fsync");
  ASSERT_TRUE(fsync.ok());
  EXPECT_EQ(*fsync, "on");
  // Unix socket only.
  auto listen = server->QueryValue("SHOW listen_addresses");
  ASSERT_TRUE(listen.ok());
  EXPECT_EQ(*listen, "");

  ASSERT_TRUE(server->Exec("CREATE TABLE t(a int, b text); INSERT INTO t VALUES (1, NULL)").ok());
  auto rows = server->QueryRows("SELECT a, b FROM t");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], "1");
  EXPECT_EQ((*rows)[0][1], PgServer::kNull);

  Status bad = server->Exec("SELEC 1");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("42601"), std::string::npos) << bad.ToString();

  ASSERT_TRUE(server->CreateDatabase("other db").ok());
  auto db = server->QueryValue("SELECT current_database()", "other db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*db, "other db");

  ASSERT_TRUE(server->Stop().ok());
  EXPECT_FALSE(server->running());
  EXPECT_TRUE(server->ProcessIds().empty());
  // Data survives a clean restart.
  ASSERT_TRUE(server->Start().ok());
  auto count = server->QueryValue("SELECT count(*) FROM t");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, "1");
}

TEST(PgServerTest, SigkillWaitOrphansRestart) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->Exec("CREATE TABLE t(a int); INSERT INTO t VALUES (1)").ok());

  // An open session: its backend outlives the postmaster for a while.
  PGconn* conn = PQconnectdb(server->ConnInfo().c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  EXPECT_GT(server->ProcessIds().size(), 1u);

  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(server->Kill(SIGKILL).ok());
    EXPECT_FALSE(server->running());
    ASSERT_TRUE(server->WaitForOrphans().ok());
    EXPECT_TRUE(server->ProcessIds().empty());
    Status st = server->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(server->Exec("INSERT INTO t VALUES (1)").ok());
  }
  auto count = server->QueryValue("SELECT count(*) FROM t");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, "4");

  // The old session is dead.
  PGresult* res = PQexec(conn, "SELECT 1");
  EXPECT_NE(PQresultStatus(res), PGRES_TUPLES_OK);
  PQclear(res);
  PQfinish(conn);

  // Start() alone waits for orphans too.
  ASSERT_TRUE(server->Kill(SIGKILL).ok());
  Status st = server->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(server->QueryValue("SELECT 1").ok());
}

TEST(PgServerTest, StopImmediateAndRestart) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->Exec("CREATE TABLE t(a int); INSERT INTO t VALUES (7)").ok());
  ASSERT_TRUE(server->Stop(/*immediate=*/true).ok());
  EXPECT_TRUE(server->ProcessIds().empty());
  ASSERT_TRUE(server->Start().ok());
  auto v = server->QueryValue("SELECT a FROM t");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "7");
}

TEST(PgServerTest, SigstopFreezesAndSigcontResumes) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  PGconn* conn = PQconnectdb(server->ConnInfo().c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);

  ASSERT_TRUE(server->KillAll(SIGSTOP).ok());
  // A frozen server accepts nothing: a new connection times out.
  auto t0 = std::chrono::steady_clock::now();
  PGconn* c2 = PQconnectdb((server->ConnInfo() + " connect_timeout=2").c_str());
  EXPECT_NE(PQstatus(c2), CONNECTION_OK);
  PQfinish(c2);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  // The existing session's backend is frozen too: a query sent on it gets no answer.
  ASSERT_EQ(PQsendQuery(conn, "SELECT 1"), 1);
  ASSERT_EQ(PQflush(conn), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(PQconsumeInput(conn), 1);
  EXPECT_EQ(PQisBusy(conn), 1);

  ASSERT_TRUE(server->KillAll(SIGCONT).ok());
  PGresult* res = PQgetResult(conn);  // blocks until the answer comes
  EXPECT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
  PQclear(res);
  while ((res = PQgetResult(conn)) != nullptr) PQclear(res);
  PQfinish(conn);
  EXPECT_TRUE(server->QueryValue("SELECT 1").ok());

  // Postmaster alone: new connections wait, the existing backends still answer.
  ASSERT_TRUE(server->Kill(SIGSTOP).ok());
  ASSERT_TRUE(server->Kill(SIGCONT).ok());
  EXPECT_TRUE(server->QueryValue("SELECT 1").ok());

  // The destructor copes with a stopped server.
  ASSERT_TRUE(server->KillAll(SIGSTOP).ok());
}

TEST(PgServerTest, TwoServersAtOnce) {
  auto a = StartServer();
  auto b = StartServer();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->dir(), b->dir());
  EXPECT_NE(a->ConnInfo(), b->ConnInfo());
  ASSERT_TRUE(a->Exec("CREATE TABLE only_a(x int)").ok());
  ASSERT_TRUE(b->Exec("CREATE TABLE only_b(x int)").ok());
  auto in_a = a->QueryValue("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'only_%'");
  auto in_b = b->QueryValue("SELECT tablename FROM pg_tables WHERE tablename LIKE 'only_%'");
  ASSERT_TRUE(in_a.ok());
  ASSERT_TRUE(in_b.ok());
  EXPECT_EQ(*in_a, "1");
  EXPECT_EQ(*in_b, "only_b");

  // Killing one leaves the other alone.
  ASSERT_TRUE(a->KillAll(SIGKILL).ok());
  EXPECT_TRUE(b->QueryValue("SELECT 1").ok());
  ASSERT_TRUE(a->Start().ok());
  EXPECT_TRUE(a->QueryValue("SELECT count(*) FROM only_a").ok());
}

TEST(PgServerTest, DestructorRemovesDirectory) {
  std::string dir;
  {
    auto server = StartServer();
    ASSERT_NE(server, nullptr);
    dir = server->dir();
    EXPECT_EQ(access(dir.c_str(), F_OK), 0);
  }
  EXPECT_NE(access(dir.c_str(), F_OK), 0);
}

TEST(PgServerTest, FsyncIsConfigurable) {
  PgServerOptions options;
  options.fsync = false;
  options.settings.push_back({"work_mem", "8MB"});
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(*server->QueryValue("SHOW fsync"), "off");
  EXPECT_EQ(*server->QueryValue("SHOW work_mem"), "8MB");
}

}  // namespace
}  // namespace sluice::testing
