#include "support/pg_server.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace sluice::testing {
namespace {

// The contents of a /proc file, or "" when it cannot be read (the process is gone).
std::string ReadProcFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kTmpRoot = "/tmp";

// Where the PostgreSQL server binaries are: $SLUICE_PG_BINDIR, else the newest
// /usr/lib/postgresql/N/bin that has them.
std::string PgBinDir() {
  if (const char* env = getenv("SLUICE_PG_BINDIR"); env != nullptr && *env != '\0') return env;
  for (int v = 18; v >= 12; --v) {
    std::string dir = fmt::format("/usr/lib/postgresql/{}/bin", v);
    if (access((dir + "/postgres").c_str(), X_OK) == 0) return dir;
  }
  return "/usr/lib/postgresql/15/bin";
}

struct PgUser {
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<PgUser> LookupPgUser() {
  struct passwd pw;
  struct passwd* out = nullptr;
  std::vector<char> buf(16384);
  int rc = getpwnam_r("postgres", &pw, buf.data(), buf.size(), &out);
  if (rc != 0 || out == nullptr) {
    return Status::FailedPrecondition("PgServer: no `postgres` user on this machine");
  }
  return PgUser{pw.pw_uid, pw.pw_gid};
}

Status ChownToPg(const std::string& path, const PgUser& user) {
  if (chown(path.c_str(), user.uid, user.gid) != 0) return Status::FromErrno("chown", path, errno);
  return Status::OK();
}

// Everything a child needs, prepared before fork() so the child only makes
// async-signal-safe calls.
struct SpawnSpec {
  std::vector<std::string> argv;
  std::string cwd;
  std::string log_path;  // stdout+stderr appended here; empty: /dev/null
  bool as_postgres = true;
  bool own_process_group = false;
  bool die_with_parent = false;  // SIGQUIT when the forking thread dies
};

bool OnMainThread() { return static_cast<pid_t>(syscall(SYS_gettid)) == getpid(); }

Result<pid_t> Spawn(const SpawnSpec& spec) {
  PgUser user;
  if (spec.as_postgres) {
    SLUICE_ASSIGN_OR_RETURN(user, LookupPgUser());
  }
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  static const char* const kEnv[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC", nullptr};
  int log_fd = open(spec.log_path.empty() ? "/dev/null" : spec.log_path.c_str(),
                    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::FromErrno("open", spec.log_path, errno);
  if (spec.as_postgres && !spec.log_path.empty()) {
    if (fchown(log_fd, user.uid, user.gid) != 0) {
      int err = errno;
      close(log_fd);
      return Status::FromErrno("fchown", spec.log_path, err);
    }
  }
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    int err = errno;
    close(log_fd);
    return Status::FromErrno("open", "/dev/null", err);
  }
  const pid_t parent = getpid();
  const bool pdeath = spec.die_with_parent && OnMainThread();

  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(log_fd);
    close(null_fd);
    return Status::FromErrno("fork", spec.argv[0], err);
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    if (spec.own_process_group) setpgid(0, 0);
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) _exit(126);
    close_range(3, ~0U, 0);
    if (chdir(spec.cwd.c_str()) != 0) _exit(126);
    if (spec.as_postgres) {
      if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) _exit(126);
    }
    // Set after setuid: a credential change clears the parent-death signal.
    if (pdeath) {
      prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (getppid() != parent) _exit(126);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), const_cast<char* const*>(kEnv));
    _exit(127);
  }
  close(log_fd);
  close(null_fd);
  return pid;
}

// Polls waitpid until `pid` exits or `timeout` passes. Returns the wait status, or -1
// when it did not exit in time (the process is then left alone).
int WaitExit(pid_t pid, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    int wstatus = 0;
    pid_t r = waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) return wstatus;
    if (r < 0 && errno == ECHILD) return 0;  // reaped elsewhere: it is gone either way
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

