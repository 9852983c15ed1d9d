#include "config/config.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace sluice::config {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// ---------------------------------------------------------------------------------------
// Helpers.

Result<Config> Parse(std::string_view text) { return ParseConfig(text, "sluiced.toml"); }

// The error message of a config that must not parse.
std::string ErrorOf(std::string_view text) {
  Result<Config> r = Parse(text);
  EXPECT_FALSE(r.ok()) << "parsed although it should not:\n" << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

// The smallest valid config; tests append sections to it. 13 lines.
constexpr std::string_view kMinimal = R"([node]
id = "n1"
data_dir = "/data"

[auth]
required = false

[[target]]
name = "pg-a"
role = "primary"
priority = 10
driver = "postgres"
connection = "host=a dbname=h"
)";

std::string WithMinimal(std::string_view more) { return std::string(kMinimal) + std::string(more); }

using ::sluice::testing::TempDir;

// ---------------------------------------------------------------------------------------
// Whole configs: defaults and the shipped examples.

TEST(ConfigTest, MinimalConfigTakesEveryDefault) {
  Result<Config> r = Parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.source, "sluiced.toml");
  EXPECT_EQ(c.node.id, "n1");
  EXPECT_EQ(c.node.data_dir, "/data");
  ASSERT_EQ(c.node.listen.size(), 1u);
  EXPECT_EQ(c.node.listen[0].ToString(), "127.0.0.1:7400");
  EXPECT_EQ(c.node.log_level, "info");
  EXPECT_EQ(c.node.log_file, "");

  EXPECT_EQ(c.journal.segment_size, 64 * kMiB);
  EXPECT_EQ(c.journal.max_record_size, 16 * kMiB);
  EXPECT_EQ(c.journal.budget, 0u);
  EXPECT_EQ(c.journal.free_space_floor, kGiB);
  EXPECT_EQ(c.journal.ack, AckMode::kDurable);
  EXPECT_EQ(c.journal.retention_interval, seconds(1));

  ASSERT_EQ(c.streams.size(), 4u);
  const std::vector<std::tuple<std::string, bool, int>> expected = {
      {"model", true, 100}, {"events", true, 50}, {"sql", true, 40}, {"samples", false, 10}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const StreamConfig& s = c.streams[i];
    EXPECT_EQ(s.name, std::get<0>(expected[i]));
    EXPECT_EQ(s.ordered, std::get<1>(expected[i])) << s.name;
    EXPECT_EQ(s.priority, std::get<2>(expected[i])) << s.name;
    EXPECT_EQ(s.reserved, 256 * kMiB) << s.name;
    EXPECT_EQ(s.on_error, OnError::kSkip) << s.name;
    EXPECT_EQ(s.line, 0) << s.name;
  }
  EXPECT_EQ(c.streams[0].batch_records, kOrderedBatchRecords);
  EXPECT_EQ(c.streams[0].batch_delay, milliseconds(5));
  EXPECT_EQ(c.streams[3].batch_records, kUnorderedBatchRecords);
  EXPECT_EQ(c.streams[3].batch_bytes, kUnorderedBatchBytes);
  EXPECT_EQ(c.streams[3].batch_delay, milliseconds(20));

  ASSERT_EQ(c.targets.size(), 1u);
  const TargetConfig& t = c.targets[0];
  EXPECT_EQ(t.name, "pg-a");
  EXPECT_EQ(t.role, TargetRole::kPrimary);
  EXPECT_EQ(t.priority, 10);
  EXPECT_EQ(t.dialect, Dialect::kPostgres);
  EXPECT_EQ(t.connection, "host=a dbname=h");
  EXPECT_EQ(t.retention_budget, 0u);
  EXPECT_EQ(t.retention_policy, RetentionPolicy::kHold);
  EXPECT_TRUE(t.enabled);
  EXPECT_EQ(t.line, 8);

  EXPECT_EQ(c.limits.max_message_size, 64 * kMiB);
  EXPECT_EQ(c.limits.max_records_per_request, 10000u);
  EXPECT_EQ(c.limits.max_lob_size, 16 * kMiB);
  EXPECT_EQ(c.limits.max_string_length, 65536u);
  EXPECT_EQ(c.limits.timestamp_min, *ParseTimestamp("2000-01-01T00:00:00Z"));
  EXPECT_EQ(c.limits.timestamp_max_ahead, hours(24));

  EXPECT_FALSE(c.auth.required);
  EXPECT_TRUE(c.auth.tokens.empty());
  EXPECT_FALSE(c.tls.enabled());
  EXPECT_EQ(c.health.probe_interval, milliseconds(200));
  EXPECT_EQ(c.health.probe_timeout, milliseconds(500));
  EXPECT_EQ(c.health.reconnect_probe_delay, milliseconds(0));
  EXPECT_EQ(c.health.switch_deadline, seconds(2));
  EXPECT_EQ(c.client_dedup.idle_forget, hours(24 * 30));

  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0],
            "sluiced.toml:6:12: [auth]: authentication is off: any local user can write "
            "history, run SQL and administer the service");
}

