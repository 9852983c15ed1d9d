#pragma once
// Writes sluiced's TOML config for tests and benchmarks that run sluiced, so that they
// say what differs (targets, tokens, a [journal] line) instead of repeating a whole file.
// Tests of the config parser keep their literal TOML: there the text is the subject.
//
//   std::string toml = ConfigBuilder("e2e").Listen(port).NoAuth()
//       .Primary("pg-a", "postgres", conninfo, 100).Replica("lite", "sqlite", "lite.db")
//       .Toml();
//
// Thread safety: a value; not shared.

#include <string>
#include <vector>

namespace sluice::testing {

// One [[target]] table; keys are written in the order name, role, priority, driver,
// connection, then `extra` lines.
struct TargetSpec {
  std::string name;
  std::string role = "primary";
  int priority = -1;  // < 0: not written (replicas)
  std::string driver;  // "sqlite" or "postgres"
  std::string connection;
  std::string extra;  // more lines of the table
};

TargetSpec PrimaryTarget(std::string name, std::string driver, std::string connection,
                         int priority);
TargetSpec ReplicaTarget(std::string name, std::string driver, std::string connection);

class ConfigBuilder {
 public:
  explicit ConfigBuilder(std::string node_id = "test") : node_id_(std::move(node_id)) {}

  // node.data_dir; "data" (relative to the config file) unless set.
  ConfigBuilder& DataDir(std::string dir);
  // Adds "127.0.0.1:PORT" to node.listen.
  ConfigBuilder& Listen(int port);
  // node.log_level; "info" unless set.
  ConfigBuilder& LogLevel(std::string level);
  // More lines for [node] (log_file = ..., ...).
  ConfigBuilder& NodeLines(std::string lines);
  // Lines for [journal]; the table is left out while there are none.
  ConfigBuilder& JournalLines(std::string lines);
  // [auth] required = false. Without NoAuth() or a Token(), no [auth] table is written.
  ConfigBuilder& NoAuth();
  // [auth] required = true and one [[auth.token]].
  ConfigBuilder& Token(std::string name, std::string token, std::vector<std::string> roles);
  ConfigBuilder& Target(TargetSpec target);
  ConfigBuilder& Primary(std::string name, std::string driver, std::string connection,
                         int priority);
  ConfigBuilder& Replica(std::string name, std::string driver, std::string connection);
  // Whole tables appended at the end ([health], [limits], [[stream]], [tls], ...); must
  // begin with a table header.
  ConfigBuilder& Extra(std::string toml);

  std::string Toml() const;

 private:
  struct AuthToken {
    std::string name;
    std::string token;
    std::vector<std::string> roles;
  };

  std::string node_id_;
  std::string data_dir_ = "data";
  std::vector<std::string> listen_;
  std::string log_level_ = "info";
  std::string node_lines_;
  std::string journal_lines_;
  bool auth_set_ = false;
  bool auth_required_ = false;
  std::vector<AuthToken> tokens_;
  std::vector<TargetSpec> targets_;
  std::string extra_;
};

}  // namespace sluice::testing
