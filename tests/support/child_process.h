#pragma once
// A child process for tests and benchmarks: argv run with stdin from /dev/null and stdout
// and stderr appended to a log file, signalled, waited for with a deadline, and killed
// (SIGKILL) when the object goes. The base of the sluiced harness (support/sluiced.h),
// also used to run `sluice` and other binaries to completion. No gtest in here: the
// benchmark uses it too.
//
// Thread safety: one ChildProcess is used by one thread at a time.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::testing {

// Variables for a child: set to the value, or unset when the value is empty; the rest
// of the environment is inherited.
using ChildEnv = std::map<std::string, std::string>;

// The exit code of a wait status; 128+N when killed by signal N (as a shell says it).
int ExitCode(int wait_status);

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts args[0] (a path) with `args`, output appended to `log`. With `die_with_parent`
  // the kernel SIGKILLs the child when the thread that started it ends (a benchmark that
  // crashes or is interrupted leaves no daemon behind). REQUIRES: not running.
  Status Start(const std::vector<std::string>& args, const std::string& log,
               const ChildEnv& env = {}, bool die_with_parent = false);

  // False once the child has exited (and was reaped by this call or an earlier one).
  bool running();
  pid_t pid() const { return pid_; }
  // Sends `sig` (SIGSTOP, SIGCONT, ...) without waiting.
  Status Signal(int sig);

  // Waits up to `timeout` for the child to exit by itself; its wait status (of the last
  // start, also when it exited before this call), or -1 when it is still running (it is
  // left running) or was never started.
  int WaitExit(std::chrono::milliseconds timeout);
  // Waits up to `timeout` for the exit; its ExitCode(), or -1 on timeout, when the child
  // is SIGKILLed. -1 too when nothing was started.
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Sends `sig`, then Wait(timeout).
  int Stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  pid_t pid_ = -1;
  bool exited_ = false;  // the last start's process has exited and was reaped
  int wait_status_ = 0;  // its wait status
};

struct RunResult {
  int exit_code = -1;  // ExitCode(); -1 when it could not start or did not end in time
  std::string output;  // stdout and stderr together
};

// Runs a command to completion (SIGKILLed after `timeout`), its output in the file `log`
// (replaced).
RunResult RunCommand(const std::vector<std::string>& args, const std::string& log,
                     const ChildEnv& env = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(120));

// The whole file (empty when it cannot be read); the last `max_bytes` of it.
// The path of `program` in a directory of $PATH that lets us run it; "" when there is none
// (a test that needs a tool Debian may lack says so and skips).
std::string FindOnPath(const std::string& program);

std::string ReadWholeFile(const std::string& path);
std::string FileTail(const std::string& path, size_t max_bytes);

}  // namespace sluice::testing