TEST(ConfigTest, SqliteDemoExampleParses) {
  Result<Config> r = LoadConfigFile(SLUICE_EXAMPLES_DIR "/sqlite-demo.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.node.id, "demo");
  EXPECT_EQ(c.node.data_dir, "/tmp/sluice-demo");
  EXPECT_FALSE(c.auth.required);
  ASSERT_EQ(c.streams.size(), 4u);
  ASSERT_EQ(c.targets.size(), 3u);
  for (const TargetConfig& t : c.targets) {
    EXPECT_EQ(t.dialect, Dialect::kSqlite) << t.name;
    EXPECT_THAT(t.connection, StartsWith("/tmp/sluice-demo/targets/")) << t.name;
  }
  EXPECT_EQ(c.targets[0].connection, "/tmp/sluice-demo/targets/a.db");
  EXPECT_EQ(c.targets[2].role, TargetRole::kReplica);
  EXPECT_EQ(c.targets[2].retention_policy, RetentionPolicy::kDetach);
  std::vector<const TargetConfig*> primaries = c.PrimariesByPriority();
  ASSERT_EQ(primaries.size(), 2u);
  EXPECT_EQ(primaries[0]->name, "sqlite-a");
  EXPECT_EQ(primaries[1]->name, "sqlite-b");
}

TEST(ConfigTest, PostgresHaExampleParses) {
  Result<Config> r = LoadConfigFile(SLUICE_EXAMPLES_DIR "/postgres-ha.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.node.id, "cc-main");
  ASSERT_EQ(c.node.listen.size(), 2u);
  EXPECT_EQ(c.node.listen[1].ToString(), "10.10.1.5:7400");
  EXPECT_EQ(c.node.log_file, "/var/log/sluice/sluiced.log");
  EXPECT_EQ(c.journal.budget, 20 * kGiB);
  ASSERT_EQ(c.streams.size(), 4u);
  EXPECT_EQ(c.FindStream("samples")->reserved, 4 * kGiB);
  EXPECT_FALSE(c.FindStream("samples")->ordered);
  EXPECT_EQ(c.StreamsByPriority().front()->name, "model");
  ASSERT_EQ(c.targets.size(), 3u);
  for (const TargetConfig& t : c.targets) EXPECT_EQ(t.dialect, Dialect::kPostgres) << t.name;
  EXPECT_EQ(c.PrimariesByPriority().size(), 2u);
  EXPECT_EQ(c.PrimariesByPriority().front()->name, "pg-a");
  const TargetConfig* dr = c.FindTarget("pg-dr");
  ASSERT_NE(dr, nullptr);
  EXPECT_EQ(dr->role, TargetRole::kReplica);
  EXPECT_EQ(dr->retention_budget, 8 * kGiB);
  EXPECT_EQ(dr->retention_policy, RetentionPolicy::kDetach);
  EXPECT_TRUE(c.auth.required);
  ASSERT_EQ(c.auth.tokens.size(), 3u);
  EXPECT_TRUE(c.auth.tokens[2].HasRole(TokenRole::kAdmin));
  EXPECT_FALSE(c.auth.tokens[0].HasRole(TokenRole::kRead));
  // It listens beyond loopback without TLS, which it is right to warn about.
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_THAT(c.warnings[0], HasSubstr("listening on 10.10.1.5:7400 without [tls]"));
}

TEST(ConfigTest, EverySectionCanBeSet) {
  TempDir dir;
  const std::string cert = dir.Write("tls/server.crt", "cert");
  const std::string key = dir.Write("tls/server.key", "key");
  const std::string token = dir.Write("tokens/ops", "0123456789abcdef0123\n");
  const std::string text = fmt::format(R"([node]
id = "cc-1"
data_dir = "var"
listen = ["0.0.0.0:7400", "[::1]:7401"]
log_level = "debug"
log_file = "log/sluiced.log"

[journal]
segment_size = 1048576
max_record_size = "1MiB"
budget = "10GB"
free_space_floor = "0"
ack = "written"
retention_interval = "250ms"

[[stream]]
name = "model"
on_error = "block"

[[stream]]
name = "telemetry"
ordered = false
priority = 5
reserved = "1GiB"
batch_records = 5000
batch_bytes = "8MiB"
batch_delay = "0"

[[target]]
name = "local"
role = "primary"
priority = 1
driver = "sqlite"
connection = "db/local.db"
retention_budget = "2GiB"
retention_policy = "detach"
enabled = false

[[target]]
name = "far"
role = "oneway"
driver = "postgres"
transport = "udp"
destination = "192.168.9.9:9000"

[[target]]
name = "bundles"
role = "oneway"
driver = "sqlite"
transport = "dir"
destination = "outbox"

[limits]
max_message_size = "4MiB"
max_records_per_request = 100
max_lob_size = "512KiB"
max_string_length = 1000
timestamp_min = 1990-01-01T00:00:00Z
timestamp_max_ahead = "1h"

[auth]
[[auth.token]]
name = "ops"
token_file = "tokens/ops"
roles = ["admin", "read"]

[tls]
cert_file = "tls/server.crt"
key_file = "{}"

[health]
probe_interval = "1s"
probe_timeout = "2s"
reconnect_probe_delay = "0"
switch_deadline = "5s"

[client_dedup]
idle_forget = "7d"
)",
                                       key);
  Result<Config> r = ParseConfig(text, "sluiced.toml", dir.path());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.node.data_dir, dir.path() + "/var");
  EXPECT_EQ(c.node.log_file, dir.path() + "/log/sluiced.log");
  EXPECT_EQ(c.node.log_level, "debug");
  ASSERT_EQ(c.node.listen.size(), 2u);
  EXPECT_FALSE(c.node.listen[0].IsLoopback());
  EXPECT_EQ(c.journal.segment_size, kMiB);
  EXPECT_EQ(c.journal.budget, 10'000'000'000u);
  EXPECT_EQ(c.journal.free_space_floor, 0u);
  EXPECT_EQ(c.journal.ack, AckMode::kWritten);
  EXPECT_EQ(c.journal.retention_interval, milliseconds(250));

  ASSERT_EQ(c.streams.size(), 2u);
  // A standard stream keeps its standard order and priority when they are not given.
  EXPECT_TRUE(c.streams[0].ordered);
  EXPECT_EQ(c.streams[0].priority, 100);
  EXPECT_EQ(c.streams[0].on_error, OnError::kBlock);
  EXPECT_EQ(c.streams[0].line, 16);
  EXPECT_FALSE(c.streams[1].ordered);
  EXPECT_EQ(c.streams[1].priority, 5);
  EXPECT_EQ(c.streams[1].reserved, kGiB);
  EXPECT_EQ(c.streams[1].batch_records, 5000u);
  EXPECT_EQ(c.streams[1].batch_bytes, 8 * kMiB);
  EXPECT_EQ(c.streams[1].batch_delay, microseconds(0));

  ASSERT_EQ(c.targets.size(), 3u);
  EXPECT_EQ(c.targets[0].connection, dir.path() + "/var/db/local.db");
  EXPECT_EQ(c.targets[0].retention_budget, 2 * kGiB);
  EXPECT_EQ(c.targets[0].retention_policy, RetentionPolicy::kDetach);
  EXPECT_FALSE(c.targets[0].enabled);
  EXPECT_EQ(c.targets[1].role, TargetRole::kOneway);
  EXPECT_EQ(c.targets[1].transport, OnewayTransport::kUdp);
  EXPECT_EQ(c.targets[1].destination, "192.168.9.9:9000");
  EXPECT_EQ(c.targets[1].retention_policy, RetentionPolicy::kDetach);
  EXPECT_EQ(c.targets[2].transport, OnewayTransport::kDir);
  EXPECT_EQ(c.targets[2].destination, dir.path() + "/outbox");

  EXPECT_EQ(c.limits.max_message_size, 4 * kMiB);
  EXPECT_EQ(c.limits.max_records_per_request, 100u);
  EXPECT_EQ(c.limits.max_lob_size, 512 * kKiB);
  EXPECT_EQ(c.limits.max_string_length, 1000u);
  EXPECT_EQ(c.limits.timestamp_min, *ParseTimestamp("1990-01-01T00:00:00Z"));
  EXPECT_EQ(c.limits.timestamp_max_ahead, hours(1));

  EXPECT_TRUE(c.auth.required);
  ASSERT_EQ(c.auth.tokens.size(), 1u);
  EXPECT_EQ(c.auth.tokens[0].token, "0123456789abcdef0123");  // newline stripped
  EXPECT_EQ(c.auth.tokens[0].token_file, token);
  EXPECT_EQ(c.auth.tokens[0].roles, (std::vector{TokenRole::kAdmin, TokenRole::kRead}));
  EXPECT_TRUE(c.tls.enabled());
  EXPECT_EQ(c.tls.cert_file, cert);
  EXPECT_EQ(c.tls.key_file, key);
  EXPECT_EQ(c.health.probe_interval, seconds(1));
  EXPECT_EQ(c.health.reconnect_probe_delay, microseconds(0));
  EXPECT_EQ(c.health.switch_deadline, seconds(5));
  EXPECT_EQ(c.client_dedup.idle_forget, hours(24 * 7));

  // Risky but valid: written acks; every primary disabled. TLS is on, so no clear-text
  // warning for 0.0.0.0.
  ASSERT_EQ(c.warnings.size(), 2u) << ::testing::PrintToString(c.warnings);
  EXPECT_EQ(c.warnings[0],
            "sluiced.toml:13:7: [journal]: ack = \"written\": records are acknowledged before "
            "fdatasync, so a power failure can lose acknowledged records (a crash of sluiced "
            "alone cannot)");
  EXPECT_EQ(c.warnings[1],
            "sluiced.toml:29:1: every primary target is disabled: the service starts isolated "
            "and synchronous calls are refused until one is enabled");
}

TEST(ConfigTest, TimestampMinInEverySpelling) {
  constexpr int64_t k2000 = 946'684'800'000'000;
  for (std::string_view spelling :
       {"\"2000-01-01T00:00:00Z\"", "\"2000-01-01T02:00:00+02:00\"", "946684800000000",
        "2000-01-01T00:00:00Z", "1999-12-31T23:30:00.000000-00:30"}) {
    Result<Config> r = Parse(WithMinimal(fmt::format("[limits]\ntimestamp_min = {}\n", spelling)));
    ASSERT_TRUE(r.ok()) << spelling << ": " << r.status().ToString();
    EXPECT_EQ(r->limits.timestamp_min, k2000) << spelling;
  }
  Result<Config> r = Parse(WithMinimal("[limits]\ntimestamp_min = 2000-01-01T00:00:00.0000005Z\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              StartsWith("sluiced.toml:15:17: [limits]: 'timestamp_min': timestamp "));
  EXPECT_THAT(r.status().message(), HasSubstr("is finer than a microsecond"));
}

TEST(ConfigTest, LoadConfigFileResolvesPathsAgainstItsDirectory) {
  TempDir dir;
  const std::string path = dir.Write("etc/sluiced.toml", WithMinimal(R"(
[[target]]
name = "lite"
role = "replica"
driver = "sqlite"
connection = "/abs/../abs/lite.db"
)"));
  Result<Config> r = LoadConfigFile(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, path);
  EXPECT_EQ(r->node.data_dir, "/data");  // absolute stays
  EXPECT_EQ(r->targets[1].connection, "/abs/lite.db");

  const std::string relative = dir.Write("etc/rel.toml", R"([node]
id = "n1"
data_dir = "../var/sluice"
[auth]
required = false
[[target]]
name = "lite"
role = "primary"
priority = 1
driver = "sqlite"
connection = "lite.db"
)");
  Result<Config> rel = LoadConfigFile(relative);
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->node.data_dir, dir.path() + "/var/sluice");
  EXPECT_EQ(rel->targets[0].connection, dir.path() + "/var/sluice/lite.db");

  // Without a base directory relative paths stay relative, SQLite files under data_dir.
  Result<Config> plain = ParseConfig(R"([node]
id = "n1"
data_dir = "var"
[auth]
required = false
[[target]]
name = "lite"
role = "primary"
priority = 1
driver = "sqlite"
connection = "t/lite.db"
)",
                                     "x.toml");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->node.data_dir, "var");
  EXPECT_EQ(plain->targets[0].connection, "var/t/lite.db");
}

// ---------------------------------------------------------------------------------------
// Every error names the file, line, column and key.

TEST(ConfigErrorTest, MissingFile) {
  Result<Config> r = LoadConfigFile("/x/y.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "cannot read config file /x/y.toml: No such file or directory");

  TempDir dir;
  Result<Config> d = LoadConfigFile(dir.path());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "cannot read config file " + dir.path() + ": Is a directory");
}

TEST(ConfigErrorTest, TomlSyntaxErrorsCarryTomlsPosition) {
  EXPECT_EQ(ErrorOf("[node]\nid = \"n1\nx = 1\n"),
            "sluiced.toml:2:9: Error while parsing string: unescaped control characters other "
            "than TAB (U+0009) are explicitly prohibited");
  EXPECT_EQ(ErrorOf("[node]\nid = \"a\"\nid = \"b\"\n"),
            "sluiced.toml:3:6: Error while parsing key-value pair: cannot redefine existing "
            "string 'id'");
  EXPECT_EQ(ErrorOf("[node]\n[node]\n"),
            "sluiced.toml:2:1: Error while parsing table header: cannot redefine existing "
            "table 'node'");
  EXPECT_THAT(ErrorOf("[journal]\nbudget = 99999999999999999999\n"),
              StartsWith("sluiced.toml:2:"));
}

TEST(ConfigErrorTest, UnknownKeyWithDidYouMean) {
  const std::string text = WithMinimal(R"(
[[target]]
name = "pg-b"
prority = 5
role = "primary"
driver = "postgres"
connection = "host=b dbname=h"
)");
  // Line 17 is the misspelled key; 'priority' is not reported missing as well.
  EXPECT_EQ(ErrorOf(text),
            "sluiced.toml:17:1: target 'pg-b': unknown key 'prority' (did you mean 'priority'?)");
  // The example of the brief, line for line: the unknown key on line 12.
  EXPECT_EQ(ErrorOf(R"([node]
id = "n1"
data_dir = "/data"
[auth]
required = false
[[target]]
name = "pg-a"
role = "replica"
driver = "postgres"
connection = "host=a dbname=h"
[[target]]
prority = 5
name = "pg-b"
role = "primary"
priority = 1
driver = "postgres"
connection = "host=b dbname=h"
)"),
            "sluiced.toml:12:1: target 'pg-b': unknown key 'prority' (did you mean 'priority'?)");
}

TEST(ConfigErrorTest, UnknownKeysInEverySection) {
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nbuget = \"1GiB\"\n")),
            "sluiced.toml:15:1: [journal]: unknown key 'buget' (did you mean 'budget'?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[health]\nprobe_intervall = \"1s\"\n")),
            "sluiced.toml:15:1: [health]: unknown key 'probe_intervall' (did you mean "
            "'probe_interval'?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[client_dedup]\ncolour = \"red\"\n")),
            "sluiced.toml:15:1: [client_dedup]: unknown key 'colour' (valid keys: "
            "'idle_forget')");
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\nMax_Lob_Size = 1\n")),
            "sluiced.toml:15:1: [limits]: unknown key 'Max_Lob_Size' (did you mean "
            "'max_lob_size'?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[tls]\ncert = \"x\"\n")),
            "sluiced.toml:15:1: [tls]: unknown key 'cert' (valid keys: 'cert_file', "
            "'key_file' or 'ca_file')");
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"model\"\norderd = true\n")),
            "sluiced.toml:16:1: stream 'model': unknown key 'orderd' (did you mean 'ordered'?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[auth.token]]\nname = \"t\"\ntoken = "
                                "\"0123456789abcdef\"\nroles = [\"read\"]\nrole = 1\n")),
            "sluiced.toml:18:1: auth token 't': unknown key 'role' (did you mean 'roles'?)");
  // [node] lines 1-3: the unknown key sits on line 2.
  EXPECT_EQ(ErrorOf("[node]\nidd = \"n1\"\ndata_dir = \"/d\"\n[auth]\nrequired = false\n"
                    "[[target]]\nname = \"a\"\nrole = \"primary\"\npriority = 1\ndriver = "
                    "\"sqlite\"\nconnection = \"a.db\"\n"),
            "sluiced.toml:2:1: [node]: unknown key 'idd' (did you mean 'id'?)");
  // Without a near miss the missing key is reported on its own, at the table.
  EXPECT_EQ(ErrorOf("[node]\nname = \"n1\"\ndata_dir = \"/d\"\n[auth]\nrequired = false\n"
                    "[[target]]\nname = \"a\"\nrole = \"primary\"\npriority = 1\ndriver = "
                    "\"sqlite\"\nconnection = \"a.db\"\n"),
            "sluiced.toml:1:1: [node]: missing required key 'id' (the name of this node, part "
            "of every watermark key)\n"
            "sluiced.toml:2:1: [node]: unknown key 'name' (valid keys: 'id', 'data_dir', "
            "'listen', 'log_level' or 'log_file')");
  // A nested table inside a section is an unknown key too.
  EXPECT_EQ(ErrorOf(WithMinimal("[journal.extra]\nx = 1\n")),
            "sluiced.toml:14:10: [journal]: unknown key 'extra' (valid keys: 'segment_size', "
            "'max_record_size', 'budget', 'free_space_floor', 'ack' or 'retention_interval')");
}