std::string ReadFileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string out(size - start, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

std::string DescribeExit(int wstatus) {
  if (WIFEXITED(wstatus)) return fmt::format("exit code {}", WEXITSTATUS(wstatus));
  if (WIFSIGNALED(wstatus)) return fmt::format("signal {}", WTERMSIG(wstatus));
  return fmt::format("wait status {}", wstatus);
}

// Runs a program to completion (as postgres unless told otherwise).
Status RunToCompletion(SpawnSpec spec, Clock::duration timeout) {
  SLUICE_ASSIGN_OR_RETURN(pid_t pid, Spawn(spec));
  int wstatus = WaitExit(pid, timeout);
  if (wstatus < 0) {
    kill(pid, SIGKILL);
    WaitExit(pid, std::chrono::seconds(30));
    return Status::DeadlineExceeded(fmt::format("{} did not finish in time; log {}: {}",
                                                spec.argv[0], spec.log_path,
                                                ReadFileTail(spec.log_path, 2048)));
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return Status::Internal(fmt::format("{} failed ({}); log {}: {}", spec.argv[0],
                                        DescribeExit(wstatus), spec.log_path,
                                        ReadFileTail(spec.log_path, 2048)));
  }
  return Status::OK();
}

bool ProcessAlive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

// Live (non-zombie) processes whose command line contains `needle`.
std::vector<pid_t> FindProcesses(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  const pid_t self = getpid();
  while (struct dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0 || pid == self) continue;
    std::string base = fmt::format("/proc/{}/", pid);
    // A process may exit between listing and reading: plain read(2), which reports that
    // as an error, where an ifstream would throw (ESRCH) out of the test.
    std::string stat = ReadProcFile(base + "stat");
    if (stat.empty()) continue;
    auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) continue;
    char state = stat[paren + 2];
    if (state == 'Z' || state == 'X') continue;
    std::string cmdline = ReadProcFile(base + "cmdline");
    if (cmdline.find(needle) != std::string::npos) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return out;
}

// ---- the template cluster, made once per process ----

std::mutex g_template_mu;
std::string g_template_dir;  // GUARDED_BY(g_template_mu); empty until made
pid_t g_template_owner = -1;

void RemoveTemplateAtExit() {
  // Only the process that made it: a forked child exiting must not pull it away.
  if (getpid() != g_template_owner || g_template_dir.empty()) return;
  std::error_code ec;
  fs::remove_all(g_template_dir, ec);
}

// Removes what dead test processes left in /tmp: templates of a dead pid, and server
// dirs of a dead pid whose postmaster is gone too.
void RemoveStaleDirs() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kTmpRoot, ec)) {
    std::string name = entry.path().filename().string();
    long pid = 0;
    if (name.rfind("sluice-pg-template-", 0) == 0) {
      pid = strtol(name.c_str() + strlen("sluice-pg-template-"), nullptr, 10);
    } else if (name.rfind("sluice-pg-", 0) == 0) {
      pid = strtol(name.c_str() + strlen("sluice-pg-"), nullptr, 10);
      std::ifstream pidfile(entry.path() / "data" / "postmaster.pid");
      long postmaster = 0;
      if (pidfile >> postmaster && ProcessAlive(static_cast<pid_t>(postmaster))) continue;
    } else {
      continue;
    }
    if (pid <= 0 || ProcessAlive(static_cast<pid_t>(pid))) continue;
    std::error_code rm_ec;
    fs::remove_all(entry.path(), rm_ec);
  }
}

Status MakeDirForPg(const std::string& path, const PgUser& user) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("mkdir", path, errno);
  }
  if (chmod(path.c_str(), 0755) != 0) return Status::FromErrno("chmod", path, errno);
  return ChownToPg(path, user);
}

