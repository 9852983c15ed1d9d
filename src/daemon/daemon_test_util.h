#pragma once
// Helpers for tests that run real `sluiced` (and `sluice`) processes (header-only, tests
// only): a temporary directory, a free loopback port, a child process with its output in
// a file, a config with SQLite targets, gRPC stubs with a token, and SQLite row counts.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "sluice/v1/service.grpc.pb.h"

extern char** environ;

namespace sluice::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice_dtest_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(std::string_view name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// A port that was free a moment ago: bound to port 0, read back, released.
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    ADD_FAILURE() << "bind to port 0 failed";
    return 0;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Polls `done` until it is true or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A child process with stdout and stderr appended to `log`.
class Process {
 public:
  Process() = default;
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void Start(const std::vector<std::string>& args, const std::string& log,
             const std::map<std::string, std::string>& env = {}) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view kv(*e);
      auto eq = kv.find('=');
      if (eq != kv.npos && env.count(std::string(kv.substr(0, eq)))) continue;
      env_strings.emplace_back(kv);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << "cannot start " << args[0];
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }

  // Sends `sig` and waits up to `timeout` for the exit; the exit code, 128+signal when
  // killed by one, or -1 on timeout (the process is then killed).
  int Stop(int sig = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    if (pid_ > 0) ::kill(pid_, sig);
    return Wait(timeout);
  }

  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    if (!WaitFor([&] { return !running(); }, timeout)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return -1;
    }
    if (WIFEXITED(exit_status_)) return WEXITSTATUS(exit_status_);
    if (WIFSIGNALED(exit_status_)) return 128 + WTERMSIG(exit_status_);
    return -1;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int exit_status_ = 0;
};

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a command to completion.
inline RunResult RunCommand(const std::vector<std::string>& args, const std::string& log,
                            const std::map<std::string, std::string>& env = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  std::filesystem::remove(log);
  RunResult r;
  {
    Process p;
    p.Start(args, log, env);
    r.exit_code = p.Wait(timeout);
  }
  r.output = ReadFile(log);
  return r;
}

// Count of rows of an SQLite target's table (-1 when it cannot be read).
inline int64_t CountRows(const std::string& db, const std::string& table,
                         const std::string& where = "") {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    return -1;
  }
  sqlite3_busy_timeout(h, 5000);
  std::string sql = "SELECT count(*) FROM " + table + (where.empty() ? "" : " WHERE " + where);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

inline int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Tokens of the test configs.
inline constexpr char kIngestToken[] = "ingest-token-0123456789abcdef";
inline constexpr char kAdminToken[] = "admin-token-0123456789abcdef";

struct DaemonConfig {
  std::string node_id = "test";
  bool auth = true;
  std::string extra;    // more TOML appended at the end ([limits], [[stream]], ...)
  std::string node;     // more lines for [node] (log_file, ...)
  std::string targets;  // the [[target]] tables; empty: SQLite primaries a, b, replica dr
  std::string journal;  // lines for [journal]
  std::string tls_ca;   // with [tls] in `extra`: the CA the test's client verifies against

  static DaemonConfig NoAuth() {
    DaemonConfig c;
    c.auth = false;
    return c;
  }
};

inline constexpr char kSqliteTargets[] = R"([[target]]
name = "a"
role = "primary"
priority = 100
driver = "sqlite"
connection = "targets/a.db"

[[target]]
name = "b"
role = "primary"
priority = 90
driver = "sqlite"
connection = "targets/b.db"

[[target]]
name = "dr"
role = "replica"
driver = "sqlite"
connection = "targets/dr.db"
)";