TEST(ConfigErrorTest, UnknownTablesAndTopLevelKeys) {
  EXPECT_EQ(ErrorOf(WithMinimal("[helth]\nprobe_interval = \"1s\"\n")),
            "sluiced.toml:14:1: unknown table [helth] (did you mean [health]?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[targets]]\nname = \"x\"\n")),
            "sluiced.toml:14:1: unknown table [[targets]] (did you mean [[target]]?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[metrics]\nport = 1\n")),
            "sluiced.toml:14:1: unknown table [metrics] (valid tables: [node], [journal], "
            "[[stream]], [[target]], [limits], [auth], [tls], [health], [client_dedup])");
  EXPECT_EQ(ErrorOf("budget = \"1GiB\"\n" + std::string(kMinimal)),
            "sluiced.toml:1:1: unknown key 'budget' at the top level (it belongs in "
            "[journal])");
  EXPECT_EQ(ErrorOf(WithMinimal("[stream]\nname = \"model\"\n")),
            "sluiced.toml:14:1: 'stream' must be an array of tables: write [[stream]] for each, "
            "not [stream]");
  EXPECT_EQ(ErrorOf("node = 5\n" + std::string(kMinimal.substr(7))),
            "sluiced.toml:1:1: 'node' must be a table [node], not an integer\n"
            "sluiced.toml:2:1: unknown key 'id' at the top level (it belongs in [node])\n"
            "sluiced.toml:3:1: unknown key 'data_dir' at the top level (it belongs in [node])");
  EXPECT_EQ(ErrorOf(WithMinimal("[auth.token]\nname = \"x\"\n")),
            "sluiced.toml:14:1: 'token' must be an array of tables: write [[auth.token]] for "
            "each, not [auth.token]");
}

