#pragma once
// The gtest side of the sluiced harness (support/sluiced.h), for tests that run real
// `sluiced` (and `sluice`) processes: the test config (auth tokens, by default SQLite
// primaries a and b and replica dr in DATA_DIR/targets), gRPC stubs with a token,
// readiness asserted, and small helpers (files, SQLite row counts, records).
//
// The binary is SLUICED_PATH, a compile definition of the test.
//
// Thread safety: one Daemon is used by one thread at a time, except for its stubs.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "sluice/v1/service.grpc.pb.h"
#include "support/child_process.h"
#include "support/config_builder.h"
#include "support/net.h"
#include "support/sluiced.h"
#include "support/sqlite_rows.h"
#include "support/temp_dir.h"

namespace sluice::testing {

// The whole file (empty when it cannot be read).
std::string ReadFile(const std::string& path);
// Replaces the file; a failure fails the test (use under ASSERT_NO_FATAL_FAILURE).
void WriteFile(const std::string& path, std::string_view text);

int64_t NowMicros();

// Tokens of the test configs.
inline constexpr char kIngestToken[] = "ingest-token-0123456789abcdef";
inline constexpr char kAdminToken[] = "admin-token-0123456789abcdef";

struct DaemonConfig {
  std::string node_id = "test";
  bool auth = true;                 // tokens kIngestToken (ingest), kAdminToken (admin, read)
  std::string extra;                // more TOML appended at the end ([limits], [[stream]], ...)
  std::string node;                 // more lines for [node] (log_file, ...)
  std::vector<TargetSpec> targets;  // empty: SQLiteTargets()
  std::string journal;              // lines for [journal]
  std::string tls_ca;  // with [tls] in `extra`: the CA the test's client verifies against

  static DaemonConfig NoAuth() {
    DaemonConfig c;
    c.auth = false;
    return c;
  }
};

// SQLite primaries a (priority 100) and b (90) and replica dr, in DATA_DIR/targets.
std::vector<TargetSpec> SQLiteTargets();

// A sluiced under `dir` (config DIR/sluiced.toml, log DIR/sluiced.log), listening on a
// free loopback port. Killed when the object goes.
class Daemon {
 public:
  Daemon(const TempDir& dir, DaemonConfig config = {});
  ~Daemon() { Kill(); }

  // Writes the config file again from `config` (same port, tokens and TLS), for a test of
  // a reload; the running sluiced reads it at SIGHUP or `sluice config reload`.
  void RewriteConfig(DaemonConfig config);

  std::string address() const { return sluiced_.address(); }
  const std::string& config_path() const { return config_path_; }
  std::string db(const std::string& target) const {
    return dir_.Sub("data/targets/" + target + ".db");
  }
  std::string log() const { return sluiced_.log_path(); }
  Sluiced& sluiced() { return sluiced_; }

  // Starts sluiced and waits until it answers Admin.Status with its appliers connected;
  // fails the test otherwise (use under ASSERT_NO_FATAL_FAILURE).
  void Start(const ChildEnv& env = {});
  // Every stream's durable head LSN, once it stays put for 100 ms (a state change's event
  // is journaled without waiting for it, so it may become durable just after).
  std::map<std::string, uint64_t> Heads();
  // A fresh channel and stubs.
  void Connect();
  // SIGTERM; returns the exit code (ExitCode(), -1 when never started).
  int Stop() { return sluiced_.Kill(SIGTERM); }
  int Kill() { return sluiced_.Kill(SIGKILL); }
  ChildProcess* process() { return &sluiced_.process(); }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) const;
  grpc::Status Admin(v1::StatusResponse* out, const std::string& token = kAdminToken);
  // The head LSN of `stream` as Admin.Status reports it (0, and a failure, when it cannot).
  uint64_t HeadLsn(const std::string& stream);
  grpc::Status Commit(const v1::CommitRequest& req, v1::CommitResponse* out,
                      const std::string& token = kIngestToken);
  grpc::Status Hello(const std::string& client, v1::HelloResponse* out,
                     const std::string& token = kIngestToken);
  v1::Admin::Stub& admin_stub() { return *admin_; }
  v1::Ingest::Stub& ingest_stub() { return *ingest_; }
  v1::Sql::Stub& sql_stub() { return *sql_; }
  // The channel of the stubs above (replaced by Start and Connect).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // Waits until every applier (not disabled) has applied its stream's head as the first
  // Admin.Status answer gave it, i.e. everything journaled before the call; returns the
  // last status.
  v1::StatusResponse WaitCaughtUp(std::chrono::milliseconds timeout = std::chrono::seconds(120));

 private:
  void WriteConfig();

  const TempDir& dir_;
  DaemonConfig config_;
  Sluiced sluiced_;
  std::string config_path_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Ingest::Stub> ingest_;
  std::unique_ptr<v1::Sql::Stub> sql_;
};

// A sample batch of `rows` rows for points first_point.. at one timestamp.
v1::Record SampleRecord(int64_t first_point, int rows, int64_t ts_us);
v1::Record EventRecord(int events, int64_t ts_us, const std::string& text = "event");

}  // namespace sluice::testing