// A sluiced under `dir`, listening on a free loopback port; by default with two SQLite
// primaries (a, b) and one replica (dr) kept in DATA_DIR/targets.
class Daemon {
 public:
  Daemon(const TempDir& dir, DaemonConfig config = {}) : dir_(dir), config_(std::move(config)) {
    port_ = FreePort();
    config_path_ = dir_.Sub("sluiced.toml");
    std::string auth = config_.auth ? fmt::format(R"([auth]
required = true

[[auth.token]]
name = "ingester"
token = "{}"
roles = ["ingest"]

[[auth.token]]
name = "operator"
token = "{}"
roles = ["admin", "read"]
)",
                                                  kIngestToken, kAdminToken)
                                    : "[auth]\nrequired = false\n";
    WriteFile(config_path_,
              fmt::format(R"([node]
id = "{}"
data_dir = "data"
listen = ["127.0.0.1:{}"]
log_level = "info"
{}

[journal]
{}

{}
{}

{}
)",
                          config_.node_id, port_, config_.node, config_.journal, auth,
                          config_.targets.empty() ? kSqliteTargets : config_.targets, config_.extra));
  }
  ~Daemon() { Kill(); }

  std::string address() const { return fmt::format("127.0.0.1:{}", port_); }
  const std::string& config_path() const { return config_path_; }
  std::string db(const std::string& target) const {
    return dir_.Sub("data/targets/" + target + ".db");
  }
  std::string log() const { return dir_.Sub("sluiced.log"); }

  // Starts sluiced and waits until it answers Admin.Status with its appliers connected.
  void Start(const std::map<std::string, std::string>& env = {}) {
    process_ = std::make_unique<Process>();
    process_->Start({SLUICED_PATH, "--config", config_path_}, log(), env);
    Connect();
    // Up means answering, with every applier past connecting (SQLite targets are always
    // reachable, so the state is then settled).
    bool up = WaitFor([&] {
      if (!process_->running()) return true;
      v1::StatusResponse r;
      if (!Admin(&r).ok()) {
        Connect();  // a fresh channel: a failed one waits out its reconnect backoff
        return false;
      }
      for (const auto& a : r.appliers()) {
        if (a.state() == "connecting") return false;
      }
      // The service state settled: the first start's switch markers and state events are
      // journaled, so the heads stay put until the test writes.
      return r.state() == "active" || r.state() == "isolated";
    });
    ASSERT_TRUE(up && process_->running()) << "sluiced did not come up; log:\n" << ReadFile(log());
  }
  // Every stream's durable head LSN, once it stays put for 100 ms (a state change's event
  // is journaled without waiting for it, so it may become durable just after).
  std::map<std::string, uint64_t> Heads() {
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
  void Connect() {
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    if (!config_.tls_ca.empty()) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = ReadFile(config_.tls_ca);
      creds = grpc::SslCredentials(ssl);
    }
    channel_ = grpc::CreateChannel(address(), creds);
    admin_ = v1::Admin::NewStub(channel_);
    ingest_ = v1::Ingest::NewStub(channel_);
    sql_ = v1::Sql::NewStub(channel_);
  }
  // SIGTERM; returns the exit code.
  int Stop() { return process_ ? process_->Stop(SIGTERM) : -1; }
  int Kill() { return process_ ? process_->Stop(SIGKILL) : -1; }
  Process* process() { return process_.get(); }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return ctx;
  }
  grpc::Status Admin(v1::StatusResponse* out, const std::string& token = kAdminToken) {
    auto ctx = Context(config_.auth ? token : "");
    return admin_->Status(ctx.get(), v1::StatusRequest(), out);
  }
  grpc::Status Commit(const v1::CommitRequest& req, v1::CommitResponse* out,
                      const std::string& token = kIngestToken) {
    auto ctx = Context(config_.auth ? token : "");
    return ingest_->Commit(ctx.get(), req, out);
  }
  grpc::Status Hello(const std::string& client, v1::HelloResponse* out,
                     const std::string& token = kIngestToken) {
    v1::HelloRequest req;
    req.set_client_id(client);
    auto ctx = Context(config_.auth ? token : "");
    return ingest_->Hello(ctx.get(), req, out);
  }
  v1::Admin::Stub& admin_stub() { return *admin_; }
  v1::Ingest::Stub& ingest_stub() { return *ingest_; }
  v1::Sql::Stub& sql_stub() { return *sql_; }

  // Waits until every applier's watermark is its stream's head (and every head is at
  // least `min_heads`); returns the last status.
  v1::StatusResponse WaitCaughtUp(std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    v1::StatusResponse last;
    bool ok = WaitFor(
        [&] {
          if (!Admin(&last).ok()) return false;
          std::map<std::string, uint64_t> heads;
          for (const auto& s : last.streams()) heads[s.name()] = s.head_lsn();
          for (const auto& a : last.appliers()) {
            if (a.state() == "disabled") continue;
            if (a.applied_lsn() != heads[a.stream()]) return false;
          }
          return true;
        },
        timeout);
    EXPECT_TRUE(ok) << "appliers did not catch up: " << last.DebugString();
    return last;
  }

 private:
  const TempDir& dir_;
  DaemonConfig config_;
  int port_ = 0;
  std::string config_path_;
  std::unique_ptr<Process> process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Ingest::Stub> ingest_;
  std::unique_ptr<v1::Sql::Stub> sql_;
};

// A sample batch of `rows` rows for points first_point.. at one timestamp.
inline v1::Record SampleRecord(int64_t first_point, int rows, int64_t ts_us) {
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

inline v1::Record EventRecord(int events, int64_t ts_us, const std::string& text = "event") {
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