TEST(ConfigErrorTest, WrongTypes) {
  // The example of the brief: line 7, column 11 is the value of 'ordered'.
  EXPECT_EQ(ErrorOf(R"([node]
id = "n1"
data_dir = "/data"

[[stream]]
name = "samples"
ordered = "no"
[[stream]]
name = "model"
)" + std::string(kMinimal.substr(kMinimal.find("[auth]")))),
            "sluiced.toml:7:11: stream 'samples': 'ordered' must be a boolean, not a string");

  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nbudget = 1.5\n")),
            "sluiced.toml:15:10: [journal]: 'budget' must be a size (an integer number of "
            "bytes, or a string such as \"64MiB\"), not a float");
  EXPECT_EQ(ErrorOf(WithMinimal("[health]\nprobe_timeout = 500\n")),
            "sluiced.toml:15:17: [health]: 'probe_timeout' must be a duration string such as "
            "\"5ms\" (the unit is required), not an integer");
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\nmax_records_per_request = \"10\"\n")),
            "sluiced.toml:15:27: [limits]: 'max_records_per_request' must be an integer, not a "
            "string");
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\ntimestamp_min = true\n")),
            "sluiced.toml:15:17: [limits]: 'timestamp_min' must be a timestamp "
            "(\"2000-01-01T00:00:00Z\" or microseconds since the epoch), not a boolean");
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\ntimestamp_min = 2000-01-01T00:00:00\n")),
            "sluiced.toml:15:17: [limits]: 'timestamp_min' needs a UTC offset, e.g. "
            "2000-01-01T00:00:00Z");
  EXPECT_EQ(ErrorOf(R"([node]
id = 7
data_dir = "/d"
listen = "0.0.0.0:1"
)" + std::string(kMinimal.substr(kMinimal.find("[auth]")))),
            "sluiced.toml:2:6: [node]: 'id' must be a string, not an integer\n"
            "sluiced.toml:4:10: [node]: 'listen' must be an array of strings such as "
            "[\"127.0.0.1:7400\"], not a string");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"b\"\nrole = \"replica\"\ndriver = "
                                "\"sqlite\"\nconnection = \"b.db\"\nenabled = \"yes\"\n")),
            "sluiced.toml:19:11: target 'b': 'enabled' must be a boolean, not a string");
  EXPECT_EQ(ErrorOf(WithMinimal("[[auth.token]]\nname = \"t\"\ntoken = "
                                "\"0123456789abcdef\"\nroles = [\"read\", 2]\n")),
            "sluiced.toml:17:18: auth token 't': 'roles' must hold only strings, not an "
            "integer");
}

