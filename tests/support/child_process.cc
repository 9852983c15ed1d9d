#include "support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <thread>

extern char** environ;

namespace sluice::testing {

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

Status ChildProcess::Start(const std::vector<std::string>& args, const std::string& log,
                           const ChildEnv& env, bool die_with_parent) {
  if (pid_ > 0) return Status::FailedPrecondition(args.at(0) + " is already running");
  // Everything the child needs is built here: between fork and exec only async-signal-safe
  // calls are allowed (the parent has other threads, e.g. gRPC's).
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
  for (const auto& [k, v] : env) {
    if (!v.empty()) env_strings.push_back(k + "=" + v);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork", args[0], errno);
  if (pid == 0) {
    if (die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  pid_ = pid;
  exited_ = false;
  return Status::OK();
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    wait_status_ = status;
    exited_ = true;
    pid_ = -1;
    return false;
  }
  return true;
}

Status ChildProcess::Signal(int sig) {
  if (pid_ <= 0) return Status::FailedPrecondition("no child process is running");
  if (::kill(pid_, sig) != 0) return Status::FromErrno("kill", std::to_string(pid_), errno);
  return Status::OK();
}

int ChildProcess::WaitExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exited_ ? wait_status_ : -1;
}

int ChildProcess::Wait(std::chrono::milliseconds timeout) {
  const int status = WaitExit(timeout);
  if (status == -1) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }
  return ExitCode(status);
}

int ChildProcess::Stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ > 0) ::kill(pid_, sig);
  return Wait(timeout);
}

RunResult RunCommand(const std::vector<std::string>& args, const std::string& log,
                     const ChildEnv& env, std::chrono::milliseconds timeout) {
  std::error_code ec;
  std::filesystem::remove(log, ec);
  RunResult r;
  {
    ChildProcess p;
    Status s = p.Start(args, log, env);
    if (!s.ok()) {
      r.output = s.ToString();
      return r;
    }
    r.exit_code = p.Wait(timeout);
  }
  r.output = ReadWholeFile(log);
  return r;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string FileTail(const std::string& path, size_t max_bytes) {
  std::string s = ReadWholeFile(path);
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace sluice::testing
