// sluiced's configuration: every error names the file, line, column and key. Syntax,
// unknown keys, wrong types and bad values; the rules across keys and sections are
// config_rules_test.cc.

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
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;using testing::ErrorOf;
using testing::kMinimal;
using testing::Parse;
using testing::WithMinimal;
using ::sluice::testing::TempDir;

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
            "[[stream]], [[target]], [limits], [auth], [tls], [health], [client_dedup], [sampling], "
            "[http], [alarms])");
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

// [sampling]: defaults, every key's errors with its line, the stream it names.
TEST(ConfigErrorTest, SamplingSection) {
  Result<Config> plain = Parse(kMinimal);
  ASSERT_TRUE(plain.ok());
  const SamplingConfig& d = plain->sampling;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.utc_offset_us, 0);
  EXPECT_EQ(d.day_start_us, 0);
  EXPECT_EQ(d.old_after_intervals, 3);
  EXPECT_EQ(d.late_tolerance_ms, 500);
  EXPECT_EQ(d.max_points, 2'000'000u);
  EXPECT_EQ(d.stream, "samples");

  Result<Config> set = Parse(WithMinimal(
      "[sampling]\nutc_offset = \"+08:00\"\nday_start = \"08:00\"\nold_after_intervals = 5\n"
      "late_tolerance_ms = 250\nmax_points = 1000\nstream = \"events\"\n"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->sampling.utc_offset_us, 8 * 3600 * int64_t{1'000'000});
  EXPECT_EQ(set->sampling.day_start_us, 8 * 3600 * int64_t{1'000'000});
  EXPECT_EQ(set->sampling.old_after_intervals, 5);
  EXPECT_EQ(set->sampling.late_tolerance_ms, 250);
  EXPECT_EQ(set->sampling.max_points, 1000u);
  EXPECT_EQ(set->sampling.stream, "events");
  Result<Config> west = Parse(WithMinimal("[sampling]\nutc_offset = \"-05:30\"\n"));
  ASSERT_TRUE(west.ok());
  EXPECT_EQ(west->sampling.utc_offset_us, -(5 * 60 + 30) * int64_t{60'000'000});

  EXPECT_THAT(ErrorOf(WithMinimal("[sampling]\nutc_offset = \"+8\"\n")),
              HasSubstr("sluiced.toml:15:14: [sampling]: 'utc_offset' \"+8\" is not a UTC offset"));
  EXPECT_THAT(ErrorOf(WithMinimal("[sampling]\nutc_offset = \"+15:00\"\n")), HasSubstr("sluiced.toml:15:"));
  EXPECT_THAT(ErrorOf(WithMinimal("[sampling]\nday_start = \"24:00\"\n")),
              HasSubstr("sluiced.toml:15:13: [sampling]: 'day_start' \"24:00\" is not a time of day"));
  EXPECT_THAT(ErrorOf(WithMinimal("[sampling]\nold_after_intervals = 0\n")),
              AllOf(HasSubstr("sluiced.toml:15:"), HasSubstr("old_after_intervals")));
  EXPECT_THAT(ErrorOf(WithMinimal("[sampling]\nlate_tolerance_ms = \"1s\"\n")),
              AllOf(HasSubstr("sluiced.toml:15:"), HasSubstr("late_tolerance_ms")));
  EXPECT_THAT(ErrorOf(WithMinimal("[sampling]\nmax_points = -1\n")),
              AllOf(HasSubstr("sluiced.toml:15:"), HasSubstr("max_points")));
  EXPECT_THAT(ErrorOf(WithMinimal("[sampling]\nenable = true\n")),
              AllOf(HasSubstr("sluiced.toml:15:"), HasSubstr("'enable'"), HasSubstr("enabled")));
  EXPECT_THAT(ErrorOf(WithMinimal("[sampling]\nstream = \"telemetry\"\n")),
              HasSubstr("sluiced.toml:15:10: [sampling]: [sampling] journals sampled records in stream 'telemetry', "
                        "which is not defined"));
  // The default stream must exist too when [sampling] is given; without [sampling], a
  // config with streams of its own and no 'samples' keeps working, the sampler off, with
  // a warning.
  const std::string own_streams = "[[stream]]\nname = \"model\"\n";
  EXPECT_THAT(ErrorOf(WithMinimal(own_streams + "[sampling]\nmax_points = 5\n")),
              HasSubstr("sluiced.toml:16:1: [sampling]: [sampling] journals sampled records in stream 'samples'"));
  Result<Config> old = Parse(WithMinimal(own_streams));
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_FALSE(old->sampling.enabled);
  ASSERT_FALSE(old->warnings.empty());
  EXPECT_THAT(old->warnings.back(), HasSubstr("the sampler is off"));
  EXPECT_TRUE(Parse(WithMinimal(own_streams + "[sampling]\nenabled = false\n")).ok());
  EXPECT_THAT(ErrorOf(WithMinimal("[samplng]\n")), HasSubstr("did you mean [sampling]?"));
}

}  // namespace
}  // namespace sluice::config