TEST(ConfigErrorTest, BadValues) {
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nbudget = \"20Gb\"\n")),
            "sluiced.toml:15:10: [journal]: 'budget': unknown unit 'Gb' in size \"20Gb\" (did "
            "you mean 'GB'?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nbudget = -1\n")),
            "sluiced.toml:15:10: [journal]: 'budget' must not be negative, not -1");
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nsegment_size = \"4KiB\"\n")),
            "sluiced.toml:15:16: [journal]: 'segment_size' must be at least 64KiB, not 4KiB");
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nmax_record_size = \"4GiB\"\n")),
            "sluiced.toml:15:19: [journal]: 'max_record_size' must be at most 4294967295B, not "
            "4GiB");
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nack = \"synced\"\n")),
            "sluiced.toml:15:7: [journal]: 'ack' must be \"durable\" or \"written\", not "
            "\"synced\"");
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nretention_interval = \"5m\"\n")),
            "sluiced.toml:15:22: [journal]: 'retention_interval': unit 'm' in duration \"5m\" "
            "is ambiguous: write 'min' for minutes or 'ms' for milliseconds");
  EXPECT_EQ(ErrorOf(WithMinimal("[health]\nswitch_deadline = \"0s\"\n")),
            "sluiced.toml:15:19: [health]: 'switch_deadline' must be longer than zero");
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\nmax_records_per_request = 0\n")),
            "sluiced.toml:15:27: [limits]: 'max_records_per_request' must be at least 1, not 0");
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\nmax_message_size = \"2GiB\"\n")),
            "sluiced.toml:15:20: [limits]: 'max_message_size' must be at most 2147483647B, not "
            "2GiB");
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\ntimestamp_min = \"2000-02-30T00:00:00Z\"\n")),
            "sluiced.toml:15:17: [limits]: 'timestamp_min': timestamp "
            "\"2000-02-30T00:00:00Z\" is not a valid date and time");
  EXPECT_EQ(ErrorOf(R"([node]
id = "n 1"
data_dir = ""
listen = ["127.0.0.1:7400", "0.0.0.0", "127.0.0.1:7400"]
log_level = "verbose"
log_file = ""
)" + std::string(kMinimal.substr(kMinimal.find("[auth]")))),
            "sluiced.toml:2:6: [node]: invalid node id \"n 1\": use 1 to 64 characters of A-Z "
            "a-z 0-9 _ . -\n"
            "sluiced.toml:3:12: [node]: 'data_dir' must not be empty\n"
            "sluiced.toml:4:29: [node]: 'listen': address \"0.0.0.0\" needs a port: host:port, "
            "e.g. \"127.0.0.1:7400\"\n"
            "sluiced.toml:4:40: [node]: 'listen': address \"127.0.0.1:7400\" is listed twice\n"
            "sluiced.toml:5:13: [node]: 'log_level' must be one of \"trace\", \"debug\", "
            "\"info\", \"warn\", \"error\", \"critical\" or \"off\", not \"verbose\"\n"
            "sluiced.toml:6:12: [node]: 'log_file' must not be empty (leave it out to log to "
            "stderr)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"b\"\nrole = \"primay\"\ndriver = "
                                "\"mysql\"\nconnection = \"b\"\n")),
            "sluiced.toml:16:8: target 'b': 'role' must be one of \"primary\", \"replica\" or "
            "\"oneway\", not \"primay\" (did you mean \"primary\"?)\n"
            "sluiced.toml:17:10: target 'b': 'driver' must be \"sqlite\" or \"postgres\", not "
            "\"mysql\"");
}

TEST(ConfigErrorTest, DuplicateTargetName) {
  // The example of the brief: 'pg-a' first at line 14, again at line 20.
  EXPECT_EQ(ErrorOf(R"([node]
id = "n1"
data_dir = "/data"

[auth]
required = false

[journal]
budget = "0"
ack = "durable"
free_space_floor = "1GiB"

[[target]]
name = "pg-a"
role = "primary"
priority = 10
driver = "postgres"
connection = "host=a dbname=h"
[[target]]
name = "pg-a"
role = "primary"
priority = 20
driver = "postgres"
connection = "host=b dbname=h"
)"),
            "sluiced.toml:20:1: duplicate target name 'pg-a' (first defined at line 14)");
}

