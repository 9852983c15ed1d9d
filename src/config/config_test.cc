// sluiced's configuration: whole configs, with their defaults, every section set, and the
// shipped examples. The errors are config_error_test.cc (syntax, keys, types, values) and
// config_rules_test.cc (the rules across keys and sections).

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
#include "config/config_test_util.h"
#include "support/temp_dir.h"

namespace sluice::config {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;using testing::ErrorOf;
using testing::kMinimal;
using testing::Parse;
using testing::WithMinimal;
using ::sluice::testing::TempDir;

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

[sampling]
enabled = true
utc_offset = "+08:00"
day_start = "08:00"
old_after_intervals = 4
late_tolerance_ms = 200
max_points = 1000
stream = "telemetry"
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
  EXPECT_TRUE(c.sampling.enabled);
  EXPECT_EQ(c.sampling.utc_offset_us, 8 * 3'600'000'000LL);
  EXPECT_EQ(c.sampling.day_start_us, 8 * 3'600'000'000LL);
  EXPECT_EQ(c.sampling.old_after_intervals, 4);
  EXPECT_EQ(c.sampling.late_tolerance_ms, 200);
  EXPECT_EQ(c.sampling.max_points, 1000u);
  EXPECT_EQ(c.sampling.stream, "telemetry");

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

}  // namespace
}  // namespace sluice::config
