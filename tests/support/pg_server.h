#pragma once
// A throw-away PostgreSQL server for tests, listening only on a Unix socket in its own
// temporary directory (no TCP port, so tests never race for ports).
//
// `initdb` runs once per test binary: the first server makes a template cluster in
// /tmp/sluice-pg-template-<pid>/ (removed at process exit); every server copies it into
// its own /tmp/sluice-pg-<pid>-XXXXXX/ directory, which its destructor removes.
//
// The postmaster is a direct child of the test process (fork, setuid postgres, exec), so
// Kill() signals the real postmaster pid and the harness reaps it. Every process of one
// server carries a unique `cluster_name` in its process title, which is how the harness
// finds the backends a killed postmaster leaves behind (WaitForOrphans) and how
// KillAll() reaches every process of the server.
//
// Thread safety: one PgServer is used by one thread at a time; different PgServer
// objects may be used from different threads. When a server is started from the main
// thread, the postmaster also gets SIGQUIT (immediate shutdown) if the test process dies,
// so a crashed test leaves no server behind. (The kernel delivers that signal when the
// *thread* that forked exits, so it is only armed on the main thread.)
//
// Must run as root (the tests do); PostgreSQL itself runs as the `postgres` user.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::testing {

struct PgServerOptions {
  // Durability settings matter for benchmarks: keep fsync on unless a test says why not.
  bool fsync = true;
  bool synchronous_commit = true;
  std::string shared_buffers = "32MB";
  int max_connections = 50;
  int port = 5432;  // sockets live in a per-server directory, so the port never clashes
  // More `-c name=value` settings for the postmaster.
  std::vector<std::pair<std::string, std::string>> settings;
  // Bound for Start() (until the server accepts connections) and Stop().
  std::chrono::seconds start_timeout{120};
};

class PgServer {
 public:
  // Placeholder QueryRows() puts where the result has an SQL NULL.
  static constexpr const char* kNull = "<NULL>";

  // Creates the server directory (copying the template cluster, creating it first if
  // needed); does not start the server. Check Create()'s status.
  static Result<std::unique_ptr<PgServer>> Create(PgServerOptions options = {});
  // Create() + Start(): the usual way in a test.
  static Result<std::unique_ptr<PgServer>> CreateAndStart(PgServerOptions options = {});

  // Stops the server (immediate), kills leftovers and removes its directory.
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // Starts the postmaster and waits until it accepts connections. First waits for the
  // orphans of a killed postmaster and removes its stale lock files, so a restart after
  // Kill(SIGKILL) is always safe. REQUIRES: not running.
  Status Start();
  // Fast (SIGINT: rolls back sessions, checkpoint) or immediate (SIGQUIT: crash-like,
  // recovery on next start) shutdown; waits for the postmaster and its children.
  // A no-op when not running.
  Status Stop(bool immediate = false);

  // Sends `sig` to the postmaster only. SIGKILL also reaps it (the server counts as not
  // running afterwards) but leaves its backends behind: call WaitForOrphans() (or just
  // Start(), which does) before restarting. Note SIGSTOP of the postmaster alone leaves
  // existing connections working; use KillAll() to freeze the whole server.
  Status Kill(int sig);
  // Sends `sig` to every process of this server (postmaster, backends, auxiliary
  // processes, orphans). SIGSTOP stops the postmaster first so it forks no new child;
  // SIGCONT resumes the children before the postmaster.
  Status KillAll(int sig);
  // Waits until no process of this server is alive (the orphaned backends of a killed
  // postmaster exit when they notice its death). After `timeout` it SIGKILLs the rest and
  // waits for them too; fails only if they still do not go away.
  // REQUIRES: the postmaster is not running (killed or stopped).
  Status WaitForOrphans(std::chrono::seconds timeout = std::chrono::seconds(60));

  bool running();
  pid_t postmaster_pid() const { return pid_; }
  // Pids of all live processes of this server (postmaster included, zombies excluded).
  std::vector<pid_t> ProcessIds() const;

  // "host=<socket dir> port=<port> dbname=<dbname> user=postgres".
  std::string ConnInfo(const std::string& dbname = "postgres") const;
  const std::string& dir() const { return dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& socket_dir() const { return dir_; }
  const std::string& log_file() const { return log_file_; }
  // The last `max_bytes` of the server log, for failure messages.
  std::string LogTail(size_t max_bytes = 4096) const;

  Status CreateDatabase(const std::string& name);
  // Runs `sql` (may hold several statements) on a fresh connection.
  Status Exec(const std::string& sql, const std::string& dbname = "postgres");
  // Runs one query on a fresh connection; every value as text, NULL as kNull.
  Result<std::vector<std::vector<std::string>>> QueryRows(const std::string& sql,
                                                          const std::string& dbname = "postgres");
  // The single value of a one-row, one-column query.
  Result<std::string> QueryValue(const std::string& sql, const std::string& dbname = "postgres");

 private:
  PgServer(PgServerOptions options, std::string dir);

  Status WaitReady(std::chrono::steady_clock::time_point deadline);
  // Reaps the postmaster if it exited; returns true when it did (or is not ours).
  bool ReapPostmaster();
  Status WaitPostmasterExit(std::chrono::steady_clock::duration timeout);

  PgServerOptions options_;
  std::string dir_;  // owned temp dir: socket, log, data/
  std::string data_dir_;
  std::string log_file_;
  std::string cluster_name_;  // unique; appears in every process title of this server
  pid_t pid_ = -1;            // the postmaster, -1 when not running
};

}  // namespace sluice::testing