TEST(ConfigErrorTest, TargetRoleRules) {
  // Lines 14.. are the new target.
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"r\"\nrole = \"replica\"\npriority = 5\n"
                                "driver = \"postgres\"\nconnection = \"host=r\"\n")),
            "sluiced.toml:17:1: target 'r': 'priority' applies only to primary targets; a "
            "replica target never becomes active");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"p\"\nrole = \"primary\"\npriority = 10\n"
                                "driver = \"postgres\"\nconnection = \"host=p\"\n")),
            "sluiced.toml:17:12: target 'p': priority 10 is already used by primary target "
            "'pg-a' (line 9); primaries need distinct priorities so the order of failover is "
            "unambiguous");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"x\"\n")),
            "sluiced.toml:14:1: target 'x': missing required key 'role' (\"primary\" (can "
            "become active), \"replica\" or \"oneway\")\n"
            "sluiced.toml:14:1: target 'x': missing required key 'driver' (\"sqlite\" or "
            "\"postgres\")");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nrole = \"replica\"\ndriver = \"sqlite\"\n"
                                "connection = \"x.db\"\n")),
            "sluiced.toml:14:1: target #2: missing required key 'name'");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"r\"\nrole = \"replica\"\ndriver = "
                                "\"sqlite\"\n")),
            "sluiced.toml:14:1: target 'r': missing required key 'connection' (SQLite: a file "
            "path; PostgreSQL: a libpq conninfo)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"bad/name\"\nrole = \"replica\"\n"
                                "driver = \"sqlite\"\nconnection = \"x.db\"\n")),
            "sluiced.toml:15:8: target #2: invalid target name \"bad/name\": use 1 to 64 "
            "characters of A-Z a-z 0-9 _ . -");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"m\"\nrole = \"replica\"\ndriver = "
                                "\"sqlite\"\nconnection = \":memory:\"\n")),
            "sluiced.toml:18:14: target 'm': 'connection' of a SQLite target must be a file "
            "path, not \":memory:\"");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"q\"\nrole = \"replica\"\ndriver = "
                                "\"postgres\"\nconnection = \"db-b.local\"\n")),
            "sluiced.toml:18:14: target 'q': 'connection' is not a libpq conninfo "
            "(\"host=... dbname=...\" or \"postgresql://...\"): expected key=value at "
            "\"db-b.local\"");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"o\"\nrole = \"oneway\"\ndriver = "
                                "\"postgres\"\nconnection = \"host=o\"\n")),
            "sluiced.toml:14:1: target 'o': missing required key 'transport' (\"dir\" or "
            "\"udp\")\n"
            "sluiced.toml:14:1: target 'o': missing required key 'destination' (a directory "
            "for \"dir\", host:port for \"udp\")\n"
            "sluiced.toml:18:1: target 'o': a oneway target has no 'connection': the receiver "
            "beyond the isolation device writes the database; set 'transport' and "
            "'destination'");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"r\"\nrole = \"replica\"\ndriver = "
                                "\"sqlite\"\nconnection = \"r.db\"\ntransport = \"dir\"\n")),
            "sluiced.toml:19:1: target 'r': 'transport' applies only to oneway targets");
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"o\"\nrole = \"oneway\"\ndriver = "
                                "\"sqlite\"\ntransport = \"udp\"\ndestination = \"far\"\n")),
            "sluiced.toml:19:15: target 'o': 'destination': address \"far\" needs a port: "
            "host:port, e.g. \"127.0.0.1:7400\"");
}

TEST(ConfigErrorTest, TargetsOnTheSameDatabase) {
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"again\"\nrole = \"replica\"\ndriver = "
                                "\"postgres\"\nconnection = \"host=a dbname=h\"\n")),
            "sluiced.toml:18:14: target 'again': uses the same database as target 'pg-a' (line "
            "9): every target must be a database of its own");
  // SQLite paths are compared after resolution: "x.db" under /data is "/data/x.db".
  EXPECT_EQ(ErrorOf(WithMinimal("[[target]]\nname = \"s1\"\nrole = \"replica\"\ndriver = "
                                "\"sqlite\"\nconnection = \"x.db\"\n"
                                "[[target]]\nname = \"s2\"\nrole = \"replica\"\ndriver = "
                                "\"sqlite\"\nconnection = \"/data/./x.db\"\n")),
            "sluiced.toml:23:14: target 's2': uses the same database as target 's1' (line 15): "
            "every target must be a database of its own");
}

TEST(ConfigErrorTest, TargetCounts) {
  Result<Config> none = Parse("[node]\nid = \"n1\"\ndata_dir = \"/d\"\n[auth]\nrequired = false\n");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(),
            "sluiced.toml: no [[target]] is defined: at least one primary target is required");
  EXPECT_EQ(ErrorOf("target = []\n[node]\nid = \"n1\"\ndata_dir = \"/d\"\n[auth]\n"
                    "required = false\n"),
            "sluiced.toml:1:1: no [[target]] is defined: at least one primary target is "
            "required");
  EXPECT_EQ(ErrorOf("[node]\nid = \"n1\"\ndata_dir = \"/d\"\n[auth]\nrequired = false\n"
                    "[[target]]\nname = \"r\"\nrole = \"replica\"\ndriver = \"sqlite\"\n"
                    "connection = \"r.db\"\n"),
            "sluiced.toml:6:1: no primary target: at least one [[target]] needs role = "
            "\"primary\"; reads and synchronous writes are served by the active primary");
  EXPECT_EQ(ErrorOf("[[target]]\nname = \"a\"\nrole = \"primary\"\npriority = 1\n"
                    "driver = \"sqlite\"\nconnection = \"a.db\"\n"),
            "sluiced.toml: missing table [node] (with 'id' and 'data_dir')");
}

TEST(ConfigErrorTest, StreamRules) {
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"model\"\n[[stream]]\nname = \"x\"\n"
                                "ordered = true\n[[stream]]\nname = \"model\"\n")),
            "sluiced.toml:20:1: duplicate stream name 'model' (first defined at line 15)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"model\"\n[[stream]]\nname = \"..\"\n"
                                "ordered = true\n")),
            "sluiced.toml:17:8: stream #2: invalid stream name \"..\": use 1 to 64 characters "
            "of A-Z a-z 0-9 _ . - (it names a directory of the journal)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"model\"\n[[stream]]\nname = \"" +
                                std::string(65, 's') + "\"\nordered = true\n")),
            "sluiced.toml:17:8: stream #2: invalid stream name \"" + std::string(65, 's') +
                "\": use 1 to 64 characters of A-Z a-z 0-9 _ . - (it names a directory of the "
                "journal)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"model\"\n[[stream]]\nname = \"alarms\"\n")),
            "sluiced.toml:16:1: stream 'alarms': missing required key 'ordered' (say whether "
            "this stream's records must be applied in order; it is never guessed for a stream "
            "that is not one of model, events, sql, samples)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"model\"\nordered = false\n")),
            "sluiced.toml:16:11: stream 'model': stream 'model' must be ordered: synchronous "
            "writes and their outcome markers are journaled in it and must be applied in order");
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"samples\"\n")),
            "sluiced.toml:14:1: the [[stream]] tables do not define stream 'model': synchronous "
            "writes (SQL, model updates) and switch markers are journaled in it; add a "
            "[[stream]] with name = \"model\" (or remove every [[stream]] to use the standard "
            "streams)");
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"model\"\non_error = \"ignore\"\n")),
            "sluiced.toml:16:12: stream 'model': 'on_error' must be \"skip\" or \"block\", not "
            "\"ignore\"");
  EXPECT_EQ(ErrorOf(WithMinimal("[[stream]]\nname = \"model\"\nbatch_records = 0\n")),
            "sluiced.toml:16:17: stream 'model': 'batch_records' must be at least 1, not 0");
  EXPECT_EQ(ErrorOf("stream = []\n" + std::string(kMinimal)),
            "sluiced.toml:1:1: 'stream' is empty; remove it to use the standard streams");
}