// The template data directory, made by initdb on first use.
Result<std::string> TemplateDataDir() {
  std::lock_guard<std::mutex> lock(g_template_mu);
  if (!g_template_dir.empty()) return g_template_dir + "/data";
  SLUICE_ASSIGN_OR_RETURN(PgUser user, LookupPgUser());
  RemoveStaleDirs();
  std::string dir = fmt::format("{}/sluice-pg-template-{}", kTmpRoot, getpid());
  std::error_code ec;
  fs::remove_all(dir, ec);
  SLUICE_RETURN_IF_ERROR(MakeDirForPg(dir, user));
  const std::string data = dir + "/data";
  SpawnSpec spec;
  spec.argv = {PgBinDir() + "/initdb",
               "-D",
               data,
               "-U",
               "postgres",
               "--auth=trust",
               "--encoding=UTF8",
               "--locale=C",
               "--no-sync",
               "--no-instructions"};
  spec.cwd = dir;
  spec.log_path = dir + "/initdb.log";
  Status st = RunToCompletion(spec, std::chrono::seconds(300));
  if (!st.ok()) {
    fs::remove_all(dir, ec);
    return st.Annotate("PgServer: initdb");
  }
  {
    // Settings every test server shares; per-server ones go on the command line.
    std::ofstream conf(data + "/postgresql.conf", std::ios::app);
    conf << "\n# sluice test harness\n"
            "listen_addresses = ''\n"
            "unix_socket_permissions = 0777\n"
            "huge_pages = off\n"
            "max_wal_size = '1GB'\n"
            "log_checkpoints = off\n"
            "log_min_messages = warning\n"
            "log_line_prefix = '%m [%p] %q%a '\n"
            "max_parallel_workers_per_gather = 0\n";
    if (!conf) {
      fs::remove_all(dir, ec);
      return Status::IOError("PgServer: cannot append to " + data + "/postgresql.conf");
    }
  }
  g_template_dir = dir;
  if (g_template_owner < 0) {
    g_template_owner = getpid();
    std::atexit(RemoveTemplateAtExit);
  }
  return data;
}

// One connection for the test helpers.
struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

