#pragma once
// The client tests' sluiced (support/sluiced.h) on loopback: node "client-test", data in
// DIR/data, token kToken with every role, SQLite primaries "a" and "b". The binary is
// SLUICED_PATH (a compile definition of the test).

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"
#include "support/child_process.h"
#include "support/config_builder.h"
#include "support/net.h"
#include "support/sluiced.h"
#include "support/sqlite_rows.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::client::testing {

using ::sluice::testing::FreePort;
using ::sluice::testing::QueryInt;
using ::sluice::testing::QueryRows;

inline constexpr char kToken[] = "client-test-token-0123456789abcdef";

class SluicedProcess : public ::sluice::testing::Sluiced {
 public:
  // Writes DIR/sluiced.toml, listening on `ports` of 127.0.0.1.
  SluicedProcess(std::string dir, std::vector<int> ports)
      : Sluiced(SLUICED_PATH, std::move(dir), std::move(ports)) {
    SetClientCredentials(kToken);
    WriteClientConfig();
  }

  // Serves TLS with this certificate and key (PEM files) from the next Start(); Admin
  // calls of the harness then verify the server against `ca_file`.
  void EnableTls(const std::string& cert_file, const std::string& key_file,
                 const std::string& ca_file) {
    tls_ = "[tls]\ncert_file = \"" + cert_file + "\"\nkey_file = \"" + key_file + "\"\n";
    SetClientCredentials(kToken, ca_file);
    WriteClientConfig();
  }

  // Starts sluiced with SLUICE_FAILPOINTS=`failpoints` (empty: none) and waits until every
  // port accepts connections. REQUIRES: not running.
  Status Start(const std::string& failpoints = "") {
    SLUICE_RETURN_IF_ERROR(Sluiced::Start({{"SLUICE_FAILPOINTS", failpoints}}));
    Status s = WaitListening(std::chrono::seconds(60));
    if (!s.ok()) Kill(SIGKILL);
    return s;
  }

  // The SQLite file of target "a" or "b".
  std::string target_db(const std::string& target) const {
    return dir() + "/data/targets/" + target + ".db";
  }

 private:
  void WriteClientConfig() {
    ::sluice::testing::ConfigBuilder b("client-test");
    b.DataDir(dir() + "/data");
    for (int p : ports()) b.Listen(p);
    b.JournalLines("segment_size = \"16MiB\"\nfree_space_floor = \"0\"\nretention_interval = \"200ms\"")
        .Token("test", kToken, {"ingest", "read", "sql", "admin"})
        .Primary("a", "sqlite", "targets/a.db", 100)
        .Primary("b", "sqlite", "targets/b.db", 90);
    if (!tls_.empty()) b.Extra(tls_);
    Status s = WriteConfig(b.Toml());
    (void)s;  // a config that could not be written fails Start(), naming the file
  }

  std::string tls_;  // the [tls] table, or empty
};

}  // namespace sluice::client::testing
