#include "client/sluiced_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <sqlite3.h>

#include "sluice/v1/service.grpc.pb.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::client::testing {
namespace {

bool PortAccepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

}  // namespace

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

SluicedProcess::SluicedProcess(std::string dir, std::vector<int> ports)
    : dir_(std::move(dir)), ports_(std::move(ports)) {
  WriteConfig();
}

void SluicedProcess::EnableTls(const std::string& cert_file, const std::string& key_file,
                               const std::string& ca_file) {
  tls_section_ =
      fmt::format("\n[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n", cert_file, key_file);
  std::ifstream in(ca_file);
  std::stringstream ss;
  ss << in.rdbuf();
  ca_pem_ = ss.str();
  WriteConfig();
}

void SluicedProcess::WriteConfig() {
  std::string listen;
  for (int p : ports_) listen += fmt::format("{}\"127.0.0.1:{}\"", listen.empty() ? "" : ", ", p);
  std::ofstream(dir_ + "/sluiced.toml") << fmt::format(R"([node]
id = "client-test"
data_dir = "{0}/data"
listen = [{1}]
log_level = "info"

[journal]
segment_size = "16MiB"
free_space_floor = "0"
retention_interval = "200ms"

[auth]
required = true

[[auth.token]]
name = "test"
token = "{2}"
roles = ["ingest", "read", "sql", "admin"]

[[target]]
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
{3})",
                                                       dir_, listen, kToken, tls_section_);
}

SluicedProcess::~SluicedProcess() {
  if (pid_ > 0) Kill(SIGKILL);
}

Status SluicedProcess::Start(const std::string& failpoints) {
  if (pid_ > 0) return Status::FailedPrecondition("sluiced is already running");
  const std::string config = dir_ + "/sluiced.toml";
  const std::string log = dir_ + "/sluiced.log";
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno("fork", SLUICED_PATH, errno);
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    if (failpoints.empty()) {
      unsetenv("SLUICE_FAILPOINTS");
    } else {
      setenv("SLUICE_FAILPOINTS", failpoints.c_str(), 1);
    }
    execl(SLUICED_PATH, "sluiced", "--config", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Internal(
          fmt::format("sluiced exited during start (status {}): {}", st, LogTail()));
    }
    bool all = true;
    for (int p : ports_) all = all && PortAccepts(p);
    if (all) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill(SIGKILL);
  return Status::DeadlineExceeded(fmt::format("sluiced did not listen within 60 s: {}", LogTail()));
}

Status SluicedProcess::Stop() {
  if (pid_ <= 0) return Status::OK();
  kill(pid_, SIGTERM);
  int st = 0;
  waitpid(pid_, &st, 0);
  pid_ = -1;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    return Status::Internal(
        fmt::format("sluiced did not stop cleanly (status {}): {}", st, LogTail()));
  }
  return Status::OK();
}

void SluicedProcess::Kill(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  int st = 0;
  waitpid(pid_, &st, 0);
  pid_ = -1;
}

int SluicedProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return st;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string SluicedProcess::address(size_t i) const {
  return fmt::format("127.0.0.1:{}", ports_.at(i));
}

std::string SluicedProcess::target_db(const std::string& target) const {
  return fmt::format("{}/data/targets/{}.db", dir_, target);
}

std::string SluicedProcess::LogTail(size_t max_bytes) const {
  std::ifstream in(dir_ + "/sluiced.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

Result<v1::StatusResponse> SluicedProcess::AdminStatus() const {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!ca_pem_.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca_pem_;
    creds = grpc::SslCredentials(ssl);
  }
  auto channel = grpc::CreateChannel(address(0), creds);
  auto stub = v1::Admin::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::StatusResponse resp;
  grpc::Status gs = stub->Status(&ctx, v1::StatusRequest(), &resp);
  if (!gs.ok()) return Status::Unavailable(fmt::format("Admin.Status: {}", gs.error_message()));
  return resp;
}

Result<uint64_t> SluicedProcess::HeadLsn(const std::string& stream) const {
  SLUICE_ASSIGN_OR_RETURN(auto status, AdminStatus());
  for (const auto& s : status.streams()) {
    if (s.name() == stream) return s.head_lsn();
  }
  return Status::NotFound(fmt::format("no stream '{}' in Admin.Status", stream));
}

Status SluicedProcess::WaitApplied(const std::string& stream,
                                   std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    auto status = AdminStatus();
    if (status.ok()) {
      uint64_t head = 0;
      for (const auto& s : status->streams()) {
        if (s.name() == stream) head = s.head_lsn();
      }
      bool all = true;
      last.clear();
      for (const auto& a : status->appliers()) {
        if (a.stream() != stream) continue;
        all = all && a.applied_lsn() >= head;
        last +=
            fmt::format("{}: applied {} of {} ({}) ", a.target(), a.applied_lsn(), head, a.state());
      }
      if (all) return Status::OK();
    } else {
      last = status.status().ToString();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::DeadlineExceeded(fmt::format("stream '{}' not applied: {}", stream, last));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::vector<std::vector<std::string>>> QueryRows(const std::string& db,
                                                        const std::string& sql) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string msg = h ? sqlite3_errmsg(h) : "out of memory";
    sqlite3_close(h);
    return Status::IOError(fmt::format("{}: {}", db, msg));
  }
  sqlite3_busy_timeout(h, 10000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(h);
    sqlite3_close(h);
    return Status::InvalidArgument(fmt::format("{}: {}: {}", db, sql, msg));
  }
  std::vector<std::vector<std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const unsigned char* t = sqlite3_column_text(st, i);
      row.push_back(t ? reinterpret_cast<const char*>(t) : "<NULL>");
    }
    rows.push_back(std::move(row));
  }
  std::string msg = sqlite3_errmsg(h);
  sqlite3_finalize(st);
  sqlite3_close(h);
  if (rc != SQLITE_DONE) return Status::IOError(fmt::format("{}: {}: {}", db, sql, msg));
  return rows;
}

Result<int64_t> QueryInt(const std::string& db, const std::string& sql) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, QueryRows(db, sql));
  if (rows.size() != 1 || rows[0].size() != 1) {
    return Status::InvalidArgument(fmt::format("{}: expected one value", sql));
  }
  return std::stoll(rows[0][0]);
}

}  // namespace sluice::client::testing