TEST(ConfigErrorTest, ReservedSharesExceedTheBudget) {
  // Four standard streams reserve 256MiB each: 1GiB in total.
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nbudget = \"512MiB\"\n")),
            "sluiced.toml:15:10: [journal]: the streams reserve 1GiB in total (model 256MiB, "
            "events 256MiB, sql 256MiB, samples 256MiB), more than 'budget' 512MiB; lower their "
            "'reserved' shares or raise the budget");
  EXPECT_TRUE(Parse(WithMinimal("[journal]\nbudget = \"1GiB\"\n")).ok());
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nbudget = \"1GiB\"\n[[target]]\nname = \"r\"\n"
                                "role = \"replica\"\ndriver = \"sqlite\"\nconnection = "
                                "\"r.db\"\nretention_budget = \"2GiB\"\n")),
            "sluiced.toml:21:20: target 'r': 'retention_budget' 2GiB is larger than the "
            "journal's 'budget' 1GiB: the journal would fill before this target's budget "
            "applies");
}

TEST(ConfigErrorTest, SizeCrossChecks) {
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\nmax_lob_size = \"32MiB\"\n")),
            "sluiced.toml:15:16: [limits] 'max_lob_size' 32MiB is larger than [journal] "
            "'max_record_size' 16MiB: such a value could never be journaled");
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nmax_record_size = \"1MiB\"\n")),
            "sluiced.toml:15:19: [limits] 'max_lob_size' 16MiB is larger than [journal] "
            "'max_record_size' 1MiB: such a value could never be journaled");
  EXPECT_EQ(ErrorOf(WithMinimal("[journal]\nsegment_size = \"8MiB\"\n")),
            "sluiced.toml:15:16: [journal]: 'max_record_size' 16MiB is larger than "
            "'segment_size' 8MiB; a segment must hold at least one record");
  EXPECT_EQ(ErrorOf(WithMinimal("[limits]\nmax_message_size = \"1MiB\"\n")),
            "sluiced.toml:15:20: [limits] 'max_message_size' 1MiB is smaller than [journal] "
            "'max_record_size' 16MiB: the largest record could not be sent");
}

TEST(ConfigErrorTest, AuthOffOnlyOnLoopback) {
  const std::string listen_any = R"([node]
id = "n1"
data_dir = "/data"
listen = ["127.0.0.1:7400", "0.0.0.0:7400"]
)";
  EXPECT_EQ(ErrorOf(listen_any + std::string(kMinimal.substr(kMinimal.find("[auth]")))),
            "sluiced.toml:6:12: [auth]: 'required' = false is allowed only when sluiced listens "
            "on loopback, but [node] listen has \"0.0.0.0:7400\" (line 4): anyone who can reach "
            "that address could write history, run SQL and administer the service; define "
            "[[auth.token]] entries and remove 'required', or listen on 127.0.0.1 only");
  // Loopback in every form is fine.
  Result<Config> ok = Parse(R"([node]
id = "n1"
data_dir = "/data"
listen = ["127.0.0.1:7400", "[::1]:7400", "localhost:7401"]
)" + std::string(kMinimal.substr(kMinimal.find("[auth]"))));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();

  // Required (the default) with no token: nobody could connect.
  EXPECT_EQ(ErrorOf("[node]\nid = \"n1\"\ndata_dir = \"/d\"\n[auth]\nrequired = true\n"
                    "[[target]]\nname = \"a\"\nrole = \"primary\"\npriority = 1\ndriver = "
                    "\"sqlite\"\nconnection = \"a.db\"\n"),
            "sluiced.toml:4:1: [auth]: authentication is required (the default) but no "
            "[[auth.token]] is defined, so no client could connect; add tokens, or set [auth] "
            "required = false (allowed only when listening on loopback)");
}

constexpr std::string_view kAuthPrefix = R"([node]
id = "n1"
data_dir = "/data"
[[target]]
name = "pg-a"
role = "primary"
priority = 10
driver = "postgres"
connection = "host=a dbname=h"
)";