Result<ConnPtr> Connect(const std::string& conninfo) {
  ConnPtr conn(PQconnectdb((conninfo + " connect_timeout=30").c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::Unavailable(fmt::format("PgServer: connecting to {}: {}", conninfo,
                                           conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  return conn;
}

Status ResultError(PGconn* conn, const PGresult* res, const std::string& sql) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return Status::InvalidArgument(
      fmt::format("SQLSTATE {}: {} (in: {})", state ? state : "?????", msg, sql.substr(0, 200)));
}

}  // namespace

PgServer::PgServer(PgServerOptions options, std::string dir)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      data_dir_(dir_ + "/data"),
      log_file_(dir_ + "/postgres.log"),
      cluster_name_(fs::path(dir_).filename().string()) {}

Result<std::unique_ptr<PgServer>> PgServer::Create(PgServerOptions options) {
  SLUICE_ASSIGN_OR_RETURN(std::string template_data, TemplateDataDir());
  SLUICE_ASSIGN_OR_RETURN(PgUser user, LookupPgUser());
  std::string pattern = fmt::format("{}/sluice-pg-{}-XXXXXX", kTmpRoot, getpid());
  if (mkdtemp(pattern.data()) == nullptr) return Status::FromErrno("mkdtemp", pattern, errno);
  // From here the destructor owns the directory.
  std::unique_ptr<PgServer> server(new PgServer(std::move(options), pattern));
  SLUICE_RETURN_IF_ERROR(MakeDirForPg(server->dir_, user));
  SpawnSpec spec;
  spec.argv = {"/bin/cp", "-a", template_data, server->data_dir_};
  spec.cwd = server->dir_;
  spec.log_path = server->dir_ + "/copy.log";
  SLUICE_RETURN_IF_ERROR(RunToCompletion(spec, std::chrono::seconds(300)).Annotate("PgServer"));
  return server;
}

Result<std::unique_ptr<PgServer>> PgServer::CreateAndStart(PgServerOptions options) {
  SLUICE_ASSIGN_OR_RETURN(auto server, Create(std::move(options)));
  SLUICE_RETURN_IF_ERROR(server->Start());
  return server;
}

PgServer::~PgServer() {
  if (pid_ > 0) {
    KillAll(SIGCONT).IgnoreError();  // a stopped server cannot take the shutdown signal
    Stop(/*immediate=*/true).IgnoreError();
  }
  WaitForOrphans(std::chrono::seconds(10)).IgnoreError();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PgServer::ConnInfo(const std::string& dbname) const {
  std::string quoted;
  for (char c : dbname) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return fmt::format("host={} port={} dbname='{}' user=postgres", dir_, options_.port, quoted);
}

std::string PgServer::LogTail(size_t max_bytes) const { return ReadFileTail(log_file_, max_bytes); }

std::vector<pid_t> PgServer::ProcessIds() const { return FindProcesses(cluster_name_); }

bool PgServer::ReapPostmaster() {
  if (pid_ <= 0) return true;
  int wstatus = 0;
  pid_t r = waitpid(pid_, &wstatus, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return true;
  }
  return false;
}

bool PgServer::running() { return !ReapPostmaster(); }

Status PgServer::WaitPostmasterExit(Clock::duration timeout) {
  if (pid_ <= 0) return Status::OK();
  if (WaitExit(pid_, timeout) < 0) {
    return Status::DeadlineExceeded(fmt::format("postmaster {} of {} did not exit", pid_, dir_));
  }
  pid_ = -1;
  return Status::OK();
}

Status PgServer::Start() {
  if (running()) return Status::FailedPrecondition("PgServer::Start: already running: " + dir_);
  SLUICE_RETURN_IF_ERROR(WaitForOrphans());
  // Stale lock files of a killed postmaster. Safe to remove only now that none of its
  // processes is alive; postgres would otherwise refuse to start if the old pid had been
  // reused by an unrelated process.
  std::error_code ec;
  fs::remove(data_dir_ + "/postmaster.pid", ec);
  fs::remove(fmt::format("{}/.s.PGSQL.{}.lock", dir_, options_.port), ec);
  fs::remove(fmt::format("{}/.s.PGSQL.{}", dir_, options_.port), ec);

  SpawnSpec spec;
  spec.argv = {PgBinDir() + "/postgres",
               "-D",
               data_dir_,
               "-p",
               std::to_string(options_.port),
               "-c",
               "cluster_name=" + cluster_name_,
               "-c",
               "unix_socket_directories=" + dir_,
               "-c",
               "listen_addresses=",
               "-c",
               std::string("fsync=") + (options_.fsync ? "on" : "off"),
               "-c",
               std::string("synchronous_commit=") + (options_.synchronous_commit ? "on" : "off"),
               "-c",
               "shared_buffers=" + options_.shared_buffers,
               "-c",
               "max_connections=" + std::to_string(options_.max_connections)};
  for (const auto& [name, value] : options_.settings) {
    spec.argv.push_back("-c");
    spec.argv.push_back(name + "=" + value);
  }
  spec.cwd = dir_;
  spec.log_path = log_file_;
  spec.own_process_group = true;
  spec.die_with_parent = true;
  SLUICE_ASSIGN_OR_RETURN(pid_, Spawn(spec));
  Status st = WaitReady(Clock::now() + options_.start_timeout);
  if (!st.ok()) {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      WaitPostmasterExit(std::chrono::seconds(30)).IgnoreError();
      pid_ = -1;
      WaitForOrphans(std::chrono::seconds(10)).IgnoreError();
    }
    return st;
  }
  return Status::OK();
}

Status PgServer::WaitReady(Clock::time_point deadline) {
  const std::string conninfo = ConnInfo() + " connect_timeout=10";
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    if (!running()) {
      return Status::Internal(
          fmt::format("postgres in {} exited during start; log: {}", dir_, LogTail()));
    }
    if (PQping(conninfo.c_str()) == PQPING_OK) return Status::OK();
    if (Clock::now() >= deadline) {
      return Status::DeadlineExceeded(
          fmt::format("postgres in {} not ready in time; log: {}", dir_, LogTail()));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

Status PgServer::Stop(bool immediate) {
  if (!running()) return Status::OK();
  KillAll(SIGCONT).IgnoreError();
  if (kill(pid_, immediate ? SIGQUIT : SIGINT) != 0 && errno != ESRCH) {
    return Status::FromErrno("kill", "postmaster of " + dir_, errno);
  }
  Status st = WaitPostmasterExit(options_.start_timeout);
  if (!st.ok()) {
    kill(pid_, SIGKILL);
    SLUICE_RETURN_IF_ERROR(WaitPostmasterExit(std::chrono::seconds(30)));
  }
  SLUICE_RETURN_IF_ERROR(WaitForOrphans());
  return st;
}

Status PgServer::Kill(int sig) {
  if (!running()) return Status::FailedPrecondition("PgServer::Kill: not running: " + dir_);
  if (kill(pid_, sig) != 0) return Status::FromErrno("kill", "postmaster of " + dir_, errno);
  if (sig == SIGKILL) return WaitPostmasterExit(std::chrono::seconds(60));
  return Status::OK();
}

Status PgServer::KillAll(int sig) {
  const bool have_postmaster = running();
  if (sig == SIGCONT) {
    for (pid_t pid : ProcessIds()) {
      if (pid != pid_) kill(pid, sig);
    }
    if (have_postmaster) kill(pid_, sig);
    return Status::OK();
  }
  if (have_postmaster) kill(pid_, sig);
  // A child forked while we were signalling is found on the next scan.
  std::vector<pid_t> done;
  for (int round = 0; round < 100; ++round) {
    bool any = false;
    for (pid_t pid : ProcessIds()) {
      if (pid == pid_ || std::find(done.begin(), done.end(), pid) != done.end()) continue;
      kill(pid, sig);
      done.push_back(pid);
      any = true;
    }
    if (!any) break;
  }
  if (sig == SIGKILL && have_postmaster) {
    SLUICE_RETURN_IF_ERROR(WaitPostmasterExit(std::chrono::seconds(60)));
  }
  return Status::OK();
}

Status PgServer::WaitForOrphans(std::chrono::seconds timeout) {
  if (running()) {
    return Status::FailedPrecondition("PgServer::WaitForOrphans: postmaster still running: " +
                                      dir_);
  }
  const auto wait_gone = [this](Clock::duration limit) {
    const auto deadline = Clock::now() + limit;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      if (ProcessIds().empty()) return true;
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  };
  if (wait_gone(timeout)) return Status::OK();
  // Stopped orphans never notice the postmaster's death; and some may be stuck.
  for (pid_t pid : ProcessIds()) {
    kill(pid, SIGCONT);
    kill(pid, SIGKILL);
  }
  if (wait_gone(std::chrono::seconds(60))) return Status::OK();
  return Status::DeadlineExceeded(
      fmt::format("processes of {} still alive after SIGKILL: {}", dir_, ProcessIds().size()));
}

Status PgServer::CreateDatabase(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    quoted += c;
    if (c == '"') quoted += '"';
  }
  quoted += '"';
  return Exec("CREATE DATABASE " + quoted);
}

Status PgServer::Exec(const std::string& sql, const std::string& dbname) {
  SLUICE_ASSIGN_OR_RETURN(ConnPtr conn, Connect(ConnInfo(dbname)));
  ResultPtr res(PQexec(conn.get(), sql.c_str()));
  auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
    return ResultError(conn.get(), res.get(), sql);
  }
  return Status::OK();
}

Result<std::vector<std::vector<std::string>>> PgServer::QueryRows(const std::string& sql,
                                                                  const std::string& dbname) {
  SLUICE_ASSIGN_OR_RETURN(ConnPtr conn, Connect(ConnInfo(dbname)));
  ResultPtr res(PQexec(conn.get(), sql.c_str()));
  if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
    return ResultError(conn.get(), res.get(), sql);
  }
  std::vector<std::vector<std::string>> rows;
  const int nrows = PQntuples(res.get());
  const int ncols = PQnfields(res.get());
  rows.reserve(static_cast<size_t>(nrows));
  for (int r = 0; r < nrows; ++r) {
    auto& row = rows.emplace_back();
    row.reserve(static_cast<size_t>(ncols));
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(res.get(), r, c)) {
        row.emplace_back(kNull);
      } else {
        row.emplace_back(PQgetvalue(res.get(), r, c),
                         static_cast<size_t>(PQgetlength(res.get(), r, c)));
      }
    }
  }
  return rows;
}

Result<std::string> PgServer::QueryValue(const std::string& sql, const std::string& dbname) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, QueryRows(sql, dbname));
  if (rows.size() != 1 || rows[0].size() != 1) {
    return Status::InvalidArgument(
        fmt::format("expected one value, got {} rows: {}", rows.size(), sql.substr(0, 200)));
  }
  return std::move(rows[0][0]);
}

}  // namespace sluice::testing
