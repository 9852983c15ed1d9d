// sluiced's configuration: the [http] table (docs/http.md). Its default (off unless the
// table is there, loopback on kDefaultHttpPort when it is), every error naming the file,
// line, column and key, and the checks against [node] listen and [auth].

#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "config/config_test_util.h"

namespace sluice::config {
namespace {

using testing::ErrorOf;
using ::testing::HasSubstr;
using testing::kMinimal;
using testing::Parse;
using testing::WithMinimal;

// kMinimal's lines, so the tests below compute where an appended key sits.
int MinimalLines() {
  int lines = 0;
  for (char c : kMinimal) lines += c == '\n';
  return lines;
}

TEST(ConfigHttpTest, OffWithoutTheTable) {
  Result<Config> r = Parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->http.enabled);
  EXPECT_EQ(r->http.line, 0);
}

TEST(ConfigHttpTest, TheTableTurnsItOnAtTheLoopbackDefault) {
  Result<Config> r = Parse(WithMinimal("[http]\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->http.enabled);
  EXPECT_EQ(r->http.listen.host, "127.0.0.1");
  EXPECT_EQ(r->http.listen.port, kDefaultHttpPort);
  EXPECT_EQ(r->http.line, MinimalLines() + 1);
  // Loopback: nothing to warn about (kMinimal's own warning is that auth is off).
  for (const auto& w : r->warnings) EXPECT_EQ(w.find("[http]"), std::string::npos) << w;
}

TEST(ConfigHttpTest, TheExampleEnablesItOnLoopback) {
  Result<Config> r = LoadConfigFile(SLUICE_EXAMPLES_DIR "/postgres-ha.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->http.enabled);
  EXPECT_TRUE(r->http.listen.IsLoopback());
  EXPECT_EQ(r->http.listen.port, kDefaultHttpPort);
}

TEST(ConfigHttpTest, ListenAndEnabledAreRead) {
  Result<Config> r = Parse(WithMinimal("[http]\nlisten = \"[::1]:9100\"\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->http.enabled);
  EXPECT_EQ(r->http.listen.host, "::1");
  EXPECT_EQ(r->http.listen.port, 9100);

  Result<Config> off = Parse(WithMinimal("[http]\nenabled = false\nlisten = \"127.0.0.1:9100\"\n"));
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->http.enabled);
}

TEST(ConfigHttpTest, ErrorsNameFileLineAndKey) {
  const int table = MinimalLines() + 1;
  EXPECT_EQ(ErrorOf(WithMinimal("[http]\nlisten = \"localhost\"\n")),
            fmt::format("sluiced.toml:{}:10: [http]: 'listen': address \"localhost\" needs a port: "
                        "host:port, e.g. \"127.0.0.1:7400\"",
                        table + 1));
  EXPECT_EQ(ErrorOf(WithMinimal("[http]\nlisten = \"127.0.0.1:0\"\n")),
            fmt::format("sluiced.toml:{}:10: [http]: 'listen': address \"127.0.0.1:0\": port must "
                        "be between 1 and 65535",
                        table + 1));
  EXPECT_THAT(
      ErrorOf(WithMinimal("[http]\nenabled = \"yes\"\n")),
      HasSubstr(fmt::format("sluiced.toml:{}:11: [http]: 'enabled' must be a boolean", table + 1)));
  EXPECT_EQ(ErrorOf(WithMinimal("[http]\nlistn = \"127.0.0.1:9100\"\n")),
            fmt::format("sluiced.toml:{}:1: [http]: unknown key 'listn' (did you mean 'listen'?)",
                        table + 1));
  EXPECT_THAT(ErrorOf("http = 1\n" + std::string(kMinimal)),
              HasSubstr("sluiced.toml:1:1: 'http' must be a table [http], not an integer"));
  EXPECT_THAT(ErrorOf(WithMinimal("[htp]\n")),
              HasSubstr(fmt::format("sluiced.toml:{}:1: unknown table [htp] (did you mean [http]?)",
                                    table)));
}

TEST(ConfigHttpTest, WebRootIsReadAbsoluteOrFromTheConfigFilesDirectory) {
  Result<Config> none = Parse(WithMinimal("[http]\n"));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->http.web_root, "");  // the installed files (docs/dashboard.md)
  Result<Config> absolute = Parse(WithMinimal("[http]\nweb_root = \"/srv/sluice/web\"\n"));
  ASSERT_TRUE(absolute.ok()) << absolute.status().ToString();
  EXPECT_EQ(absolute->http.web_root, "/srv/sluice/web");
  Result<Config> relative =
      ParseConfig(WithMinimal("[http]\nweb_root = \"web\"\n"), "sluiced.toml", "/etc/sluice");
  ASSERT_TRUE(relative.ok()) << relative.status().ToString();
  EXPECT_EQ(relative->http.web_root, "/etc/sluice/web");
  EXPECT_EQ(ErrorOf(WithMinimal("[http]\nweb_root = \"\"\n")),
            fmt::format("sluiced.toml:{}:12: [http]: 'web_root' must not be empty (leave it out "
                        "for the default)",
                        MinimalLines() + 2));
}

TEST(ConfigHttpTest, APortOfTheGrpcServerIsRefusedNamingBoth) {
  // [node] listen is 127.0.0.1:7400 by default.
  const int table = MinimalLines() + 1;
  EXPECT_EQ(
      ErrorOf(WithMinimal("[http]\nlisten = \"127.0.0.1:7400\"\n")),
      fmt::format("sluiced.toml:{}:10: [http]: 'listen' \"127.0.0.1:7400\" takes the port of "
                  "the gRPC address \"127.0.0.1:7400\" of [node] listen (the default): give the "
                  "HTTP endpoint a port of its own",
                  table + 1));
  // A wildcard takes the port on every interface, so loopback collides with it.
  const std::string text = R"([node]
id = "n1"
data_dir = "/data"
listen = ["0.0.0.0:7500"]
[[auth.token]]
name = "t"
token = "0123456789abcdef0123"
roles = ["read"]
[[target]]
name = "a"
role = "primary"
driver = "sqlite"
connection = "a.db"
priority = 1
[http]
listen = "127.0.0.1:7500"
)";
  EXPECT_EQ(ErrorOf(text),
            "sluiced.toml:16:10: [http]: 'listen' \"127.0.0.1:7500\" takes the port of the gRPC "
            "address \"0.0.0.0:7500\" of [node] listen (line 4): give the HTTP endpoint a port of "
            "its own");
}

TEST(ConfigHttpTest, OffTheLoopbackNeedsAuthAndWarnsOfClearText) {
  // kMinimal has [auth] required = false.
  EXPECT_THAT(ErrorOf(WithMinimal("[http]\nlisten = \"0.0.0.0:9100\"\n")),
              HasSubstr(fmt::format("sluiced.toml:{}:10: [http]: 'listen' \"0.0.0.0:9100\" is not "
                                    "loopback while [auth] required = false",
                                    MinimalLines() + 2)));
  const std::string with_tokens = R"([node]
id = "n1"
data_dir = "/data"
[[auth.token]]
name = "t"
token = "0123456789abcdef0123"
roles = ["read"]
[[target]]
name = "a"
role = "primary"
driver = "sqlite"
connection = "a.db"
priority = 1
[http]
listen = "0.0.0.0:9100"
)";
  Result<Config> r = Parse(with_tokens);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(r->warnings,
              ::testing::Contains(HasSubstr("sluiced.toml:15:10: [http]: listening on 0.0.0.0:9100 "
                                            "over plain HTTP")));
}

}  // namespace
}  // namespace sluice::config