TEST(ConfigErrorTest, Tokens) {
  const std::string p(kAuthPrefix);  // 9 lines
  EXPECT_EQ(ErrorOf(p + "[[auth.token]]\nname = \"a\"\ntoken = \"short\"\nroles = [\"read\"]\n"),
            "sluiced.toml:12:9: auth token 'a': the token is too short (5 characters); use at "
            "least 16 random characters, e.g. from `openssl rand -hex 32`");
  EXPECT_EQ(ErrorOf(p + "[[auth.token]]\nname = \"a\"\ntoken = \"0123456789 abcdef\"\n"
                        "roles = [\"read\"]\n"),
            "sluiced.toml:12:9: auth token 'a': the token must be printable ASCII without "
            "spaces");
  EXPECT_EQ(ErrorOf(p + "[[auth.token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\n"
                        "roles = [\"read\", \"write\", \"read\", \"admn\"]\n"),
            "sluiced.toml:13:18: auth token 'a': unknown role \"write\" (roles are \"ingest\", "
            "\"read\", \"sql\" or \"admin\")\n"
            "sluiced.toml:13:27: auth token 'a': role \"read\" is listed twice\n"
            "sluiced.toml:13:35: auth token 'a': unknown role \"admn\" (did you mean "
            "\"admin\"?)");
  EXPECT_EQ(ErrorOf(p + "[[auth.token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\n"
                        "roles = []\n"),
            "sluiced.toml:13:9: auth token 'a': 'roles' must name at least one role");
  EXPECT_EQ(ErrorOf(p + "[[auth.token]]\nname = \"a\"\nroles = [\"read\"]\n"),
            "sluiced.toml:10:1: auth token 'a': missing required key 'token' (or 'token_file', "
            "a file holding the token)");
  EXPECT_EQ(ErrorOf(p + "[[auth.token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\n"
                        "token_file = \"/t\"\nroles = [\"read\"]\n"),
            "sluiced.toml:13:1: auth token 'a': give either 'token' or 'token_file', not both");
  EXPECT_EQ(ErrorOf(p + "[[auth.token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\n"
                        "roles = [\"read\"]\n"
                        "[[auth.token]]\nname = \"b\"\ntoken = \"0123456789abcdef\"\n"
                        "roles = [\"admin\"]\n"
                        "[[auth.token]]\nname = \"a\"\ntoken = \"0123456789abcdefX\"\n"
                        "roles = [\"admin\"]\n"),
            "sluiced.toml:16:9: auth token 'b': the token is the same as that of token 'a'; "
            "each token must be different\n"
            "sluiced.toml:19:1: duplicate token name 'a' (first defined at line 11)");
  EXPECT_EQ(ErrorOf(p + "[[auth.token]]\nname = \"a\"\ntoken_file = \"/no/such/token\"\n"
                        "roles = [\"read\"]\n"),
            "sluiced.toml:12:14: auth token 'a': cannot read token_file /no/such/token: No such "
            "file or directory");
  // A valid token with no admin role: valid, with a warning.
  Result<Config> r = Parse(p + "[auth]\n[[auth.token]]\nname = \"a\"\ntoken = "
                               "\"0123456789abcdef\"\nroles = [\"read\"]\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0],
            "sluiced.toml:10:1: [auth]: no token has the \"admin\" role: `sluice` status, "
            "switch, target and error-log commands will be refused");
}

TEST(ConfigErrorTest, TokenFile) {
  TempDir dir;
  dir.Write("tok", "abcdefghijklmnopqrstuvwxyz\r\n", 0644);
  dir.Write("empty", "\n", 0600);
  const std::string p(kAuthPrefix);
  Result<Config> r = ParseConfig(p + "[[auth.token]]\nname = \"a\"\ntoken_file = \"tok\"\n"
                                     "roles = [\"admin\"]\n",
                                 "sluiced.toml", dir.path());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->auth.tokens[0].token, "abcdefghijklmnopqrstuvwxyz");
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0], "sluiced.toml:12:14: auth token 'a': token_file " + dir.path() +
                                "/tok can be read by other users (mode 0644); chmod 600 it");
  Result<Config> empty = ParseConfig(p + "[[auth.token]]\nname = \"a\"\ntoken_file = "
                                         "\"empty\"\nroles = [\"admin\"]\n",
                                     "sluiced.toml", dir.path());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(),
            "sluiced.toml:12:14: auth token 'a': token_file " + dir.path() + "/empty is empty");
}

TEST(ConfigErrorTest, Tls) {
  TempDir dir;
  dir.Write("c.pem", "c");
  dir.Write("k.pem", "k");
  auto parse = [&](std::string_view tls) {
    return ParseConfig(WithMinimal(tls), "sluiced.toml", dir.path());
  };
  Result<Config> ok = parse("[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\nca_file = "
                            "\"c.pem\"\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->tls.ca_file, dir.path() + "/c.pem");

  Result<Config> half = parse("[tls]\ncert_file = \"c.pem\"\n");
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().message(),
            "sluiced.toml:14:1: [tls]: missing required key 'key_file' (the private key of "
            "'cert_file'; give both or neither)");
  Result<Config> missing = parse("[tls]\ncert_file = \"c.pem\"\nkey_file = \"nope.pem\"\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "sluiced.toml:16:12: [tls]: 'key_file' " + dir.path() +
                                            "/nope.pem: No such file or directory");
  Result<Config> ca_only = parse("[tls]\nca_file = \"c.pem\"\n");
  ASSERT_FALSE(ca_only.ok());
  EXPECT_EQ(ca_only.status().message(),
            "sluiced.toml:15:1: [tls]: 'ca_file' verifies client certificates and needs "
            "'cert_file' and 'key_file'");
  Result<Config> dir_as_file = parse("[tls]\ncert_file = \".\"\nkey_file = \"k.pem\"\n");
  ASSERT_FALSE(dir_as_file.ok());
  EXPECT_EQ(dir_as_file.status().message(),
            "sluiced.toml:15:13: [tls]: 'cert_file' " + dir.path() + " is not a regular file");
}

TEST(ConfigErrorTest, AllErrorsAreReportedInFileOrder) {
  EXPECT_EQ(ErrorOf(R"([node]
id = "n1"
data_dir = "/data"
colour = "blue"
[journal]
budget = "lots"
[auth]
required = false
[[target]]
name = "pg-a"
role = "primary"
priority = "high"
driver = "postgres"
connection = "host=a"
[helth]
)"),
            "sluiced.toml:4:1: [node]: unknown key 'colour' (valid keys: 'id', 'data_dir', "
            "'listen', 'log_level' or 'log_file')\n"
            "sluiced.toml:6:10: [journal]: 'budget': size \"lots\" must be a number of bytes "
            "or a number with a unit, such as \"64MiB\"\n"
            "sluiced.toml:12:12: target 'pg-a': 'priority' must be an integer, not a string\n"
            "sluiced.toml:15:1: unknown table [helth] (did you mean [health]?)");
}

TEST(ConfigErrorTest, WarningsForRiskySettings) {
  Result<Config> r = Parse(R"([node]
id = "n1"
data_dir = "/data"
listen = ["0.0.0.0:7400"]
[[target]]
name = "pg-a"
role = "primary"
priority = 10
driver = "postgres"
connection = "host=a dbname=h password=secret"
[[auth.token]]
name = "ops"
token = "0123456789abcdef"
roles = ["admin"]
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->warnings.size(), 2u) << ::testing::PrintToString(r->warnings);
  EXPECT_EQ(r->warnings[0],
            "sluiced.toml:4:11: [node]: listening on 0.0.0.0:7400 without [tls]: tokens and "
            "data cross the network in clear text");
  EXPECT_EQ(r->warnings[1],
            "sluiced.toml:10:14: target 'pg-a': the connection holds a password in the config "
            "file; prefer a passfile (~/.pgpass or passfile=...)");
}

}  // namespace
}  // namespace sluice::config
