#pragma once
// Test support: a real `sluiced` child process on loopback with two SQLite primaries in
// a temporary directory, and helpers to look at what reached the targets.
//
// The binary is SLUICED_PATH (a compile definition of the test). Its log goes to
// DIR/sluiced.log. The process is a direct child of the test, so Kill() signals the real
// daemon and the harness reaps it; the destructor kills it if it is still running.
//
// Thread safety: one SluicedProcess is used by one thread at a time.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/v1/service.pb.h"

namespace sluice::client::testing {

inline constexpr char kToken[] = "client-test-token-0123456789abcdef";

// A loopback TCP port that is free now.
int FreePort();

class SluicedProcess {
 public:
  // Writes DIR/sluiced.toml: node "client-test", data in DIR/data, listening on `ports`
  // of 127.0.0.1, token kToken with every role, targets "a" and "b" (SQLite, primary).
  SluicedProcess(std::string dir, std::vector<int> ports);
  ~SluicedProcess();
  SluicedProcess(const SluicedProcess&) = delete;
  SluicedProcess& operator=(const SluicedProcess&) = delete;

  // Serves TLS with this certificate and key (PEM files) from the next Start(); Admin
  // calls of the helper then verify the server against `ca_file`.
  void EnableTls(const std::string& cert_file, const std::string& key_file,
                 const std::string& ca_file);

  // Starts sluiced with SLUICE_FAILPOINTS=`failpoints` (empty: none) and waits until every
  // port accepts connections. REQUIRES: not running.
  Status Start(const std::string& failpoints = "");
  // SIGTERM, then waits for a clean exit (status 0).
  Status Stop();
  // Sends `sig` and reaps the process.
  void Kill(int sig);
  // Waits up to `timeout` for the process to exit by itself (a fail point's crash);
  // returns its wait status, or -1 when it is still running.
  int WaitExit(std::chrono::milliseconds timeout);
  bool running() const { return pid_ > 0; }

  // "127.0.0.1:PORT" of listen address i.
  std::string address(size_t i = 0) const;
  const std::string& dir() const { return dir_; }
  // The SQLite file of target "a" or "b".
  std::string target_db(const std::string& target) const;
  std::string LogTail(size_t max_bytes = 6000) const;

  // Admin.Status through the first address.
  Result<v1::StatusResponse> AdminStatus() const;
  // The head LSN of `stream` in the service's journal (how many records it admitted).
  Result<uint64_t> HeadLsn(const std::string& stream) const;
  // Waits until every applier of `stream` has applied the head of its journal.
  Status WaitApplied(const std::string& stream, std::chrono::milliseconds timeout) const;

 private:
  void WriteConfig();

  std::string dir_;
  std::vector<int> ports_;
  std::string tls_section_;  // "[tls] ..." or empty
  std::string ca_pem_;       // for the helper's own calls, when TLS is on
  pid_t pid_ = -1;
};

// Runs `sql` (one row, one integer column) on a SQLite file.
Result<int64_t> QueryInt(const std::string& db, const std::string& sql);
// Every row of `sql` as text columns (NULL as "<NULL>").
Result<std::vector<std::vector<std::string>>> QueryRows(const std::string& db,
                                                        const std::string& sql);

}  // namespace sluice::client::testing
