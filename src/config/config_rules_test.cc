// sluiced's configuration: the rules across keys and sections (targets, streams, sizes,
// authentication, TLS), every error reported in file order, warnings for risky settings.

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
