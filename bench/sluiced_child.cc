#include "bench/sluiced_child.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "common/file_system.h"

namespace sluice::bench {

using Clock = std::chrono::steady_clock;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error(fmt::format("no free loopback port: {}", std::strerror(errno)));
  }
  close(fd);
  return ntohs(a.sin_port);
}

SluicedChild::SluicedChild(std::string binary, std::string dir)
    : binary_(std::move(binary)), dir_(std::move(dir)), port_(FreePort()) {
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  admin_ = v1::Admin::NewStub(channel_);
}

SluicedChild::~SluicedChild() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string SluicedChild::address() const { return fmt::format("127.0.0.1:{}", port_); }
std::string SluicedChild::config() const { return JoinPath(dir_, "sluiced.toml"); }
std::string SluicedChild::log() const { return JoinPath(dir_, "sluiced.log"); }

Status SluicedChild::Launch(const std::function<bool(const v1::StatusResponse&)>& ready) {
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno("fork", binary_, errno);
  if (pid == 0) {
    // Never outlive the benchmark (a crash or ^C would leave a daemon behind).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl(binary_.c_str(), "sluiced", "--config", config().c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  std::string last;
  while (Clock::now() < deadline) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Internal(fmt::format("sluiced exited during start (status {}): {}", st, LogTail()));
    }
    auto s = AdminStatus(std::chrono::seconds(2));
    if (s.ok()) {
      if (ready(*s)) return Status::OK();
      last = s->ShortDebugString();
    } else {
      last = s.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::DeadlineExceeded(fmt::format("sluiced not ready within 120 s ({}): {}", last, LogTail()));
}

Status SluicedChild::Stop() {
  if (pid_ <= 0) return Status::OK();
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  int st = 0;
  while (waitpid(pid_, &st, WNOHANG) != pid_) {
    if (Clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
      pid_ = -1;
      return Status::Internal("sluiced did not stop within 60 s of SIGTERM");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    return Status::Internal(fmt::format("sluiced exited with status {}: {}", st, LogTail()));
  }
  return Status::OK();
}

Result<v1::StatusResponse> SluicedChild::AdminStatus(std::chrono::milliseconds timeout) const {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::StatusResponse resp;
  grpc::Status gs = admin_->Status(&ctx, v1::StatusRequest(), &resp);
  if (!gs.ok()) return Status::Unavailable(fmt::format("Admin.Status: {}", gs.error_message()));
  return resp;
}

std::string SluicedChild::LogTail(size_t max_bytes) const {
  std::ifstream in(log());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

}  // namespace sluice::bench
